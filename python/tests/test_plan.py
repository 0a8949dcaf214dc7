"""Unit tests of the driver's planning: byte ranges and where each option
goes."""

import pytest

from rbag_dask import args
from rbag_dask.cli import ranges


def test_ranges_tile_the_file_and_the_last_is_open():
    assert ranges(10, 4) == [(0, 4), (4, 8), (8, None)]
    assert ranges(8, 4) == [(0, 4), (4, None)]
    assert ranges(3, 4) == [(0, None)]
    assert ranges(0, 4) == [None]
    # Every byte is in exactly one range.
    for size in range(1, 50):
        for block in range(1, 12):
            covered = []
            for start, end in ranges(size, block):
                covered += list(range(start, size if end is None else end))
            assert covered == list(range(size))


def test_options_go_where_they_act():
    job = args.split(
        ["run", "--jsonl", "pluck .a | frequencies", "--top", "5", "--format=jsonl", "-j", "2",
         "--blocksize", "1MiB", "--scheduler", "tcp://h:8786", "a.jsonl", "b.jsonl", "-o", "out.tsv"]
    )
    assert job.command == "run"
    assert job.task_args == ["--jsonl", "-j", "2", "pluck .a | frequencies"]
    assert job.final_args == ["--top", "5", "--format", "jsonl", "-o", "out.tsv"]
    assert job.files == ["a.jsonl", "b.jsonl"]
    assert job.blocksize == 1 << 20
    assert job.scheduler == "tcp://h:8786"


def test_wordcount_options_reach_every_task():
    job = args.split(["wordcount", "--split", "whitespace", "--keep-case", "--stopwords=stop.txt", "--", "-odd.txt"])
    assert job.task_args == ["--split", "whitespace", "--keep-case", "--stopwords", "stop.txt"]
    assert job.files == ["-odd.txt"]


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the first argument"),
        (["count", "f"], "the first argument"),
        (["wordcount"], "needs files"),
        (["wordcount", "-"], "needs files"),
        (["run"], "needs a pipeline"),
        (["wordcount", "--byte-range", "0:5", "f"], "cuts the files into byte ranges itself"),
        (["run", "count", "--rejects", "r", "f"], "a file of its own"),
        (["wordcount", "--blocksize", "12Q", "f"], "not a size"),
        (["wordcount", "--top"], "needs a value"),
    ],
)
def test_what_cannot_run_is_a_usage_error(argv, message):
    with pytest.raises(args.UsageError, match=message):
        args.split(argv)


def test_sizes_read_as_rbag_reads_them():
    assert args.parse_size("64MiB") == 64 << 20
    assert args.parse_size("2kb") == 2000
    assert args.parse_size("17") == 17
