//! Writing results: the total sort order, the `--top` and `--min-count`
//! cut-offs, the four table formats, and the destination (buffered stdout,
//! or a file replaced atomically only when the run succeeds).

use std::cmp::Ordering;
use std::fs::Permissions;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::cli::{Format, SortOrder};
use crate::error::Error;
use crate::pipeline::item::{KeyKind, write_key_json};

/// One row of a count table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub key: &'a [u8],
    pub count: u64,
    /// Text keys print as text in TSV and CSV and as JSON strings in JSON
    /// output; JSON keys (numbers, objects, ...) as their canonical JSON.
    pub kind: KeyKind,
    /// The key's first 16 bytes, big-endian and zero-padded: comparing it
    /// orders keys as their bytes do, without a `memcmp` call (which
    /// profiling showed dominating the sort of a million keys).
    prefix: u128,
}

impl<'a> Row<'a> {
    /// A row.
    pub fn new(key: &'a [u8], count: u64, kind: KeyKind) -> Row<'a> {
        let mut head = [0u8; 16];
        let len = key.len().min(16);
        head[..len].copy_from_slice(&key[..len]);
        Row {
            key,
            count,
            kind,
            prefix: u128::from_be_bytes(head),
        }
    }

    /// A row with a text key.
    pub fn text(key: &'a [u8], count: u64) -> Row<'a> {
        Row::new(key, count, KeyKind::Text)
    }
}

/// Sort `rows` into the output order and apply `--min-count` and `--top`.
///
/// Both orders are total (keys are distinct), so the result never depends
/// on the order rows arrived in.
pub fn arrange(
    rows: &mut Vec<Row<'_>>,
    sort: SortOrder,
    top: Option<usize>,
    min_count: Option<u64>,
    pool: &rayon::ThreadPool,
) {
    if let Some(min) = min_count {
        rows.retain(|row| row.count >= min);
    }
    let order = match sort {
        SortOrder::Count => by_count,
        SortOrder::Key => by_key,
    };
    if let Some(k) = top {
        if k == 0 {
            rows.clear();
        } else if k < rows.len() {
            // Only the first k rows need sorting: select them first.
            rows.select_nth_unstable_by(k - 1, order);
            rows.truncate(k);
        }
    }
    pool.install(|| rows.par_sort_unstable_by(order));
}

fn by_count(a: &Row<'_>, b: &Row<'_>) -> Ordering {
    b.count.cmp(&a.count).then_with(|| by_key(a, b))
}

/// Key bytes, then text before JSON (the two can print alike: text `42`
/// and the number 42). Equal prefixes mean equal first 16 bytes (or a
/// shorter key padded with zeros), so only then are whole keys compared.
fn by_key(a: &Row<'_>, b: &Row<'_>) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| a.key.cmp(b.key))
        .then(a.kind.cmp(&b.kind))
}

/// Write `rows` in `format`.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_table(out: &mut dyn Write, rows: &[Row<'_>], format: Format) -> io::Result<()> {
    let mut number = itoa::Buffer::new();
    match format {
        Format::Tsv => {
            // Rows are formatted into a local buffer and written in large
            // chunks: one dynamic write per row field was a tenth of the
            // time of a million-key table.
            let mut chunk = Vec::with_capacity(1 << 16);
            for row in rows {
                write_tsv_key(&mut chunk, row.key)?;
                chunk.push(b'\t');
                chunk.extend_from_slice(number.format(row.count).as_bytes());
                chunk.push(b'\n');
                if chunk.len() >= 1 << 16 {
                    out.write_all(&chunk)?;
                    chunk.clear();
                }
            }
            out.write_all(&chunk)?;
        }
        Format::Csv => {
            out.write_all(b"key,count\n")?;
            for row in rows {
                write_csv_field(out, row.key)?;
                out.write_all(b",")?;
                out.write_all(number.format(row.count).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Format::Jsonl => {
            for row in rows {
                write_json_row(out, row)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Json => {
            if rows.is_empty() {
                return out.write_all(b"[]\n");
            }
            out.write_all(b"[\n")?;
            for (i, row) in rows.iter().enumerate() {
                write_json_row(out, row)?;
                out.write_all(if i + 1 < rows.len() { b",\n" } else { b"\n" })?;
            }
            out.write_all(b"]\n")?;
        }
    }
    Ok(())
}

/// A key with `\`, TAB, LF and CR escaped, so that any key round-trips
/// through `key<TAB>count` lines.
fn write_tsv_key(out: &mut impl Write, key: &[u8]) -> io::Result<()> {
    let needs_escape = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    if !key.iter().any(needs_escape) {
        return out.write_all(key);
    }
    let mut plain_from = 0;
    for (at, byte) in key.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.write_all(&key[plain_from..at])?;
        out.write_all(escaped)?;
        plain_from = at + 1;
    }
    out.write_all(&key[plain_from..])
}

/// An RFC 4180 field: quoted, with quotes doubled, when it holds a comma, a
/// quote or a line break.
fn write_csv_field(out: &mut dyn Write, field: &[u8]) -> io::Result<()> {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        return out.write_all(field);
    }
    out.write_all(b"\"")?;
    for part in field.split_inclusive(|&b| b == b'"') {
        out.write_all(part)?;
        if part.last() == Some(&b'"') {
            out.write_all(b"\"")?;
        }
    }
    out.write_all(b"\"")
}

/// `{"key":...,"count":...}`; in a text key, bytes that are not UTF-8
/// become U+FFFD, since JSON strings cannot hold them.
fn write_json_row(out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
    out.write_all(b"{\"key\":")?;
    write_key_json(out, row.kind, row.key)?;
    out.write_all(b",\"count\":")?;
    out.write_all(itoa::Buffer::new().format(row.count).as_bytes())?;
    out.write_all(b"}")
}

/// Where results go.
pub enum Destination {
    Stdout,
    /// A temporary file beside `path`, renamed over it by [`Destination::finish`].
    File {
        path: PathBuf,
        temp: tempfile::NamedTempFile,
    },
}

impl Destination {
    /// Prepare the destination. A file destination is created now, before
    /// any work, so that a bad `-o` path fails at once.
    ///
    /// # Errors
    /// The directory of `path` does not exist or is not writable.
    pub fn open(path: Option<&Path>) -> Result<Destination, Error> {
        let Some(path) = path else {
            return Ok(Destination::Stdout);
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // 0666 before the umask, as any new file gets; tempfile's default
        // 0600 would leave the result unreadable to others.
        let temp = tempfile::Builder::new()
            .prefix(".rbag-")
            .suffix(".tmp")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| Error::io(path.to_string_lossy(), e))?;
        crate::interrupt::register(temp.path());
        Ok(Destination::File {
            path: path.to_path_buf(),
            temp,
        })
    }

    /// A buffered writer to the destination (for a file, to its temporary
    /// file until [`Destination::commit`]).
    ///
    /// # Errors
    /// The temporary file cannot be opened a second time.
    pub fn sink(&self) -> Result<Box<dyn Write + Send>, Error> {
        match self {
            Destination::Stdout => Ok(Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))),
            Destination::File { path, temp } => {
                let file = temp
                    .as_file()
                    .try_clone()
                    .map_err(|e| Error::io(path.to_string_lossy(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
        }
    }

    /// The error for a failed write to this destination. A reader closing
    /// stdout early becomes [`Error::Stdout`] with kind `BrokenPipe`, which
    /// callers treat as success.
    pub fn error(&self, err: io::Error) -> Error {
        match self {
            Destination::Stdout => Error::Stdout(err),
            Destination::File { path, .. } => Error::io(path.to_string_lossy(), err),
        }
    }

    /// Move a file destination into place; nothing to do for stdout.
    ///
    /// # Errors
    /// The rename failed.
    pub fn commit(self) -> Result<(), Error> {
        match self {
            Destination::Stdout => Ok(()),
            Destination::File { path, temp } => {
                let temp_path = temp.path().to_path_buf();
                let result = temp
                    .persist(&path)
                    .map(drop)
                    .map_err(|e| Error::io(path.to_string_lossy(), e.error));
                crate::interrupt::unregister(&temp_path);
                result
            }
        }
    }

    /// Write everything with `fill`, then commit.
    ///
    /// # Errors
    /// As [`Destination::sink`], [`Destination::error`] and
    /// [`Destination::commit`].
    pub fn write_with(
        self,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        let mut sink = self.sink()?;
        fill(&mut sink)
            .and_then(|()| sink.flush())
            .map_err(|e| self.error(e))?;
        drop(sink);
        self.commit()
    }
}

/// Sort, cut and print a count table.
///
/// # Errors
/// As [`Destination::write_with`].
pub fn print_table(
    destination: Destination,
    mut rows: Vec<Row<'_>>,
    options: &crate::cli::OutputOptions,
    pool: &rayon::ThreadPool,
) -> Result<(), Error> {
    arrange(
        &mut rows,
        options.sort,
        options.top,
        options.min_count,
        pool,
    );
    destination.write_with(|w| write_table(w, &rows, options.format))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Row<'_>], format: Format) -> String {
        let mut out = Vec::new();
        write_table(&mut out, rows, format).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tsv_escapes_keys_so_they_round_trip() {
        let rows = [Row::text(b"a\tb\\c\nd\re", 2)];
        assert_eq!(render(&rows, Format::Tsv), "a\\tb\\\\c\\nd\\re\t2\n");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let rows = [Row::text(b"plain", 1), Row::text(b"a,\"b\"", 2)];
        assert_eq!(
            render(&rows, Format::Csv),
            "key,count\nplain,1\n\"a,\"\"b\"\"\",2\n"
        );
    }

    #[test]
    fn json_formats_are_valid_json() {
        let rows = [
            Row::text(b"\xffx\"", 3),
            Row::text(b"y", 1),
            Row::new(b"[1,2]", 1, KeyKind::Json),
        ];
        let jsonl = render(&rows, Format::Jsonl);
        for line in jsonl.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert_eq!(
            jsonl.lines().next(),
            Some("{\"key\":\"\u{fffd}x\\\"\",\"count\":3}")
        );
        let json: serde_json::Value = serde_json::from_str(&render(&rows, Format::Json)).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(3));
        assert_eq!(json[2]["key"], serde_json::json!([1, 2]));
        assert_eq!(render(&[], Format::Json), "[]\n");
    }

    #[test]
    fn the_prefix_orders_like_the_bytes() {
        let keys: [&[u8]; 8] = [
            b"",
            b"a",
            b"a\0",
            b"ab",
            b"b",
            b"0123456789abcdefA",
            b"0123456789abcdef",
            b"\xff",
        ];
        for a in keys {
            for b in keys {
                let (x, y) = (Row::text(a, 1), Row::text(b, 1));
                assert_eq!(by_key(&x, &y), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn arrange_is_a_total_order_and_top_cuts_after_sorting() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let table = || -> Vec<Row<'static>> {
            vec![
                Row::text(b"b", 2),
                Row::text(b"a", 2),
                Row::text(b"c", 5),
                Row::text(b"d", 1),
            ]
        };
        let mut rows = table();
        arrange(&mut rows, SortOrder::Count, Some(3), None, &pool);
        assert_eq!(
            rows,
            vec![Row::text(b"c", 5), Row::text(b"a", 2), Row::text(b"b", 2)]
        );
        let mut rows = table();
        arrange(&mut rows, SortOrder::Key, None, Some(2), &pool);
        assert_eq!(
            rows,
            vec![Row::text(b"a", 2), Row::text(b"b", 2), Row::text(b"c", 5)]
        );
    }
}
