#!/usr/bin/env python3
"""Helpers of scripts/bench: independent correctness checks, and the report.

    bench-check.py words CORPUS RBAG_TSV    rbag --split whitespace == Counter
    bench-check.py uniq RBAG_TSV UNIQ_C     rbag frequencies == sort | uniq -c
    bench-check.py report WORK KJV_BYTES JSONL_BYTES
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


def report(work, kjv_bytes, jsonl_bytes):
    words = medians(work, 'words', 'words-reference')
    table('Word count, kjvbible.txt x10', kjv_bytes, words,
          'LC_ALL=C tr | tr | sort | uniq -c | sort -rn')
    for kind in ('rbag wordcount --split whitespace', 'rbag wordcount'):
        j1, j2 = words[f'{kind} -j1'], words[f'{kind} -j2']
        print(f'- `{kind}`: -j2 is {j1 / j2:.2f}x faster than -j1')
    from_file, from_pipe = (int(kb) for kb in open(f'{work}/memory.txt').read().split())
    print(f'- peak resident memory, `rbag wordcount -j2`: {from_file / 1024:.1f} MB from the file, '
          f'{from_pipe / 1024:.1f} MB from a pipe\n')
    jsonl = medians(work, 'jsonl', 'jsonl-reference')
    table('JSON lines, tweets.jsonl (scripts/gen-jsonl.py)', jsonl_bytes, jsonl,
          'jq -r .user.lang | sort | uniq -c | sort -rn')
    j1 = jsonl["rbag run 'pluck .user.lang | frequencies' -j1"]
    j2 = jsonl["rbag run 'pluck .user.lang | frequencies' -j2"]
    print(f"- `rbag run 'pluck .user.lang | frequencies'`: -j2 is {j1 / j2:.2f}x faster than -j1")


if __name__ == '__main__':
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'words':
        check_words(*args)
    elif command == 'uniq':
        check_uniq(*args)
    elif command == 'report':
        report(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(__doc__)
