"""Splitting an rbag-dask command line.

rbag-dask takes rbag's own command line (``wordcount``, ``freq`` or
``run`` and their options and files) plus a few options of its own. The
driver knows only its own options: every other argument goes to rbag
untouched, and rbag itself says (in ``--explain=json``) which of them
decide what is computed (every task runs with those) and which shape the
output (the final ``rbag merge`` takes those). A few of rbag's options make
no sense for a job in parts; they are refused by name, with the reason.
"""

from dataclasses import dataclass, field

COMMANDS = ("wordcount", "freq", "run")

REFUSED = {
    "--byte-range": "the driver cuts the files into byte ranges itself",
    "--explain": "the driver's tasks are planned by rbag's own --explain; run rbag --explain on one machine",
    "--rejects": "each task would need a file of its own; use --skip-bad-lines alone",
    "--stats": "each task has its own statistics; run rbag --stats on one machine",
}
# The driver's own options, each with a value.
DRIVER_VALUED = ("--blocksize", "--scheduler", "--rbag", "--fan-in", "--workers", "--connect-timeout")
DRIVER_FLAGS = ("--verbose",)


class UsageError(Exception):
    """A command line rbag-dask cannot run."""


@dataclass
class Job:
    """A parsed rbag-dask command line."""

    command: str
    # rbag's arguments, as given, in order (files too).
    rbag_args: list[str] = field(default_factory=list)
    blocksize: int = 64 << 20
    scheduler: str | None = None
    rbag: str = "rbag"
    fan_in: int = 8
    workers: int | None = None
    # Seconds to wait for a scheduler to answer.
    connect_timeout: float = 10.0
    verbose: bool = False


UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1 << 10,
    "kib": 1 << 10,
    "m": 1000**2,
    "mb": 1000**2,
    "mi": 1 << 20,
    "mib": 1 << 20,
    "g": 1000**3,
    "gb": 1000**3,
    "gi": 1 << 30,
    "gib": 1 << 30,
}


def parse_size(text: str) -> int:
    """A size as rbag reads it: bytes, or a number with KB, KiB, MB, ..."""
    stripped = text.strip()
    digits = ""
    while stripped and stripped[0].isdigit():
        digits += stripped[0]
        stripped = stripped[1:]
    unit = stripped.strip().lower()
    if not digits or unit not in UNITS:
        raise UsageError(f"--blocksize: '{text}' is not a size (bytes, or a number with KB, KiB, MB, MiB, GB, GiB)")
    size = int(digits) * UNITS[unit]
    if size == 0:
        raise UsageError("--blocksize: a range must hold at least 1 byte")
    return size


def whole_number(name: str, text: str, least: int) -> int:
    """``text`` as a whole number of at least ``least``, for option ``name``."""
    try:
        number = int(text)
    except ValueError:
        raise UsageError(f"{name}: '{text}' is not a whole number") from None
    if number < least:
        raise UsageError(f"{name}: give at least {least}")
    return number


def seconds(name: str, text: str) -> float:
    """``text`` as a number of seconds above zero, for option ``name``."""
    try:
        number = float(text)
    except ValueError:
        raise UsageError(f"{name}: '{text}' is not a number of seconds") from None
    if not number > 0 or number == float("inf"):
        raise UsageError(f"{name}: give a number of seconds above 0")
    return number


def take_driver_option(job: Job, name: str, text: str) -> None:
    """Set the driver's option ``name`` to ``text``."""
    if name == "--blocksize":
        job.blocksize = parse_size(text)
    elif name == "--scheduler":
        job.scheduler = text
    elif name == "--rbag":
        job.rbag = text
    elif name == "--fan-in":
        job.fan_in = whole_number(name, text, 2)
    elif name == "--workers":
        job.workers = whole_number(name, text, 1)
    elif name == "--connect-timeout":
        job.connect_timeout = seconds(name, text)


def split(argv: list[str]) -> Job:
    """Split rbag-dask's arguments (without the program name) into a Job."""
    if not argv or argv[0] not in COMMANDS:
        raise UsageError(
            "the first argument is the rbag command to run: wordcount, freq or run "
            "(e.g. rbag-dask wordcount big.txt --top 10)"
        )
    job = Job(command=argv[0])
    rest = list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            # Files only from here on: rbag's, untouched.
            job.rbag_args += [arg, *rest]
            break
        name, has_value, inline = arg.partition("=")
        if name in REFUSED:
            raise UsageError(f"{name} is not for rbag-dask: {REFUSED[name]}")
        if name in DRIVER_FLAGS and not has_value:
            job.verbose = True
            continue
        if name not in DRIVER_VALUED:
            job.rbag_args.append(arg)
            continue
        if has_value:
            text = inline
        elif rest:
            text = rest.pop(0)
        else:
            raise UsageError(f"{name} needs a value")
        take_driver_option(job, name, text)
    return job
