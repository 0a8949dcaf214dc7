"""Unit tests of the driver's planning: its own options, everything else
untouched for rbag, and the tasks read from rbag's own plan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rbag_dask import args
from rbag_dask.cli import PLAN_VERSIONS, plan, read_plan


def test_the_driver_takes_its_own_options_and_leaves_the_rest_untouched() -> None:
    job = args.split(
        [
            "run",
            "--jsonl",
            "pluck .a | frequencies",
            "--top",
            "5",
            "--format=jsonl",
            "-j",
            "2",
            "--blocksize",
            "1MiB",
            "--scheduler=tcp://h:8786",
            "--verbose",
            "--fan-in",
            "3",
            "a.jsonl",
            "--bogus",
            "7",
            "-o",
            "out.tsv",
            "--",
            "--workers",
        ]
    )
    assert job.command == "run"
    assert job.rbag_args == [
        "--jsonl",
        "pluck .a | frequencies",
        "--top",
        "5",
        "--format=jsonl",
        "-j",
        "2",
        "a.jsonl",
        "--bogus",
        "7",
        "-o",
        "out.tsv",
        "--",
        "--workers",
    ]
    assert job.blocksize == 1 << 20
    assert job.scheduler == "tcp://h:8786"
    assert job.verbose
    assert job.fan_in == 3
    assert job.workers is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the first argument"),
        (["count", "f"], "the first argument"),
        (["wordcount", "--byte-range", "0:5", "f"], "cuts the files into byte ranges itself"),
        (["wordcount", "--byte-range=0:5", "f"], "cuts the files into byte ranges itself"),
        (["run", "count", "--rejects", "r", "f"], "a file of its own"),
        (["wordcount", "--blocksize", "12Q", "f"], "not a size"),
        (["wordcount", "f", "--workers"], "needs a value"),
        (["wordcount", "f", "--workers", "two"], "'two' is not a whole number"),
        (["wordcount", "f", "--fan-in=1"], "at least 2"),
    ],
)
def test_what_cannot_run_is_a_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(args.UsageError, match=message):
        args.split(argv)


def test_sizes_read_as_rbag_reads_them() -> None:
    assert args.parse_size("64MiB") == 64 << 20
    assert args.parse_size("2kb") == 2000
    assert args.parse_size("17") == 17


def explained(**overrides: object) -> dict[str, object]:
    plan: dict[str, object] = {
        "rbag_plan": 1,
        "argv": {"job": ["wordcount", "--split", "words"], "output": ["--top", "3"]},
        "inputs": [
            {
                "name": "a.txt",
                "kind": "file",
                "read": "windows",
                "compression": None,
                "blocks": [[0, 4], [4, 8], [8, 10]],
            },
            {"name": "empty.txt", "kind": "file", "read": "windows", "compression": None, "blocks": []},
            {"name": "b.txt.gz", "kind": "file", "read": "stream", "compression": "gzip", "blocks": None},
        ],
    }
    plan.update(overrides)
    return plan


def test_tasks_are_rbag_s_blocks_and_whole_files() -> None:
    planned = read_plan(explained())
    assert planned.tasks == [
        ("a.txt", (0, 4)),
        ("a.txt", (4, 8)),
        ("a.txt", (8, 10)),
        ("empty.txt", None),
        ("b.txt.gz", None),
    ]
    assert planned.job == ["wordcount", "--split", "words"]
    assert planned.output == ["--top", "3"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rbag_plan": 2}, "format version 2"),
        ({"rbag_plan": "1"}, "format version '1'"),
        ({"rbag_plan": True}, "format version True"),
        ({"rbag_plan": 1.0}, "format version 1.0"),
        ({"argv": {"job": ["run"]}}, "older than rbag-dask"),
        ({"inputs": None}, "no list of inputs"),
        ({"inputs": [{"name": "a"}]}, "not as expected"),
        ({"argv": None}, "older than rbag-dask"),
        ({"inputs": [{"name": "<stdin>", "kind": "stdin"}]}, "standard input"),
        ({"inputs": []}, "no input"),
    ],
)
def test_a_plan_the_driver_cannot_read_is_refused(overrides: dict[str, object], message: str) -> None:
    assert PLAN_VERSIONS == (1,)
    with pytest.raises(args.UsageError, match=message):
        read_plan(explained(**overrides))


def test_rbag_itself_says_which_arguments_go_where(rbag: str, fixtures: Path) -> None:
    job = args.split(
        [
            "run",
            "--jsonl",
            "pluck .user.lang | frequencies",
            "events.jsonl",
            "--top",
            "5",
            "--format=jsonl",
            "-j",
            "2",
            "--blocksize",
            "300",
            "-o",
            "out.tsv",
        ]
    )
    job.rbag = rbag
    import os

    here = os.getcwd()
    os.chdir(fixtures)
    try:
        planned = plan(job)
    finally:
        os.chdir(here)
    assert planned.job == ["run", "--jsonl", "--threads=2", "pluck .user.lang | frequencies"]
    assert planned.output == ["--format=jsonl", "--top=5", "--output=out.tsv"]
    # events.jsonl (687 bytes) in blocks of 300: rbag's windows.
    assert planned.tasks == [("events.jsonl", (0, 300)), ("events.jsonl", (300, 600)), ("events.jsonl", (600, 687))]
    # JSON lines known by the files' names: the tasks are told, since a
    # task's one file may not say so.
    named = args.split(["freq", "--field", ".user.lang", "events.jsonl", "requests.jsonl"])
    named.rbag = rbag
    os.chdir(fixtures)
    try:
        planned = plan(named)
    finally:
        os.chdir(here)
    assert planned.job == ["freq", "--jsonl", "--field=.user.lang"]


@pytest.mark.parametrize(
    ("argv", "status", "said"),
    [
        # An option rbag does not know is rbag's to refuse, value and all.
        (["wordcount", "--bogus", "7", "genesis.txt"], 2, "rbag: unexpected argument '--bogus'"),
        (["wordcount", "genesis.txt", "--workers", "many"], 2, "rbag-dask: --workers: 'many' is not a whole number"),
        (["run", "pluck .a | frobnicate", "events.jsonl"], 2, "rbag: pipeline: 1:12: unknown stage 'frobnicate'"),
        (["wordcount", "no-such-file.txt"], 1, "rbag: no-such-file.txt: no such file or directory"),
        (["wordcount", "genesis.txt", "--rbag", "/no/such/rbag"], 2, "rbag-dask: cannot run /no/such/rbag"),
        (
            ["wordcount", "genesis.txt", "--rbag", "/bin/false"],
            1,
            "rbag-dask: /bin/false failed with status 1 and said nothing",
        ),
        (["wordcount", "genesis.txt", "--rbag", "/bin/echo"], 2, "rbag-dask: /bin/echo did not print a plan"),
        (["wordcount", "genesis.txt", "--fan-in", "abc"], 2, "rbag-dask: --fan-in: 'abc' is not a whole number"),
        (["wordcount", "genesis.txt", "--connect-timeout", "0"], 2, "rbag-dask: --connect-timeout: give a number"),
        (
            ["wordcount", "genesis.txt", "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "1"],
            1,
            "rbag-dask: cannot reach the scheduler at tcp://127.0.0.1:1: no answer within 1 s",
        ),
    ],
)
def test_every_failure_is_one_line_and_a_status(
    rbag: str, fixtures: Path, argv: list[str], status: int, said: str
) -> None:
    cmd = [sys.executable, "-m", "rbag_dask", *argv]
    if "--rbag" not in argv:
        cmd += ["--rbag", rbag]
    done = subprocess.run(cmd, cwd=fixtures, capture_output=True, check=False)
    err = done.stderr.decode()
    assert done.returncode == status, err
    assert err.startswith(said), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert done.stdout == b""


def test_a_scheduler_address_where_something_else_answers(rbag: str, fixtures: Path) -> None:
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        # Not Dask: bytes that read as a frame of absurd size.
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"\xff" * 64)

    threading.Thread(target=answer, daemon=True).start()
    try:
        cmd = [sys.executable, "-m", "rbag_dask", "wordcount", "genesis.txt", "--rbag", rbag]
        cmd += ["--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "5"]
        done = subprocess.run(cmd, cwd=fixtures, capture_output=True, check=False)
    finally:
        server.close()
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.startswith(f"rbag-dask: cannot reach the scheduler at tcp://127.0.0.1:{port}: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
