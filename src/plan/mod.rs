//! The plan: the one value every command (`wordcount`, `freq`, `run`,
//! `merge`) lowers its arguments into, the engine executes, `--explain`
//! renders (`explain`), and a partial's identity is derived from
//! (`identity`). It holds the inputs with their windows, how records are
//! read, the steps fused per block, the reduction and what follows it,
//! and the output.
//!
//! A plan is plain data, built once before any input is read, and nothing
//! in it depends on the command line's types. A merge plan is the one whose
//! job is not known in advance: the partials name it, and the engine reads
//! it from them.

pub(crate) mod explain;
mod identity;
mod inputs;
mod job;

use std::collections::HashSet;
use std::path::PathBuf;

pub(crate) use identity::names_its_job;
pub(crate) use inputs::{ByteRange, Input, inputs, known_total, threads};
pub(crate) use job::{check_output, check_stdin_once, lower_pipeline};

use crate::output::Presentation;
use crate::pipeline::ast::{InputKind, Projection, Reduction, Stage};
use crate::tokenize::Splitter;

/// The command a plan was made for (its name in messages and plans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Wordcount,
    Freq,
    Run,
    Merge,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Wordcount => "wordcount",
            Command::Freq => "freq",
            Command::Run => "run",
            Command::Merge => "merge",
        }
    }
}

/// Everything a run does.
#[derive(Debug)]
pub(crate) struct Plan {
    pub command: Command,
    pub inputs: Vec<Input>,
    /// Worker threads (for a merge: threads that sort the result).
    pub threads: usize,
    pub work: Work,
    pub output: Output,
    pub progress: crate::progress::Mode,
    /// `--stats`: one summary line on standard error.
    pub stats: bool,
    pub argv: Argv,
}

/// What is done with the inputs.
#[derive(Debug)]
pub(crate) enum Work {
    /// Records read in blocks and run through a job.
    Blocks(Box<Job>),
    /// Partial results read whole and merged (`rbag merge`); the job is
    /// the one they name.
    Partials,
}

/// A job: how records are read, the steps fused per block, the reduction.
/// Its identity (`Job::identity`) names its partials.
#[derive(Debug)]
pub(crate) struct Job {
    pub block_size: u64,
    pub records: Records,
    pub steps: Vec<Step>,
    /// The first reduction, with what follows it; none: records stream
    /// out in input order.
    pub reduction: Option<Reduction>,
    pub memory: Memory,
}

/// What a table may hold in memory before it spills, and where it spills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memory {
    pub budget: u64,
    pub tmpdir: std::path::PathBuf,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory::new(None, None)
    }
}

impl Memory {
    /// `--memory` and `--tmpdir`, or their defaults: half the machine's
    /// memory (a table's growth then never pushes the machine into swap,
    /// and the rest is left to the input's buffers, the output and other
    /// programs), and the system's temporary directory.
    pub fn new(budget: Option<u64>, tmpdir: Option<std::path::PathBuf>) -> Memory {
        Memory {
            budget: budget.unwrap_or_else(|| machine_memory() / 2),
            tmpdir: tmpdir.unwrap_or_else(std::env::temp_dir),
        }
    }
}

/// The machine's physical memory in bytes (4 GiB when it cannot be read).
fn machine_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        });
    total.unwrap_or(4 << 30)
}

/// How records are read.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    pub kind: InputKind,
    /// `\n`, or NUL under `-0`.
    pub delimiter: u8,
    /// `--keep-cr`: a carriage return before a newline stays.
    pub keep_cr: bool,
    /// `--strict-utf8`: bytes that are not UTF-8 fail the run.
    pub strict_utf8: bool,
    /// `--skip-bad-lines`, and where the skipped lines go.
    pub bad_lines: BadLines,
}

/// What to do with a line that is not a record (bad JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadLines {
    /// Fail the run, naming the line.
    Fail,
    /// Skip it, count it, summarise; write it to `rejects` when given.
    Skip { rejects: Option<PathBuf> },
}

/// One step of a job, fused with the others on every block.
#[derive(Debug)]
pub(crate) enum Step {
    /// The word kernel: each raw block cut into words, with no records in
    /// between (only the first step).
    Tokenize(Splitter),
    /// The word kernel lowercases each word (only after `Tokenize`).
    LowerWords,
    /// A filter on the words of the kernel. It commutes with counting, so
    /// it runs once per distinct word, after the tables are merged.
    DropWords(WordFilter),
    /// `pluck` done while a JSON line is parsed: only this value is built
    /// (only the first step, on JSON lines).
    ParsePluck(Projection),
    /// A stage of the pipeline language, per record.
    Stage(Stage),
}

/// A filter of the word kernel.
#[derive(Debug)]
pub(crate) enum WordFilter {
    /// `--min-len N`: words of fewer characters are left out.
    MinLen(usize),
    /// `--stopwords FILE`: these words are left out.
    Stopwords(Stopwords),
}

/// The words of a stopword file, as compared (after case handling).
#[derive(Debug)]
pub(crate) struct Stopwords {
    pub words: HashSet<Vec<u8>>,
    /// The file, for the plan.
    pub file: String,
}

impl Stopwords {
    /// A hash of the set, for the job's identity: two files with the same
    /// words are the same job.
    pub fn digest(&self) -> u64 {
        let mut sorted: Vec<&Vec<u8>> = self.words.iter().collect();
        sorted.sort();
        let joined: Vec<u8> = sorted
            .iter()
            .flat_map(|w| w.iter().copied().chain([0]))
            .collect();
        xxhash_rust::xxh3::xxh3_64(&joined)
    }
}

impl Job {
    /// The word kernel's splitter and whether it lowercases, when the job
    /// starts with one.
    pub fn kernel(&self) -> Option<(&Splitter, bool)> {
        match self.steps.as_slice() {
            [Step::Tokenize(splitter), rest @ ..] => {
                Some((splitter, matches!(rest.first(), Some(Step::LowerWords))))
            }
            _ => None,
        }
    }

    /// The kernel's word filters, in order.
    pub fn word_filters(&self) -> impl Iterator<Item = &WordFilter> {
        self.steps.iter().filter_map(|s| match s {
            Step::DropWords(filter) => Some(filter),
            _ => None,
        })
    }

    /// The `pluck` done while parsing, if the job starts with one.
    pub fn parse_pluck(&self) -> Option<&Projection> {
        match self.steps.first() {
            Some(Step::ParsePluck(projection)) => Some(projection),
            _ => None,
        }
    }

    /// The stages of the language, run per record, in order.
    pub fn stages(&self) -> Vec<Stage> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Stage(stage) => Some(stage.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether a `pipe` command runs anywhere in the job: what it sees
    /// depends on where blocks are cut, so blocks of a live pipe are not
    /// handed on early.
    pub fn has_pipe(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Stage(Stage::Pipe(_))))
            || self.reduction.as_ref().is_some_and(|r| r.rest.has_pipe())
    }

    /// How the job ends: records streamed in input order (at most `limit`
    /// of them), or a reduction.
    pub fn streams(&self) -> Option<Option<u64>> {
        streams(self.reduction.as_ref())
    }
}

/// The stream of a pipeline whose first reduction is `reduction`: all its
/// records (no reduction), or the first N (a final `take N`); `None` when
/// a reduction must see every record first.
pub(crate) fn streams(reduction: Option<&Reduction>) -> Option<Option<u64>> {
    match reduction {
        None => Some(None),
        Some(r) if r.group.is_none() && r.rest.is_empty() => match r.reduce {
            crate::pipeline::ast::Reduce::Take(n) => Some(Some(n)),
            _ => None,
        },
        Some(_) => None,
    }
}

/// Where and how the result is written.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub presentation: Presentation,
    /// `-o FILE`; none: standard output.
    pub to: Option<PathBuf>,
    /// `--expect FILE`: compare instead of writing.
    pub expect: Option<PathBuf>,
    /// `--partial`: an exact partial result for `rbag merge`.
    pub partial: bool,
}

/// The job's command line split by what each argument is for, for a tool
/// that runs the job in parts (rbag-dask): the arguments that decide what
/// is computed (every part runs with them) and those that shape the output
/// (the final merge takes them). Values are as given.
#[derive(Debug, Clone, Default)]
pub(crate) struct Argv {
    pub job: Vec<String>,
    pub output: Vec<String>,
}
