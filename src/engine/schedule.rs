//! Scheduling: running a per-block task over every input in parallel.
//!
//! Work is handed out in input order by one scheduler: a window of a
//! regular file (the worker that takes it reads it itself, with positioned
//! reads, so no thread copies bytes for another), or the next block of a
//! stream, cut by one feeder thread that reads stdin, FIFOs and compressed
//! files into bounded queues. Each worker of a rayon pool keeps its own
//! partial result for all the blocks it takes (no shared lock on the hot
//! path). Memory stays at a few blocks per thread whatever the input size.
//!
//! When blocks fail, the failure earliest in the input is the one reported,
//! and blocks after it are not read, so errors are deterministic; its line
//! number comes from the `ledger`.

use std::fs::File;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::ledger::{BlockFailure, FailureKind, Ledger, Located, locate, located};
use crate::error::Error;
use crate::input::block::{Block, BlockId, BlockReader, read_window};
use crate::input::{Shape, Source, describe_stream_error, open_stream};
use crate::pipeline::program::Commands;
use crate::plan::Input;
use crate::progress::Progress;

/// Work done on each block.
pub trait BlockTask: Sync {
    /// What one worker accumulates over the blocks it processes.
    type Partial: Send;

    /// A fresh, empty partial result.
    fn new_partial(&self) -> Self::Partial;

    /// Process one block into `partial`. Every block handed out is
    /// processed, an empty one too (a window where no record starts), so
    /// that ordered consumers see every sequence number. Commands started
    /// for the block go through `control`, which ends them once the block
    /// is no longer wanted.
    ///
    /// # Errors
    /// Bad data in the block, with its byte position in the block.
    fn process(
        &self,
        partial: &mut Self::Partial,
        block: &mut Block,
        control: &Control,
    ) -> Result<(), BlockFailure>;

    /// Whether `process` can fail or report positions; if so the engine
    /// keeps the ledger of records that gives line numbers.
    fn may_fail(&self) -> bool;
}

/// How to cut and schedule the input.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub threads: usize,
    pub block_size: u64,
    pub delimiter: u8,
    /// Count the records of every block (for `--stats`).
    pub count_records: bool,
    /// Fail on the first byte that is not UTF-8 (`--strict-utf8`), checked
    /// here for every task.
    pub strict_utf8: bool,
    /// Hand on partial blocks of a pipe that goes quiet.
    pub live: bool,
}

/// What the engine measured while running.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub sources: usize,
    pub bytes: u64,
    pub blocks: u64,
    /// Only counted when [`EngineOptions::count_records`] is set or the
    /// task may fail.
    pub records: u64,
    pub seconds: f64,
}

/// A shared handle to steer a run from outside the workers: stop after a
/// block, and bound how far work may run ahead of an ordered consumer of
/// the blocks' results.
pub struct Control {
    stop_after: AtomicU64,
    /// The commands `pipe` started, ended with their blocks.
    commands: Commands,
    finished: AtomicBool,
    permits: Option<(Sender<()>, Receiver<()>)>,
}

impl Control {
    /// A control; with `window`, at most that many blocks are handed out
    /// before [`Control::release`] is called for the earliest.
    pub fn new(window: Option<usize>) -> Control {
        let permits = window.map(|n| {
            let (tx, rx) = crossbeam_channel::bounded(n.max(1));
            for _ in 0..n.max(1) {
                let _ = tx.send(());
            }
            (tx, rx)
        });
        Control {
            stop_after: AtomicU64::new(u64::MAX),
            commands: Commands::default(),
            finished: AtomicBool::new(false),
            permits,
        }
    }

    /// Process no block after `seq` (blocks up to `seq` are still done),
    /// and end the commands started for them.
    pub fn stop_after(&self, seq: u64) {
        self.stop_after.fetch_min(seq, Ordering::Relaxed);
        self.commands.end_after(seq);
    }

    /// Where commands for blocks are started.
    pub fn commands(&self) -> &Commands {
        &self.commands
    }

    /// Whether block `seq` is still wanted.
    pub fn wanted(&self, seq: u64) -> bool {
        seq <= self.stop_after.load(Ordering::Relaxed) && !self.finished.load(Ordering::Relaxed)
    }

    /// The consumer is done with one block: another may be handed out.
    pub fn release(&self) {
        if let Some((tx, _)) = &self.permits {
            let _ = tx.try_send(());
        }
    }

    /// Wait for room to hand out block `seq`; false once it is not wanted.
    fn acquire(&self, seq: u64) -> bool {
        let Some((_, rx)) = &self.permits else {
            return self.wanted(seq);
        };
        loop {
            if !self.wanted(seq) {
                return false;
            }
            // A consumer that stopped releases nothing more; polling the
            // stop flag keeps the scheduler from waiting on it forever.
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(()) => return true,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return false,
            }
        }
    }
}

/// A configured engine with its thread pool.
pub struct Engine {
    options: EngineOptions,
    pool: rayon::ThreadPool,
    /// `RBAG_TRACE_WINDOWS` is set: every window read is named on stderr,
    /// so tests can hold the run to its `--explain` plan.
    trace: bool,
}

struct FirstFailure<'c> {
    /// Stopped at the lowest failing block so far: no later block is worth
    /// reading or processing.
    control: &'c Control,
    failure: Mutex<Option<(u64, Located)>>,
}

impl FirstFailure<'_> {
    fn wanted(&self, seq: u64) -> bool {
        self.control.wanted(seq)
    }

    fn record(&self, seq: u64, located: Located) {
        self.control.stop_after(seq);
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|(first, _)| seq < *first) {
            *slot = Some((seq, located));
        }
    }
}

/// A unit of work handed to a worker.
enum Assignment {
    Window {
        input: usize,
        index: u64,
        seq: u64,
        start: u64,
        end: u64,
    },
    Block(Block),
}

/// What the feeder sends for a stream.
enum StreamMsg {
    Block(Block),
    Failed(Located),
}

struct Cursor {
    input: usize,
    index: u64,
    seq: u64,
}

/// Hands out work in input order.
struct Scheduler<'a> {
    inputs: &'a [Input],
    block_size: u64,
    cursor: Mutex<Cursor>,
    streams: Vec<Option<Receiver<StreamMsg>>>,
}

impl Scheduler<'_> {
    fn next(&self, first: &FirstFailure<'_>) -> Option<Assignment> {
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let input_index = cursor.input;
            let input = self.inputs.get(input_index)?;
            let seq = cursor.seq;
            if !first.wanted(seq) {
                return None;
            }
            match &self.streams[input_index] {
                None => {
                    let Some((start, end)) = input.window(cursor.index, self.block_size) else {
                        cursor.input += 1;
                        cursor.index = 0;
                        continue;
                    };
                    if !first.control.acquire(seq) {
                        return None;
                    }
                    let index = cursor.index;
                    cursor.index += 1;
                    cursor.seq += 1;
                    return Some(Assignment::Window {
                        input: input_index,
                        index,
                        seq,
                        start,
                        end,
                    });
                }
                Some(rx) => match rx.recv() {
                    Ok(StreamMsg::Block(mut block)) => {
                        if !first.control.acquire(seq) {
                            return None;
                        }
                        block.seq = seq;
                        cursor.seq += 1;
                        return Some(Assignment::Block(block));
                    }
                    Ok(StreamMsg::Failed(located)) => {
                        first.record(seq, located);
                        return None;
                    }
                    Err(_) => {
                        cursor.input += 1;
                        cursor.index = 0;
                    }
                },
            }
        }
    }
}

impl Engine {
    /// An engine with its own pool of `options.threads` threads.
    ///
    /// # Errors
    /// The operating system refused to start the threads.
    pub fn new(options: EngineOptions) -> Result<Engine, Error> {
        let pool = crate::threads::pool(options.threads)?;
        let trace = std::env::var_os("RBAG_TRACE_WINDOWS").is_some();
        Ok(Engine {
            options,
            pool,
            trace,
        })
    }

    /// The engine's pool, for parallel work after the blocks (sorting).
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Run `task` on every block of `inputs`, returning one partial result
    /// per worker thread.
    ///
    /// # Errors
    /// The failure earliest in the input: an unreadable source, or bad data
    /// with its path, line and column.
    pub fn run<T: BlockTask>(
        &self,
        task: &T,
        inputs: &[Input],
        progress: &Progress,
    ) -> Result<(Vec<T::Partial>, RunStats, Ledger), Error> {
        self.run_with(task, inputs, progress, &Control::new(None))
    }

    /// [`Engine::run`], steered by `control`.
    ///
    /// # Errors
    /// As [`Engine::run`].
    pub fn run_with<T: BlockTask>(
        &self,
        task: &T,
        inputs: &[Input],
        progress: &Progress,
        control: &Control,
    ) -> Result<(Vec<T::Partial>, RunStats, Ledger), Error> {
        let started = Instant::now();
        let threads = self.pool.current_num_threads();
        let first = FirstFailure {
            control,
            failure: Mutex::new(None),
        };
        let count_lines = self.options.count_records || self.options.strict_utf8 || task.may_fail();
        let ledger = Ledger::with_sources(inputs.len());
        let (recycle_tx, recycle_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let mut senders = Vec::new();
        let mut streams = Vec::with_capacity(inputs.len());
        for (index, input) in inputs.iter().enumerate() {
            if matches!(input.shape, Shape::Stream { .. }) {
                // Two blocks queued per worker keep every worker busy while
                // the feeder fills the next one; more would only hold memory.
                let (tx, rx) = crossbeam_channel::bounded::<StreamMsg>(2 * threads);
                senders.push((index, tx));
                streams.push(Some(rx));
            } else {
                streams.push(None);
            }
        }
        let scheduler = Scheduler {
            inputs,
            block_size: self.options.block_size,
            cursor: Mutex::new(Cursor {
                input: 0,
                index: 0,
                seq: 0,
            }),
            streams,
        };
        let bytes = AtomicU64::new(0);
        let blocks = AtomicU64::new(0);
        let records = AtomicU64::new(0);

        let outcomes = std::thread::scope(|scope| {
            if !senders.is_empty() {
                let first = &first;
                scope.spawn(move || self.feed(inputs, senders, recycle_rx, first));
            }
            let worker = Worker {
                trace: self.trace,
                task,
                scheduler: &scheduler,
                first: &first,
                ledger: count_lines.then_some(&ledger),
                progress,
                recycle: &recycle_tx,
                options: &self.options,
                bytes: &bytes,
                blocks: &blocks,
                records: &records,
            };
            let outcomes = self.pool.broadcast(|_| worker.work());
            // Every worker is done: the feeder must stop too.
            control.finished.store(true, Ordering::Relaxed);
            outcomes
        });

        let failure = first
            .failure
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, located)) = failure {
            return Err(locate(located, inputs, &ledger, self.options.delimiter));
        }
        let stats = RunStats {
            sources: inputs.len(),
            bytes: bytes.into_inner(),
            blocks: blocks.into_inner(),
            records: records.into_inner(),
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((outcomes, stats, ledger))
    }

    /// The feeder: read every stream input in order, cut into blocks.
    fn feed(
        &self,
        inputs: &[Input],
        senders: Vec<(usize, Sender<StreamMsg>)>,
        recycle: Receiver<Vec<u8>>,
        first: &FirstFailure<'_>,
    ) {
        let control = first.control;
        // Send, unless the run has stopped: a full queue whose workers have
        // stopped must not keep the feeder waiting.
        let send = |tx: &Sender<StreamMsg>, mut msg: StreamMsg| -> bool {
            loop {
                if control.finished.load(Ordering::Relaxed) {
                    return false;
                }
                match tx.send_timeout(msg, Duration::from_millis(20)) {
                    Ok(()) => return true,
                    Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => msg = back,
                    Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
                }
            }
        };
        for (index, tx) in senders {
            let input = &inputs[index];
            let source_id = index as u32;
            let stream = match open_stream(&input.source, &input.shape) {
                Ok(stream) => stream,
                Err(e) => {
                    send(&tx, StreamMsg::Failed(Located::Plain(e)));
                    return;
                }
            };
            let live = self.options.live && stream.probe.is_some();
            let compressed = stream.compressed.clone();
            let mut reader = BlockReader::new(
                stream.reader,
                self.options.block_size,
                self.options.delimiter,
            )
            .live(if live { stream.probe } else { None });
            let mut index = 0;
            loop {
                let id = BlockId {
                    source: source_id,
                    index,
                };
                let buffer = recycle.try_recv().unwrap_or_default();
                let offset = reader.offset();
                match reader.next_block(id, buffer) {
                    Ok(Some(block)) => {
                        if !send(&tx, StreamMsg::Block(block)) {
                            return;
                        }
                        index += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let located = if e.kind() == io::ErrorKind::OutOfMemory {
                            Located::InBlock {
                                id,
                                offset,
                                line_in_block: 0,
                                column: 1,
                                records: 0,
                                kind: FailureKind::Data(crate::error::io_message(&e)),
                            }
                        } else {
                            Located::Plain(describe_stream_error(
                                &input.source,
                                compressed.as_ref(),
                                &e,
                            ))
                        };
                        send(&tx, StreamMsg::Failed(located));
                        return;
                    }
                }
            }
        }
    }
}

/// What every worker shares.
struct Worker<'a, T: BlockTask> {
    trace: bool,
    task: &'a T,
    scheduler: &'a Scheduler<'a>,
    first: &'a FirstFailure<'a>,
    ledger: Option<&'a Ledger>,
    progress: &'a Progress,
    recycle: &'a Sender<Vec<u8>>,
    options: &'a EngineOptions,
    bytes: &'a AtomicU64,
    blocks: &'a AtomicU64,
    records: &'a AtomicU64,
}

impl<T: BlockTask> Worker<'_, T> {
    fn work(&self) -> T::Partial {
        let mut partial = self.task.new_partial();
        let mut buffer = Vec::new();
        // The file of the last window, kept open for the next one.
        let mut open: Option<(usize, File)> = None;
        let delimiter = self.options.delimiter;
        while let Some(work) = self.scheduler.next(self.first) {
            let (mut block, recycle) = match work {
                Assignment::Block(block) => (block, true),
                Assignment::Window {
                    input,
                    index,
                    seq,
                    start,
                    end,
                } => {
                    let id = BlockId {
                        source: input as u32,
                        index,
                    };
                    if self.trace {
                        eprintln!("rbag: trace: window {input} {start} {end}");
                    }
                    let source = &self.scheduler.inputs[input].source;
                    if open.as_ref().is_none_or(|(i, _)| *i != input) {
                        let Source::File(path) = source else {
                            continue;
                        };
                        match File::open(path) {
                            Ok(file) => open = Some((input, file)),
                            Err(e) => {
                                self.first
                                    .record(seq, Located::Plain(Error::io(source.name(), e)));
                                continue;
                            }
                        }
                    }
                    let Some((_, file)) = &open else { continue };
                    match read_window(file, id, start, end, delimiter, std::mem::take(&mut buffer))
                    {
                        Ok(Ok(mut block)) => {
                            block.seq = seq;
                            (block, false)
                        }
                        // No record starts in the window: an empty block.
                        Ok(Err(back)) => {
                            buffer = back;
                            let mut empty = Block::from_vec(id, start, Vec::new());
                            empty.seq = seq;
                            (empty, false)
                        }
                        Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                            self.first.record(
                                seq,
                                Located::InBlock {
                                    id,
                                    offset: start,
                                    line_in_block: 0,
                                    column: 1,
                                    records: 0,
                                    kind: FailureKind::Data(crate::error::io_message(&e)),
                                },
                            );
                            if let Some(ledger) = self.ledger {
                                ledger.want(id);
                            }
                            continue;
                        }
                        Err(e) => {
                            let error = if e.kind() == io::ErrorKind::UnexpectedEof {
                                // The window ends before the planned end.
                                Error::Changed {
                                    path: source.name(),
                                    how: crate::error::io_message(&e),
                                }
                            } else {
                                Error::io(source.name(), e)
                            };
                            self.first.record(seq, Located::Plain(error));
                            continue;
                        }
                    }
                }
            };
            if self.first.wanted(block.seq) {
                self.process(&mut partial, &mut block);
            }
            let storage = block.into_buffer();
            if recycle {
                // The feeder may have stopped; a closed queue is harmless.
                let _ = self.recycle.send(storage);
            } else if storage.capacity() > buffer.capacity() {
                buffer = storage;
            }
        }
        partial
    }

    fn process(&self, partial: &mut T::Partial, block: &mut Block) {
        let data = block.data();
        let len = data.len() as u64;
        let delimiter = self.options.delimiter;
        let records = self.ledger.map(|_| {
            // Only a source's last block can end without a delimiter, so no
            // later block's line number includes this extra one.
            let unterminated = !data.is_empty() && data.last() != Some(&delimiter);
            memchr::memchr_iter(delimiter, data).count() as u64 + u64::from(unterminated)
        });
        let checked = if self.options.strict_utf8 {
            check_utf8(data)
        } else {
            Ok(())
        };
        let result = checked.and_then(|()| self.task.process(partial, block, self.first.control));
        if block.want_lines
            && let Some(ledger) = self.ledger
        {
            ledger.want(block.id);
        }
        // A block no longer wanted may fail because its command was ended:
        // that is no failure of the run.
        if let Err(failure) = result
            && self.first.wanted(block.seq)
        {
            if let Some(ledger) = self.ledger {
                ledger.want(block.id);
            }
            self.first.record(
                block.seq,
                located(block, failure, delimiter, records.unwrap_or(0)),
            );
        }
        if let (Some(ledger), Some(records)) = (self.ledger, records) {
            ledger.report(block.id, records);
            self.records.fetch_add(records, Ordering::Relaxed);
        }
        self.bytes.fetch_add(len, Ordering::Relaxed);
        if len > 0 {
            self.blocks.fetch_add(1, Ordering::Relaxed);
        }
        self.progress.advance(len);
    }
}

/// `--strict-utf8`: the position of the first byte that is not UTF-8.
fn check_utf8(data: &[u8]) -> Result<(), BlockFailure> {
    std::str::from_utf8(data)
        .map(drop)
        .map_err(|e| BlockFailure {
            at: e.valid_up_to(),
            kind: FailureKind::InvalidUtf8,
        })
}
