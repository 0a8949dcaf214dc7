#!/usr/bin/env python3
"""Write a seeded, tweet-like JSON-lines file for rbag's benchmarks.

    scripts/gen-jsonl.py OUT.jsonl [MEGABYTES]

Each line is one object with nested objects (user, entities), arrays
(hashtags, mentions), Unicode text in several scripts, integers, floats,
booleans and nulls; about 2% of the records lack user.lang. The same seed
gives the same bytes on every machine.
"""
import json
import random
import sys

out_path = sys.argv[1]
megabytes = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
rng = random.Random(20261122)

LANGS = ["en"] * 40 + ["es"] * 12 + ["ja"] * 10 + ["pt"] * 8 + ["ar"] * 6 + ["fr"] * 5 + \
        ["de"] * 4 + ["ko"] * 3 + ["tr"] * 3 + ["ru"] * 3 + ["hi", "it", "nl", "pl", "sv", "zh", "el", "th"]
WORDS = ("the of and to in is for on with this that at from by new data rust shell bag "
         "count word fast block thread merge sort output pipeline record json field value "
         "café naïve straße über año señor 東京 大阪 データ 速い مرحبا بالعالم привет мир "
         "γειά σου κόσμε 안녕하세요 세계 नमस्ते दुनिया สวัสดี").split()
TAGS = ["rust", "shell", "data", "dask", "bigdata", "cli", "opensource", "linux", "bench",
        "json", "日本", "programación", "café", "ai", "ml", "devops"]
NAMES = ["Ada", "Zoë", "José", "Łukasz", "Søren", "Ünal", "李雷", "Ямада", "Amélie", "Bob", "Eve",
         "Mallory", "Chloé", "Renée", "Đorđe", "Nguyễn"]

size_limit = int(megabytes * 1_000_000)
written = 0
n = 0
with open(out_path, "w", encoding="utf-8") as out:
    while written < size_limit:
        n += 1
        user = {
            "id": rng.randrange(1, 5_000_000),
            "name": rng.choice(NAMES) + str(rng.randrange(1000)),
            "followers": rng.randrange(0, 2_000_000),
            "verified": rng.random() < 0.05,
            "created": f"20{rng.randrange(8, 26):02d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        }
        if rng.random() >= 0.02:
            user["lang"] = rng.choice(LANGS)
        record = {
            "id": 10**15 + n,
            "created_at": f"2026-11-{rng.randrange(1, 31):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
            "user": user,
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 30))),
            "entities": {
                "hashtags": rng.sample(TAGS, rng.randrange(0, 4)),
                "mentions": [{"id": rng.randrange(1, 5_000_000), "at": [rng.randrange(0, 80), rng.randrange(80, 140)]}
                             for _ in range(rng.randrange(0, 3))],
            },
            "retweets": rng.randrange(0, 10_000) if rng.random() < 0.3 else 0,
            "score": round(rng.uniform(-1, 1), 6),
            "geo": None if rng.random() < 0.9 else {"lat": round(rng.uniform(-90, 90), 5), "lon": round(rng.uniform(-180, 180), 5)},
        }
        line = json.dumps(record, ensure_ascii=rng.random() < 0.2) + "\n"
        out.write(line)
        written += len(line.encode("utf-8"))
print(f"{out_path}: {n} records, {written} bytes", file=sys.stderr)
