//! The requests of the commands: plain options, lowered from the command
//! line by `cli`, that each command turns into a plan.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::input::Decompress;
use crate::plan::explain::Format as ExplainFormat;
use crate::plan::{Argv, ByteRange, Output};

/// What the command line asked for.
#[derive(Debug)]
pub(crate) enum Request {
    Wordcount {
        words: Words,
        blocks: Blocks,
    },
    Freq {
        field: Option<String>,
        records: RecordOptions,
        blocks: Blocks,
    },
    Run {
        pipeline: String,
        records: RecordOptions,
        blocks: Blocks,
    },
    Merge {
        files: Vec<OsString>,
        common: Common,
    },
}

impl Request {
    /// `--explain`: the plan printed instead of run.
    pub fn explain(&self) -> Option<ExplainFormat> {
        match self {
            Request::Wordcount { blocks, .. }
            | Request::Freq { blocks, .. }
            | Request::Run { blocks, .. } => blocks.common.explain,
            Request::Merge { common, .. } => common.explain,
        }
    }
}

/// What every command takes.
#[derive(Debug)]
pub(crate) struct Common {
    pub output: Output,
    /// Threads (for a merge: for sorting the result).
    pub threads: usize,
    /// `--explain`: print the plan instead of running it.
    pub explain: Option<ExplainFormat>,
    pub argv: Argv,
}

/// What the commands that read records in blocks take.
#[derive(Debug)]
pub(crate) struct Blocks {
    pub files: Vec<OsString>,
    pub block_size: u64,
    /// `-0`: records end in NUL.
    pub null: bool,
    pub strict_utf8: bool,
    pub decompress: Decompress,
    pub byte_range: Option<ByteRange>,
    pub progress: crate::progress::Mode,
    pub stats: bool,
    /// `--memory`, `--tmpdir`.
    pub memory: Option<u64>,
    pub tmpdir: Option<std::path::PathBuf>,
    pub common: Common,
}

/// How records are read by `run` and `freq`.
#[derive(Debug)]
pub(crate) struct RecordOptions {
    pub jsonl: bool,
    pub keep_cr: bool,
    pub skip_bad_lines: bool,
    pub rejects: Option<PathBuf>,
}

/// How words are cut, as the command line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Split {
    /// Unicode words (`--split words`, the default).
    Words,
    /// Runs of anything but white space (`--split whitespace`).
    Whitespace,
    /// The matches of a regex (`--pattern`).
    Pattern(String),
}

/// The word options of `rbag wordcount`.
#[derive(Debug)]
pub(crate) struct Words {
    pub split: Split,
    pub keep_case: bool,
    pub min_len: usize,
    pub stopwords: Option<PathBuf>,
}
