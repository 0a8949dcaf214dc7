"""What runs on the workers: rbag on one byte range of one file, and rbag
merge on partials. Each returns where it ran (for the multi-host check)
with the partial it made."""

import subprocess


class RbagFailed(Exception):
    """rbag exited with an error: its status, its own message, and which
    part of the job it was running."""

    def __init__(self, status, message, what):
        super().__init__(status, message, what)
        self.status = status
        self.message = message
        self.what = what

    def __str__(self):
        return f"{self.message} ({self.what})"


def _where():
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker.name if isinstance(worker.name, str) else worker.address
    except ValueError:
        return "this process"


def _run(rbag, args, what, stdin=None):
    try:
        done = subprocess.run([rbag, *args], input=stdin, capture_output=True, check=False)
    except OSError as e:
        raise RbagFailed(1, f"rbag-dask: cannot run {rbag}: {e.strerror} (is rbag on the worker's PATH?)", what) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise RbagFailed(done.returncode, message, what)
    return done.stdout


def count_range(rbag, command, task_args, path, byte_range):
    """``rbag COMMAND ... --partial [--byte-range A:B] PATH``."""
    args = [command, *task_args, "--partial"]
    if byte_range is None:
        what = f"{path}, whole"
    else:
        start, end = byte_range
        args += ["--byte-range", f"{start}:{'' if end is None else end}"]
        what = f"{path}, bytes {start}-{'end' if end is None else end}"
    args += ["--", path] if path.startswith("-") else [path]
    return (_where(), what, _run(rbag, args, what))


def merge_parts(rbag, parts):
    """``rbag merge --partial`` of parts, in their order."""
    what = "merging " + ", ".join(p[1] for p in parts[:2]) + (" ..." if len(parts) > 2 else "")
    stdin = b"".join(p[2] for p in parts)
    return (_where(), what, _run(rbag, ["merge", "--partial", "-"], what, stdin))
