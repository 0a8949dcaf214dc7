#!/usr/bin/env python3
"""dask.bag equivalents of rbag's benchmark commands, for scripts/bench.

    dask-bench.py words FILE    read_text().str.lower().str.split().flatten().frequencies()
    dask-bench.py jsonl FILE    read_text().map(json.loads).pluck('user') ... .frequencies()

Run with the default scheduler for bags (processes) on all cores. Prints the
number of distinct keys, to check that the work was done.
"""
import json
import sys

import dask.bag as db



def main():
    mode, path = sys.argv[1], sys.argv[2]
    lines = db.read_text(path, blocksize="16MiB")
    if mode == "words":
        result = lines.str.lower().str.split().flatten().frequencies(sort=True).compute()
    elif mode == "jsonl":
        # pluck("lang") would raise on the records without it; .get keeps the run going.
        langs = lines.map(json.loads).pluck("user").map(lambda user: user.get("lang"))
        result = langs.remove(lambda lang: lang is None).frequencies(sort=True).compute()
    else:
        sys.exit(__doc__)
    print(len(result))


# The process scheduler starts workers that import this file again.
if __name__ == "__main__":
    main()
