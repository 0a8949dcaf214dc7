//! `rbag run` and `rbag freq`: plan a pipeline, run its stages on every
//! block, then either merge the workers' partial reductions into one answer
//! or stream the records out in input order.
//!
//! Streaming keeps input order with a reorder buffer keyed by block
//! sequence, and the reader may run only a few blocks ahead of the writer,
//! so memory stays bounded. While the run can still fail on bad data, the
//! stream goes to a spool file rather than stdout, so that a failed run
//! prints nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Seek, Write};

use crossbeam_channel::{Receiver, Sender};
use serde_json::Value;

use crate::cli::{Format, FreqArgs, RecordArgs, RunArgs};
use crate::engine::{
    BlockFailure, BlockTask, Control, Engine, EngineOptions, FailureKind, RunStats,
};
use crate::error::Error;
use crate::input::block::Block;
use crate::input::record::Records;
use crate::input::{self, Source};
use crate::output::{self, Destination, Row};
use crate::pipeline::eval::{Dropped, Evaluator, json_message};
use crate::pipeline::item::{Item, KeyKind};
use crate::pipeline::parse::{self, InputKind, Pipeline, Reduce, Stage};
use crate::pipeline::path::Path;
use crate::progress::Progress;
use crate::reduce::{Acc, JsonArray, RecordFormat};
use crate::tokenize::{Splitter, Tokenizer};
use crate::wordcount::{self, WordCount};

/// How many skipped lines the summary on stderr names.
const REJECTS_SHOWN: usize = 3;

/// Run `rbag run`.
///
/// # Errors
/// A pipeline that does not parse (before any input is read), unreadable
/// input, bad data, an empty numeric reduction, output errors.
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
fn input_kind(jsonl: bool, sources: &[Source]) -> InputKind {
    let named_json = |source: &Source| match source {
        Source::File(path) => {
            let name = path.to_string_lossy();
            name.ends_with(".jsonl") || name.ends_with(".ndjson")
        }
        Source::Stdin => false,
    };
    if jsonl || sources.iter().all(named_json) {
        InputKind::Json
    } else {
        InputKind::Text
    }
}

/// `words | frequencies` or `words | lower | frequencies` on text is
/// exactly `rbag wordcount` (with or without `--keep-case`): run it on the
/// same engine, so the two give the same bytes at the same speed.
fn wordcount_shape(pipeline: &Pipeline, kind: InputKind) -> Option<bool> {
    if kind != InputKind::Text || pipeline.reduce != Some(Reduce::Frequencies) {
        return None;
    }
    match pipeline.stages.as_slice() {
        [Stage::Words] => Some(false),
        [Stage::Words, Stage::Lower] => Some(true),
        _ => None,
    }
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
        input::check_readable(&sources)?;
        let delimiter = if self.input.null { 0 } else { b'\n' };
        let destination = Destination::open(self.output.output.as_deref())?;
        let rejects = self
            .records
            .rejects
            .as_deref()
            .map(|path| Destination::open(Some(path)))
            .transpose()?;
        let engine = Engine::new(EngineOptions {
            threads: self.exec.threads(),
            block_size: self.input.blocksize,
            delimiter,
            count_records: self.exec.stats,
            strict_utf8: self.input.strict_utf8,
        })?;
        let total = sources.iter().map(Source::known_size).sum::<Option<u64>>();
        let progress = Progress::new(self.exec.progress, total);

        if let Some(lowercase) = wordcount_shape(&pipeline, kind) {
            let tokenizer = Tokenizer::new(Splitter::Words, lowercase, delimiter);
            let task = WordCount::new(tokenizer);
            let result = wordcount::count(&engine, &task, &sources, &progress);
            progress.finish();
            let (counts, stats) = result?;
            let rows = counts.iter().map(|(k, c)| Row::text(k, c)).collect();
            output::print_table(destination, rows, &self.output, engine.pool())?;
            if self.exec.stats {
                print_stats(
                    &stats,
                    counts.total(),
                    counts.total(),
                    counts.len(),
                    Summary::default(),
                );
            }
            return Ok(());
        }

        let can_fail = self.can_fail(&pipeline, kind);
        let streaming = matches!(pipeline.reduce, None | Some(Reduce::Take(_)));
        // A first `pluck` on JSON lines runs while parsing: only the plucked
        // value is built, not the whole record.
        let (lazy_pluck, stages) = match pipeline.stages.split_first() {
            Some((Stage::Pluck(path), rest)) if kind == InputKind::Json => {
                (Some(path.clone()), rest.to_vec())
            }
            _ => (None, pipeline.stages.clone()),
        };
        let task = RunTask {
            eval: Evaluator::new(stages),
            lazy_pluck,
            reduce: pipeline.reduce.clone(),
            kind,
            delimiter,
            keep_cr: self.records.keep_cr,
            skip_bad: self.records.skip_bad_lines,
            stream: None,
        };
        let (partials, stats, out_records, destination) = if streaming {
            let limit = match pipeline.reduce {
                Some(Reduce::Take(n)) => Some(n),
                _ => None,
            };
            let (partials, stats, written) = self.stream(
                task,
                &engine,
                &sources,
                &progress,
                destination,
                limit,
                can_fail,
            )?;
            (partials, stats, Some(written), None)
        } else {
            let result = engine.run(&task, &sources, &progress);
            progress.finish();
            let (partials, stats) = result?;
            (partials, stats, None, Some(destination))
        };

        let mut summary = Summary::default();
        let mut all_rejects = Vec::new();
        let mut acc: Option<Acc> = None;
        let mut records_in = 0;
        let mut records_out = 0;
        for partial in partials {
            summary.missing_path += partial.dropped.missing_path;
            records_in += partial.records_in;
            records_out += partial.records_out;
            all_rejects.extend(partial.rejects);
            if let Some(a) = partial.acc {
                acc = Some(match acc {
                    Some(sum) => sum.merge(a),
                    None => a,
                });
            }
        }
        summary.bad_lines = all_rejects.len() as u64;
        let records_out = out_records.unwrap_or(records_out);

        let mut distinct = 0;
        if let (Some(acc), Some(destination)) = (acc, destination) {
            summary.missing_path += acc.missing_path();
            distinct = self.finish(acc, destination, &engine, delimiter)?;
        }
        // Rejects are reported even when the rest succeeded: nothing is
        // lost silently.
        if !all_rejects.is_empty() {
            report_rejects(&mut all_rejects, &stats, &sources, rejects)?;
        }
        if self.exec.stats {
            print_stats(&stats, records_in, records_out, distinct, summary);
        }
        Ok(())
    }

    /// Whether bad data can still fail the run once it has started.
    fn can_fail(&self, pipeline: &Pipeline, kind: InputKind) -> bool {
        let parses_json =
            kind == InputKind::Json || pipeline.stages.iter().any(|s| matches!(s, Stage::Json));
        self.input.strict_utf8
            || (parses_json && !self.records.skip_bad_lines)
            || pipeline.stages.iter().any(|s| matches!(s, Stage::Explode))
    }

    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        mut task: RunTask,
        engine: &Engine,
        sources: &[Source],
        progress: &Progress,
        destination: Destination,
        limit: Option<u64>,
        can_fail: bool,
    ) -> Result<(Vec<RunPartial>, RunStats, u64), Error> {
        let threads = engine.pool().current_num_threads();
        let control = Control::new(Some(4 * threads));
        let (tx, rx) = crossbeam_channel::unbounded::<BlockOut>();
        let format = RecordFormat {
            format: self.output.format,
            terminator: task.delimiter,
        };
        task.stream = Some(StreamOut { tx, limit, format });
        let json_array = self.output.format == Format::Json;
        // Spool only when stdout would otherwise see the output of a run
        // that fails later; a file destination is written atomically anyway.
        let spool = can_fail && matches!(destination, Destination::Stdout);
        let (partials, stats, written) = if spool {
            let file = tempfile::tempfile().map_err(|e| Error::io("spool file", e))?;
            let sink = BufWriter::with_capacity(1 << 16, file);
            let (result, written) = run_stream(
                task, rx, sink, engine, sources, progress, &control, limit, json_array,
            );
            let (partials, stats) = result?;
            let (written, spool) = written.map_err(|e| Error::io("spool file", e))?;
            let mut file = spool
                .into_inner()
                .map_err(|e| Error::io("spool file", e.into_error()))?;
            file.rewind().map_err(|e| Error::io("spool file", e))?;
            let mut sink = destination.sink()?;
            io::copy(&mut file, &mut sink)
                .and_then(|_| sink.flush())
                .map_err(|e| destination.error(e))?;
            (partials, stats, written)
        } else {
            let sink = destination.sink()?;
            let (result, written) = run_stream(
                task, rx, sink, engine, sources, progress, &control, limit, json_array,
            );
            let (partials, stats) = result?;
            let (written, _) = written.map_err(|e| destination.error(e))?;
            (partials, stats, written)
        };
        progress.finish();
        destination.commit()?;
        Ok((partials, stats, written))
    }

    /// Print a reduction's answer; returns the number of distinct keys.
    fn finish(
        &self,
        acc: Acc,
        destination: Destination,
        engine: &Engine,
        delimiter: u8,
    ) -> Result<usize, Error> {
        if let Some(line) = crate::reduce::scalar(&acc)? {
            destination.write_with(|w| {
                w.write_all(line.as_bytes())?;
                w.write_all(b"\n")
            })?;
            return Ok(0);
        }
        let format = RecordFormat {
            format: self.output.format,
            terminator: delimiter,
        };
        match acc {
            Acc::Frequencies(counts) => {
                let rows: Vec<Row<'_>> = counts
                    .iter()
                    .map(|(kind, key, count)| Row::new(key, count, kind))
                    .collect();
                let distinct = rows.len();
                output::print_table(destination, rows, &self.output, engine.pool())?;
                Ok(distinct)
            }
            Acc::Distinct(counts) => {
                let mut keys: Vec<(KeyKind, &[u8])> =
                    counts.iter().map(|(kind, key, _)| (kind, key)).collect();
                keys.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
                let distinct = keys.len();
                let items = keys.into_iter().map(|(kind, key)| match kind {
                    KeyKind::Text => Item::Text(Cow::Borrowed(key)),
                    // Canonical JSON always parses back.
                    KeyKind::Json => {
                        Item::Json(serde_json::from_slice(key).unwrap_or(Value::Null), None)
                    }
                });
                write_records(destination, items, format)?;
                Ok(distinct)
            }
            Acc::TopK(top) => {
                write_records(destination, top.into_items().into_iter(), format)?;
                Ok(0)
            }
            _ => Ok(0),
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
}

struct StreamOut {
    tx: Sender<BlockOut>,
    limit: Option<u64>,
    format: RecordFormat,
}

/// What the engine returns for a run's task.
type EngineResult = Result<(Vec<RunPartial>, RunStats), Error>;

/// Run the engine with a writer thread printing the stream to `sink`.
#[allow(clippy::too_many_arguments)]
fn run_stream<W: Write + Send>(
    task: RunTask,
    rx: Receiver<BlockOut>,
    sink: W,
    engine: &Engine,
    sources: &[Source],
    progress: &Progress,
    control: &Control,
    limit: Option<u64>,
    json_array: bool,
) -> (EngineResult, io::Result<(u64, W)>) {
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_ordered(rx, sink, control, limit, json_array));
        let result = engine.run_with(&task, sources, progress, control);
        // Dropping the task drops the last sender: the writer finishes.
        drop(task);
        let written = writer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (result, written)
    })
}

/// Write the blocks' outputs in block order, at most `limit` records.
/// Returns the records written and the sink.
fn write_ordered<W: Write>(
    rx: Receiver<BlockOut>,
    mut sink: W,
    control: &Control,
    limit: Option<u64>,
    json_array: bool,
) -> io::Result<(u64, W)> {
    let mut pending = BTreeMap::new();
    let mut next = 0;
    let mut written = 0u64;
    let mut array = JsonArray::default();
    let mut done = limit == Some(0);
    if done {
        control.stop_after(0);
    }
    let result = (|| -> io::Result<()> {
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
        sink.flush()
    })();
    if let Err(e) = result {
        // The reader of our output is gone (or the disk is full): stop.
        control.stop_after(0);
        return Err(e);
    }
    Ok((written, sink))
}

/// One line skipped by `--skip-bad-lines`.
#[derive(Debug)]
struct Reject {
    seq: u64,
    source: usize,
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
    eval: Evaluator,
    /// The pipeline's first stage, when it is a `pluck` done while parsing.
    lazy_pluck: Option<Path>,
    reduce: Option<Reduce>,
    kind: InputKind,
    delimiter: u8,
    keep_cr: bool,
    skip_bad: bool,
    stream: Option<StreamOut>,
}

impl RunTask {
    /// One JSON line as a record: the whole value, or with a lazy `pluck`
    /// only the plucked value (`None` when the path is missing). Both check
    /// UTF-8 first, so a line is accepted or rejected alike either way.
    /// Errors carry the 1-based column and the message.
    fn parse_json<'a>(&self, line: &'a [u8]) -> Result<Option<Item<'a>>, (u64, String)> {
        let text = std::str::from_utf8(line).map_err(|e| {
            (
                e.valid_up_to() as u64 + 1,
                "invalid JSON: invalid UTF-8".to_owned(),
            )
        })?;
        let bad = |e: serde_json::Error| {
            let column = (e.column().max(1) as u64).min(line.len() as u64 + 1);
            (column, format!("invalid JSON: {}", json_message(&e)))
        };
        match &self.lazy_pluck {
            Some(path) => Ok(path
                .pluck_str(text)
                .map_err(bad)?
                .map(|value| Item::Json(value, None))),
            None => {
                let value = serde_json::from_str::<Value>(text).map_err(bad)?;
                Ok(Some(Item::Json(value, Some(Cow::Borrowed(line)))))
            }
        }
    }
}

impl BlockTask for RunTask {
    type Partial = RunPartial;

    fn new_partial(&self) -> RunPartial {
        RunPartial {
            acc: self.reduce.as_ref().and_then(Acc::new),
            ..RunPartial::default()
        }
    }

    fn may_fail(&self) -> bool {
        // Skipped lines are reported with their line numbers too.
        true
    }

    fn process(&self, partial: &mut RunPartial, block: &mut Block) -> Result<(), BlockFailure> {
        let (seq, source) = (block.seq, block.source);
        let RunPartial {
            acc,
            rejects,
            dropped,
            records_in,
            records_out,
        } = partial;
        let limit = self.stream.as_ref().and_then(|s| s.limit);
        let mut buffers = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let mut emitted = 0u64;
        for (index, record) in Records::new(block.data(), self.delimiter, self.keep_cr).enumerate()
        {
            if limit.is_some_and(|l| emitted >= l) {
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
                                rejects.push(Reject {
                                    seq,
                                    source,
                                    line_in_block: index,
                                    column,
                                    message,
                                    raw: record.bytes.to_vec(),
                                });
                                continue;
                            }
                            return Err(BlockFailure {
                                at: record.start + column as usize - 1,
                                kind: FailureKind::Data(message),
                            });
                        }
                    }
                }
            };
            *records_in += 1;
            let position = (seq, index);
            let result = self.eval.run(item, &mut buffers, dropped, |item| {
                emitted += 1;
                match (acc.as_mut(), &self.stream) {
                    (Some(acc), _) => acc.add(item, position),
                    (None, Some(stream)) => {
                        stream.format.write(&item, &mut out);
                        if stream.limit.is_some() {
                            ends.push(out.len());
                        }
                        Ok(())
                    }
                    (None, None) => Ok(()),
                }
            });
            if let Err(e) = result {
                if e.bad_json && self.skip_bad {
                    rejects.push(Reject {
                        seq,
                        source,
                        line_in_block: index,
                        column: 1,
                        message: e.message,
                        raw: record.bytes.to_vec(),
                    });
                    continue;
                }
                return Err(BlockFailure {
                    at: record.start,
                    kind: FailureKind::Data(e.message),
                });
            }
        }
        *records_out += emitted;
        if let Some(stream) = &self.stream {
            // The writer may have stopped (a closed pipe); nothing to do then.
            let _ = stream.tx.send(BlockOut {
                seq,
                bytes: out,
                records: emitted,
                ends,
            });
        }
        Ok(())
    }
}

/// Counters for `--stats`.
#[derive(Debug, Default, Clone, Copy)]
struct Summary {
    missing_path: u64,
    bad_lines: u64,
}

fn report_rejects(
    rejects: &mut [Reject],
    stats: &RunStats,
    sources: &[Source],
    destination: Option<Destination>,
) -> Result<(), Error> {
    rejects.sort_by_key(|r| (r.seq, r.line_in_block));
    let place = |r: &Reject| {
        format!(
            "{}:{}:{}: {}",
            sources[r.source].name(),
            stats.line_number(r.seq, r.source, r.line_in_block),
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

fn print_stats(
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Values for the field: every JSON kind, Unicode and escapes in
    /// strings, objects whose keys come in any order.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            prop_oneof![Just(0.5f64), Just(-2.25), Just(1e300)].prop_map(Value::from),
            prop_oneof![
                Just("en"),
                Just("fr"),
                Just("Zoë"),
                Just("a\"b\\c\n"),
                Just("東京"),
                Just("")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::vec(
                    (prop_oneof![Just("a"), Just("b"), Just("c")], inner),
                    0..3
                )
                .prop_map(|members| Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect()
                )),
            ]
        })
    }

    /// A line: an object with or without `k`, keys in random order and
    /// spacing, or a blank line.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => (value(), any::<bool>(), any::<bool>()).prop_map(|(v, first, spaced)| {
                let k = serde_json::to_string(&v).unwrap();
                let sep = if spaced { ", " } else { "," };
                if first { format!("{{\"k\":{k}{sep}\"z\":1}}") } else { format!("{{\"z\":1{sep}\"k\": {k}}}") }
            }),
            1 => Just(r#"{"other": 1}"#.to_owned()),
            1 => Just("   ".to_owned()),
        ]
    }

    /// The naive model: every line parsed on its own, `.k` looked up, and
    /// counted under its text (strings) or serde_json's sorted compact form.
    fn model(lines: &[String]) -> BTreeMap<(bool, Vec<u8>), u64> {
        let mut counts = BTreeMap::new();
        for line in lines {
            if line.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(line).unwrap();
            let key = match value.get("k") {
                None => continue,
                Some(Value::String(s)) => (false, s.as_bytes().to_vec()),
                Some(other) => (true, serde_json::to_vec(other).unwrap()),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }

    fn engine_counts(
        text: &str,
        block_size: u64,
        threads: usize,
        lazy: bool,
    ) -> BTreeMap<(bool, Vec<u8>), u64> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.jsonl");
        std::fs::write(&path, text).unwrap();
        let pipeline = parse::parse("pluck .k | frequencies", InputKind::Json).unwrap();
        let (lazy_pluck, stages) = match pipeline.stages.split_first() {
            Some((Stage::Pluck(path), rest)) if lazy => (Some(path.clone()), rest.to_vec()),
            _ => (None, pipeline.stages),
        };
        let task = RunTask {
            eval: Evaluator::new(stages),
            lazy_pluck,
            reduce: pipeline.reduce,
            kind: InputKind::Json,
            delimiter: b'\n',
            keep_cr: false,
            skip_bad: false,
            stream: None,
        };
        let engine = Engine::new(EngineOptions {
            threads,
            block_size,
            delimiter: b'\n',
            count_records: false,
            strict_utf8: false,
        })
        .unwrap();
        let (partials, _) = engine
            .run(&task, &[Source::File(path)], &Progress::hidden())
            .unwrap();
        let merged = partials
            .into_iter()
            .filter_map(|p| p.acc)
            .reduce(Acc::merge)
            .unwrap();
        let Acc::Frequencies(counts) = merged else {
            panic!("not frequencies")
        };
        counts
            .iter()
            .map(|(kind, key, count)| ((kind == KeyKind::Json, key.to_vec()), count))
            .collect()
    }

    /// Run `pipeline` over `text` as the command would (with a stream
    /// going nowhere); the result, or the error.
    fn run_anything(
        pipeline: &str,
        text: &[u8],
        kind: InputKind,
        skip_bad: bool,
    ) -> Result<(), Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        std::fs::write(&path, text).unwrap();
        let pipeline = parse::parse(pipeline, kind).unwrap();
        let (lazy_pluck, stages) = match pipeline.stages.split_first() {
            Some((Stage::Pluck(path), rest)) if kind == InputKind::Json => {
                (Some(path.clone()), rest.to_vec())
            }
            _ => (None, pipeline.stages.clone()),
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let streaming = matches!(pipeline.reduce, None | Some(Reduce::Take(_)));
        let task = RunTask {
            eval: Evaluator::new(stages),
            lazy_pluck,
            reduce: pipeline.reduce.clone(),
            kind,
            delimiter: b'\n',
            keep_cr: false,
            skip_bad,
            stream: streaming.then(|| StreamOut {
                tx,
                limit: None,
                format: RecordFormat {
                    format: Format::Jsonl,
                    terminator: b'\n',
                },
            }),
        };
        let engine = Engine::new(EngineOptions {
            threads: 2,
            block_size: 7,
            delimiter: b'\n',
            count_records: false,
            strict_utf8: false,
        })
        .unwrap();
        let (partials, _) = engine.run(&task, &[Source::File(path)], &Progress::hidden())?;
        drop(task);
        drop(rx);
        if let Some(acc) = partials
            .into_iter()
            .filter_map(|p| p.acc)
            .reduce(Acc::merge)
        {
            crate::reduce::scalar(&acc)?;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary lines (broken JSON, numbers, arrays, bytes that are
        /// not UTF-8) through pipelines of every kind: a result or an error,
        /// never a panic.
        #[test]
        fn any_input_gives_a_result_or_an_error(
            lines in proptest::collection::vec(prop_oneof![
                Just(b"{\"a\": 1, \"b\": [1, 2]}".to_vec()),
                Just(b"{\"a\": \"x\", \"b\": \"y\"}".to_vec()),
                Just(b"[1, 2.5, -3]".to_vec()),
                Just(b"{\"a\": 1e400}".to_vec()),
                Just(b"{\"a\": ".to_vec()),
                Just(b"\xff\xfe".to_vec()),
                Just(b"".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..12),
            ], 0..12),
            pipeline in proptest::sample::select(&[
                "pluck .a | sum", "pluck .b | explode | count", "pluck .b[-1] | mean", "filter .a > 0 | topk 2 by .b",
                "json | pluck .a | min", "pluck .a | max", "distinct", "frequencies", "explode | frequencies",
                "pluck . | text | lower | words | frequencies", "pluck .a", "filter .a == \"x\"", "take 3",
            ][..]),
            skip_bad in any::<bool>(),
        ) {
            let text = lines.join(&b'\n');
            let _ = run_anything(pipeline, &text, InputKind::Json, skip_bad);
            let _ = run_anything("json | pluck .a | sum", &text, InputKind::Text, skip_bad);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn pluck_frequencies_equals_the_naive_model(
            lines in proptest::collection::vec(line(), 0..40),
            block_size in 1u64..64,
            threads in 1usize..4,
            final_newline in any::<bool>(),
        ) {
            let mut text = lines.join("\n");
            if final_newline && !text.is_empty() {
                text.push('\n');
            }
            let expected = model(&lines);
            prop_assert_eq!(&engine_counts(&text, block_size, threads, false), &expected);
            prop_assert_eq!(&engine_counts(&text, block_size, threads, true), &expected);
        }
    }
}
