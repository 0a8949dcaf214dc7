"""Splitting an rbag-dask command line.

rbag-dask takes rbag's own command line (``wordcount``, ``freq`` or
``run`` and their options and files) plus a few options of its own. Each
of rbag's options goes where it acts:

* options that decide what is counted (how words are split, the pipeline,
  how records are read) go to every task, so that every partial belongs to
  the same job;
* options that shape the final output (format, order, cuts, where it is
  written, --expect, --partial) go to the final ``rbag merge``;
* --byte-range and --explain are the driver's to decide, and --rejects
  would need one file per task: they are refused.
"""

from dataclasses import dataclass, field

COMMANDS = ("wordcount", "freq", "run")

# rbag options that take a value (the next argument, or after '=').
TASK_VALUED = {
    "-j",
    "--threads",
    "--split",
    "--pattern",
    "--min-len",
    "--stopwords",
    "--decompress",
    "--field",
}
# Each task runs without a terminal; Dask shows the job's progress.
IGNORED_VALUED = {"--progress"}
FINAL_VALUED = {"--format", "--sort", "--top", "--min-count", "-o", "--output", "--expect"}
FINAL_FLAGS = {"--partial"}
REFUSED = {
    "--byte-range": "the driver cuts the files into byte ranges itself",
    "--explain": "the driver's tasks are planned by rbag's own --explain; run rbag --explain on one machine",
    "--rejects": "each task would need a file of its own; use --skip-bad-lines alone",
    "--stats": "each task has its own statistics; run rbag --stats on one machine",
}
# The driver's own options.
DRIVER_VALUED = {"--blocksize", "--scheduler", "--rbag", "--fan-in", "--workers"}
DRIVER_FLAGS = {"--verbose"}


class UsageError(Exception):
    """A command line rbag-dask cannot run."""


@dataclass
class Job:
    """A parsed rbag-dask command line."""

    command: str
    task_args: list = field(default_factory=list)
    final_args: list = field(default_factory=list)
    files: list = field(default_factory=list)
    blocksize: int = 64 << 20
    scheduler: str | None = None
    rbag: str = "rbag"
    fan_in: int = 8
    workers: int | None = None
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


def parse_size(text):
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


def split(argv):
    """Split rbag-dask's arguments (without the program name) into a Job."""
    if not argv or argv[0] not in COMMANDS:
        raise UsageError(
            "the first argument is the rbag command to run: wordcount, freq or run "
            "(e.g. rbag-dask wordcount big.txt --top 10)"
        )
    job = Job(command=argv[0])
    positional = []
    rest = list(argv[1:])
    only_files = False
    while rest:
        arg = rest.pop(0)
        if only_files:
            positional.append(arg)
            continue
        if arg == "--":
            only_files = True
            continue
        name, has_value, inline = arg.partition("=")
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue

        def value():
            if has_value:
                return inline
            if not rest:
                raise UsageError(f"{name} needs a value")
            return rest.pop(0)

        if name in REFUSED:
            raise UsageError(f"{name} is not for rbag-dask: {REFUSED[name]}")
        if name in DRIVER_VALUED:
            text = value()
            if name == "--blocksize":
                job.blocksize = parse_size(text)
            elif name == "--scheduler":
                job.scheduler = text
            elif name == "--rbag":
                job.rbag = text
            elif name == "--fan-in":
                job.fan_in = max(2, int(text))
            elif name == "--workers":
                job.workers = max(1, int(text))
        elif name in DRIVER_FLAGS:
            job.verbose = True
        elif name in FINAL_VALUED:
            job.final_args += [name, value()]
        elif name in FINAL_FLAGS:
            job.final_args.append(name)
        elif name in TASK_VALUED:
            job.task_args += [name, value()]
        elif name in IGNORED_VALUED:
            value()
        else:
            # A flag of rbag's (--jsonl, --keep-case, -0, ...): every task.
            job.task_args.append(arg)
    if job.command == "run":
        if not positional:
            raise UsageError("run needs a pipeline, e.g. rbag-dask run 'pluck .lang | frequencies' FILE...")
        job.task_args.append(positional.pop(0))
    if not positional or "-" in positional:
        raise UsageError(
            "rbag-dask needs files that every worker can read at the same path (not standard input)"
        )
    job.files = positional
    return job
