//! Spilling count tables to disk under a memory budget. A worker whose
//! table outgrows its share of the budget writes every key, with its count,
//! to one of [`PARTITIONS`] files chosen by the key's partition hash, and
//! starts again empty. At the end each partition (a known share of the
//! keys, every copy of a key in one file) is counted in memory on its own
//! and written back sorted in the output order; the output is the merge of
//! those sorted runs, streamed. The bytes are those of a run that never
//! spilled: the same rows, in the same total order.
//!
//! The files live in one temporary directory, removed when the spill is
//! dropped (success or error) and by the signal handler.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::keys::KeyCounts;
use crate::counts::{Merged, merge_runs};
use crate::error::Error;
use crate::table::{AsRow, KeyKind, Order, Row};

/// How many partitions the keys are spread over: each is counted alone at
/// the end, so a budget holds 1/64 of the distinct keys of a spilled run.
pub const PARTITIONS: usize = 64;

/// The partition of a key among `n`: its xxh3-64 hash (seed 0) of the
/// key's bytes, modulo `n`. Stable across machines and versions: it is
/// what places a key in a partition file.
pub fn partition_of(key: &[u8], n: usize) -> usize {
    (xxhash_rust::xxh3::xxh3_64(key) % n as u64) as usize
}

/// Where a spill writes, and what it has written.
pub struct Spill {
    /// Bytes a worker's table may hold before it spills.
    pub share: u64,
    /// Where the temporary directory is made (`--tmpdir`).
    parent: PathBuf,
    state: Mutex<Option<Files>>,
    /// Bytes written to partition files.
    written: AtomicU64,
    /// Times a table was spilled.
    spills: AtomicU64,
    /// The sum of the counts spilled.
    total: AtomicU64,
    /// The first error: the run fails with it.
    error: Mutex<Option<Error>>,
    failed: std::sync::atomic::AtomicBool,
}

/// The temporary directory and one file per partition, made at the first
/// spill.
struct Files {
    dir: tempfile::TempDir,
    parts: Vec<BufWriter<File>>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(files) = state.take() {
            crate::interrupt::unregister(files.dir.path());
        }
    }
}

impl Spill {
    /// A spill into a directory made in `parent` when first needed, for
    /// `workers` workers sharing `budget` bytes.
    pub fn new(parent: &Path, budget: u64, workers: usize) -> Spill {
        Spill {
            share: (budget / workers.max(1) as u64).max(1),
            parent: parent.to_path_buf(),
            state: Mutex::new(None),
            written: AtomicU64::new(0),
            spills: AtomicU64::new(0),
            total: AtomicU64::new(0),
            error: Mutex::new(None),
            failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a spill failed: the run is failing.
    pub fn failed(&self) -> bool {
        self.failed.load(AtomicOrdering::Relaxed)
    }

    /// The error a worker's spill met, if any.
    ///
    /// # Errors
    /// That error.
    pub fn check(&self) -> Result<(), Error> {
        match self.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether anything was spilled.
    pub fn spilled(&self) -> bool {
        self.spills.load(AtomicOrdering::Relaxed) > 0
    }

    /// The sum of the counts spilled: the records (or words) the tables
    /// counted.
    pub fn total(&self) -> u64 {
        self.total.load(AtomicOrdering::Relaxed)
    }

    /// Bytes written to partition files, and how many times a table was
    /// spilled.
    pub fn amount(&self) -> (u64, u64) {
        (
            self.written.load(AtomicOrdering::Relaxed),
            self.spills.load(AtomicOrdering::Relaxed),
        )
    }

    /// Spill `counts` when it holds more than a worker's share. An error
    /// is kept for [`Spill::check`], and stops the workers.
    pub fn spill_if_full(&self, counts: &mut KeyCounts) {
        if counts.memory() > self.share
            && let Err(e) = self.spill(counts)
        {
            self.failed.store(true, AtomicOrdering::Relaxed);
            self.error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(e);
        }
    }

    /// Write every key of `counts` to its partition and empty it.
    ///
    /// # Errors
    /// Writing failed (a full disk), naming the directory.
    pub fn spill(&self, counts: &mut KeyCounts) -> Result<(), Error> {
        counts.settle();
        if counts.len() == 0 {
            return Ok(());
        }
        self.total.fetch_add(
            counts.text.total() + counts.json.total(),
            AtomicOrdering::Relaxed,
        );
        // Written straight to the partitions' buffered files, under the
        // one lock (workers rarely spill at once): a copy of the keys in
        // memory would take what the spill is meant to free.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            *state = Some(self.make_files()?);
        }
        let files = state.as_mut().expect("made above");
        let mut written = 0;
        let mut result = Ok(());
        for (kind, key, count) in counts.iter() {
            let part = &mut files.parts[partition_of(key, PARTITIONS)];
            result = encode(part, kind, key, count);
            if result.is_err() {
                break;
            }
            written += 17 + key.len() as u64;
        }
        let result = result.and_then(|()| files.parts.iter_mut().try_for_each(Write::flush));
        result.map_err(|e| Error::io(files.dir.path().display().to_string(), e))?;
        *counts = KeyCounts::default();
        self.written.fetch_add(written, AtomicOrdering::Relaxed);
        self.spills.fetch_add(1, AtomicOrdering::Relaxed);
        Ok(())
    }

    fn make_files(&self) -> Result<Files, Error> {
        let name = self.parent.display().to_string();
        // Registered as it is made, before anything is written in it: a
        // signal removes it.
        let dir = crate::interrupt::make_registered(
            || {
                tempfile::Builder::new()
                    .prefix("rbag-spill-")
                    .tempdir_in(&self.parent)
            },
            tempfile::TempDir::path,
        )
        .map_err(|e| Error::io(name.clone(), e))?;
        let parts = (0..PARTITIONS)
            .map(|i| {
                let path = dir.path().join(format!("part-{i:03}"));
                File::create_new(&path)
                    .map(|f| BufWriter::with_capacity(1 << 16, f))
                    .map_err(|e| Error::io(dir.path().display().to_string(), e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Files { dir, parts })
    }

    /// Count each partition alone and write it back sorted in `order`;
    /// the sorted runs, to merge.
    ///
    /// # Errors
    /// Reading or writing the files failed.
    pub fn into_runs(
        self,
        order: Order,
        keep: &(dyn Fn(&[u8]) -> bool + Sync),
        pool: &rayon::ThreadPool,
    ) -> Result<SortedRuns, Error> {
        let files = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("only a spill that wrote has runs");
        let Files { dir, parts } = files;
        // Should reading back fail, the directory goes (with `dir`), and
        // the signal handler must forget it.
        let mut forget = Forget(Some(dir.path().to_path_buf()));
        let dir_name = dir.path().display().to_string();
        let io_error = |e| Error::io(dir_name.clone(), e);
        for part in parts {
            drop(part.into_inner().map_err(|e| io_error(e.into_error()))?);
        }
        // Partitions are counted and sorted a few at a time, one per
        // thread: each holds 1/64 of the keys.
        let sort_one = |i: usize| -> Result<(PathBuf, usize), Error> {
            let path = dir.path().join(format!("part-{i:03}"));
            let mut counts = KeyCounts::default();
            let mut reader =
                BufReader::with_capacity(1 << 16, File::open(&path).map_err(io_error)?);
            let mut key = Vec::new();
            while let Some((kind, count)) = decode(&mut reader, &mut key).map_err(io_error)? {
                counts.add_key(kind, &key, count);
            }
            drop(reader);
            std::fs::remove_file(&path).map_err(io_error)?;
            // The partition's keys, sorted, into a run file of its own
            // (without those `keep` leaves out: the word kernel's filters,
            // which commute with counting).
            let distinct = counts.len();
            counts.text.retain(keep);
            counts.json.retain(keep);
            let runs = counts.into_runs(order, pool);
            let sorted = dir.path().join(format!("run-{i:03}"));
            let mut out =
                BufWriter::with_capacity(1 << 16, File::create_new(&sorted).map_err(io_error)?);
            for row in merge_runs(&runs, order) {
                encode(&mut out, row.kind, row.key, row.count).map_err(io_error)?;
            }
            out.into_inner().map_err(|e| io_error(e.into_error()))?;
            Ok((sorted, distinct))
        };
        let sorted: Vec<(PathBuf, usize)> = pool.install(|| {
            use rayon::prelude::*;
            (0..PARTITIONS)
                .into_par_iter()
                .map(sort_one)
                .collect::<Result<_, Error>>()
        })?;
        let distinct = sorted.iter().map(|(_, n)| n).sum();
        let paths = sorted.into_iter().map(|(path, _)| path).collect();
        // Success: the runs own the directory, and its registration.
        forget.0 = None;
        Ok(SortedRuns {
            dir,
            paths,
            order,
            distinct,
        })
    }
}

/// Unregisters a directory from the signal handler when dropped.
struct Forget(Option<PathBuf>);

impl Drop for Forget {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            crate::interrupt::unregister(path);
        }
    }
}

/// The sorted runs of a spill, one per partition, whose keys are
/// disjoint: merged, they are the whole table in its order.
pub struct SortedRuns {
    dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    order: Order,
    distinct: usize,
}

impl Drop for SortedRuns {
    fn drop(&mut self) {
        crate::interrupt::unregister(self.dir.path());
    }
}

impl SortedRuns {
    /// The rows of every run, merged into their order.
    ///
    /// # Errors
    /// A run could not be opened.
    pub fn rows(&self) -> Result<Merged<OwnedRow, RunReader>, Error> {
        let readers = self
            .paths
            .iter()
            .map(|path| {
                File::open(path).map(|f| RunReader {
                    reader: BufReader::with_capacity(1 << 16, f),
                    failure: None,
                })
            })
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| Error::io(self.dir.path().display().to_string(), e))?;
        Ok(Merged::new(readers, self.order))
    }

    /// How many distinct keys the runs hold.
    pub fn distinct(&self) -> usize {
        self.distinct
    }

    /// Why reading `rows` stopped early, naming the directory: a run
    /// that ended before its time must fail the output, never shorten it.
    pub fn failure(&self, rows: &mut Merged<OwnedRow, RunReader>) -> Option<Error> {
        let dir = self.dir.path().display().to_string();
        rows.sources_mut()
            .find_map(|source| source.failure.take())
            .map(|e| Error::io(dir, e))
    }
}

/// A row read back from a run: owned, as the reader moves on.
#[derive(Debug, Clone)]
pub struct OwnedRow {
    pub kind: KeyKind,
    pub key: Vec<u8>,
    pub count: u64,
}

impl AsRow for OwnedRow {
    fn row(&self) -> Row<'_> {
        Row::new(&self.key, self.count, self.kind)
    }
}

/// The rows of one run file, until it ends or fails (the failure is kept
/// for the merge to report).
pub struct RunReader {
    reader: BufReader<File>,
    failure: Option<io::Error>,
}

impl RunReader {
    /// Whether reading stopped at an error.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }
}

impl Iterator for RunReader {
    type Item = OwnedRow;

    fn next(&mut self) -> Option<OwnedRow> {
        let mut key = Vec::new();
        match decode(&mut self.reader, &mut key) {
            Ok(Some((kind, count))) => Some(OwnedRow { kind, key, count }),
            Ok(None) => None,
            Err(e) => {
                self.failure = Some(e);
                None
            }
        }
    }
}

/// A key with its count: kind (0 text, 1 JSON), length (8 bytes, little
/// endian), the key, the count (8 bytes).
fn encode(out: &mut impl Write, kind: KeyKind, key: &[u8], count: u64) -> io::Result<()> {
    let kind = match kind {
        KeyKind::Text => 0u8,
        KeyKind::Json => 1,
    };
    out.write_all(&[kind])?;
    out.write_all(&(key.len() as u64).to_le_bytes())?;
    out.write_all(key)?;
    out.write_all(&count.to_le_bytes())
}

/// The next key (into `key`) with its kind and count; `None` at the end.
fn decode(input: &mut impl BufRead, key: &mut Vec<u8>) -> io::Result<Option<(KeyKind, u64)>> {
    let mut kind = [0u8; 1];
    if input.read(&mut kind)? == 0 {
        return Ok(None);
    }
    let kind = match kind[0] {
        0 => KeyKind::Text,
        1 => KeyKind::Json,
        _ => return Err(io::Error::other("a spill file was changed while rbag ran")),
    };
    let mut word = [0u8; 8];
    input.read_exact(&mut word)?;
    let len = usize::try_from(u64::from_le_bytes(word)).map_err(io::Error::other)?;
    key.clear();
    input.take(len as u64).read_to_end(key)?;
    if key.len() != len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
    }
    input.read_exact(&mut word)?;
    Ok(Some((kind, u64::from_le_bytes(word))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_the_documented_hash() {
        // xxh3-64 of "rbag" is fixed: a partition never moves.
        assert_eq!(
            xxhash_rust::xxh3::xxh3_64(b"rbag") % 64,
            partition_of(b"rbag", 64) as u64
        );
        assert!((0..1000).all(|i| partition_of(format!("{i}").as_bytes(), 7) < 7));
    }

    #[test]
    fn keys_round_trip_through_the_encoding() {
        let mut bytes = Vec::new();
        encode(&mut bytes, KeyKind::Json, b"{\"a\":1}", u64::MAX).unwrap();
        encode(&mut bytes, KeyKind::Text, b"", 1).unwrap();
        let mut input = &bytes[..];
        let mut key = Vec::new();
        assert_eq!(
            decode(&mut input, &mut key).unwrap(),
            Some((KeyKind::Json, u64::MAX))
        );
        assert_eq!(key, b"{\"a\":1}");
        assert_eq!(
            decode(&mut input, &mut key).unwrap(),
            Some((KeyKind::Text, 1))
        );
        assert_eq!(key, b"");
        assert_eq!(decode(&mut input, &mut key).unwrap(), None);
    }
}
