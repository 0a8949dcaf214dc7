#!/usr/bin/env python3
"""Helpers of scripts/bench: independent correctness checks, and the report.

    bench-check.py words CORPUS RBAG_TSV    rbag --split whitespace == Counter
    bench-check.py uniq RBAG_TSV UNIQ_C     rbag frequencies == sort | uniq -c
    bench-check.py report WORK KJV_BYTES JSONL_BYTES KEYS_BYTES LINES_BYTES MANY_BYTES
"""
import collections
import json
import os
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
    print(f'identical to sort | uniq -c: {len(reference)} distinct, '
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


def report(work, kjv_bytes, jsonl_bytes, keys_bytes, lines_bytes, many_bytes):
    mb = lambda size, seconds: size / 1e6 / seconds
    words = medians(work, 'words', 'words-reference')
    table('Word count, kjvbible.txt x10', kjv_bytes, words,
          'LC_ALL=C tr | tr | sort | uniq -c | sort -rn')
    jsonl = medians(work, 'jsonl', 'jsonl-reference')
    table('JSON lines, tweets.jsonl (scripts/gen-jsonl.py)', jsonl_bytes, jsonl,
          'jq -r .user.lang | sort | uniq -c | sort -rn')
    keys = medians(work, 'keys')
    table('Many distinct keys (scripts/gen-keys.py): 5 M distinct lines', lines_bytes, keys,
          'LC_ALL=C sort | uniq -c, 5 M distinct lines')
    many = medians(work, 'many')
    table('20 000 files of about 1 KB', many_bytes, many, 'cat DIR/*.txt | rbag wordcount -j2')
    tiny = medians(work, 'tiny')
    driver = medians(work, 'driver')
    memory = dict(line.split() for line in open(f'{work}/memory.txt'))
    memory = {k: int(v) for k, v in memory.items()}

    ws1, ws2 = words['rbag wordcount --split whitespace -j1'], words['rbag wordcount --split whitespace -j2']
    uw1, uw2 = words['rbag wordcount -j1'], words['rbag wordcount -j2']
    wc = words['wc -w']
    gz, zst = words['rbag wordcount -j2 FILE.gz'], words['rbag wordcount -j2 FILE.zst']
    pluck1 = jsonl["rbag run 'pluck .user.lang | frequencies' -j1"]
    pluck2 = jsonl["rbag run 'pluck .user.lang | frequencies' -j2"]
    freq2 = keys['rbag freq -j2, 5 M distinct lines']
    sort = keys['LC_ALL=C sort | uniq -c, 5 M distinct lines']
    mawk = keys["mawk '{c[$0]++}', 5 M distinct lines"]
    glob = many["rbag wordcount -j2 'DIR/*.txt'"]
    cat_many = many['cat DIR/*.txt | rbag wordcount -j2']
    start = tiny['rbag wordcount -j 64 TINY']
    rows = [
        ('`wordcount --split whitespace -j2`, 43 MB', 'at least 500 MB/s', f'{mb(kjv_bytes, ws2):.0f} MB/s', mb(kjv_bytes, ws2) >= 500),
        ('same, against `wc -w`', 'at least 3x faster', f'{wc / ws2:.2f}x', wc / ws2 >= 3),
        ('same, `-j2` over `-j1`', 'at least 1.8x', f'{ws1 / ws2:.2f}x', ws1 / ws2 >= 1.8),
        ('`wordcount` (Unicode words) `-j2`', 'at least 450 MB/s', f'{mb(kjv_bytes, uw2):.0f} MB/s', mb(kjv_bytes, uw2) >= 450),
        ('`freq -j2` on 5 M distinct lines, against `LC_ALL=C sort \\| uniq -c`', 'at least 2x faster', f'{sort / freq2:.2f}x', sort / freq2 >= 2),
        ("same, against `mawk '{c[$0]++}'`", 'faster', f'{mawk / freq2:.2f}x', mawk / freq2 > 1),
        ('same, peak memory against `sort`', 'at most sort\'s', f"{memory['freq5m'] / 1024:.0f} MB vs {memory['sort5m'] / 1024:.0f} MB", memory['freq5m'] <= memory['sort5m']),
        ('`wordcount -j2` of the corpus as `.gz`', 'at most 1.5x the plain file', f'{gz / uw2:.2f}x', gz / uw2 <= 1.5),
        ('`wordcount -j2` of the corpus as `.zst`', 'at most 1.25x the plain file', f'{zst / uw2:.2f}x', zst / uw2 <= 1.25),
        ('20 000 files of about 1 KB (quoted glob)', 'at least 3x faster than `cat` into rbag', f'{cat_many / glob:.2f}x', cat_many / glob >= 3),
        ("`run 'pluck .user.lang \\| frequencies'` `-j2`, 100 MB", 'at least 700 MB/s', f'{mb(jsonl_bytes, pluck2):.0f} MB/s', mb(jsonl_bytes, pluck2) >= 700),
        ('`-j 64` on a 100-byte file', 'under 50 ms', f'{start * 1000:.1f} ms', start < 0.05),
        (f"`wordcount -j2` on {memory['streamed'] / 1e9:.1f} GB from a pipe", 'peak RSS under 100 MB', f"{memory['pipe'] / 1024:.1f} MB", memory['pipe'] / 1024 < 100),
        ('`freq -j2`, 5 M distinct lines, against `sort \| uniq -c` (keys beyond memory)', 'at most 0.5x its time', f'{freq2 / sort:.2f}x', freq2 / sort <= 0.5),
        ('`run distinct`, `group .k \| count`, `merge` of a 5 M-key partial twice: peak memory', 'no more than `freq`', f"{memory['distinct5m'] / 1024:.0f}, {memory['group5m'] / 1024:.0f}, {memory['merge5m'] / 1024:.0f} MB vs {memory['freq5m'] / 1024:.0f} MB", max(memory['distinct5m'], memory['group5m'], memory['merge5m']) <= memory['freq5m'] * 1.05),
    ]
    big = {}
    if os.path.exists(f'{work}/big.txt'):
        for line in open(f'{work}/big.txt'):
            name, *values = line.split()
            big[name] = [float(v) for v in values]
    if big:
        spill_s, spill_kb = big['spill60m']
        sort_s = big['sort60m'][0]
        rows += [
            ('`freq --memory 1GiB -j2`, 60 M distinct lines (1 GB)', 'peak RSS under 1.3 GiB', f'{spill_kb / 1024 / 1024:.2f} GiB', spill_kb / 1024 / 1024 < 1.3),
            ('same, its bytes', 'those of the run without a budget', 'same' if big['same60m'][0] else 'DIFFERENT', big['same60m'][0] == 1),
            ('same, against `sort \| uniq -c`', 'no slower', f'{spill_s:.1f} s vs {sort_s:.1f} s', spill_s <= sort_s),
        ]
    print('### Targets\n')
    print('| workload | target | measured | met |')
    print('| --- | --- | ---: | --- |')
    for workload, target, measured, met in rows:
        print(f'| {workload} | {target} | {measured} | {"yes" if met else "no"} |')
    print()
    dask_words = words.get('dask.bag read_text().str.lower().str.split().flatten().frequencies()')
    dask_json = jsonl.get('dask.bag read_text().map(json.loads).pluck().frequencies()')
    print(f'- -j2 over -j1: whitespace {ws1 / ws2:.2f}x, words {uw1 / uw2:.2f}x, pluck {pluck1 / pluck2:.2f}x')
    print(f'- compressed input: .gz {gz:.3f} s, .zst {zst:.3f} s, plain {uw2:.3f} s '
          f'({mb(kjv_bytes, gz):.0f} and {mb(kjv_bytes, zst):.0f} MB/s of text)')
    if dask_words and dask_json:
        print(f'- against dask.bag: wordcount -j2 is {dask_words / uw2:.1f}x faster, '
              f'pluck | frequencies -j2 {dask_json / pluck2:.1f}x faster')
    if driver:
        for name, seconds in driver.items():
            print(f'- {name}: {seconds:.3f} s')
    print(f"- peak resident memory: {memory['file'] / 1024:.1f} MB for wordcount -j2 of the 43 MB file, "
          f"{memory['pipe'] / 1024:.1f} MB on {memory['streamed'] / 1e9:.1f} GB from a pipe; on 5 M distinct lines "
          f"rbag freq {memory['freq5m'] / 1024:.0f} MB, sort {memory['sort5m'] / 1024:.0f} MB, mawk {memory['mawk5m'] / 1024:.0f} MB")
    print(f"- 5 M distinct keys, peak memory: freq {memory['freq5m'] / 1024:.0f} MB, freq --memory 64MiB "
          f"{memory['spill5m'] / 1024:.0f} MB, distinct {memory['distinct5m'] / 1024:.0f} MB, "
          f"group .k | count {memory['group5m'] / 1024:.0f} MB (pluck .k | frequencies of the same "
          f"{memory['pluck5m'] / 1024:.0f} MB), merge of a 5 M-key partial twice {memory['merge5m'] / 1024:.0f} MB")
    if big:
        print(f"- 60 M distinct lines: freq --memory 1GiB {big['spill60m'][0]:.1f} s / "
              f"{big['spill60m'][1] / 1024 / 1024:.2f} GiB, without a budget {big['whole60m'][0]:.1f} s / "
              f"{big['whole60m'][1] / 1024 / 1024:.2f} GiB, sort | uniq -c {big['sort60m'][0]:.1f} s / "
              f"{big['sort60m'][1] / 1024 / 1024:.2f} GiB (whole processes, one run each)")


if __name__ == '__main__':
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'words':
        check_words(*args)
    elif command == 'uniq':
        check_uniq(*args)
    elif command == 'report':
        report(args[0], *(int(a) for a in args[1:]))
    else:
        sys.exit(__doc__)
