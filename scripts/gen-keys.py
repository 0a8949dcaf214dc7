#!/usr/bin/env python3
"""Write a seeded text of numbered tokens with about a million distinct
keys, the high-cardinality case of rbag's benchmarks.

    scripts/gen-keys.py OUT.txt [MEGABYTES]
"""
import random
import sys

out_path = sys.argv[1]
megabytes = float(sys.argv[2]) if len(sys.argv) > 2 else 43.3
rng = random.Random(1_000_000)
limit = int(megabytes * 1_000_000)
written = 0
with open(out_path, "w") as out:
    while written < limit:
        line = " ".join(f"key{rng.randrange(1_000_000)}" for _ in range(10)) + "\n"
        out.write(line)
        written += len(line)
print(f"{out_path}: {written} bytes", file=sys.stderr)
