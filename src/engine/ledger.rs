//! Failures and their places: what can be wrong at a byte of a block, a
//! ledger of records per block that folds blocks in order as they finish
//! (so it holds only the blocks that finish out of order, not one entry
//! per block), and failures located in a block that become
//! `PATH:LINE:COL` errors once the lines before the block are known.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::sync::Mutex;

use crate::error::Error;
use crate::input::Source;
use crate::input::block::{Block, BlockId};
use crate::location::Place;
use crate::plan::Input;

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
    /// Something about the block as a whole (a command that failed on it):
    /// reported with the block's range of lines.
    Block(String),
}

/// A failure located in the input, waiting to become an [`Error`] once the
/// lines before its block are known.
#[derive(Debug)]
pub(super) enum Located {
    /// A failure that needs no position (opening or reading a source).
    Plain(Error),
    /// A data failure in block `id`.
    InBlock {
        id: BlockId,
        offset: u64,
        line_in_block: u64,
        column: u64,
        /// Records in the block, for a failure of the whole block.
        records: u64,
        kind: FailureKind,
    },
}

/// Records per block, folded in order per source: the lines before any
/// block whose line numbers someone asked for (a failure, a skipped line).
#[derive(Default)]
pub struct Ledger {
    sources: Mutex<Vec<SourceLines>>,
}

#[derive(Default, Clone)]
struct SourceLines {
    /// The next block to fold; all before it are folded.
    next: u64,
    /// Records in the blocks folded so far.
    lines: u64,
    /// Blocks that finished before an earlier one.
    pending: BTreeMap<u64, u64>,
    /// Blocks whose line numbers are wanted, and once known, the records
    /// before them.
    wanted: BTreeMap<u64, Option<u64>>,
}

impl Ledger {
    pub(super) fn with_sources(n: usize) -> Ledger {
        Ledger {
            sources: Mutex::new(vec![SourceLines::default(); n]),
        }
    }

    /// Ask for the line numbers of block `id` (before reporting it).
    pub fn want(&self, id: BlockId) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(source) = sources.get_mut(id.source as usize) {
            source.wanted.entry(id.index).or_insert(None);
        }
    }

    /// Block `id` holds `records` records.
    pub(super) fn report(&self, id: BlockId, records: u64) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let Some(source) = sources.get_mut(id.source as usize) else {
            return;
        };
        source.pending.insert(id.index, records);
        while let Some(records) = source.pending.remove(&source.next) {
            if let Some(slot) = source.wanted.get_mut(&source.next) {
                *slot = Some(source.lines);
            }
            source.lines += records;
            source.next += 1;
        }
    }

    /// Records before block `id` in its source, if known.
    pub fn lines_before(&self, id: BlockId) -> Option<u64> {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources
            .get(id.source as usize)?
            .wanted
            .get(&id.index)
            .copied()
            .flatten()
    }
}

/// A failure at a byte of `block`, which holds `records` records.
pub(super) fn located(
    block: &Block,
    failure: BlockFailure,
    delimiter: u8,
    records: u64,
) -> Located {
    let data = block.data();
    let at = failure.at.min(data.len());
    let place = Place::of(data, at, delimiter);
    Located::InBlock {
        id: block.id,
        offset: block.offset + at as u64,
        line_in_block: place.line - 1,
        column: place.column,
        records,
        kind: failure.kind,
    }
}

/// Records in a file before the first record that starts at or after
/// `offset` (the lines before a `--byte-range`): the delimiters before
/// it, and one more when `offset` falls inside a record, which belongs to
/// the range before.
fn records_before(path: &std::path::Path, offset: u64, delimiter: u8) -> io::Result<u64> {
    use std::io::Read;
    let mut file = File::open(path)?.take(offset);
    let mut buf = vec![0u8; 1 << 16];
    let mut count = 0u64;
    let mut last = delimiter;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(count + u64::from(last != delimiter)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += memchr::memchr_iter(delimiter, &buf[..n]).count() as u64;
        last = buf[n - 1];
    }
}

/// The line numbers of block `id`'s records start after this many lines.
pub fn line_base(inputs: &[Input], ledger: &Ledger, id: BlockId, delimiter: u8) -> u64 {
    let before_range = match inputs.get(id.source as usize) {
        Some(
            input @ Input {
                source: Source::File(path),
                ..
            },
        ) if input.range_start() > 0 => {
            records_before(path, input.range_start(), delimiter).unwrap_or(0)
        }
        _ => 0,
    };
    before_range + ledger.lines_before(id).unwrap_or(0)
}

/// The error a located failure is, with its line number.
pub(super) fn locate(located: Located, inputs: &[Input], ledger: &Ledger, delimiter: u8) -> Error {
    match located {
        Located::Plain(error) => error,
        Located::InBlock {
            id,
            offset,
            line_in_block,
            column,
            records,
            kind,
        } => {
            let path = inputs[id.source as usize].source.name();
            let base = line_base(inputs, ledger, id, delimiter);
            let line = base + line_in_block + 1;
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
                FailureKind::Block(message) => Error::BadBlock {
                    path,
                    first: base + 1,
                    last: base + records.max(1),
                    message,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_folds_blocks_in_order() {
        let ledger = Ledger::with_sources(2);
        let id = |source, index| BlockId { source, index };
        ledger.want(id(0, 2));
        ledger.want(id(1, 1));
        ledger.report(id(0, 1), 5);
        ledger.report(id(0, 2), 7);
        assert_eq!(ledger.lines_before(id(0, 2)), None);
        ledger.report(id(0, 0), 3);
        assert_eq!(ledger.lines_before(id(0, 2)), Some(8));
        ledger.report(id(1, 0), 4);
        ledger.report(id(1, 1), 1);
        assert_eq!(ledger.lines_before(id(1, 1)), Some(4));
        // Folded blocks are forgotten.
        let sources = ledger.sources.lock().unwrap();
        assert!(sources.iter().all(|s| s.pending.is_empty()));
    }
}
