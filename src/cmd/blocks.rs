//! Planning a job over blocks of the inputs: what `wordcount`, `freq` and
//! `run` share (the inputs and their windows, the threads), and the
//! pipeline over records that `freq` and `run` share.

use super::request::{Blocks, RecordOptions};
use crate::error::Error;
use crate::input::{self, Source};
use crate::pipeline::ast::{InputKind, Reduction};
use crate::plan::{
    BadLines, Command, Input, Job, Plan, Records, Step, Work, check_output, lower_pipeline,
};

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
pub(super) fn plan_records(
    command: Command,
    text: &str,
    field: Option<&str>,
    options: RecordOptions,
    mut blocks: Blocks,
) -> Result<Plan, Error> {
    let sources = input::resolve(&blocks.files)?;
    let kind = input_kind(options.jsonl, &sources);
    if kind == InputKind::Json && !options.jsonl {
        // Decided by the files' names: a part of the job, given another
        // file, must read JSON lines too.
        blocks.common.argv.job.insert(1, "--jsonl".to_owned());
    }
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
pub(super) fn plan_blocks(
    command: Command,
    sources: Vec<Source>,
    blocks: Blocks,
    records: Records,
    steps: Vec<Step>,
    reduction: Option<Reduction>,
) -> Result<Plan, Error> {
    let Blocks {
        block_size,
        decompress,
        byte_range,
        progress,
        stats,
        memory,
        tmpdir,
        common,
        ..
    } = blocks;
    let inputs: Vec<Input> = crate::plan::inputs(sources, decompress, byte_range, common.threads)?;
    crate::plan::check_stdin_once(&inputs, &common.output)?;
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
            memory: crate::plan::Memory::new(memory, tmpdir),
        })),
        output: common.output,
        progress,
        stats,
        argv: common.argv,
    })
}
