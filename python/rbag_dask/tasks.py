"""What runs on the workers: rbag on one byte range of one file, and rbag
merge on partials. Each returns where it ran (for the multi-host check)
with the partial it made and what rbag said on stderr (a report of
skipped lines). rbag ends with the worker that started it: a job that is
stopped leaves nothing running."""

from __future__ import annotations

import ctypes
import signal
import subprocess

# What a task returns: where it ran, what it was, the partial it made, and
# what rbag said on its standard error.
Done = tuple[str, str, bytes, bytes]

# prctl(2)'s request to be sent a signal when the parent ends (Linux).
PR_SET_PDEATHSIG = 1


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded here, before any fork: the child between fork and exec must only
# make the one call.
_LIBC = _libc()


def _end_with_parent() -> None:
    """In the child before exec: SIGTERM when the worker thread that
    started it ends (a closed cluster), so that no rbag outlives its job."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


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


def failure(rbag: str, status: int, stderr: bytes) -> tuple[int, str]:
    """The exit status and message of an rbag that failed: its own words,
    or, when it said nothing, how it ended."""
    said = stderr.decode("utf-8", errors="replace").strip()
    if status < 0:
        return 128 - status, said or f"rbag-dask: {rbag} was killed by signal {-status}"
    return status, said or f"rbag-dask: {rbag} failed with status {status} and said nothing (is it rbag?)"


def _run(rbag: str, args: list[str], what: str, stdin: bytes | None = None) -> tuple[bytes, bytes]:
    try:
        done = subprocess.run([rbag, *args], input=stdin, capture_output=True, check=False, preexec_fn=_end_with_parent)
    except OSError as e:
        message = f"rbag-dask: cannot run {rbag}: {e.strerror} (is rbag on the worker's PATH?)"
        raise RbagFailed(1, message, what) from None
    if done.returncode != 0:
        raise RbagFailed(*failure(rbag, done.returncode, done.stderr), what)
    return done.stdout, done.stderr


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
    return (_where(), what, *_run(rbag, args, what))


def merge_parts(rbag: str, parts: list[Done]) -> Done:
    """``rbag merge --partial`` of parts, in their order."""
    what = "merging " + ", ".join(p[1] for p in parts[:2]) + (" ..." if len(parts) > 2 else "")
    stdin = b"".join(p[2] for p in parts)
    partial, _ = _run(rbag, ["merge", "--partial", "-"], what, stdin)
    # What the parts said travels up with them, in input order.
    said = b"".join(p[3] for p in parts)
    return (_where(), what, partial, said)
