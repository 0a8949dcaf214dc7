"""rbag-dask: run an rbag job on Dask distributed.

    rbag-dask wordcount|freq|run [rbag options] [--blocksize SIZE]
              [--scheduler ADDRESS] [--rbag PATH] FILE...

The files are planned with rbag's own ``--explain=json`` (sizes, and which
are compressed), cut into byte ranges of --blocksize (64MiB by default; a
compressed file is one task), counted by ``rbag ... --partial --byte-range``
on the workers, merged by a tree of ``rbag merge --partial`` tasks (8 parts
each, in input order), and finished here by ``rbag merge`` with the output
options: the same bytes as ``rbag`` on one machine. A local cluster is the
default; --scheduler tcp://HOST:8786 (or DASK_SCHEDULER_ADDRESS) uses a
real one.
"""

import json
import logging
import os
import subprocess
import sys

from rbag_dask import args as arguments
from rbag_dask import tasks

USAGE = __doc__.split("\n\n", 1)[1].split("\n\n", 1)[0]


def ranges(size, blocksize):
    """The byte ranges of a file of ``size`` bytes: ``blocksize`` each, the
    last one open-ended (to the end of the file). An empty file is one
    range: the whole file."""
    if size <= 0:
        return [None]
    starts = list(range(0, size, blocksize))
    return [(start, start + blocksize if start + blocksize < size else None) for start in starts]


def plan(job):
    """The tasks of a job: (path, byte range or None for the whole file),
    in input order. rbag itself resolves globs and tells sizes and
    compression (``--explain=json``), so the plan is rbag's."""
    cmd = [job.rbag, job.command, *job.task_args, "--explain=json", "--", *job.files]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False)
    except OSError as e:
        raise tasks.RbagFailed(2, f"rbag-dask: cannot run {job.rbag}: {e.strerror} (give --rbag PATH)", "planning") from None
    if done.returncode != 0:
        raise tasks.RbagFailed(done.returncode, done.stderr.decode("utf-8", errors="replace").strip(), "planning")
    explained = json.loads(done.stdout)
    planned = []
    for source in explained["inputs"]:
        name = source["name"]
        if source["kind"] == "stdin":
            raise arguments.UsageError("standard input cannot be split across machines; name files")
        if source["read"] != "windows" or source["compression"] is not None:
            # Compressed (or not a regular file): one task reads it whole.
            planned.append((name, None))
            continue
        planned += [(name, r) for r in ranges(source["size"], job.blocksize)]
    return planned


def connect(job):
    """A Dask client: the scheduler named, else a local cluster."""
    from distributed import Client, LocalCluster

    address = job.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return Client(address), None
    workers = job.workers or max(1, os.cpu_count() or 1)
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,
    )
    return Client(cluster), cluster


def tree(client, job, parts):
    """Merge futures of partials in groups of ``fan_in``, in order, until
    one is left."""
    level = parts
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [
            client.submit(tasks.merge_parts, job.rbag, level[i : i + job.fan_in], key=f"rbag-merge-{depth}-{i}", pure=False)
            for i in range(0, len(level), job.fan_in)
        ]
    return level[0]


def run(job):
    """Run a job; the exit status."""
    planned = plan(job)
    client, cluster = connect(job)
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
                job.command,
                job.task_args,
                path,
                byte_range,
                key=f"rbag-{job.command}-{i}",
                pure=False,
            )
            for i, (path, byte_range) in enumerate(planned)
        ]
        final = tree(client, job, parts)
        if sys.stderr.isatty():
            from distributed import progress

            progress(final, notebook=False)
            print(file=sys.stderr)
        try:
            where, _, partial = final.result()
        except tasks.RbagFailed as failed:
            print(failed.message, file=sys.stderr)
            print(f"rbag-dask: the task for {failed.what} failed", file=sys.stderr)
            return failed.status
        if job.verbose:
            for future in parts:
                ran_on, what, _ = future.result()
                print(f"rbag-dask: {what} ran on {ran_on}", file=sys.stderr)
            print(f"rbag-dask: the last merge ran on {where}", file=sys.stderr)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    # The final merge writes the output here, with the output options.
    done = subprocess.run([job.rbag, "merge", *job.final_args, "-"], input=partial, check=False)
    return done.returncode


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    try:
        job = arguments.split(argv)
        return run(job)
    except arguments.UsageError as e:
        print(f"rbag-dask: {e}", file=sys.stderr)
        return 2
    except tasks.RbagFailed as failed:
        print(failed.message, file=sys.stderr)
        return failed.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
