"""The driver on a local cluster of 2 workers: its output is byte for
byte rbag's on one machine, and a failing task fails the job with rbag's
own message and the range."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

Done = subprocess.CompletedProcess[bytes]


def single(rbag: str, argv: list[str], cwd: Path) -> Done:
    return subprocess.run([rbag, *argv], cwd=cwd, capture_output=True, check=False)


def driver(rbag: str, argv: list[str], cwd: Path) -> Done:
    cmd = [sys.executable, "-m", "rbag_dask", *argv, "--workers", "2", "--rbag", rbag]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)


def same_as_rbag(rbag: str, argv: list[str], cwd: Path, driver_only: Sequence[str] = ()) -> Done:
    one = single(rbag, argv, cwd)
    assert one.returncode == 0, one.stderr
    many = driver(rbag, [*argv, *driver_only], cwd)
    assert many.returncode == 0, many.stderr.decode()
    assert many.stdout == one.stdout
    return many


def test_wordcount_over_several_files_one_split_into_many_ranges(rbag: str, fixtures: Path) -> None:
    many = same_as_rbag(
        rbag,
        ["wordcount", "genesis.txt", "unicode.txt", "genesis.txt.gz", "--top", "20"],
        fixtures,
        driver_only=["--blocksize", "300", "--verbose"],
    )
    log = many.stderr.decode()
    # genesis.txt (3036 bytes) in ranges of 300: 11 tasks; the .gz file whole.
    assert log.count("genesis.txt, bytes ") == 11, log
    assert "genesis.txt.gz, whole" in log
    assert "dashboard at http" in log


def test_freq_field_on_json_lines(rbag: str, fixtures: Path) -> None:
    same_as_rbag(
        rbag,
        ["freq", "--field", ".user.lang", "events.jsonl", "requests.jsonl", "--format", "jsonl"],
        fixtures,
        driver_only=["--blocksize", "100"],
    )


def test_sum_and_mean_of_floats(rbag: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    lines = [f'{{"x": {rng.uniform(-1e6, 1e6)!r}, "k": "{rng.choice("abc")}"}}\n' for _ in range(2000)]
    (tmp_path / "floats.jsonl").write_text("".join(lines))
    for pipeline in ["pluck .x | sum", "pluck .x | mean", "group .k | pluck .x | std"]:
        same_as_rbag(rbag, ["run", pipeline, "floats.jsonl"], tmp_path, driver_only=["--blocksize", "4096"])


def test_a_pipeline_without_a_reduction_streams_in_input_order(rbag: str, fixtures: Path) -> None:
    same_as_rbag(
        rbag,
        ["run", "filter .status >= 300 or .score > 2 | pluck [.path, .status]", "requests.jsonl", "events.jsonl"],
        fixtures,
        driver_only=["--blocksize", "90"],
    )


def test_a_task_that_fails_on_bad_json_fails_the_job(rbag: str, fixtures: Path) -> None:
    failed = driver(rbag, ["run", "pluck .a | count", "bad.jsonl", "--blocksize", "20"], fixtures)
    assert failed.returncode == 1
    err = failed.stderr.decode()
    lines = [line for line in err.splitlines() if not line.startswith("rbag-dask: dashboard at")]
    assert lines == [
        "rbag: bad.jsonl:3:9: invalid JSON: trailing comma (rbag-dask: the task for bad.jsonl, bytes 0-20 failed)"
    ], err
    assert failed.stdout == b""


def test_output_options_go_to_the_final_merge(rbag: str, fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "counts.tsv"
    done = driver(rbag, ["wordcount", "genesis.txt", "--top", "3", "-o", str(out), "--blocksize", "1000"], fixtures)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == single(rbag, ["wordcount", "genesis.txt", "--top", "3"], fixtures).stdout
    golden = fixtures / "golden" / "genesis-top8-wrong.tsv"
    differs = driver(rbag, ["wordcount", "genesis.txt", "--top", "8", "--expect", str(golden)], fixtures)
    assert differs.returncode == 3
    assert b"+++ rbag merge (output)" in differs.stderr


@pytest.mark.parametrize("argv", [["wordcount", "-"], ["wordcount", "--byte-range", "0:9", "genesis.txt"]])
def test_usage_errors_exit_2(rbag: str, fixtures: Path, argv: list[str]) -> None:
    assert driver(rbag, argv, fixtures).returncode == 2


def test_an_attached_output_option_goes_to_the_final_merge(rbag: str, fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    done = driver(rbag, ["wordcount", f"-o{out}", "genesis.txt", "--top", "3", "--blocksize", "1000"], fixtures)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert out.read_bytes() == single(rbag, ["wordcount", "genesis.txt", "--top", "3"], fixtures).stdout


def test_skipped_lines_are_reported_as_one_run_reports_them(rbag: str, fixtures: Path) -> None:
    argv = ["run", "--skip-bad-lines", "pluck .a | count", "bad.jsonl"]
    many = same_as_rbag(rbag, argv, fixtures, driver_only=["--blocksize", "20"])
    said = [line for line in many.stderr.decode().splitlines() if not line.startswith("rbag-dask: dashboard")]
    # One report per task that skipped lines, in input order, with the
    # lines' numbers in the whole file.
    assert said == [
        "rbag: skipped 1 bad line(s): bad.jsonl:3:9: invalid JSON: trailing comma",
        "rbag: skipped 1 bad line(s): bad.jsonl:6:1: invalid JSON: expected a value, found 'not'",
    ], said


def test_output_options_are_checked_before_the_job_runs(rbag: str, fixtures: Path) -> None:
    done = driver(rbag, ["wordcount", "genesis.txt", "--top", "abc"], fixtures)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.startswith("rbag: invalid value 'abc' for '--top <K>'"), err
    # No cluster was started for a job that cannot print its result.
    assert "dashboard" not in err


def running(marker: str) -> list[int]:
    """The processes whose command line starts with ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().replace(b"\0", b" ").startswith(
                marker.encode()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize(("how", "status"), [("SIGTERM to rbag-dask", 143), ("Ctrl-C to the whole job", 130)])
def test_a_signal_stops_the_job_quietly_and_leaves_nothing_running(
    rbag: str, tmp_path: Path, how: str, status: int
) -> None:
    (tmp_path / "four.txt").write_text("1\n2\n3\n4\n")
    marker = f"sleep 30.{status}"
    cmd = [sys.executable, "-m", "rbag_dask", "run", f'pipe "{marker}; cat" | count', "four.txt"]
    cmd += ["--blocksize", "2", "--workers", "2", "--rbag", rbag]
    job = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running(marker), "the tasks never started"
    if how == "SIGTERM to rbag-dask":
        job.send_signal(signal.SIGTERM)
    else:
        # A terminal's Ctrl-C signals every process of the job.
        os.killpg(job.pid, signal.SIGINT)
    out, err = job.communicate(timeout=60)
    assert job.returncode == status
    said = [line for line in err.decode().splitlines() if not line.startswith("rbag-dask: dashboard")]
    assert said == [], err.decode()
    assert out == b""
    # The tasks' rbag and the commands it started end with the job.
    deadline = time.monotonic() + 10
    while running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running(marker) == []
