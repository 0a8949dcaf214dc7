//! The ordered stream writer: a job without a reduction (or ending in
//! `take`) writes its records in input order as soon as every earlier
//! block is written. A reorder buffer keyed by the order blocks were handed out
//! puts the blocks' outputs back in order, and work may run only a few
//! blocks ahead of the writer, so memory stays bounded. A block whose
//! output is large (a `pipe` command may print without end) sends it in
//! pieces, and one that is not the writer's next waits for its turn
//! once it has sent a backlog. When bad data fails the run, exactly the
//! records before the bad line (in input order) have been written.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::schedule::Control;
use crate::output::{JsonArray, RecordFormat};
use crate::partial::Header;
use crate::pipeline::item::Item;

/// How a streamed record is written.
pub(super) enum Emit {
    /// As output, in a format.
    Output(RecordFormat),
    /// As a row of a partial.
    Partial,
}

impl Emit {
    pub fn write(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        match self {
            Emit::Output(format) => format.write(item, out),
            Emit::Partial => crate::partial::write_record(item, out),
        }
    }
}

/// A piece of what one block contributes to the stream: all of it, or
/// one of several pieces sent in order.
pub(super) struct BlockOut {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub records: u64,
    /// Where each record ends in `bytes`, kept only under `take`.
    pub ends: Vec<usize>,
    /// The block's last piece: the writer moves on to the next block.
    pub last: bool,
    /// The block failed after these records: nothing after it is written.
    pub failed: bool,
}

/// A block sends what it has written once it is this large.
pub(super) const PIECE: usize = 1 << 20;

/// A block that is not the writer's next sends at most this much before
/// waiting for its turn.
pub(super) const BACKLOG: usize = 16 << 20;

/// Where a block task sends its share of the stream.
pub(super) struct StreamOut {
    pub tx: Sender<BlockOut>,
    /// At most this many records in all (`take`).
    pub limit: Option<u64>,
    pub emit: Emit,
    /// The block the writer is writing.
    pub turn: std::sync::Arc<Turn>,
}

/// The block whose output the writer is writing now.
#[derive(Default)]
pub(super) struct Turn {
    next: Mutex<u64>,
    moved: Condvar,
}

impl Turn {
    /// The writer moved on to block `seq`.
    fn advance(&self, seq: u64) {
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = seq;
        self.moved.notify_all();
    }

    /// Wait until the writer writes block `seq`, or it is not wanted.
    pub fn wait_for(&self, seq: u64, control: &Control) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        // A writer that stopped never moves on: the stop flag is polled.
        while *next < seq && control.wanted(seq) {
            next = self
                .moved
                .wait_timeout(next, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Write the blocks' outputs in block order, at most `limit` records
/// (between a partial's header and trailer, when there is one). Returns
/// the records written.
pub(super) fn write_ordered<W: Write>(
    rx: Receiver<BlockOut>,
    mut sink: W,
    control: &Control,
    limit: Option<u64>,
    json_array: bool,
    header: Option<&Header>,
    turn: &Turn,
) -> io::Result<u64> {
    let mut pending: BTreeMap<u64, VecDeque<BlockOut>> = BTreeMap::new();
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
            pending.entry(out.seq).or_default().push_back(out);
            while let Some(block) = next_piece(&mut pending, next) {
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
                if block.last {
                    next += 1;
                    control.release();
                    turn.advance(next);
                    if block.failed {
                        // What came before the bad record is out; stop here
                        // (a partial stays without its trailer: incomplete).
                        sink.flush()?;
                        return Ok(());
                    }
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

/// The next piece of block `seq`, if it has come.
fn next_piece(pending: &mut BTreeMap<u64, VecDeque<BlockOut>>, seq: u64) -> Option<BlockOut> {
    let queue = pending.get_mut(&seq)?;
    let piece = queue.pop_front();
    if queue.is_empty() {
        pending.remove(&seq);
    }
    piece
}
