//! Running a per-block task over every input in parallel.
//!
//! One reader thread cuts the sources into blocks and sends them through a
//! bounded queue, so memory stays at a few blocks per thread whatever the
//! input size. Each thread of a rayon pool runs one worker that keeps its own
//! partial result for all the blocks it takes (one table per worker, no
//! shared lock on the hot path); used buffers go back to the reader for
//! reuse. When blocks fail, the failure earliest in the input is the one
//! reported, and blocks after it are not read, so errors are deterministic.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use crate::error::Error;
use crate::input::Source;
use crate::input::block::{Block, BlockReader};
use crate::progress::Progress;

/// Work done on each block.
pub trait BlockTask: Sync {
    /// What one worker accumulates over the blocks it processes.
    type Partial: Send;

    /// A fresh, empty partial result.
    fn new_partial(&self) -> Self::Partial;

    /// Process one block into `partial`.
    ///
    /// # Errors
    /// Bad data in the block, with its byte position in the block.
    fn process(&self, partial: &mut Self::Partial, block: &mut Block) -> Result<(), BlockFailure>;

    /// Whether `process` can fail; if so the engine keeps the record count of
    /// every block to give the failure a line number.
    fn may_fail(&self) -> bool;
}

/// A problem with the data at one byte of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockFailure {
    /// Byte position within the block.
    pub at: usize,
    pub kind: FailureKind,
}

/// What was wrong with the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    InvalidUtf8,
    /// Any other bad data, described by the message (invalid JSON, a value
    /// a stage cannot handle).
    Data(String),
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
    /// Records per block, when counted, to turn a position in a block into
    /// a line number.
    blocks_records: Vec<BlockLines>,
}

impl RunStats {
    /// The line (record) number in its source of line `line_in_block`
    /// (0-based) of block `seq`. Needs the records to have been counted.
    pub fn line_number(&self, seq: u64, source: usize, line_in_block: u64) -> u64 {
        lines_before(&self.blocks_records, seq, source) + line_in_block + 1
    }
}

/// A shared handle to steer a run from outside the workers: stop reading
/// after a block, and bound how far the reader may run ahead of an ordered
/// consumer of the blocks' results.
pub struct Control {
    stop_after: AtomicU64,
    permits: Option<(Sender<()>, Receiver<()>)>,
}

impl Control {
    /// A control; with `window`, at most that many blocks are read before
    /// [`Control::release`] is called for the earliest.
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
            permits,
        }
    }

    /// Process no block after `seq` (blocks up to `seq` are still done).
    pub fn stop_after(&self, seq: u64) {
        self.stop_after.fetch_min(seq, Ordering::Relaxed);
    }

    /// Whether block `seq` is still wanted.
    pub fn wanted(&self, seq: u64) -> bool {
        seq <= self.stop_after.load(Ordering::Relaxed)
    }

    /// The consumer is done with one block: the reader may read another.
    pub fn release(&self) {
        if let Some((tx, _)) = &self.permits {
            let _ = tx.try_send(());
        }
    }

    /// Wait for room to read block `seq`; false once it is not wanted.
    fn acquire(&self, seq: u64) -> bool {
        let Some((_, rx)) = &self.permits else {
            return self.wanted(seq);
        };
        loop {
            if !self.wanted(seq) {
                return false;
            }
            // A consumer that stopped releases nothing more; polling the
            // stop flag keeps the reader from waiting on it forever.
            match rx.recv_timeout(std::time::Duration::from_millis(20)) {
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
}

/// A failure located in the input, waiting to become an [`Error`] once the
/// lines before its block are known.
enum Located {
    /// A failure that needs no position (opening or reading a source).
    Plain(Error),
    /// A data failure in block `seq` of `source`.
    InBlock {
        source: usize,
        offset: u64,
        line_in_block: u64,
        column: u64,
        kind: FailureKind,
    },
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

/// Per-block record counts, kept to turn a failure's position in its block
/// into a line (record) number in its source.
#[derive(Debug, Clone)]
struct BlockLines {
    seq: u64,
    source: usize,
    records: u64,
}

impl Engine {
    /// An engine with its own pool of `options.threads` threads.
    ///
    /// # Errors
    /// The operating system refused to start the threads.
    pub fn new(options: EngineOptions) -> Result<Engine, Error> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads.max(1))
            .thread_name(|i| format!("rbag-worker-{i}"))
            .build()
            .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;
        Ok(Engine { options, pool })
    }

    /// The engine's pool, for parallel work after the blocks (sorting).
    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Run `task` on every block of `sources`, returning one partial result
    /// per worker thread.
    ///
    /// # Errors
    /// The failure earliest in the input: an unreadable source, or bad data
    /// with its path, line and column.
    pub fn run<T: BlockTask>(
        &self,
        task: &T,
        sources: &[Source],
        progress: &Progress,
    ) -> Result<(Vec<T::Partial>, RunStats), Error> {
        self.run_with(task, sources, progress, &Control::new(None))
    }

    /// [`Engine::run`], steered by `control`.
    ///
    /// # Errors
    /// As [`Engine::run`].
    pub fn run_with<T: BlockTask>(
        &self,
        task: &T,
        sources: &[Source],
        progress: &Progress,
        control: &Control,
    ) -> Result<(Vec<T::Partial>, RunStats), Error> {
        let started = Instant::now();
        let threads = self.pool.current_num_threads();
        // Two blocks queued per worker keep every worker busy while the
        // reader fills the next one; more would only hold memory.
        let (block_tx, block_rx) = crossbeam_channel::bounded::<Block>(2 * threads);
        let (recycle_tx, recycle_rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        let first = FirstFailure {
            control,
            failure: Mutex::new(None),
        };
        let strict_utf8 = self.options.strict_utf8;
        let count_lines = self.options.count_records || strict_utf8 || task.may_fail();
        let delimiter = self.options.delimiter;

        let (outcomes, mut stats) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| self.read_all(sources, block_tx, recycle_rx, &first));
            let outcomes = self.pool.broadcast(|_| {
                work(
                    task,
                    &block_rx,
                    &recycle_tx,
                    &first,
                    progress,
                    count_lines.then_some(delimiter),
                    strict_utf8,
                )
            });
            let stats = reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (outcomes, stats)
        });

        let mut partials = Vec::with_capacity(outcomes.len());
        let mut lines = Vec::new();
        for (partial, worker_lines) in outcomes {
            partials.push(partial);
            lines.extend(worker_lines);
        }
        let failure = first
            .failure
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((seq, located)) = failure {
            return Err(locate(seq, located, sources, &lines));
        }
        stats.records = lines.iter().map(|l| l.records).sum();
        stats.seconds = started.elapsed().as_secs_f64();
        stats.blocks_records = lines;
        Ok((partials, stats))
    }

    fn read_all(
        &self,
        sources: &[Source],
        block_tx: Sender<Block>,
        recycle_rx: Receiver<Vec<u8>>,
        first: &FirstFailure<'_>,
    ) -> RunStats {
        let mut stats = RunStats {
            sources: sources.len(),
            ..RunStats::default()
        };
        let mut seq = 0;
        'sources: for (index, source) in sources.iter().enumerate() {
            let input = match source.open() {
                Ok(input) => input,
                Err(e) => {
                    first.record(seq, Located::Plain(e));
                    break;
                }
            };
            let mut reader =
                BlockReader::new(input, self.options.block_size, self.options.delimiter);
            while first.wanted(seq) {
                let buffer = recycle_rx.try_recv().unwrap_or_default();
                match reader.next_block(seq, index, buffer) {
                    Ok(Some(block)) => {
                        // A permit per block sent, never for the end of a
                        // source: one taken there would never come back.
                        if !first.control.acquire(seq) {
                            break 'sources;
                        }
                        stats.bytes += block.data().len() as u64;
                        stats.blocks += 1;
                        if block_tx.send(block).is_err() {
                            break 'sources;
                        }
                        seq += 1;
                    }
                    Ok(None) => continue 'sources,
                    Err(e) => {
                        first.record(seq, Located::Plain(Error::io(source.name(), e)));
                        break 'sources;
                    }
                }
            }
            break;
        }
        stats
    }
}

fn work<T: BlockTask>(
    task: &T,
    blocks: &Receiver<Block>,
    recycle: &Sender<Vec<u8>>,
    first: &FirstFailure<'_>,
    progress: &Progress,
    count_records: Option<u8>,
    strict_utf8: bool,
) -> (T::Partial, Vec<BlockLines>) {
    let mut partial = task.new_partial();
    let mut lines = Vec::new();
    for mut block in blocks.iter() {
        if first.wanted(block.seq) {
            if let Some(delimiter) = count_records {
                let data = block.data();
                // Only a source's last block can end without a delimiter,
                // so no later block's line number includes this extra one.
                let unterminated = data.last() != Some(&delimiter);
                lines.push(BlockLines {
                    seq: block.seq,
                    source: block.source,
                    records: count_byte(delimiter, data) + u64::from(unterminated),
                });
            }
            let len = block.data().len() as u64;
            let checked = if strict_utf8 {
                check_utf8(block.data())
            } else {
                Ok(())
            };
            if let Err(failure) = checked.and_then(|()| task.process(&mut partial, &mut block)) {
                first.record(block.seq, located(&block, failure, count_records));
            }
            progress.advance(len);
        }
        // The reader may have stopped; a closed recycle queue is harmless.
        let _ = recycle.send(block.into_buffer());
    }
    (partial, lines)
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

fn located(block: &Block, failure: BlockFailure, delimiter: Option<u8>) -> Located {
    let delimiter = delimiter.unwrap_or(b'\n');
    let data = block.data();
    let at = failure.at.min(data.len());
    let before = &data[..at];
    let line_start = memchr::memrchr(delimiter, before).map_or(0, |i| i + 1);
    Located::InBlock {
        source: block.source,
        offset: block.offset + at as u64,
        line_in_block: count_byte(delimiter, before),
        column: (at - line_start) as u64 + 1,
        kind: failure.kind,
    }
}

fn locate(seq: u64, located: Located, sources: &[Source], lines: &[BlockLines]) -> Error {
    match located {
        Located::Plain(error) => error,
        Located::InBlock {
            source,
            offset,
            line_in_block,
            column,
            kind,
        } => {
            let path = sources[source].name();
            let line = lines_before(lines, seq, source) + line_in_block + 1;
            match kind {
                FailureKind::InvalidUtf8 => Error::InvalidUtf8 {
                    path,
                    line,
                    column,
                    offset,
                },
                FailureKind::Data(message) => Error::BadData {
                    path,
                    line,
                    column,
                    message,
                },
            }
        }
    }
}

fn lines_before(lines: &[BlockLines], seq: u64, source: usize) -> u64 {
    lines
        .iter()
        .filter(|l| l.source == source && l.seq < seq)
        .map(|l| l.records)
        .sum()
}

fn count_byte(byte: u8, data: &[u8]) -> u64 {
    memchr::memchr_iter(byte, data).count() as u64
}
