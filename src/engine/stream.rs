//! The ordered stream writer: a job without a reduction (or ending in
//! `take`) writes its records in input order as soon as every earlier
//! block is written. A reorder buffer keyed by the order blocks were handed out
//! puts the blocks' outputs back in order, and work may run only a few
//! blocks ahead of the writer, so memory stays bounded. When bad data
//! fails the run, exactly the records before the bad line (in input
//! order) have been written.

use std::collections::BTreeMap;
use std::io::{self, Write};

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

/// What one block contributes to the stream.
pub(super) struct BlockOut {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub records: u64,
    /// Where each record ends in `bytes`, kept only under `take`.
    pub ends: Vec<usize>,
    /// The block failed after these records: nothing after it is written.
    pub failed: bool,
}

/// Where a block task sends its share of the stream.
pub(super) struct StreamOut {
    pub tx: Sender<BlockOut>,
    /// At most this many records in all (`take`).
    pub limit: Option<u64>,
    pub emit: Emit,
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
