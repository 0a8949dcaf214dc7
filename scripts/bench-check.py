#!/usr/bin/env python3
"""Helpers of scripts/bench: independent correctness checks, and the report.

    bench-check.py words CORPUS RBAG_TSV    rbag --split whitespace == Counter
    bench-check.py uniq RBAG_TSV UNIQ_C     rbag frequencies == sort | uniq -c
    bench-check.py report WORK KJV_BYTES JSONL_BYTES KEYS_BYTES
"""
import collections
import json
import sys


def check_words(corpus, rbag_tsv):
    data = open(corpus, 'rb').read()
    counts = collections.Counter(data.lower().split())  # ASCII lowercase, split on white space
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    expected = b''.join(k + b'\t' + str(v).encode() + b'\n' for k, v in rows)
    if open(rbag_tsv, 'rb').read() != expected:
        sys.exit('MISMATCH: rbag wordcount --split whitespace differs from collections.Counter')
    print(f'identical to collections.Counter: {len(counts)} distinct, '
          f'{sum(counts.values())} tokens', file=sys.stderr)


def check_uniq(rbag_tsv, uniq_c):
    rbag = {}
    for line in open(rbag_tsv, encoding='utf-8'):
        key, count = line.rstrip('\n').rsplit('\t', 1)
        rbag[key] = int(count)
    reference = {}
    for line in open(uniq_c, encoding='utf-8'):
        count, key = line.strip().split(' ', 1)
        reference[key] = int(count)
    if rbag != reference:
        sys.exit('MISMATCH: rbag frequencies differs from sort | uniq -c')
    print(f'identical to jq | sort | uniq -c: {len(reference)} distinct, '
          f'{sum(reference.values())} records', file=sys.stderr)


def medians(work, *names):
    out = {}
    for name in names:
        for result in json.load(open(f'{work}/{name}.json'))['results']:
            out[result['command']] = result['median']
    return out


def table(title, size, median, reference):
    base = median[reference]
    print(f'### {title}: {size / 1e6:.1f} MB\n')
    shown = reference.replace('|', '\\|')  # a bare | would end the table cell
    print(f'| command | median (s) | MB/s | vs `{shown}` |')
    print('| --- | ---: | ---: | ---: |')
    for name, seconds in median.items():
        shown = name.replace('|', '\\|')
        print(f'| `{shown}` | {seconds:.3f} | {size / 1e6 / seconds:.0f} | {base / seconds:.1f}x |')
    print()


def report(work, kjv_bytes, jsonl_bytes, keys_bytes):
    mb = lambda size, seconds: size / 1e6 / seconds
    words = medians(work, 'words', 'words-reference')
    table('Word count, kjvbible.txt x10', kjv_bytes, words,
          'LC_ALL=C tr | tr | sort | uniq -c | sort -rn')
    jsonl = medians(work, 'jsonl', 'jsonl-reference')
    table('JSON lines, tweets.jsonl (scripts/gen-jsonl.py)', jsonl_bytes, jsonl,
          'jq -r .user.lang | sort | uniq -c | sort -rn')
    keys = medians(work, 'keys')
    table('A million distinct keys, keys1m.txt (scripts/gen-keys.py)', keys_bytes, keys,
          'rbag wordcount --split whitespace -j1')
    file_kb, pipe_kb, streamed = (int(x) for x in open(f'{work}/memory.txt').read().split())

    ws1, ws2 = words['rbag wordcount --split whitespace -j1'], words['rbag wordcount --split whitespace -j2']
    uw2 = words['rbag wordcount -j2']
    pluck1 = jsonl["rbag run 'pluck .user.lang | frequencies' -j1"]
    pluck2 = jsonl["rbag run 'pluck .user.lang | frequencies' -j2"]
    keys2 = keys['rbag wordcount --split whitespace -j2']
    per_byte = (keys2 / keys_bytes) / (ws2 / kjv_bytes)
    rows = [
        ('`wordcount --split whitespace` -j2, 43 MB', 'at least 500 MB/s', f'{mb(kjv_bytes, ws2):.0f} MB/s', mb(kjv_bytes, ws2) >= 500),
        ('same, -j2 over -j1', 'at least 1.8x', f'{ws1 / ws2:.2f}x', ws1 / ws2 >= 1.8),
        ('`wordcount` (Unicode words) -j2', 'at least 350 MB/s', f'{mb(kjv_bytes, uw2):.0f} MB/s', mb(kjv_bytes, uw2) >= 350),
        ("`run 'pluck .user.lang | frequencies'` -j2, 100 MB", 'at least 400 MB/s', f'{mb(jsonl_bytes, pluck2):.0f} MB/s', mb(jsonl_bytes, pluck2) >= 400),
        (f'`wordcount -j2` on {streamed / 1e9:.1f} GB from a pipe', 'peak RSS under 100 MB', f'{pipe_kb / 1024:.1f} MB', pipe_kb / 1024 < 100),
        ('1 M distinct keys vs kjv, time per byte (-j2)', 'at most 2x', f'{per_byte:.1f}x', per_byte <= 2),
    ]
    print('### Targets (SPEC section 10)\n')
    print('| workload | target | measured | met |')
    print('| --- | --- | ---: | --- |')
    for workload, target, measured, met in rows:
        workload = workload.replace('|', '\\|')
        print(f'| {workload} | {target} | {measured} | {"yes" if met else "no"} |')
    print()
    dask_words = words.get('dask.bag read_text().str.lower().str.split().flatten().frequencies()')
    dask_json = jsonl.get('dask.bag read_text().map(json.loads).pluck().frequencies()')
    print(f'- -j2 over -j1: whitespace {ws1 / ws2:.2f}x, words {words["rbag wordcount -j1"] / uw2:.2f}x, '
          f'pluck {pluck1 / pluck2:.2f}x')
    if dask_words and dask_json:
        print(f'- against dask.bag: wordcount -j2 is {dask_words / uw2:.1f}x faster, '
              f'pluck | frequencies -j2 {dask_json / pluck2:.1f}x faster')
    print(f'- peak resident memory of `rbag wordcount -j2`: {file_kb / 1024:.1f} MB on the 43 MB file, '
          f'{pipe_kb / 1024:.1f} MB on {streamed / 1e9:.1f} GB from a pipe')


if __name__ == '__main__':
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'words':
        check_words(*args)
    elif command == 'uniq':
        check_uniq(*args)
    elif command == 'report':
        report(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        sys.exit(__doc__)
