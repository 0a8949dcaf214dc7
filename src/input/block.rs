//! Cutting input into blocks at record boundaries.
//!
//! The rule is dask's `read_text` rule: the input is divided into windows
//! `[k*B, (k+1)*B)` of the block size B, and a record belongs to the window
//! in which it starts. A block is all the records of one window, so its
//! records depend only on the bytes and on B, never on how `read` happened
//! to return data: a file read window by window and a pipe read from start
//! to end give the same blocks. A record longer than B makes its block
//! longer; it is never split, and the windows it covers have no records.
//!
//! Regular files are read window by window, by whichever worker takes the
//! window ([`read_window`]); streams are read from start to end by one
//! reader ([`BlockReader`]), which may also hand on the complete records of
//! a window early when a live pipe goes quiet.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use super::Probe;

/// How much to ask `read` for at a time: big enough to amortise syscalls,
/// small enough that a huge `--blocksize` on a small input does not allocate
/// the whole block size up front.
const MAX_READ: usize = 1 << 20;

/// After the window, the rest of its last record is read in chunks of at
/// least this size (doubling while the record goes on): one page, which
/// holds the end of most records.
const TAIL_READ: usize = 4 << 10;

/// The alignment positioned reads land on.
const PAGE: usize = 4 << 10;

/// Which block: the source it comes from and its place in that source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockId {
    pub source: u32,
    pub index: u64,
}

/// A run of whole records from one source.
#[derive(Debug)]
pub struct Block {
    pub id: BlockId,
    /// Place in the order blocks were handed to workers, which is input
    /// order: ordered output and the earliest failure follow it.
    pub seq: u64,
    /// Byte offset of the block's first byte in its source.
    pub offset: u64,
    /// Set by a task that will report positions in this block (skipped
    /// lines), so that the engine keeps its line numbers.
    pub want_lines: bool,
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Block {
    /// A block holding `data` (for tests and for results fed back in).
    pub fn from_vec(id: BlockId, offset: u64, data: Vec<u8>) -> Block {
        let len = data.len();
        Block {
            id,
            seq: 0,
            want_lines: false,
            offset,
            buf: data,
            start: 0,
            len,
        }
    }

    /// The block's bytes: whole records, each with its delimiter except
    /// possibly the very last record of the source.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }

    /// The block's bytes, to be changed in place (e.g. lowercased).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }

    /// Give the storage back for reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }
}

/// The error for a record that does not fit in memory.
pub fn too_large(bytes: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("a record of more than {bytes} bytes does not fit in memory"),
    )
}

/// Make `buf[..len]` addressable, failing (rather than aborting) when the
/// memory is not there. Buffers only ever grow, so a recycled buffer is
/// zeroed once, when first allocated. The growth is exact, not doubling:
/// callers grow a long record by an eighth at a time, so a 300 MB line
/// takes about 300 MB, not up to 600.
fn ensure_len(buf: &mut Vec<u8>, len: usize) -> io::Result<()> {
    if buf.len() < len {
        crate::memory::fallible(|| buf.try_reserve_exact(len - buf.len()))
            .map_err(|_| too_large(len))?;
        buf.resize(len, 0);
    }
    Ok(())
}

/// The error of a window that ends early: the file is shorter than when
/// the run planned its windows.
fn shrunk(at: u64, end: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("it ends at byte {at}, and the run planned to read up to byte {end}"),
    )
}

/// How much more to read when a record runs `past` bytes beyond its
/// window: [`TAIL_READ`] at first, then as much again as was read past the
/// window, so that a huge record takes few reads, never more than
/// [`MAX_READ`] times 16 at once. (Growing with the whole window instead
/// read an eighth of every block twice.)
fn tail_read(past: usize) -> usize {
    past.clamp(TAIL_READ, 16 * MAX_READ)
}

/// The window `[start, end)` of a regular file as a block: the records
/// starting in it, read with positioned reads (the byte before `start`
/// tells whether a record starts at `start`; it is read on its own, so
/// that the window's read stays aligned as the file's pages are: an
/// unaligned copy from the page cache cost a tenth of a JSON run). `Err`
/// with the buffer back when no record starts in the window.
///
/// # Errors
/// A read error, or a record too large for memory.
pub fn read_window(
    file: &File,
    id: BlockId,
    start: u64,
    end: u64,
    delimiter: u8,
    mut buf: Vec<u8>,
) -> io::Result<Result<Block, Vec<u8>>> {
    debug_assert!(start < end);
    let from = start;
    let want = usize::try_from(end - from).map_err(|_| too_large(usize::MAX))?;
    let record_starts_at_start = start == 0 || {
        let mut before = [0u8; 1];
        loop {
            match file.read_at(&mut before, start - 1) {
                Ok(0) => break false,
                Ok(_) => break before[0] == delimiter,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    };
    // Reads land at `base`, the first page boundary inside the buffer:
    // the kernel copies from the page cache to a page-aligned address
    // three to four times faster than to malloc's (16 bytes past a page),
    // and that copy was a fifth of a JSON run. Indexes below are relative
    // to `base`; if a long record makes the buffer move, the data moves
    // with it and only the alignment is lost.
    let first_read = want.min(MAX_READ.max(1));
    ensure_len(&mut buf, first_read + PAGE)?;
    let base = buf.as_ptr().align_offset(PAGE).min(PAGE);
    let mut filled = 0;
    let mut eof = false;
    let read_at =
        |buf: &mut Vec<u8>, filled: &mut usize, upto: usize, eof: &mut bool| -> io::Result<()> {
            ensure_len(buf, base + upto)?;
            while *filled < upto {
                match file.read_at(&mut buf[base + *filled..base + upto], from + *filled as u64) {
                    Ok(0) if *filled < want => return Err(shrunk(from + *filled as u64, end)),
                    Ok(0) => {
                        *eof = true;
                        break;
                    }
                    Ok(n) => *filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
    read_at(&mut buf, &mut filled, first_read, &mut eof)?;
    // The first record that starts at or after `start`.
    let first = if record_starts_at_start {
        0
    } else {
        // Read the window's first part to find it; a long record that began
        // before the window may cover all of it.
        let mut searched = 0;
        loop {
            if let Some(at) = memchr::memchr(delimiter, &buf[base + searched..base + filled]) {
                break searched + at + 1;
            }
            searched = filled;
            if eof || filled >= want {
                return Ok(Err(buf));
            }
            let upto = (filled + MAX_READ).min(want);
            read_at(&mut buf, &mut filled, upto, &mut eof)?;
        }
    };
    // `first` indexes the data read, whose byte 0 is at `from`.
    if from + first as u64 >= end || first >= filled && eof {
        return Ok(Err(buf));
    }
    // The block ends at the first delimiter at or after the window's last
    // byte: it ends the last record that starts in the window.
    let last_in_window = want - 1;
    let mut searched = last_in_window.max(first);
    let cut = loop {
        if filled > searched {
            if let Some(at) = memchr::memchr(delimiter, &buf[base + searched..base + filled]) {
                break searched + at + 1;
            }
            searched = filled;
        }
        if eof {
            break filled;
        }
        let upto = if filled < want {
            (filled + MAX_READ).min(want)
        } else {
            filled + tail_read(filled - want)
        };
        read_at(&mut buf, &mut filled, upto, &mut eof)?;
    };
    if cut <= first {
        return Ok(Err(buf));
    }
    Ok(Ok(Block {
        id,
        seq: 0,
        want_lines: false,
        offset: from + first as u64,
        buf,
        start: base + first,
        len: cut - first,
    }))
}

/// Reads one stream and cuts it into blocks.
pub struct BlockReader<R> {
    reader: R,
    block_size: u64,
    delimiter: u8,
    /// Bytes already read that belong to the next block.
    tail: Vec<u8>,
    /// Source offset of the next record, which is also where `tail` starts.
    offset: u64,
    eof: bool,
    /// For a live pipe: tells whether more bytes are waiting.
    probe: Option<Probe>,
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
            probe: None,
        }
    }

    /// Hand on the complete records read so far whenever the source has no
    /// more bytes waiting, rather than wait for a full window: for a live
    /// pipe (`tail -f log | rbag run ...`). The records of the blocks, and
    /// so the output, are the same.
    pub fn live(mut self, probe: Option<Probe>) -> Self {
        self.probe = probe;
        self
    }

    /// The source offset of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Read the next block into `buf` (whose allocation is reused, so buffers
    /// can circulate between reader and workers without being zeroed again).
    /// Returns `None` at the end of the source.
    ///
    /// # Errors
    /// A read error from the source, or a record too large for memory.
    pub fn next_block(&mut self, id: BlockId, mut buf: Vec<u8>) -> io::Result<Option<Block>> {
        let start = self.offset;
        let window_end = (start / self.block_size)
            .saturating_add(1)
            .saturating_mul(self.block_size);
        let last_in_window = usize::try_from(window_end - start - 1).unwrap_or(usize::MAX);

        let mut filled = self.tail.len();
        ensure_len(&mut buf, filled)?;
        buf[..filled].copy_from_slice(&self.tail);
        self.tail.clear();

        let mut searched = last_in_window;
        // The end of the last whole record read so far, found in the bytes
        // of each read as it comes (a rescan of the whole buffer after every
        // short read would be quadratic on a long record).
        let mut last_end = memchr::memrchr(self.delimiter, &buf[..filled]).map(|i| i + 1);
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
                tail_read(filled - (last_in_window + 1))
            };
            ensure_len(&mut buf, filled + want)?;
            match self.reader.read(&mut buf[filled..filled + want]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    if let Some(at) = memchr::memrchr(self.delimiter, &buf[filled..filled + n]) {
                        last_end = Some(filled + at + 1);
                    }
                    filled += n;
                    // A short read from a live pipe that has nothing more
                    // waiting: hand on the whole records read so far.
                    if n < want
                        && let Some(last) = last_end
                        && self.probe.as_ref().is_some_and(|p| !p.ready())
                    {
                        break last;
                    }
                }
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
            id,
            seq: 0,
            want_lines: false,
            offset: start,
            buf,
            start: 0,
            len: cut,
        }))
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

    fn streamed(data: &[u8], block_size: u64, chunk: usize) -> Vec<(u64, Vec<u8>)> {
        let mut reader = BlockReader::new(Trickle { data, chunk }, block_size, b'\n');
        let mut out = Vec::new();
        let mut index = 0;
        let id = |index| BlockId { source: 0, index };
        while let Some(block) = reader.next_block(id(index), Vec::new()).unwrap() {
            out.push((block.offset, block.data().to_vec()));
            index += 1;
        }
        out
    }

    fn windowed(data: &[u8], block_size: u64, range: (u64, u64)) -> Vec<(u64, Vec<u8>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        std::fs::write(&path, data).unwrap();
        let file = File::open(&path).unwrap();
        let mut out = Vec::new();
        let (from, to) = range;
        let mut start = from;
        while start < to {
            let end = ((start / block_size + 1) * block_size).min(to);
            let id = BlockId {
                source: 0,
                index: start / block_size,
            };
            if let Ok(block) = read_window(&file, id, start, end, b'\n', Vec::new()).unwrap() {
                out.push((block.offset, block.data().to_vec()));
            }
            start = end;
        }
        out
    }

    #[test]
    fn empty_input_has_no_block() {
        assert!(streamed(b"", 4, 3).is_empty());
        assert!(windowed(b"", 4, (0, 0)).is_empty());
    }

    #[test]
    fn records_go_to_the_window_they_start_in() {
        // Windows of 4 bytes: "ab\n" and "cd\n" start in [0,4); "ef\n" in [4,8).
        let expected = vec![
            (0, b"ab\ncd\n".to_vec()),
            (6, b"ef\n".to_vec()),
            (9, b"gh".to_vec()),
        ];
        assert_eq!(streamed(b"ab\ncd\nef\ngh", 4, 100), expected);
        assert_eq!(windowed(b"ab\ncd\nef\ngh", 4, (0, 11)), expected);
    }

    #[test]
    fn a_long_record_is_never_split() {
        let expected = vec![(0, b"0123456789\n".to_vec()), (11, b"x\n".to_vec())];
        assert_eq!(streamed(b"0123456789\nx\n", 3, 2), expected);
        assert_eq!(windowed(b"0123456789\nx\n", 3, (0, 13)), expected);
    }

    #[test]
    fn block_size_one_gives_one_record_per_block() {
        let got = streamed(b"a\n\nbc\n", 1, 1);
        let data: Vec<_> = got.into_iter().map(|(_, d)| d).collect();
        assert_eq!(
            data,
            vec![b"a\n".to_vec(), b"\n".to_vec(), b"bc\n".to_vec()]
        );
    }

    #[test]
    fn byte_ranges_take_the_records_that_start_in_them() {
        let data = b"aaa\nbbb\nccc\n";
        // [2, 6): "bbb" starts at 4.
        assert_eq!(windowed(data, 64, (2, 6)), vec![(4, b"bbb\n".to_vec())]);
        // [4, 5): "bbb" starts at 4 exactly.
        assert_eq!(windowed(data, 64, (4, 5)), vec![(4, b"bbb\n".to_vec())]);
        // [3, 4): the newline at 3; no record starts there.
        assert!(windowed(data, 64, (3, 4)).is_empty());
        // [5, 12): "ccc" starts at 8.
        assert_eq!(windowed(data, 64, (5, 12)), vec![(8, b"ccc\n".to_vec())]);
    }

    fn arbitrary_data() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'x'), any::<u8>()], 0..300)
    }

    proptest! {
        #[test]
        fn blocks_lose_nothing_and_follow_the_window_rule(
            data in arbitrary_data(),
            block_size in 1u64..64,
            chunk in 1usize..80,
        ) {
            let got = streamed(&data, block_size, chunk);
            prop_assert_eq!(&windowed(&data, block_size, (0, data.len() as u64)), &got);
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
                prop_assert!(last_window.is_none_or(|w| w < window));
                last_window = Some(window);
                expected_offset += block.len() as u64;
            }
        }

        /// Any cut points tile the file: the ranges' records, in order, are
        /// exactly the file's records.
        #[test]
        fn byte_ranges_tile_the_file(
            data in arbitrary_data(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
            block_size in 1u64..64,
        ) {
            let len = data.len() as u64;
            let mut points: Vec<u64> = cuts.iter().map(|c| c.index(data.len() + 1) as u64).collect();
            points.extend([0, len]);
            points.sort_unstable();
            let mut joined = Vec::new();
            for pair in points.windows(2) {
                for (_, block) in windowed(&data, block_size, (pair[0], pair[1])) {
                    joined.extend(block);
                }
            }
            prop_assert_eq!(joined, data);
        }
    }
}
