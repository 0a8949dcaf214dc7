//! The engine: executes a [`Plan`]. Blocks of the inputs go to workers
//! (`schedule`), each running the job's fused steps (the word kernel in
//! `words`, or the record stages in `records`) into one accumulator per
//! worker; the accumulators merge exactly, the reduction finishes, the
//! rest of the pipeline runs on its answer, and the result is printed or
//! written as a partial. A job without a reduction streams its records in
//! input order instead (`stream`); a merge plan reads partials in place of
//! blocks (`merge`). Whatever made it, a merged state is finished in one
//! place (`finish`).

mod finish;
mod ledger;
mod merge;
mod records;
mod report;
mod schedule;
mod stream;
mod words;

use crate::counts::Counts;
use crate::error::Error;
use crate::output::{self, Destination, RecordFormat};
use crate::partial::Header;
use crate::pipeline::ast::Projection;
use crate::pipeline::program::Program;
use crate::plan::WordFilter;
use crate::plan::{BadLines, Input, Job, Output, Plan, Work, known_total};
use crate::progress::Progress;
use crate::reduce::spill::Spill;
use crate::reduce::{Acc, KeyCounts, Reducer};
use crate::tokenize::Tokenizer;
use finish::{finish, finish_spilled};
use ledger::Ledger;
use records::{RecordPartial, RecordTask};
use report::Counted;
use schedule::{Control, Engine, EngineOptions, RunStats};
use std::sync::Arc;
use stream::{BlockOut, Emit, StreamOut, Turn};
use words::{WordTask, drop_words, keeps};

/// Run a plan.
///
/// # Errors
/// Unreadable input, bad data, a reduction with no answer, partials that
/// do not merge, output errors: the first in input order.
pub(crate) fn execute(plan: Plan) -> Result<(), Error> {
    let Plan {
        command,
        inputs,
        threads,
        work,
        output,
        progress,
        stats,
        argv: _,
    } = plan;
    match work {
        Work::Partials => merge::run(&inputs, threads, &output),
        Work::Blocks(job) => {
            let destination = Destination::for_output(
                output.to.as_deref(),
                output.expect.as_deref(),
                &format!("rbag {}", command.name()),
            )?;
            let rejects = match &job.records.bad_lines {
                BadLines::Skip {
                    rejects: Some(path),
                } => {
                    let rejects = Destination::open(Some(path), "--rejects")?;
                    if destination.same_file(&rejects) {
                        return Err(Error::Usage(
                            "-o and --rejects name the same file; give them different files".into(),
                        ));
                    }
                    Some(rejects)
                }
                _ => None,
            };
            let engine = Engine::new(EngineOptions {
                threads,
                block_size: job.block_size,
                delimiter: job.records.delimiter,
                count_records: stats,
                strict_utf8: job.records.strict_utf8,
                // A command sees whole blocks: where they are cut must not
                // depend on how fast a pipe delivers.
                live: !job.has_pipe(),
            })?;
            let progress = Progress::new(progress, known_total(&inputs));
            let run = Run {
                engine: &engine,
                inputs: &inputs,
                progress: &progress,
                output: &output,
                job: &job,
            };
            let (run_stats, counted) = if job.kernel().is_some() {
                let counted = run.count_words(destination)?;
                if let Some(rejects) = rejects {
                    // No line is ever skipped here; an empty file still
                    // replaces one a previous run left.
                    rejects.write_with(|_| Ok(()))?;
                }
                counted
            } else {
                run.records(destination, rejects)?
            };
            if stats {
                report::print_stats(&run_stats, &counted);
            }
            Ok(())
        }
    }
}

/// A job being executed.
struct Run<'a> {
    engine: &'a Engine,
    inputs: &'a [Input],
    progress: &'a Progress,
    output: &'a Output,
    job: &'a Job,
}

impl Run<'_> {
    /// The word kernel: count the words of every block, merge, leave out
    /// the words the kernel's filters drop, finish.
    fn count_words(
        &self,
        destination: Destination,
    ) -> Result<(schedule::RunStats, Counted), Error> {
        let job = self.job;
        let (splitter, lowercase) = job.kernel().expect("a word count has the kernel");
        let reduction = job.reduction.as_ref().expect("a word count reduces");
        let mut task = WordTask {
            tokenizer: Tokenizer::new(splitter.clone(), lowercase, job.records.delimiter),
            spill: None,
        };
        if spills(reduction, self.output) {
            let threads = self.engine.pool().current_num_threads();
            let memory = &job.memory;
            task.spill = Some(Arc::new(Spill::new(&memory.tmpdir, memory.budget, threads)));
        }
        let result = self.engine.run(&task, self.inputs, self.progress);
        self.progress.finish();
        let spill = task.spill.take();
        if let Some(spill) = &spill {
            spill.check()?;
        }
        let (partials, run_stats, _) = result?;
        unchanged(self.inputs)?;
        let tables: Vec<Counts> = partials.into_iter().map(|p| p.counts).collect();
        if let Some(spill) = spill.filter(|s| s.spilled()) {
            for table in tables {
                spill.spill(&mut KeyCounts {
                    text: table,
                    ..KeyCounts::default()
                })?;
            }
            let spill = Arc::into_inner(spill).expect("the workers are done");
            let mut counted = Counted {
                records_in: run_stats.records,
                records_out: spill.total(),
                spilled: spill.amount(),
                ..Counted::default()
            };
            let filters: Vec<&WordFilter> = job.word_filters().collect();
            let keep = |word: &[u8]| keeps(&filters, word);
            counted.distinct = finish_spilled(
                spill,
                &keep,
                reduction,
                self.output,
                destination,
                job.records.delimiter,
                self.engine.pool(),
            )?;
            return Ok((run_stats, counted));
        }
        let counts = Counts::merge_all(tables, Some(self.engine.pool()));
        let counted = Counted {
            records_in: run_stats.records,
            records_out: counts.total(),
            distinct: counts.len(),
            ..Counted::default()
        };
        let counts = drop_words(counts, job.word_filters().collect());
        let acc = Acc::Frequencies(Box::new(KeyCounts {
            text: counts,
            json: Counts::default(),
        }));
        let missing_path = finish(
            acc,
            reduction,
            job.identity(),
            self.output,
            destination,
            job.records.delimiter,
            self.engine.pool(),
        )?;
        Ok((
            run_stats,
            Counted {
                missing_path,
                ..counted
            },
        ))
    }

    /// The record stages: stream the records out in input order, or
    /// reduce them, merge, finish; then report skipped lines.
    fn records(
        &self,
        destination: Destination,
        rejects: Option<Destination>,
    ) -> Result<(schedule::RunStats, Counted), Error> {
        let job = self.job;
        let records = &job.records;
        let parse_pluck = job.parse_pluck().map(|projection| match projection {
            Projection::Path { path, default } => (path.steps.clone(), default.clone()),
            Projection::Array(_) => unreachable!("only a path is plucked while parsing"),
        });
        let mut task = RecordTask {
            program: Program::new(job.stages(), records.delimiter),
            parse_pluck,
            reducer: None,
            kind: records.kind,
            delimiter: records.delimiter,
            keep_cr: records.keep_cr,
            skip_bad: records.bad_lines != BadLines::Fail,
            stream: None,
            spill: None,
        };
        let mut counted = Counted::default();
        let (partials, run_stats, ledger, written) = match job.streams() {
            Some(limit) => {
                // `--top K` of a stream is its first K records, as `rbag
                // merge` of its partial prints them.
                let top = (!self.output.partial)
                    .then_some(self.output.presentation.top)
                    .flatten()
                    .map(|k| k as u64);
                let limit = match (limit, top) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let (emit, header) = if self.output.partial {
                    (Emit::Partial, Some(job.identity()))
                } else {
                    let format = RecordFormat {
                        format: self.output.presentation.format,
                        terminator: records.delimiter,
                    };
                    (Emit::Output(format), None)
                };
                let (partials, run_stats, ledger, written) = stream(
                    self.engine,
                    task,
                    self.inputs,
                    self.progress,
                    destination,
                    limit,
                    emit,
                    header.as_ref(),
                )?;
                (partials, run_stats, ledger, Some(written))
            }
            None => {
                let reduction = job.reduction.as_ref().expect("not streaming: a reduction");
                let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
                task.reducer = Some(reducer);
                if spills(reduction, self.output) {
                    let threads = self.engine.pool().current_num_threads();
                    let memory = &job.memory;
                    task.spill = Some(Arc::new(Spill::new(&memory.tmpdir, memory.budget, threads)));
                }
                let result = self.engine.run(&task, self.inputs, self.progress);
                self.progress.finish();
                let spill = task.spill.take();
                if let Some(spill) = &spill {
                    spill.check()?;
                }
                let (mut partials, run_stats, ledger) = result?;
                unchanged(self.inputs)?;
                let reducer = task.reducer.as_ref().expect("set above");
                let mut accs: Vec<Acc> = partials.iter_mut().filter_map(|p| p.acc.take()).collect();
                if let Some(spill) = spill.filter(|s| s.spilled()) {
                    // What the workers still hold is spilled too: the
                    // output is the merge of the partitions.
                    for acc in &mut accs {
                        if let Acc::Frequencies(counts) | Acc::Distinct(counts) = acc {
                            spill.spill(counts)?;
                        }
                    }
                    drop(accs);
                    counted.spilled = spill.amount();
                    let spill = Arc::into_inner(spill).expect("the workers are done");
                    counted.distinct = finish_spilled(
                        spill,
                        &|_| true,
                        reduction,
                        self.output,
                        destination,
                        records.delimiter,
                        self.engine.pool(),
                    )?;
                    return self.report(partials, run_stats, ledger, None, counted, rejects);
                }
                let merged = Acc::merge_all(accs, &reducer.reduce, Some(self.engine.pool()))
                    .transpose()
                    .map_err(|e| Error::Merge(e.0))?;
                let acc = merged.unwrap_or_else(|| reducer.new_acc());
                counted.distinct = acc.distinct_keys();
                counted.missing_path += finish(
                    acc,
                    reduction,
                    job.identity(),
                    self.output,
                    destination,
                    records.delimiter,
                    self.engine.pool(),
                )?;
                (partials, run_stats, ledger, None)
            }
        };
        self.report(partials, run_stats, ledger, written, counted, rejects)
    }

    /// Add what the workers counted to `counted`, and report the skipped
    /// lines.
    fn report(
        &self,
        partials: Vec<RecordPartial>,
        run_stats: RunStats,
        ledger: Ledger,
        written: Option<u64>,
        mut counted: Counted,
        rejects: Option<Destination>,
    ) -> Result<(RunStats, Counted), Error> {
        let records = &self.job.records;
        let mut all_rejects = Vec::new();
        for partial in partials {
            counted.missing_path += partial.dropped.missing_path;
            counted.records_in += partial.records_in;
            counted.records_out += partial.records_out;
            all_rejects.extend(partial.rejects);
        }
        counted.bad_lines = all_rejects.len() as u64;
        if let Some(written) = written {
            counted.records_out = written;
        }
        // Rejects are reported even when the rest succeeded: nothing is
        // lost silently.
        report::report_rejects(
            &mut all_rejects,
            self.inputs,
            &ledger,
            records.delimiter,
            rejects,
        )?;
        Ok((run_stats, counted))
    }
}

/// Whether a reduction's table may spill under the memory budget: a
/// frequency table or set of keys, not grouped, printed as it is (a
/// partial, or stages after it, take the whole table in memory).
fn spills(reduction: &crate::pipeline::ast::Reduction, output: &Output) -> bool {
    use crate::pipeline::ast::Reduce;
    reduction.group.is_none()
        && matches!(reduction.reduce, Reduce::Frequencies | Reduce::Distinct)
        && reduction.rest.is_empty()
        && !output.partial
}

/// What a streamed run did: the workers' partials, what the engine
/// measured, the ledger of lines, and the records written.
type Streamed = (Vec<RecordPartial>, RunStats, Ledger, u64);

/// Check that no input file changed while it was read (it was resized,
/// replaced or written to): its count would be of neither content.
///
/// # Errors
/// The first input that changed.
fn unchanged(inputs: &[Input]) -> Result<(), Error> {
    inputs.iter().try_for_each(Input::check_unchanged)
}

/// Run `task` on every block of `inputs`, writing the records that come
/// out to `destination` in input order, at most `limit` of them; as a
/// partial (between `header` and its `end` line) when there is a header.
///
/// # Errors
/// As [`Engine::run`]; writing failed.
#[allow(clippy::too_many_arguments)]
fn stream(
    engine: &Engine,
    mut task: RecordTask,
    inputs: &[Input],
    progress: &Progress,
    destination: Destination,
    limit: Option<u64>,
    emit: Emit,
    header: Option<&Header>,
) -> Result<Streamed, Error> {
    let threads = engine.pool().current_num_threads();
    let control = Control::new(Some(4 * threads));
    let (tx, rx) = crossbeam_channel::unbounded::<BlockOut>();
    let json_array = matches!(&emit, Emit::Output(f) if f.format == output::Format::Json);
    let turn = std::sync::Arc::new(Turn::default());
    task.stream = Some(StreamOut {
        tx,
        limit,
        emit,
        turn: turn.clone(),
    });
    let sink = destination.sink()?;
    let (result, written) = std::thread::scope(|scope| {
        let control = &control;
        let writer = scope.spawn(move || {
            stream::write_ordered(rx, sink, control, limit, json_array, header, &turn)
        });
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
    unchanged(inputs)?;
    destination.commit()?;
    Ok((partials, stats, ledger, written))
}
