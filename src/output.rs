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

/// One row of a count table.
pub type Row<'a> = (&'a [u8], u64);

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
        rows.retain(|&(_, count)| count >= min);
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
    b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

fn by_key(a: &Row<'_>, b: &Row<'_>) -> Ordering {
    a.0.cmp(b.0)
}

/// Write `rows` in `format`.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_table(out: &mut dyn Write, rows: &[Row<'_>], format: Format) -> io::Result<()> {
    let mut number = itoa::Buffer::new();
    match format {
        Format::Tsv => {
            for &(key, count) in rows {
                write_tsv_key(out, key)?;
                out.write_all(b"\t")?;
                out.write_all(number.format(count).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            out.write_all(b"key,count\n")?;
            for &(key, count) in rows {
                write_csv_field(out, key)?;
                out.write_all(b",")?;
                out.write_all(number.format(count).as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Format::Jsonl => {
            for &(key, count) in rows {
                write_json_row(out, key, count)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Json => {
            if rows.is_empty() {
                return out.write_all(b"[]\n");
            }
            out.write_all(b"[\n")?;
            for (i, &(key, count)) in rows.iter().enumerate() {
                write_json_row(out, key, count)?;
                out.write_all(if i + 1 < rows.len() { b",\n" } else { b"\n" })?;
            }
            out.write_all(b"]\n")?;
        }
    }
    Ok(())
}

/// A key with `\`, TAB, LF and CR escaped, so that any key round-trips
/// through `key<TAB>count` lines.
fn write_tsv_key(out: &mut dyn Write, key: &[u8]) -> io::Result<()> {
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

/// `{"key":...,"count":...}`; bytes that are not UTF-8 become U+FFFD, since
/// JSON strings cannot hold them.
fn write_json_row(out: &mut dyn Write, key: &[u8], count: u64) -> io::Result<()> {
    out.write_all(b"{\"key\":")?;
    serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(key))?;
    out.write_all(b",\"count\":")?;
    out.write_all(itoa::Buffer::new().format(count).as_bytes())?;
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
        Ok(Destination::File {
            path: path.to_path_buf(),
            temp,
        })
    }

    /// Write with `fill` and, for a file, move it into place.
    ///
    /// # Errors
    /// A write error; a reader closing stdout early is reported as
    /// [`Error::Stdout`] with kind `BrokenPipe`, which callers treat as
    /// success.
    pub fn write_with(
        self,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), Error> {
        match self {
            Destination::Stdout => {
                let stdout = io::stdout();
                let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
                fill(&mut out)
                    .and_then(|()| out.flush())
                    .map_err(Error::Stdout)
            }
            Destination::File { path, temp } => {
                let name = path.to_string_lossy().into_owned();
                let mut out = BufWriter::with_capacity(1 << 16, temp.as_file());
                fill(&mut out)
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::io(&name, e))?;
                drop(out);
                temp.persist(&path).map_err(|e| Error::io(name, e.error))?;
                Ok(())
            }
        }
    }
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
        let rows = [(&b"a\tb\\c\nd\re"[..], 2)];
        assert_eq!(render(&rows, Format::Tsv), "a\\tb\\\\c\\nd\\re\t2\n");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let rows = [(&b"plain"[..], 1), (&b"a,\"b\""[..], 2)];
        assert_eq!(
            render(&rows, Format::Csv),
            "key,count\nplain,1\n\"a,\"\"b\"\"\",2\n"
        );
    }

    #[test]
    fn json_formats_are_valid_json() {
        let rows = [(&b"\xffx\""[..], 3), (&b"y"[..], 1)];
        let jsonl = render(&rows, Format::Jsonl);
        for line in jsonl.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert_eq!(
            jsonl.lines().next(),
            Some("{\"key\":\"\u{fffd}x\\\"\",\"count\":3}")
        );
        let json: serde_json::Value = serde_json::from_str(&render(&rows, Format::Json)).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(2));
        assert_eq!(render(&[], Format::Json), "[]\n");
    }

    #[test]
    fn arrange_is_a_total_order_and_top_cuts_after_sorting() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut rows: Vec<Row<'_>> = vec![(b"b", 2), (b"a", 2), (b"c", 5), (b"d", 1)];
        arrange(&mut rows, SortOrder::Count, Some(3), None, &pool);
        assert_eq!(rows, vec![(&b"c"[..], 5), (b"a", 2), (b"b", 2)]);
        let mut rows: Vec<Row<'_>> = vec![(b"b", 2), (b"a", 2), (b"c", 5), (b"d", 1)];
        arrange(&mut rows, SortOrder::Key, None, Some(2), &pool);
        assert_eq!(rows, vec![(&b"a"[..], 2), (b"b", 2), (b"c", 5)]);
    }
}
