//! The commands. Each lowers its request (plain options, lowered from the
//! command line by `cli`) into a [`Plan`]; then the plan is either
//! rendered (`--explain`) or executed by the engine, the same way for
//! every command. Commands never call each other: what `run` and `freq`
//! share (a pipeline over records) is planned here.

mod freq;
mod merge;
mod run;
mod wordcount;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

pub(crate) use wordcount::{Split, Words};

use crate::error::Error;
use crate::input::{self, Decompress, Source};
use crate::pipeline::ast::InputKind;
use crate::plan::explain::Format as ExplainFormat;
use crate::plan::{
    Argv, BadLines, ByteRange, Command, Input, Job, Output, Plan, Records, Work, check_output,
    lower_pipeline,
};

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

/// Plan the request, then explain or execute the plan.
///
/// # Errors
/// Whatever planning or running finds.
pub(crate) fn run(request: Request) -> Result<(), Error> {
    let (plan, explain) = match request {
        Request::Wordcount { words, blocks } => {
            let explain = blocks.common.explain;
            (wordcount::plan(words, blocks)?, explain)
        }
        Request::Freq {
            field,
            records,
            blocks,
        } => {
            let explain = blocks.common.explain;
            (freq::plan(field, records, blocks)?, explain)
        }
        Request::Run {
            pipeline,
            records,
            blocks,
        } => {
            let explain = blocks.common.explain;
            (run::plan(&pipeline, records, blocks)?, explain)
        }
        Request::Merge { files, common } => {
            let explain = common.explain;
            (merge::plan(files, common)?, explain)
        }
    };
    match explain {
        Some(format) => {
            let mut out = std::io::stdout().lock();
            out.write_all(plan.render(format).as_bytes())
                .and_then(|()| out.flush())
                .map_err(Error::Stdout)
        }
        None => crate::engine::execute(plan),
    }
}

/// Whether the records are JSON lines: asked for, or every file is named
/// so.
fn input_kind(jsonl: bool, sources: &[Source]) -> InputKind {
    if jsonl || sources.iter().all(Source::named_jsonl) {
        InputKind::Json
    } else {
        InputKind::Text
    }
}

/// Plan a pipeline over records (`run`, and `freq`'s pipeline); `field`
/// is `freq --field`, whose own message replaces the pipeline's.
fn plan_records(
    command: Command,
    text: &str,
    field: Option<&str>,
    options: RecordOptions,
    blocks: Blocks,
) -> Result<Plan, Error> {
    let sources = input::resolve(&blocks.files)?;
    let kind = input_kind(options.jsonl, &sources);
    let pipeline = crate::pipeline::parse::parse(text, kind).map_err(|e| match field {
        // `rbag freq --field` builds its pipeline; speak of the flag.
        Some(field) => Error::Usage(format!(
            "--field {field} needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files)"
        )),
        None => Error::Pipeline {
            line: e.line,
            column: e.column,
            message: e.message,
        },
    })?;
    check_output(&blocks.common.output, pipeline.reduce.as_deref())?;
    let (steps, reduction) = lower_pipeline(pipeline, kind);
    let records = Records {
        kind,
        delimiter: if blocks.null { 0 } else { b'\n' },
        keep_cr: options.keep_cr,
        strict_utf8: blocks.strict_utf8,
        bad_lines: if options.skip_bad_lines {
            BadLines::Skip {
                rejects: options.rejects,
            }
        } else {
            BadLines::Fail
        },
    };
    plan_blocks(command, sources, blocks, records, steps, reduction)
}

/// The plan of a job over blocks of `sources`.
fn plan_blocks(
    command: Command,
    sources: Vec<Source>,
    blocks: Blocks,
    records: Records,
    steps: Vec<crate::plan::Step>,
    reduction: Option<crate::pipeline::ast::Reduction>,
) -> Result<Plan, Error> {
    let Blocks {
        block_size,
        decompress,
        byte_range,
        progress,
        stats,
        common,
        ..
    } = blocks;
    let inputs: Vec<Input> = crate::plan::inputs(sources, decompress, byte_range, common.threads)?;
    let threads = crate::plan::threads(common.threads, &inputs, block_size);
    Ok(Plan {
        command,
        inputs,
        threads,
        work: Work::Blocks(Box::new(Job {
            block_size,
            records,
            steps,
            reduction,
        })),
        output: common.output,
        progress,
        stats,
        argv: common.argv,
    })
}
