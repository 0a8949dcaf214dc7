"""What runs on the workers: rbag on one byte range of one file, and rbag
merge on partials. Each returns where it ran (for the multi-host check)
with the partial it made."""

from __future__ import annotations

import subprocess

# What a task returns: where it ran, what it was, the partial it made.
Done = tuple[str, str, bytes]


class RbagFailed(Exception):
    """rbag exited with an error: its status, its own message, and which
    part of the job it was running."""

    def __init__(self, status: int, message: str, what: str) -> None:
        super().__init__(status, message, what)
        self.status = status
        self.message = message
        self.what = what

    def __str__(self) -> str:
        return f"{self.message} ({self.what})"


def _where() -> str:
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker.name if isinstance(worker.name, str) else str(worker.address)
    except ValueError:
        return "this process"


def _run(rbag: str, args: list[str], what: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run([rbag, *args], input=stdin, capture_output=True, check=False)
    except OSError as e:
        message = f"rbag-dask: cannot run {rbag}: {e.strerror} (is rbag on the worker's PATH?)"
        raise RbagFailed(1, message, what) from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise RbagFailed(done.returncode, message, what)
    return done.stdout


def count_range(rbag: str, job: list[str], path: str, byte_range: tuple[int, int] | None) -> Done:
    """``rbag JOB... --partial [--byte-range A:B] -- PATH``: ``job`` is the
    job's arguments as rbag planned them, the command first."""
    args = [*job, "--partial"]
    if byte_range is None:
        what = f"{path}, whole"
    else:
        start, end = byte_range
        args += ["--byte-range", f"{start}:{end}"]
        what = f"{path}, bytes {start}-{end}"
    args += ["--", path]
    return (_where(), what, _run(rbag, args, what))


def merge_parts(rbag: str, parts: list[Done]) -> Done:
    """``rbag merge --partial`` of parts, in their order."""
    what = "merging " + ", ".join(p[1] for p in parts[:2]) + (" ..." if len(parts) > 2 else "")
    stdin = b"".join(p[2] for p in parts)
    return (_where(), what, _run(rbag, ["merge", "--partial", "-"], what, stdin))
