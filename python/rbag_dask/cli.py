"""rbag-dask: run an rbag job on Dask distributed.

    rbag-dask wordcount|freq|run [rbag options] [--blocksize SIZE]
              [--scheduler ADDRESS] [--connect-timeout SECONDS]
              [--rbag PATH] [--workers N] [--fan-in N] [--verbose] FILE...

rbag plans the job (``rbag ... --blocksize SIZE --explain=json``): which
files, their byte ranges (--blocksize, 64MiB by default; a compressed
file is read whole), and which of your options decide what is computed
and which shape the output. The workers run ``rbag ... --partial
--byte-range START:END`` on the ranges; the partials merge through a tree
of ``rbag merge --partial`` tasks (--fan-in parts each, in input order),
and ``rbag merge`` with the output options writes the result here: the
same bytes as ``rbag`` on one machine. A local cluster is the default;
--scheduler tcp://HOST:8786 (or DASK_SCHEDULER_ADDRESS) uses a real one,
waiting --connect-timeout seconds (10) for it to answer. What the tasks
say on stderr (skipped lines) is printed after the result. SIGINT and
SIGTERM stop the job: its tasks are cancelled, a local cluster and the
rbag processes on it end, and rbag-dask exits 130 or 143.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from rbag_dask import args as arguments
from rbag_dask import tasks

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

USAGE = (__doc__ or "").split("\n\n", 1)[1].split("\n\n", 1)[0]

# The versions of rbag's --explain=json this driver reads.
PLAN_VERSIONS = (1,)


@dataclass(frozen=True)
class Plan:
    """What rbag planned: the tasks, and the arguments of each part."""

    # (path, (start, end) or None for the whole file), in input order.
    tasks: list[tuple[str, tuple[int, int] | None]]
    # The job's arguments, the command first: every task runs them.
    job: list[str]
    # The output's arguments: the final merge takes them.
    output: list[str]


def read_plan(explained: object) -> Plan:
    """The tasks of a plan that rbag printed with --explain=json.

    A regular file is one task per block (the blocks are the byte ranges,
    as rbag cut them); an empty one is a task of its own, so that every
    file is in the job; a compressed file, or anything that is read as a
    stream, is one task that reads it whole."""
    if not isinstance(explained, dict):
        raise arguments.UsageError("rbag's plan is not a JSON object: is --rbag an rbag?")
    version = explained.get("rbag_plan")
    if type(version) is not int or version not in PLAN_VERSIONS:
        raise arguments.UsageError(
            f"rbag's plan has format version {version!r}, and this rbag-dask reads version "
            f"{', '.join(map(str, PLAN_VERSIONS))}: use the rbag-dask of that rbag"
        )
    argv = explained.get("argv")
    if not (isinstance(argv, dict) and strings(argv.get("job")) and strings(argv.get("output"))):
        raise arguments.UsageError("rbag's plan does not name the job's arguments: this rbag is older than rbag-dask")
    inputs = explained.get("inputs")
    if not isinstance(inputs, list):
        raise arguments.UsageError("rbag's plan has no list of inputs: is --rbag an rbag?")
    planned: list[tuple[str, tuple[int, int] | None]] = []
    for source in inputs:
        try:
            if source["kind"] == "stdin":
                raise arguments.UsageError("standard input cannot be split across machines; name files")
            name, read, compression = source["name"], source["read"], source["compression"]
            blocks = source.get("blocks")
            if read != "windows" or compression is not None or not blocks:
                planned.append((str(name), None))
                continue
            planned += [(str(name), (int(start), int(end))) for start, end in blocks]
        except (KeyError, TypeError, ValueError) as e:
            raise arguments.UsageError(f"rbag's plan has an input that is not as expected ({e!r})") from None
    if not planned:
        raise arguments.UsageError("no input: name the files to read")
    return Plan(tasks=planned, job=list(argv["job"]), output=list(argv["output"]))


def strings(value: object) -> bool:
    """Whether ``value`` is a list of strings."""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def plan(job: arguments.Job) -> Plan:
    """Ask rbag for the plan of a job: rbag resolves globs, tells sizes and
    compression, cuts the files into blocks, and checks every argument."""
    cmd = [job.rbag, job.command, "--blocksize", str(job.blocksize), "--explain=json", *job.rbag_args]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False)
    except OSError as e:
        message = f"rbag-dask: cannot run {job.rbag}: {e.strerror} (give --rbag PATH)"
        raise tasks.RbagFailed(2, message, "planning") from None
    if done.returncode != 0:
        raise tasks.RbagFailed(*tasks.failure(job.rbag, done.returncode, done.stderr), "planning")
    try:
        explained = json.loads(done.stdout)
    except ValueError:
        raise arguments.UsageError(f"{job.rbag} did not print a plan: is it rbag?") from None
    return read_plan(explained)


class Stopped(BaseException):
    """A signal stopped the job: the exit status it asks for. A
    BaseException, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def stop(signum: int, frame: FrameType | None) -> None:
    """The handler of SIGINT, SIGTERM and SIGHUP: stop the job. Further
    signals are ignored, so that the clean-up runs to its end."""
    for name in STOP_SIGNALS:
        signal.signal(name, signal.SIG_IGN)
    raise Stopped(128 + signum)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def connect(job: arguments.Job) -> tuple[Client, LocalCluster | None]:
    """A Dask client: the scheduler named, else a local cluster."""
    from distributed import Client, LocalCluster

    address = job.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            return Client(address, timeout=job.connect_timeout), None
        except (OSError, TimeoutError) as e:
            why = f"no answer within {job.connect_timeout:g} s (--connect-timeout): {one_line(str(e))}"
        except Exception as e:  # noqa: BLE001 - whatever answered, one line
            why = f"what answered is not a Dask scheduler ({type(e).__name__})"
        raise tasks.RbagFailed(1, f"rbag-dask: cannot reach the scheduler at {address}: {why}", "connecting")
    workers = job.workers or max(1, os.cpu_count() or 1)
    # The workers are started ignoring SIGINT, so that Ctrl-C at a terminal
    # (which signals every process of the job) stops the job through this
    # process alone, quietly: the workers end when the cluster closes.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster


def tree(client: Client, job: arguments.Job, parts: list[Future[tasks.Done]]) -> Future[tasks.Done]:
    """Merge futures of partials in groups of ``fan_in``, in order, until
    one is left."""
    level = parts
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [
            client.submit(
                tasks.merge_parts, job.rbag, level[i : i + job.fan_in], key=f"rbag-merge-{depth}-{i}", pure=False
            )
            for i in range(0, len(level), job.fan_in)
        ]
    return level[0]


def run(job: arguments.Job) -> int:
    """Run a job; the exit status."""
    planned = plan(job)
    client, cluster = connect(job)
    futures: list[Future[tasks.Done]] = []
    stopped = True
    try:
        # The workers need only rbag and dask: these functions travel by value.
        import cloudpickle

        cloudpickle.register_pickle_by_value(tasks)
        if client.dashboard_link:
            print(f"rbag-dask: dashboard at {client.dashboard_link}", file=sys.stderr)
        parts = [
            client.submit(
                tasks.count_range,
                job.rbag,
                planned.job,
                path,
                byte_range,
                key=f"rbag-{job.command}-{i}",
                pure=False,
            )
            for i, (path, byte_range) in enumerate(planned.tasks)
        ]
        futures += parts
        final = tree(client, job, parts)
        futures.append(final)
        if sys.stderr.isatty():
            from distributed import progress

            progress(final, notebook=False)
            print(file=sys.stderr)
        where, _, partial, said = final.result()
        if job.verbose:
            for future in parts:
                ran_on, what, _, _ = future.result()
                print(f"rbag-dask: {what} ran on {ran_on}", file=sys.stderr)
            print(f"rbag-dask: the last merge ran on {where}", file=sys.stderr)
        stopped = False
    finally:
        if stopped:
            # A signal or a failure: nothing more of the job is wanted, and
            # the clean-up is quiet.
            logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
            client.cancel(futures, force=True)
        client.close()
        if cluster is not None:
            cluster.close()
    # The final merge writes the output here, with the output options.
    done = subprocess.run([job.rbag, "merge", *planned.output, "-"], input=partial, check=False)
    # What the tasks said (skipped lines), as one run would say it: after
    # the output.
    sys.stderr.buffer.write(said)
    sys.stderr.flush()
    return done.returncode


def one_line(text: str) -> str:
    """A message on one line."""
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    for name in STOP_SIGNALS:
        signal.signal(name, stop)
    try:
        job = arguments.split(argv)
        return run(job)
    except Stopped as stopped:
        return stopped.status
    except arguments.UsageError as e:
        print(f"rbag-dask: {one_line(str(e))}", file=sys.stderr)
        return 2
    except tasks.RbagFailed as failed:
        if failed.what in ("planning", "connecting"):
            print(one_line(failed.message), file=sys.stderr)
        else:
            print(f"{one_line(failed.message)} (rbag-dask: the task for {failed.what} failed)", file=sys.stderr)
        return failed.status
    except Exception as e:  # noqa: BLE001 - the last resort: one line, never a traceback
        print(f"rbag-dask: {type(e).__name__}: {one_line(str(e))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
