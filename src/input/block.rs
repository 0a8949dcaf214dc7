//! Cutting a byte stream into blocks at record boundaries.
//!
//! The rule is dask's `read_text` rule: the stream is divided into windows
//! `[k*B, (k+1)*B)` of the block size B, and a record belongs to the window
//! in which it starts. A block is all the records of one window, so its cut
//! points depend only on the bytes and on B, never on how `read` happened to
//! return data: a file and a pipe of the same bytes give the same blocks. A
//! record longer than B makes its block longer; it is never split, and the
//! windows it covers have no block of their own.

use std::io::{self, Read};

/// How much to ask `read` for at a time: big enough to amortise syscalls,
/// small enough that a huge `--blocksize` on a small input does not allocate
/// the whole block size up front.
const MAX_READ: usize = 1 << 20;

/// After the window is full, the rest of the last record is read in chunks of
/// this size; what is read past the cut is copied to the next block.
const TAIL_READ: usize = 16 << 10;

/// A run of whole records from one source.
#[derive(Debug)]
pub struct Block {
    /// Position of the block in the whole run, across all sources; error
    /// reports and ordered output follow it.
    pub seq: u64,
    /// Index of the source the block came from.
    pub source: usize,
    /// Byte offset of the block's first byte in its source.
    pub offset: u64,
    buf: Vec<u8>,
    len: usize,
}

impl Block {
    /// The block's bytes: whole records, each with its delimiter except
    /// possibly the very last record of the source.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The block's bytes, to be changed in place (e.g. lowercased).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// Give the storage back for reuse by the reader.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads one source and cuts it into blocks.
pub struct BlockReader<R> {
    reader: R,
    block_size: u64,
    delimiter: u8,
    /// Bytes already read that belong to the next block.
    tail: Vec<u8>,
    /// Source offset of the next record, which is also where `tail` starts.
    offset: u64,
    eof: bool,
}

impl<R: Read> BlockReader<R> {
    /// A reader cutting `reader` into blocks of `block_size` (at least 1)
    /// bytes, at records ending in `delimiter`.
    pub fn new(reader: R, block_size: u64, delimiter: u8) -> Self {
        BlockReader {
            reader,
            block_size: block_size.max(1),
            delimiter,
            tail: Vec::new(),
            offset: 0,
            eof: false,
        }
    }

    /// Read the next block into `buf` (whose allocation is reused, so buffers
    /// can circulate between reader and workers without being zeroed again).
    /// Returns `None` at the end of the source.
    ///
    /// # Errors
    /// A read error from the source.
    pub fn next_block(
        &mut self,
        seq: u64,
        source: usize,
        mut buf: Vec<u8>,
    ) -> io::Result<Option<Block>> {
        let start = self.offset;
        let window_end = (start / self.block_size)
            .saturating_add(1)
            .saturating_mul(self.block_size);
        // The block ends at the first delimiter at or after the window's last
        // byte: that delimiter ends the last record starting in the window.
        let last_in_window = usize::try_from(window_end - start - 1).unwrap_or(usize::MAX);

        let mut filled = self.tail.len();
        ensure_len(&mut buf, filled);
        buf[..filled].copy_from_slice(&self.tail);
        self.tail.clear();

        let mut searched = last_in_window;
        let cut = loop {
            if filled > searched {
                if let Some(at) = memchr::memchr(self.delimiter, &buf[searched..filled]) {
                    break searched + at + 1;
                }
                searched = filled;
            }
            if self.eof {
                break filled;
            }
            let want = if filled <= last_in_window {
                (last_in_window + 1 - filled).min(MAX_READ)
            } else {
                TAIL_READ
            };
            ensure_len(&mut buf, filled + want);
            match self.reader.read(&mut buf[filled..filled + want]) {
                Ok(0) => self.eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if cut == 0 {
            return Ok(None);
        }
        self.tail.extend_from_slice(&buf[cut..filled]);
        self.offset = start + cut as u64;
        Ok(Some(Block {
            seq,
            source,
            offset: start,
            buf,
            len: cut,
        }))
    }
}

/// Make `buf[..len]` addressable. Buffers only ever grow, so a recycled
/// buffer is zeroed once, when first allocated.
fn ensure_len(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader that hands out at most `chunk` bytes per call, to exercise
    /// every read boundary as a pipe would.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn blocks(data: &[u8], block_size: u64, chunk: usize) -> Vec<(u64, Vec<u8>)> {
        let mut reader = BlockReader::new(Trickle { data, chunk }, block_size, b'\n');
        let mut out = Vec::new();
        let mut seq = 0;
        while let Some(block) = reader.next_block(seq, 0, Vec::new()).unwrap() {
            out.push((block.offset, block.data().to_vec()));
            seq += 1;
        }
        out
    }

    #[test]
    fn empty_input_has_no_block() {
        assert!(blocks(b"", 4, 3).is_empty());
    }

    #[test]
    fn records_go_to_the_window_they_start_in() {
        // Windows of 4 bytes: "ab\n" and "cd\n" start in [0,4); "ef\n" in [4,8).
        let got = blocks(b"ab\ncd\nef\ngh", 4, 100);
        assert_eq!(
            got,
            vec![
                (0, b"ab\ncd\n".to_vec()),
                (6, b"ef\n".to_vec()),
                (9, b"gh".to_vec())
            ]
        );
    }

    #[test]
    fn a_long_record_is_never_split() {
        let got = blocks(b"0123456789\nx\n", 3, 2);
        assert_eq!(
            got,
            vec![(0, b"0123456789\n".to_vec()), (11, b"x\n".to_vec())]
        );
    }

    #[test]
    fn block_size_one_gives_one_record_per_block() {
        let got = blocks(b"a\n\nbc\n", 1, 1);
        let data: Vec<_> = got.into_iter().map(|(_, d)| d).collect();
        assert_eq!(
            data,
            vec![b"a\n".to_vec(), b"\n".to_vec(), b"bc\n".to_vec()]
        );
    }

    proptest! {
        #[test]
        fn blocks_lose_nothing_and_follow_the_window_rule(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'x'), any::<u8>()], 0..300),
            block_size in 1u64..64,
            chunk in 1usize..80,
        ) {
            let got = blocks(&data, block_size, chunk);
            let joined: Vec<u8> = got.iter().flat_map(|(_, d)| d.iter().copied()).collect();
            prop_assert_eq!(&joined, &data);
            let mut expected_offset = 0;
            let mut last_window = None;
            for (i, (offset, block)) in got.iter().enumerate() {
                prop_assert_eq!(*offset, expected_offset);
                prop_assert!(!block.is_empty());
                if i + 1 < got.len() {
                    prop_assert_eq!(block.last(), Some(&b'\n'));
                }
                // Every record of the block starts in the block's window.
                let window = offset / block_size;
                let mut record_start = *offset;
                for (at, byte) in block.iter().enumerate() {
                    if at as u64 + offset == record_start {
                        prop_assert_eq!(record_start / block_size, window);
                    }
                    if *byte == b'\n' {
                        record_start = offset + at as u64 + 1;
                    }
                }
                // Windows strictly increase from block to block.
                prop_assert!(last_window.is_none_or(|w| w < window));
                last_window = Some(window);
                expected_offset += block.len() as u64;
            }
        }
    }
}
