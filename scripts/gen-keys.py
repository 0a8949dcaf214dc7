#!/usr/bin/env python3
"""Write seeded high-cardinality inputs for rbag's benchmarks.

    scripts/gen-keys.py OUT.txt [MEGABYTES]    tokens key0 ... key999999, ten a line
    scripts/gen-keys.py --lines N OUT.txt       N distinct lines of 16 bytes
                                                (and a newline), shuffled
"""
import random
import sys

args = sys.argv[1:]
if args and args[0] == "--lines":
    count, out_path = int(args[1]), args[2]
    rng = random.Random(5_000_000)
    order = list(range(count))
    rng.shuffle(order)
    with open(out_path, "w") as out:
        for n in order:
            out.write(f"user{n:012d}\n")
    print(f"{out_path}: {count} distinct lines", file=sys.stderr)
    sys.exit(0)

out_path = args[0]
megabytes = float(args[1]) if len(args) > 1 else 43.3
rng = random.Random(1_000_000)
limit = int(megabytes * 1_000_000)
written = 0
with open(out_path, "w") as out:
    while written < limit:
        line = " ".join(f"key{rng.randrange(1_000_000)}" for _ in range(10)) + "\n"
        out.write(line)
        written += len(line)
print(f"{out_path}: {written} bytes", file=sys.stderr)
