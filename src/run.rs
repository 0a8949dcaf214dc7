//! `rbag run` and `rbag freq`: plan a pipeline, run its element-wise
//! stages and first reduction on every block, merge the workers' partial
//! reductions into one outcome and run the rest of the pipeline on it; or,
//! without a reduction, stream the records out in input order.
//!
//! Streaming keeps input order with a reorder buffer keyed by the order
//! blocks were handed out, and work may run only a few blocks ahead of the
//! writer, so memory stays bounded. Records are written as soon as every
//! earlier block is written. When bad data fails the run, exactly the
//! records before the bad line (in input order) have been written.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crossbeam_channel::{Receiver, Sender};

use crate::cli::{Format, FreqArgs, OutputOptions, RecordArgs, RunArgs, SortOrder};
use crate::engine::{
    BlockFailure, BlockTask, Control, Engine, EngineOptions, FailureKind, Input, Ledger, RunStats,
    line_base,
};
use crate::error::Error;
use crate::explain;
use crate::input::block::{Block, BlockId};
use crate::input::record::Records;
use crate::input::{self, Source};
use crate::json::Value;
use crate::json::parse::Step;
use crate::output::{self, Destination, JsonArray, RecordFormat, Row};
use crate::partial;
use crate::pipeline::eval::{Dropped, StageError};
use crate::pipeline::item::{Item, KeyKind};
use crate::pipeline::parse::{self, InputKind, Pipeline, Projection, Reduce, Stage};
use crate::pipeline::path::Path;
use crate::pipeline::program::{Program, write_for_command};
use crate::plan;
use crate::progress::Progress;
use crate::reduce::{Acc, GroupRow, Outcome, Position, Reducer};
use crate::tokenize::{Splitter, Tokenizer};
use crate::wordcount::{self, WordCount};

/// How many skipped lines the summary on stderr names.
const REJECTS_SHOWN: usize = 3;

/// Run `rbag run`.
///
/// # Errors
/// A pipeline that does not parse (before any input is read), unreadable
/// input, bad data, a reduction with no answer, output errors.
pub fn run(args: RunArgs) -> Result<(), Error> {
    Job(&args.job).execute(&args.pipeline, None)
}

/// Run `rbag freq`: `frequencies`, or `pluck PATH | frequencies`.
///
/// # Errors
/// As [`run`]; a bad `--field` is a usage error.
pub fn freq(args: FreqArgs) -> Result<(), Error> {
    let pipeline = match &args.field {
        None => String::from("frequencies"),
        Some(field) => {
            if !field.starts_with('.') {
                return Err(Error::Usage(format!(
                    "--field: '{field}' is not a JSON path; paths start with '.', like .user.lang"
                )));
            }
            match Path::parse_prefix(field) {
                Ok((_, used)) if used == field.len() => {}
                Ok((_, used)) => {
                    return Err(Error::Usage(format!(
                        "--field: unexpected '{}' in the path {field}",
                        &field[used..]
                    )));
                }
                Err((message, _)) => {
                    return Err(Error::Usage(format!("--field: {message} in {field}")));
                }
            }
            format!("pluck {field} | frequencies")
        }
    };
    Job(&args.job).execute(&pipeline, args.field.as_deref())
}

/// A record command's inputs and options.
struct Job<'a>(&'a RecordArgs);

impl std::ops::Deref for Job<'_> {
    type Target = RecordArgs;

    fn deref(&self) -> &RecordArgs {
        self.0
    }
}

/// Whether the input is JSON lines: asked for, or every file is named so.
pub fn input_kind(jsonl: bool, sources: &[Source]) -> InputKind {
    if jsonl || sources.iter().all(Source::named_jsonl) {
        InputKind::Json
    } else {
        InputKind::Text
    }
}

/// `words | frequencies` or `words | lower | frequencies` on text is
/// exactly `rbag wordcount` (with or without `--keep-case`): run it on the
/// same engine, so the two give the same bytes at the same speed.
fn wordcount_shape(pipeline: &Pipeline, kind: InputKind) -> Option<bool> {
    let reduction = pipeline.reduce.as_ref()?;
    if kind != InputKind::Text
        || reduction.reduce != Reduce::Frequencies
        || reduction.group.is_some()
        || !reduction.rest.is_empty()
    {
        return None;
    }
    match pipeline.stages.as_slice() {
        [Stage::Words] => Some(false),
        [Stage::Words, Stage::Lower] => Some(true),
        _ => None,
    }
}

/// What the final output of a pipeline is, known before it runs (to check
/// the output options against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Records streamed in input order.
    Stream,
    Table,
    Groups,
    Records,
    Scalar,
    Summary,
}

/// Stages that keep the rows of a table as they are (only dropping some),
/// so that a table still prints as a table after them.
fn keeps_rows(stages: &[Stage]) -> bool {
    stages.iter().all(|s| {
        matches!(
            s,
            Stage::Filter { .. } | Stage::NonEmpty | Stage::Sample { .. }
        )
    })
}

/// The shape of a pipeline's output.
pub fn final_shape(pipeline: &Pipeline) -> Shape {
    let Some(reduction) = &pipeline.reduce else {
        return Shape::Stream;
    };
    let base = if reduction.group.is_some() {
        Shape::Groups
    } else {
        match reduction.reduce {
            Reduce::Frequencies => Shape::Table,
            Reduce::Summary => Shape::Summary,
            ref r if r.is_scalar() => Shape::Scalar,
            _ => Shape::Records,
        }
    };
    tail_shape(base, &reduction.rest)
}

fn tail_shape(base: Shape, rest: &Pipeline) -> Shape {
    if rest.is_empty() {
        return base;
    }
    let rows = matches!(base, Shape::Table | Shape::Groups) && keeps_rows(&rest.stages);
    match &rest.reduce {
        None if rows => base,
        None => Shape::Records,
        Some(next) => {
            let keeps = next.group.is_none()
                && matches!(next.reduce, Reduce::Take(_) | Reduce::TopK { .. });
            if rows && keeps {
                tail_shape(base, &next.rest)
            } else {
                final_shape(rest)
            }
        }
    }
}

/// Check options that apply only to some outputs. `first_is_table` says
/// whether the first reduction is a frequency table (what a partial holds).
///
/// # Errors
/// `--min-count` on anything but a frequency table, `--sort` on records,
/// output options with `--partial` that would change nothing.
pub fn check_output_options(
    options: &OutputOptions,
    shape: Shape,
    first_is_table: bool,
) -> Result<(), Error> {
    if options.partial {
        if options.format.is_some() || options.sort.is_some() {
            return Err(Error::Usage(
                "--format and --sort shape the final output; a partial has one format (give them to rbag merge)".into(),
            ));
        }
        if (options.top.is_some() || options.min_count.is_some()) && !first_is_table {
            return Err(Error::Usage(
                "--top and --min-count cut the final output; give them to rbag merge".into(),
            ));
        }
        return Ok(());
    }
    if options.min_count.is_some() && shape != Shape::Table {
        return Err(Error::Usage(
            "--min-count applies to frequency tables; this pipeline's result is not one".into(),
        ));
    }
    if options.sort.is_some() && !matches!(shape, Shape::Table | Shape::Groups) {
        return Err(Error::Usage(
            "--sort orders tables and groups; this pipeline's result is records or a value".into(),
        ));
    }
    Ok(())
}

impl Job<'_> {
    fn execute(&self, pipeline_text: &str, field: Option<&str>) -> Result<(), Error> {
        let sources = input::resolve(&self.files)?;
        let kind = input_kind(self.records.jsonl, &sources);
        let pipeline = parse::parse(pipeline_text, kind).map_err(|e| match field {
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
        check_output_options(
            &self.output,
            final_shape(&pipeline),
            first_is_table(&pipeline),
        )?;
        let header = partial::Header {
            plan: self.plan_text(kind, &pipeline),
            pipeline: pipeline.to_string(),
            input: if kind == InputKind::Json {
                "json"
            } else {
                "text"
            }
            .into(),
            terminator: if self.input.null { 0 } else { b'\n' },
            cut: None,
        };
        let inputs = plan::inputs(
            sources,
            self.input.decompress.to_input(),
            self.input.byte_range,
            self.exec.threads(),
        )?;
        let delimiter = if self.input.null { 0 } else { b'\n' };
        let threads = plan::threads(self.exec.threads(), &inputs, self.input.blocksize);
        let as_wordcount = wordcount_shape(&pipeline, kind);
        let live = !pipeline.has_pipe();
        let Pipeline { stages, reduce } = pipeline;
        // A first `pluck .path` on JSON lines runs while parsing: only the
        // plucked value is built, not the whole record.
        let (lazy, stages) = match stages.split_first() {
            Some((Stage::Pluck(Projection::Path { path, default }), rest))
                if kind == InputKind::Json && !path.is_whole() =>
            {
                (Some((path.steps.clone(), default.clone())), rest.to_vec())
            }
            _ => (None, stages),
        };

        if let Some(format) = self.exec.plan.explain {
            let stages = match as_wordcount {
                Some(lowercase) => wordcount::describe_stages(&Splitter::Words, lowercase),
                None => describe_stages(lazy.as_ref(), &stages),
            };
            let plan = explain::Plan {
                command: if field.is_some() { "freq" } else { "run" },
                inputs: &inputs,
                blocks: true,
                block_size: self.input.blocksize,
                threads,
                records: if kind == InputKind::Json {
                    "json"
                } else {
                    "text"
                },
                delimiter,
                stages,
                reduction: reduce
                    .as_deref()
                    .map(|r| describe_reduction(r, &self.output)),
                output: output_plan(&self.output, reduce.is_none()),
            };
            return explain::print(&plan, format);
        }

        let destination = Destination::for_options(&self.output, self.command(field))?;
        let rejects = match &self.records.rejects {
            Some(path) => {
                let rejects = Destination::open(Some(path))?;
                if destination.same_file(&rejects) {
                    return Err(Error::Usage(
                        "-o and --rejects name the same file; give them different files".into(),
                    ));
                }
                Some(rejects)
            }
            None => None,
        };
        let engine = Engine::new(EngineOptions {
            threads,
            block_size: self.input.blocksize,
            delimiter,
            count_records: self.exec.stats,
            strict_utf8: self.input.strict_utf8,
            // A command sees whole blocks: where they are cut must not
            // depend on how fast a pipe delivers.
            live,
        })?;
        let total = known_total(&inputs);
        let progress = Progress::new(self.exec.progress, total);

        if let Some(lowercase) = as_wordcount {
            let tokenizer = Tokenizer::new(Splitter::Words, lowercase, delimiter);
            let task = WordCount::new(tokenizer);
            let result = wordcount::count(&engine, &task, &inputs, &progress);
            progress.finish();
            let (counts, stats) = result?;
            let (total, distinct) = (counts.total(), counts.len());
            if self.output.partial {
                let acc = Acc::Frequencies(crate::reduce::KeyCounts {
                    text: counts,
                    json: Default::default(),
                });
                let reduce = Reduce::Frequencies;
                write_partial_acc(destination, header, acc, &reduce, &self.output)?;
            } else {
                let mut rows = Vec::with_capacity(counts.len());
                rows.extend(counts.iter().map(|(k, c)| Row::text(k, c)));
                print_table(destination, rows, &self.output, engine.pool())?;
            }
            if let Some(rejects) = rejects {
                rejects.write_with(|_| Ok(()))?;
            }
            if self.exec.stats {
                print_stats(&stats, total, total, distinct, Summary::default());
            }
            return Ok(());
        }

        let streaming_take = match reduce.as_deref() {
            None => Some(None),
            Some(r) if r.group.is_none() && r.rest.is_empty() => match r.reduce {
                Reduce::Take(n) => Some(Some(n)),
                _ => None,
            },
            _ => None,
        };
        let mut task = RunTask {
            program: Program::new(stages),
            lazy,
            reducer: None,
            kind,
            delimiter,
            keep_cr: self.records.keep_cr,
            skip_bad: self.records.skip_bad_lines,
            stream: None,
        };
        let mut summary = Summary::default();
        let (partials, stats, ledger, written, outcome) = match streaming_take {
            Some(limit) => {
                let header = self.output.partial.then_some(&header);
                let (partials, stats, ledger, written) = self.stream(
                    task,
                    &engine,
                    &inputs,
                    &progress,
                    destination,
                    limit,
                    header,
                )?;
                (partials, stats, ledger, Some(written), None)
            }
            None => {
                let reduction = reduce.expect("not streaming: there is a reduction");
                let reduction = *reduction;
                task.reducer = Some(Reducer::new(
                    reduction.reduce.clone(),
                    reduction.group.clone(),
                ));
                let result = engine.run(&task, &inputs, &progress);
                progress.finish();
                let (mut partials, stats, ledger) = result?;
                let reducer = task.reducer.as_ref().expect("set above");
                let accs = partials.iter_mut().filter_map(|p| p.acc.take()).collect();
                let merged = Acc::merge_all(accs, &reducer.reduce, Some(engine.pool()));
                let acc = merged.unwrap_or_else(|| reducer.new_acc());
                if self.output.partial {
                    write_partial_acc(destination, header, acc, &reducer.reduce, &self.output)?;
                    (partials, stats, ledger, None, None)
                } else {
                    let outcome = acc
                        .finish(&reducer.reduce)
                        .map_err(|e| Error::NoResult(e.0))?;
                    let outcome = finish_rest(
                        outcome,
                        &reduction.rest,
                        &self.output,
                        engine.pool(),
                        &mut summary,
                    )?;
                    (partials, stats, ledger, None, Some((outcome, destination)))
                }
            }
        };

        let mut all_rejects = Vec::new();
        let mut records_in = 0;
        let mut records_out = 0;
        for partial in partials {
            summary.missing_path += partial.dropped.missing_path;
            records_in += partial.records_in;
            records_out += partial.records_out;
            all_rejects.extend(partial.rejects);
        }
        summary.bad_lines = all_rejects.len() as u64;
        let records_out = written.unwrap_or(records_out);
        let mut distinct = 0;
        if let Some((outcome, destination)) = outcome {
            distinct = print_result(outcome, destination, &self.output, delimiter, engine.pool())?;
        }
        // Rejects are reported even when the rest succeeded: nothing is
        // lost silently.
        report_rejects(&mut all_rejects, &inputs, &ledger, delimiter, rejects)?;
        if self.exec.stats {
            print_stats(&stats, records_in, records_out, distinct, summary);
        }
        Ok(())
    }

    /// The command as a user typed it, for messages.
    fn command(&self, field: Option<&str>) -> &'static str {
        if field.is_some() {
            "rbag freq"
        } else {
            "rbag run"
        }
    }

    /// What identifies the job of a partial: the pipeline in canonical form
    /// and the options that change how records are read.
    fn plan_text(&self, kind: InputKind, pipeline: &Pipeline) -> String {
        let mut plan = String::from("run");
        if kind == InputKind::Json {
            plan.push_str(" --jsonl");
        }
        if self.records.keep_cr {
            plan.push_str(" --keep-cr");
        }
        if self.input.null {
            plan.push_str(" -0");
        }
        plan.push_str(&format!(" '{pipeline}'"));
        plan
    }

    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        mut task: RunTask,
        engine: &Engine,
        inputs: &[Input],
        progress: &Progress,
        destination: Destination,
        limit: Option<u64>,
        header: Option<&partial::Header>,
    ) -> Result<(Vec<RunPartial>, RunStats, Ledger, u64), Error> {
        let threads = engine.pool().current_num_threads();
        let control = Control::new(Some(4 * threads));
        let (tx, rx) = crossbeam_channel::unbounded::<BlockOut>();
        let format = RecordFormat {
            format: self.output.format(),
            terminator: task.delimiter,
            partial: header.is_some(),
        };
        task.stream = Some(StreamOut { tx, limit, format });
        let json_array = header.is_none() && self.output.format() == Format::Json;
        let sink = destination.sink()?;
        let (result, written) = std::thread::scope(|scope| {
            let control = &control;
            let writer =
                scope.spawn(move || write_ordered(rx, sink, control, limit, json_array, header));
            let result = engine.run_with(&task, inputs, progress, control);
            // Dropping the task drops the last sender: the writer finishes.
            drop(task);
            let written = writer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (result, written)
        });
        progress.finish();
        // The data's own error comes first: the writer stopped because of it.
        let (partials, stats, ledger) = result?;
        let written = written.map_err(|e| destination.error(e))?;
        destination.commit()?;
        Ok((partials, stats, ledger, written))
    }
}

/// Whether the first reduction is a frequency table (not grouped).
fn first_is_table(pipeline: &Pipeline) -> bool {
    pipeline
        .reduce
        .as_ref()
        .is_some_and(|r| r.group.is_none() && r.reduce == Reduce::Frequencies)
}

/// Apply `--top` and `--min-count` to a frequency table written as a
/// partial: the partial says it was cut, so that `rbag merge` refuses it.
///
/// # Errors
/// The cut options on a reduction that is not a frequency table.
pub fn cut_for_partial(acc: Acc, options: &OutputOptions) -> Result<(Acc, Option<String>), Error> {
    if options.top.is_none() && options.min_count.is_none() {
        return Ok((acc, None));
    }
    let Acc::Frequencies(counts) = acc else {
        return Err(Error::Usage(
            "--top and --min-count cut frequency tables; give them to rbag merge".into(),
        ));
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start threads: {e}")))?;
    let mut rows = counts.rows();
    output::arrange(
        &mut rows,
        SortOrder::Count,
        options.top,
        options.min_count,
        &pool,
    );
    let mut kept = crate::reduce::KeyCounts::default();
    for row in &rows {
        kept.add_key(row.kind, row.key, row.count);
    }
    let cut = match (options.top, options.min_count) {
        (Some(k), Some(n)) => format!("--top {k} and --min-count {n}"),
        (Some(k), None) => format!("--top {k}"),
        (None, Some(n)) => format!("--min-count {n}"),
        (None, None) => unreachable!("checked above"),
    };
    Ok((Acc::Frequencies(kept), Some(cut)))
}

/// Write a reduction's state as a partial.
fn write_partial_acc(
    destination: Destination,
    header: partial::Header,
    acc: Acc,
    reduce: &Reduce,
    options: &OutputOptions,
) -> Result<(), Error> {
    let (acc, cut) = cut_for_partial(acc, options)?;
    let header = partial::Header { cut, ..header };
    let mut rows = Vec::new();
    partial::write_acc(&acc, reduce, &mut rows);
    destination.write_with(|w| partial::write_partial(w, &header, &rows))
}

/// The stages a block goes through, and where each runs, for the plan.
fn describe_stages(
    lazy: Option<&(Vec<Step>, Option<Value>)>,
    stages: &[Stage],
) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some((steps, default)) = lazy {
        let projection = Projection::Path {
            path: Path {
                steps: steps.clone(),
            },
            default: default.clone(),
        };
        out.push((
            format!("pluck {projection}"),
            "inside the JSON parser: only this value is built",
        ));
    }
    let mut after_pipe = false;
    for stage in stages {
        let runs = match stage {
            Stage::Pipe(_) => {
                after_pipe = true;
                "per block: the block's records through the command, its lines on"
            }
            _ if after_pipe => "per line of the command's output",
            _ => "per record",
        };
        out.push((stage.to_string(), runs));
    }
    out
}

/// What each worker keeps for a reduction, for the plan.
fn worker_state(reduce: &Reduce) -> String {
    match reduce {
        Reduce::Frequencies => "a table of counts per key".into(),
        Reduce::Distinct => "a set of keys".into(),
        Reduce::Count => "a count".into(),
        Reduce::Sum | Reduce::Mean => "an exact sum (integers, and floats in fixed point)".into(),
        Reduce::Var { .. } => "exact sums of the numbers and of their squares".into(),
        Reduce::Summary => "exact sums, the smallest and the largest number".into(),
        Reduce::Min => "the smallest record so far".into(),
        Reduce::Max => "the largest record so far".into(),
        Reduce::TopK {
            k, bottom: false, ..
        } => format!("the {k} largest records so far"),
        Reduce::TopK {
            k, bottom: true, ..
        } => format!("the {k} smallest records so far"),
        Reduce::Take(n) => format!("the first {n} records of its blocks"),
    }
}

/// The reduction and how the workers' results combine, for the plan.
fn describe_reduction(
    reduction: &crate::pipeline::parse::Reduction,
    options: &OutputOptions,
) -> explain::ReductionPlan {
    let reduce = &reduction.reduce;
    let (name, partial) = match &reduction.group {
        Some(group) => {
            let mut parts = vec![format!("group {}", group.key)];
            parts.extend(group.stages.iter().map(ToString::to_string));
            parts.push(reduce.to_string());
            (
                parts.join(" | "),
                format!("a table of groups, each with {}", worker_state(reduce)),
            )
        }
        None => (reduce.to_string(), worker_state(reduce)),
    };
    let merge = match reduce {
        Reduce::Frequencies | Reduce::Distinct => "the workers' tables merged exactly",
        Reduce::Count => "the workers' counts added",
        Reduce::Sum | Reduce::Mean | Reduce::Var { .. } | Reduce::Summary => {
            "the workers' sums added exactly"
        }
        Reduce::Min | Reduce::Max => "the workers' records compared",
        Reduce::TopK { .. } | Reduce::Take(_) => {
            "the workers' records merged by value and input position"
        }
    };
    let mut combine = vec![if reduction.group.is_some() {
        format!("{merge}, group by group")
    } else {
        merge.to_owned()
    }];
    let last = match (&reduction.group, reduce) {
        (Some(_), _) => match options.sort {
            Some(SortOrder::Count) => "one row per group, by value (largest first), then key",
            _ => "one row per group, by key bytes",
        },
        (None, Reduce::Frequencies) => match options.sort {
            Some(SortOrder::Key) => "sorted by key bytes",
            _ => "sorted by count (descending), then key bytes",
        },
        (None, Reduce::Distinct) => "sorted by key bytes",
        (None, Reduce::Sum) => "the exact total, rounded once if it has floats",
        (None, Reduce::Mean | Reduce::Var { .. } | Reduce::Summary) => {
            "computed from the exact sums, rounded once"
        }
        (None, Reduce::TopK { .. }) => "the best records, ties in input order",
        (None, Reduce::Take(_)) => "the first records in input order",
        (None, Reduce::Count | Reduce::Min | Reduce::Max) => "the answer",
    };
    combine.push(last.into());
    if options.partial {
        combine = vec!["written as a partial result, unmerged".into()];
    }
    explain::ReductionPlan {
        name,
        partial,
        combine,
        then: (!reduction.rest.is_empty()).then(|| reduction.rest.to_string()),
    }
}

/// Where and how the output goes, for the plan; `streaming` says the
/// records go out in input order as they are ready.
pub fn output_plan(options: &OutputOptions, streaming: bool) -> explain::OutputPlan {
    let order = match (streaming, options.sort) {
        (true, _) => Some("records in input order, as they are ready".to_owned()),
        (false, Some(SortOrder::Key)) => Some("by key".to_owned()),
        (false, Some(SortOrder::Count)) => Some("by count or value".to_owned()),
        (false, None) => None,
    };
    explain::OutputPlan {
        format: format!("{:?}", options.format()).to_lowercase(),
        order,
        top: options.top,
        min_count: options.min_count,
        to: options.output.as_ref().map_or_else(
            || "stdout".to_owned(),
            |p| crate::input::display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str())),
        ),
        partial: options.partial,
        expect: options.expect.as_ref().map(|p| {
            crate::input::display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()))
        }),
    }
}

/// The total size of the inputs, when every one is known.
pub fn known_total(inputs: &[Input]) -> Option<u64> {
    inputs
        .iter()
        .map(|i| match &i.shape {
            input::Shape::Regular { .. } => Some(i.span.1 - i.span.0),
            input::Shape::Stream { .. } => None,
        })
        .sum()
}

/// Sort, cut and print a count table.
///
/// # Errors
/// As [`Destination::write_with`].
pub fn print_table(
    destination: Destination,
    mut rows: Vec<Row<'_>>,
    options: &OutputOptions,
    pool: &rayon::ThreadPool,
) -> Result<(), Error> {
    output::arrange(
        &mut rows,
        options.sort.unwrap_or(SortOrder::Count),
        options.top,
        options.min_count,
        pool,
    );
    destination.write_with(|w| output::write_table(w, &rows, options.format()))
}

/// The rows a reduced bag came from, when it was a table: a later stage
/// that only drops or reorders rows leaves a table.
enum RowSource {
    Table(Vec<(KeyKind, Vec<u8>, u64)>),
    Groups(Vec<GroupRow>, bool),
}

/// An outcome as a bag of records, in its output order: a table's rows as
/// `{"key": K, "count": N}`, groups as `{"key": K, "value": V}`.
fn into_bag(
    outcome: Outcome,
    options: &OutputOptions,
    pool: &rayon::ThreadPool,
) -> (Vec<Item<'static>>, Option<RowSource>) {
    let key_value = |kind: KeyKind, key: &[u8]| Item::from_key(kind, key).to_value();
    let count = |n: u64| Value::Number(crate::json::Number::Int(n as i64));
    match outcome {
        Outcome::Counts(counts) => {
            let mut rows = counts.rows();
            output::arrange(
                &mut rows,
                options.sort.unwrap_or(SortOrder::Count),
                None,
                None,
                pool,
            );
            let owned: Vec<_> = rows
                .iter()
                .map(|r| (r.kind, r.key.to_vec(), r.count))
                .collect();
            table_bag(owned, key_value, count)
        }
        Outcome::Rows(rows) => table_bag(rows, key_value, count),
        Outcome::Groups {
            rows,
            summary,
            ordered,
        } => {
            let rows = in_group_order(rows, ordered, options);
            let items = rows
                .iter()
                .map(|r| {
                    Item::value(Value::object([
                        ("key", key_value(r.kind, &r.key)),
                        ("value", r.value.clone()),
                    ]))
                })
                .collect();
            (items, Some(RowSource::Groups(rows, summary)))
        }
        Outcome::Records(records) => (records.into_iter().map(|(_, item)| item).collect(), None),
        Outcome::Scalar(item) => (vec![item], None),
        Outcome::Summary(value) => (vec![Item::value(value)], None),
    }
}

/// Group rows in their output order: as a later stage left them, or by
/// `--sort` (by key unless told otherwise).
fn in_group_order(
    mut rows: Vec<GroupRow>,
    ordered: bool,
    options: &OutputOptions,
) -> Vec<GroupRow> {
    if !ordered {
        output::arrange_groups(&mut rows, options.sort.unwrap_or(SortOrder::Key));
    }
    rows
}

fn table_bag(
    rows: Vec<(KeyKind, Vec<u8>, u64)>,
    key_value: impl Fn(KeyKind, &[u8]) -> Value,
    count: impl Fn(u64) -> Value,
) -> (Vec<Item<'static>>, Option<RowSource>) {
    let items = rows
        .iter()
        .map(|(kind, key, n)| {
            Item::value(Value::object([
                ("key", key_value(*kind, key)),
                ("count", count(*n)),
            ]))
        })
        .collect();
    (items, Some(RowSource::Table(rows)))
}

/// Run the rest of a pipeline on the outcome of a reduction: the reduced
/// bag goes through the same stages and reductions as blocks do.
///
/// # Errors
/// A stage that fails on a record of the bag, a reduction with no answer.
pub fn finish_rest(
    outcome: Outcome,
    rest: &Pipeline,
    options: &OutputOptions,
    pool: &rayon::ThreadPool,
    summary: &mut Summary,
) -> Result<Outcome, Error> {
    if rest.is_empty() {
        return Ok(outcome);
    }
    let (bag, rows) = into_bag(outcome, options, pool);
    let program = Program::new(rest.stages.clone());
    let reduction = rest.reduce.as_deref();
    let reducer = reduction.map(|r| Reducer::new(r.reduce.clone(), r.group.clone()));
    let mut acc = reducer.as_ref().map(Reducer::new_acc);
    let mut kept: Vec<(Position, Item<'static>)> = Vec::new();
    let mut dropped = Dropped::default();
    let mut inner = Dropped::default();
    let mut pipe_input = Vec::new();
    let fail = |e: StageError| Error::NoResult(format!("after the reduction: {}", e.message));
    let has_pipes = program.has_pipes();
    // A record's place in the bag is its position's block, so that rows can
    // be found again after stages that only drop or reorder them.
    for (index, item) in bag.into_iter().enumerate() {
        let mut sub = 0u64;
        program
            .first()
            .run(item, &mut dropped, &mut |item| {
                if has_pipes {
                    write_for_command(&item, &mut pipe_input);
                    return Ok(());
                }
                let position = Position {
                    source: 0,
                    block: index as u64,
                    item: sub,
                };
                sub += 1;
                collect(&reducer, &mut acc, &mut kept, item, position, &mut inner)
            })
            .map_err(fail)?;
    }
    if has_pipes {
        let mut line = 0u64;
        program
            .run_pipes(std::mem::take(&mut pipe_input), &mut dropped, &mut |item| {
                let position = Position {
                    source: 0,
                    block: line,
                    item: 0,
                };
                line += 1;
                collect(&reducer, &mut acc, &mut kept, item, position, &mut inner)
            })
            .map_err(fail)?;
    }
    dropped.missing_path += inner.missing_path;
    summary.missing_path += dropped.missing_path;
    let rows = rows.filter(|_| keeps_rows(&rest.stages) && !has_pipes);
    let outcome = match (reducer, acc) {
        (Some(reducer), Some(acc)) => {
            let outcome = acc
                .finish(&reducer.reduce)
                .map_err(|e| Error::NoResult(e.0))?;
            let keeps = !reducer.is_grouped()
                && matches!(reducer.reduce, Reduce::Take(_) | Reduce::TopK { .. });
            match (outcome, rows) {
                (Outcome::Records(records), Some(rows)) if keeps => select_rows(rows, &records),
                (outcome, _) => outcome,
            }
        }
        _ => match rows {
            Some(rows) => select_rows(rows, &kept),
            None => Outcome::Records(kept),
        },
    };
    match reduction {
        Some(reduction) => finish_rest(outcome, &reduction.rest, options, pool, summary),
        None => Ok(outcome),
    }
}

/// Where a record of the reduced bag goes: the next reduction, or the
/// records kept.
fn collect(
    reducer: &Option<Reducer>,
    acc: &mut Option<Acc>,
    kept: &mut Vec<(Position, Item<'static>)>,
    item: Item<'_>,
    position: Position,
    dropped: &mut Dropped,
) -> Result<(), StageError> {
    match (reducer, acc) {
        (Some(reducer), Some(acc)) => reducer.add(acc, item, position, dropped),
        _ => {
            kept.push((position, item.into_owned()));
            Ok(())
        }
    }
}

/// The rows at the records' positions, in the records' order.
fn select_rows(rows: RowSource, records: &[(Position, Item<'static>)]) -> Outcome {
    let index = |p: &Position| p.block as usize;
    match rows {
        RowSource::Table(rows) => Outcome::Rows(
            records
                .iter()
                .filter_map(|(p, _)| rows.get(index(p)).cloned())
                .collect(),
        ),
        RowSource::Groups(rows, summary) => Outcome::Groups {
            rows: records
                .iter()
                .filter_map(|(p, _)| rows.get(index(p)).cloned())
                .collect(),
            summary,
            ordered: true,
        },
    }
}

/// Print an outcome; returns the number of distinct keys or groups.
///
/// # Errors
/// Writing failed.
pub fn print_result(
    outcome: Outcome,
    destination: Destination,
    options: &OutputOptions,
    delimiter: u8,
    pool: &rayon::ThreadPool,
) -> Result<usize, Error> {
    let format = RecordFormat {
        format: options.format(),
        partial: false,
        terminator: delimiter,
    };
    let top = |len: usize| options.top.map_or(len, |k| k.min(len));
    match outcome {
        Outcome::Counts(counts) => {
            let rows = counts.rows();
            let distinct = rows.len();
            print_table(destination, rows, options, pool)?;
            Ok(distinct)
        }
        Outcome::Rows(rows) => {
            let mut rows: Vec<Row<'_>> = rows
                .iter()
                .filter(|r| options.min_count.is_none_or(|min| r.2 >= min))
                .map(|(kind, key, count)| Row::new(key, *count, *kind))
                .collect();
            rows.truncate(top(rows.len()));
            let distinct = rows.len();
            destination.write_with(|w| output::write_table(w, &rows, options.format()))?;
            Ok(distinct)
        }
        Outcome::Groups {
            rows,
            summary,
            ordered,
        } => {
            let mut rows = in_group_order(rows, ordered, options);
            rows.truncate(top(rows.len()));
            let distinct = rows.len();
            destination
                .write_with(|w| output::write_groups(w, &rows, summary, options.format()))?;
            Ok(distinct)
        }
        Outcome::Records(records) => {
            let kept = top(records.len());
            let distinct = records.len();
            write_records(
                destination,
                records.into_iter().take(kept).map(|(_, i)| i),
                format,
            )?;
            Ok(distinct)
        }
        Outcome::Scalar(item) => {
            let mut out = Vec::new();
            format.write_scalar(&item, &mut out);
            destination.write_with(|w| w.write_all(&out))?;
            Ok(0)
        }
        Outcome::Summary(value) => {
            destination.write_with(|w| output::write_summary(w, &value, options.format()))?;
            Ok(0)
        }
    }
}

/// Write records as a complete output (not streamed).
fn write_records<'a>(
    destination: Destination,
    items: impl Iterator<Item = Item<'a>>,
    format: RecordFormat,
) -> Result<(), Error> {
    let mut out = Vec::new();
    for item in items {
        format.write(&item, &mut out);
    }
    destination.write_with(|w| {
        if format.format == Format::Json {
            let mut array = JsonArray::default();
            let (head, body) = array.chunk(&out);
            w.write_all(head)?;
            w.write_all(body)?;
            w.write_all(array.end())
        } else {
            w.write_all(&out)
        }
    })
}

/// What one block contributes to the stream.
struct BlockOut {
    seq: u64,
    bytes: Vec<u8>,
    records: u64,
    /// Where each record ends in `bytes`, kept only under `take`.
    ends: Vec<usize>,
    /// The block failed after these records: nothing after it is written.
    failed: bool,
}

struct StreamOut {
    tx: Sender<BlockOut>,
    limit: Option<u64>,
    format: RecordFormat,
}

/// Write the blocks' outputs in block order, at most `limit` records
/// (between a partial's header and trailer, when there is one). Returns
/// the records written.
fn write_ordered<W: Write>(
    rx: Receiver<BlockOut>,
    mut sink: W,
    control: &Control,
    limit: Option<u64>,
    json_array: bool,
    header: Option<&partial::Header>,
) -> io::Result<u64> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut written = 0u64;
    let mut array = JsonArray::default();
    let mut done = limit == Some(0);
    if done {
        control.stop_after(0);
    }
    let result = (|| -> io::Result<()> {
        if let Some(header) = header {
            let mut line = Vec::new();
            header.write(&mut line);
            sink.write_all(&line)?;
        }
        for out in rx.iter() {
            if done {
                break;
            }
            pending.insert(out.seq, out);
            while let Some(block) = pending.remove(&next) {
                let mut bytes = &block.bytes[..];
                let mut records = block.records;
                if let Some(limit) = limit {
                    let room = limit - written;
                    if records >= room {
                        let cut = usize::try_from(room).unwrap_or(usize::MAX);
                        bytes = &bytes[..block.ends.get(cut.wrapping_sub(1)).copied().unwrap_or(0)];
                        records = room;
                        done = true;
                        // Enough records: no block after this one is needed.
                        control.stop_after(next);
                    }
                }
                if json_array {
                    let (head, body) = array.chunk(bytes);
                    sink.write_all(head)?;
                    bytes = body;
                }
                sink.write_all(bytes)?;
                written += records;
                next += 1;
                control.release();
                if block.failed {
                    // What came before the bad record is out; stop here
                    // (a partial stays without its trailer: incomplete).
                    sink.flush()?;
                    return Ok(());
                }
                if done {
                    break;
                }
            }
            // Caught up with the workers: let the reader of a slow stream
            // (`tail -f log | rbag run ...`) see what is ready.
            if rx.is_empty() {
                sink.flush()?;
            }
        }
        if json_array {
            sink.write_all(array.end())?;
        }
        if header.is_some() {
            sink.write_all(format!("end\t{written}\n").as_bytes())?;
        }
        sink.flush()
    })();
    if let Err(e) = result {
        // The reader of our output is gone (or the disk is full): stop.
        control.stop_after(0);
        return Err(e);
    }
    Ok(written)
}

/// One line skipped by `--skip-bad-lines`.
#[derive(Debug)]
struct Reject {
    id: BlockId,
    line_in_block: u64,
    column: u64,
    message: String,
    raw: Vec<u8>,
}

/// What one worker accumulates.
#[derive(Debug, Default)]
pub struct RunPartial {
    acc: Option<Acc>,
    rejects: Vec<Reject>,
    dropped: Dropped,
    records_in: u64,
    records_out: u64,
}

struct RunTask {
    program: Program,
    /// The pipeline's first stage, when it is a `pluck` done while parsing:
    /// the path and its default.
    lazy: Option<(Vec<Step>, Option<Value>)>,
    reducer: Option<Reducer>,
    kind: InputKind,
    delimiter: u8,
    keep_cr: bool,
    skip_bad: bool,
    stream: Option<StreamOut>,
}

impl RunTask {
    /// One JSON line as a record: the whole value, or with a lazy `pluck`
    /// only the plucked value (`None` when the path is missing and has no
    /// default). Both check the whole line alike. Errors carry the 1-based
    /// column and the message.
    fn parse_json<'a>(&self, line: &'a [u8]) -> Result<Option<Item<'a>>, (u64, String)> {
        let bad = |e: crate::json::parse::ParseError| {
            (e.at as u64 + 1, format!("invalid JSON: {}", e.message))
        };
        match &self.lazy {
            Some((steps, default)) => {
                let found = crate::json::parse::pluck(line, steps).map_err(bad)?;
                Ok(match (found, default) {
                    (Some(Value::Null) | None, Some(default)) => Some(Item::value(default.clone())),
                    (found, _) => found.map(Item::value),
                })
            }
            None => {
                let value = crate::json::parse::parse(line).map_err(bad)?;
                Ok(Some(Item::Json(value, Some(Cow::Borrowed(line)))))
            }
        }
    }
}

/// What a record's results go to inside a block.
struct BlockSink<'t> {
    task: &'t RunTask,
    acc: &'t mut Option<Acc>,
    out: Vec<u8>,
    ends: Vec<usize>,
    emitted: u64,
    counter: u64,
    id: BlockId,
    dropped: Dropped,
}

impl BlockSink<'_> {
    fn emit(&mut self, item: Item<'_>) -> Result<(), StageError> {
        self.emitted += 1;
        let position = Position {
            source: self.id.source,
            block: self.id.index,
            item: self.counter,
        };
        self.counter += 1;
        match (self.acc.as_mut(), &self.task.reducer, &self.task.stream) {
            (Some(acc), Some(reducer), _) => reducer.add(acc, item, position, &mut self.dropped),
            (_, _, Some(stream)) => {
                stream.format.write(&item, &mut self.out);
                if stream.limit.is_some() {
                    self.ends.push(self.out.len());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Forget what the last record emitted (it failed).
    fn rewind(&mut self, mark: (usize, usize, u64)) {
        self.out.truncate(mark.0);
        self.ends.truncate(mark.1);
        self.emitted = mark.2;
    }

    fn mark(&self) -> (usize, usize, u64) {
        (self.out.len(), self.ends.len(), self.emitted)
    }
}

impl BlockTask for RunTask {
    type Partial = RunPartial;

    fn new_partial(&self) -> RunPartial {
        RunPartial {
            acc: self.reducer.as_ref().map(Reducer::new_acc),
            ..RunPartial::default()
        }
    }

    fn may_fail(&self) -> bool {
        // Skipped lines are reported with their line numbers too.
        true
    }

    fn process(&self, partial: &mut RunPartial, block: &mut Block) -> Result<(), BlockFailure> {
        let (id, seq) = (block.id, block.seq);
        let RunPartial {
            acc,
            rejects,
            dropped,
            records_in,
            records_out,
        } = partial;
        let limit = self.stream.as_ref().and_then(|s| s.limit);
        let has_pipes = self.program.has_pipes();
        let mut pipe_input = Vec::new();
        let mut sink = BlockSink {
            task: self,
            acc,
            out: Vec::new(),
            ends: Vec::new(),
            emitted: 0,
            counter: 0,
            id,
            dropped: Dropped::default(),
        };
        let mut failure = None;
        let mut want_lines = false;
        let records = Records::new(
            block.data(),
            self.delimiter,
            self.keep_cr,
            block.offset == 0,
        );
        for (index, record) in records.enumerate() {
            if limit.is_some_and(|l| sink.emitted >= l) {
                break;
            }
            let index = index as u64;
            let item = match self.kind {
                InputKind::Text => Item::Text(Cow::Borrowed(record.bytes)),
                InputKind::Json => {
                    if record.bytes.trim_ascii().is_empty() {
                        continue;
                    }
                    match self.parse_json(record.bytes) {
                        Ok(Some(item)) => item,
                        Ok(None) => {
                            *records_in += 1;
                            dropped.missing_path += 1;
                            continue;
                        }
                        Err((column, message)) => {
                            if self.skip_bad {
                                want_lines = true;
                                rejects.push(Reject {
                                    id,
                                    line_in_block: index,
                                    column,
                                    message,
                                    raw: record.bytes.to_vec(),
                                });
                                continue;
                            }
                            failure = Some(BlockFailure {
                                at: record.start + column as usize - 1,
                                kind: FailureKind::Data(message),
                            });
                            break;
                        }
                    }
                }
            };
            *records_in += 1;
            let mark = sink.mark();
            let result = self.program.first().run(item, dropped, &mut |item| {
                if has_pipes {
                    write_for_command(&item, &mut pipe_input);
                    Ok(())
                } else {
                    sink.emit(item)
                }
            });
            if let Err(e) = result {
                sink.rewind(mark);
                if e.bad_json && self.skip_bad {
                    want_lines = true;
                    rejects.push(Reject {
                        id,
                        line_in_block: index,
                        column: 1,
                        message: e.message,
                        raw: record.bytes.to_vec(),
                    });
                    continue;
                }
                failure = Some(BlockFailure {
                    at: record.start,
                    kind: FailureKind::Data(e.message),
                });
                break;
            }
        }
        if failure.is_none() && has_pipes {
            let result = self
                .program
                .run_pipes(pipe_input, dropped, &mut |item| sink.emit(item));
            if let Err(e) = result {
                sink.rewind((0, 0, 0));
                failure = Some(BlockFailure {
                    at: 0,
                    kind: FailureKind::Block(e.message),
                });
            }
        }
        block.want_lines |= want_lines;
        dropped.missing_path += sink.dropped.missing_path;
        *records_out += sink.emitted;
        if let Some(stream) = &self.stream {
            // The writer may have stopped (a closed pipe); nothing to do then.
            let _ = stream.tx.send(BlockOut {
                seq,
                bytes: std::mem::take(&mut sink.out),
                records: sink.emitted,
                ends: std::mem::take(&mut sink.ends),
                failed: failure.is_some(),
            });
        }
        match failure {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

/// Counters for `--stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub missing_path: u64,
    pub bad_lines: u64,
}

fn report_rejects(
    rejects: &mut [Reject],
    inputs: &[Input],
    ledger: &Ledger,
    delimiter: u8,
    destination: Option<Destination>,
) -> Result<(), Error> {
    if !rejects.is_empty() {
        rejects.sort_by_key(|r| (r.id, r.line_in_block));
        let place = |r: &Reject| {
            format!(
                "{}:{}:{}: {}",
                inputs[r.id.source as usize].source.name(),
                line_base(inputs, ledger, r.id, delimiter) + r.line_in_block + 1,
                r.column,
                r.message
            )
        };
        let shown: Vec<String> = rejects.iter().take(REJECTS_SHOWN).map(place).collect();
        let more = rejects.len().saturating_sub(REJECTS_SHOWN);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        eprintln!(
            "rbag: skipped {} bad line(s): {}{tail}",
            rejects.len(),
            shown.join("; ")
        );
    }
    // Written even when empty: a file of rejects from an earlier run must
    // not stay behind looking like this run's.
    if let Some(destination) = destination {
        destination.write_with(|w| {
            for r in rejects.iter() {
                w.write_all(&r.raw)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

pub fn print_stats(
    stats: &RunStats,
    records_in: u64,
    records_out: u64,
    distinct: usize,
    summary: Summary,
) {
    eprintln!(
        "rbag: stats: {} input(s), {} bytes in {} block(s), {} record(s) in, {} out, {} without the path, {} bad line(s) skipped, {} distinct, {:.3} s ({:.1} MB/s)",
        stats.sources,
        stats.bytes,
        stats.blocks,
        records_in,
        records_out,
        summary.missing_path,
        summary.bad_lines,
        distinct,
        stats.seconds,
        stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9),
    );
}
