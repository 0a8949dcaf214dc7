//! The record task: on every block, cut the records (lines, or JSON
//! values, a first `pluck` done inside the parser), run the job's fused
//! stages on each (`pipe` commands once per block), and hand what comes
//! out to the worker's reduction, or format it into the block's share of
//! the ordered stream. Bad lines fail the block at their position, or
//! are skipped and kept for the summary under `--skip-bad-lines`.

use std::borrow::Cow;

use super::ledger::{BlockFailure, FailureKind};
use super::schedule::{BlockTask, Control};
use super::stream::{BACKLOG, BlockOut, PIECE, StreamOut};
use crate::input::block::{Block, BlockId};
use crate::input::record::Records;
use crate::json::Value;
use crate::json::parse::Step;
use crate::location::Place;
use crate::pipeline::ast::InputKind;
use crate::pipeline::eval::{Dropped, StageError};
use crate::pipeline::item::Item;
use crate::pipeline::program::Program;
use crate::pipeline::project::defaulted;
use crate::reduce::spill::Spill;
use crate::reduce::{Acc, Position, Reducer};

/// One line skipped by `--skip-bad-lines`.
#[derive(Debug)]
pub(super) struct Reject {
    pub id: BlockId,
    pub line_in_block: u64,
    pub column: u64,
    pub message: String,
    pub raw: Vec<u8>,
}

/// What one worker accumulates.
#[derive(Debug, Default)]
pub(super) struct RecordPartial {
    pub acc: Option<Acc>,
    pub rejects: Vec<Reject>,
    pub dropped: Dropped,
    pub records_in: u64,
    pub records_out: u64,
}

/// Running the stages of a job on the records of every block, into the
/// worker's reduction or into the block's share of the stream.
pub(super) struct RecordTask {
    pub program: Program,
    /// The job's first step, when it is a `pluck` done while parsing: the
    /// path and its default.
    pub parse_pluck: Option<(Vec<Step>, Option<Value>)>,
    pub reducer: Option<Reducer>,
    pub kind: InputKind,
    pub delimiter: u8,
    pub keep_cr: bool,
    pub skip_bad: bool,
    pub stream: Option<StreamOut>,
    /// Where a worker's table goes when it outgrows its share of the
    /// memory budget.
    pub spill: Option<std::sync::Arc<Spill>>,
}

impl RecordTask {
    /// One JSON line as a record: the whole value, or with a lazy `pluck`
    /// only the plucked value (`None` when the path is missing and has no
    /// default). Both check the whole line alike. Errors carry the 1-based
    /// column and the message.
    fn parse_json<'a>(&self, line: &'a [u8]) -> Result<Option<Item<'a>>, (u64, String)> {
        let bad = |e: crate::json::parse::ParseError| {
            let column = Place::of(line, e.at, self.delimiter).column;
            (column, format!("invalid JSON: {}", e.message))
        };
        match &self.parse_pluck {
            Some((steps, default)) => {
                let found = crate::json::parse::pluck(line, steps).map_err(bad)?;
                Ok(defaulted(found, default.as_ref()).map(Item::value))
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
    task: &'t RecordTask,
    acc: &'t mut Option<Acc>,
    out: Vec<u8>,
    ends: Vec<usize>,
    emitted: u64,
    counter: u64,
    id: BlockId,
    seq: u64,
    dropped: Dropped,
    /// Records and bytes already sent to the writer in pieces.
    sent_records: u64,
    sent_bytes: usize,
    /// Nothing more is wanted of the block: it has the records `take`
    /// keeps, the writer stopped, or the block is not wanted any more.
    stopped: bool,
}

impl BlockSink<'_> {
    fn emit(&mut self, item: Item<'_>) -> Result<(), StageError> {
        if self.stopped
            || self
                .task
                .stream
                .as_ref()
                .and_then(|s| s.limit)
                .is_some_and(|limit| self.emitted >= limit)
        {
            // No more is wanted of this block: stop the stages (and a
            // command that would print on without end).
            self.stopped = true;
            return Err(StageError::new("no more records wanted".into()));
        }
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
                stream.emit.write(&item, &mut self.out);
                if let Some(limit) = stream.limit {
                    self.ends.push(self.out.len());
                    if self.emitted >= limit {
                        // The block has all `take` can keep: stop now, not
                        // at the next record (a command may never print
                        // one).
                        self.stopped = true;
                        return Err(StageError::new("no more records wanted".into()));
                    }
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

    /// Forget what the block emitted since its last piece (it failed).
    fn rewind_block(&mut self) {
        self.rewind((0, 0, self.sent_records));
    }

    /// Send what the block has written so far as a piece of the stream,
    /// once it is large, so that a block's output is never held whole. A
    /// block that is not the writer's next waits for its turn once it has
    /// sent a backlog.
    fn send_piece(&mut self, control: &Control) {
        let Some(stream) = &self.task.stream else {
            return;
        };
        if self.out.len() < PIECE {
            return;
        }
        if self.sent_bytes >= BACKLOG {
            stream.turn.wait_for(self.seq, control);
        }
        if !control.wanted(self.seq) {
            self.stopped = true;
            return;
        }
        self.sent_bytes += self.out.len();
        let sent = stream.tx.send(BlockOut {
            seq: self.seq,
            bytes: std::mem::take(&mut self.out),
            records: self.emitted - self.sent_records,
            ends: std::mem::take(&mut self.ends),
            last: false,
            failed: false,
        });
        // The writer stopped (a closed pipe): nothing more is wanted.
        self.stopped |= sent.is_err();
        self.sent_records = self.emitted;
    }
}

impl BlockTask for RecordTask {
    type Partial = RecordPartial;

    fn new_partial(&self) -> RecordPartial {
        RecordPartial {
            acc: self.reducer.as_ref().map(Reducer::new_acc),
            ..RecordPartial::default()
        }
    }

    fn may_fail(&self) -> bool {
        // Skipped lines are reported with their line numbers too.
        true
    }

    fn process(
        &self,
        partial: &mut RecordPartial,
        block: &mut Block,
        control: &Control,
    ) -> Result<(), BlockFailure> {
        let (id, seq) = (block.id, block.seq);
        if self.spill.as_ref().is_some_and(|spill| spill.failed()) {
            // The run fails with the spill's error; nothing more to count.
            return Ok(());
        }
        let RecordPartial {
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
            seq,
            dropped: Dropped::default(),
            sent_records: 0,
            sent_bytes: 0,
            stopped: false,
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
                    self.program.write_for_command(&item, &mut pipe_input);
                    Ok(())
                } else {
                    sink.emit(item)
                }
            });
            if sink.stopped {
                break;
            }
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
            sink.send_piece(control);
        }
        if failure.is_none() && has_pipes {
            let result =
                self.program
                    .run_pipes(pipe_input, seq, control.commands(), dropped, &mut |item| {
                        sink.emit(item)?;
                        sink.send_piece(control);
                        Ok(())
                    });
            if let Err(e) = result
                && !sink.stopped
            {
                // Pieces already sent stay: they are the command's records
                // before it failed.
                sink.rewind_block();
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
                records: sink.emitted - sink.sent_records,
                ends: std::mem::take(&mut sink.ends),
                last: true,
                failed: failure.is_some(),
            });
        }
        match failure {
            Some(failure) => Err(failure),
            None => {
                if let (Some(spill), Some(Acc::Frequencies(counts) | Acc::Distinct(counts))) =
                    (&self.spill, acc.as_mut())
                {
                    spill.spill_if_full(counts);
                }
                Ok(())
            }
        }
    }
}
