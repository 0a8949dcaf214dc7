//! Writing results: the total sort orders, the `--top` and `--min-count`
//! cut-offs, the four formats for tables, group rows and records, and the
//! destination: buffered stdout, a regular file replaced atomically (mode
//! kept) only when the run succeeds, or a device or FIFO written through.

use std::cmp::Ordering;
use std::fs::{OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use crate::cli::{Format, SortOrder};
use crate::error::Error;
use crate::json::Value;
use crate::pipeline::item::{Item, KeyKind};
use crate::reduce::{GroupRow, SUMMARY_FIELDS};

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

    /// The key, from the row itself when it is short: the sorted rows of a
    /// large table point all over its memory, and reading each key there
    /// missed the cache on every row written.
    fn key_bytes<'b>(&'b self, head: &'b mut [u8; 16]) -> &'b [u8] {
        let len = self.key.len();
        if len > 16 {
            return self.key;
        }
        *head = self.prefix.to_be_bytes();
        &head[..len]
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

/// Sort group rows: by key bytes (`--sort key`, the default for groups),
/// or by value, largest first in the order of values, then by key.
pub fn arrange_groups(rows: &mut [GroupRow], sort: SortOrder) {
    let key = |a: &GroupRow, b: &GroupRow| a.key.cmp(&b.key).then(a.kind.cmp(&b.kind));
    match sort {
        SortOrder::Key => rows.sort_by(key),
        SortOrder::Count => {
            rows.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| key(a, b)))
        }
    }
}

/// Write `rows` in `format`.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_table(out: &mut dyn Write, rows: &[Row<'_>], format: Format) -> io::Result<()> {
    let mut number = itoa::Buffer::new();
    // Rows are formatted into a local buffer and written in large chunks:
    // one dynamic write per row field was a tenth of the time of a
    // million-key table.
    let mut chunk = Vec::with_capacity(1 << 16);
    if format == Format::Csv {
        chunk.extend_from_slice(b"key,count\n");
    }
    if format == Format::Json {
        chunk.extend_from_slice(if rows.is_empty() { b"[]\n" } else { b"[\n" });
    }
    let mut head = [0u8; 16];
    for (i, row) in rows.iter().enumerate() {
        let key = row.key_bytes(&mut head);
        match format {
            Format::Tsv => {
                write_tsv_field(&mut chunk, key);
                chunk.push(b'\t');
                chunk.extend_from_slice(number.format(row.count).as_bytes());
                chunk.push(b'\n');
            }
            Format::Csv => {
                write_csv_field(&mut chunk, key);
                chunk.push(b',');
                chunk.extend_from_slice(number.format(row.count).as_bytes());
                chunk.push(b'\n');
            }
            Format::Jsonl | Format::Json => {
                chunk.extend_from_slice(b"{\"key\":");
                write_key_json(&mut chunk, row.kind, key);
                chunk.extend_from_slice(b",\"count\":");
                chunk.extend_from_slice(number.format(row.count).as_bytes());
                chunk.push(b'}');
                let last = i + 1 == rows.len();
                chunk.extend_from_slice(match (format, last) {
                    (Format::Json, false) => b",\n",
                    (Format::Json, true) => b"\n]\n",
                    _ => b"\n",
                });
            }
        }
        if chunk.len() >= 1 << 16 {
            out.write_all(&chunk)?;
            chunk.clear();
        }
    }
    out.write_all(&chunk)
}

/// Write the rows of a grouped reduction: `key<TAB>value` (a summary's six
/// fields instead of one value), `key,value` CSV, or
/// `{"key":...,"value":...}` objects.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_groups(
    out: &mut dyn Write,
    rows: &[GroupRow],
    summary: bool,
    format: Format,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    if format == Format::Csv {
        buf.extend_from_slice(if summary {
            b"key,count,sum,min,max,mean,std\n"
        } else {
            b"key,value\n"
        });
    }
    if format == Format::Json {
        buf.extend_from_slice(if rows.is_empty() { b"[]\n" } else { b"[\n" });
    }
    for (i, row) in rows.iter().enumerate() {
        match format {
            Format::Tsv | Format::Csv => {
                let field = |buf: &mut Vec<u8>, bytes: &[u8]| {
                    if format == Format::Tsv {
                        write_tsv_field(buf, bytes);
                    } else {
                        write_csv_field(buf, bytes);
                    }
                };
                let separator = if format == Format::Tsv { b'\t' } else { b',' };
                field(&mut buf, &row.key);
                for value in fields(&row.value, summary) {
                    buf.push(separator);
                    field(&mut buf, &value_text(value));
                }
                buf.push(b'\n');
            }
            Format::Jsonl | Format::Json => {
                buf.extend_from_slice(b"{\"key\":");
                write_key_json(&mut buf, row.kind, &row.key);
                buf.extend_from_slice(b",\"value\":");
                row.value.write_canonical(&mut buf);
                buf.push(b'}');
                let last = i + 1 == rows.len();
                buf.extend_from_slice(match (format, last) {
                    (Format::Json, false) => b",\n",
                    (Format::Json, true) => b"\n]\n",
                    _ => b"\n",
                });
            }
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

/// The values a row prints: one, or a summary's six in order.
fn fields(value: &Value, summary: bool) -> Vec<&Value> {
    match (value, summary) {
        (Value::Object(object), true) => SUMMARY_FIELDS
            .iter()
            .map(|f| object.get(f).unwrap_or(&Value::Null))
            .collect(),
        _ => vec![value],
    }
}

/// A value as text: a string's content, any other value as JSON.
fn value_text(value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_canonical(),
    }
}

/// Write a summary that is not grouped: one row of six fields.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_summary(out: &mut dyn Write, value: &Value, format: Format) -> io::Result<()> {
    let mut buf = Vec::new();
    match format {
        Format::Tsv | Format::Csv => {
            if format == Format::Csv {
                buf.extend_from_slice(SUMMARY_FIELDS.join(",").as_bytes());
                buf.push(b'\n');
            }
            let separator = if format == Format::Tsv { b'\t' } else { b',' };
            for (i, field) in fields(value, true).into_iter().enumerate() {
                if i > 0 {
                    buf.push(separator);
                }
                buf.extend_from_slice(&value_text(field));
            }
        }
        Format::Jsonl | Format::Json => value.write_canonical(&mut buf),
    }
    buf.push(b'\n');
    out.write_all(&buf)
}

/// Append a field with `\`, TAB, LF and CR escaped, so that any key
/// round-trips through `key<TAB>count` lines.
pub fn write_tsv_field(out: &mut Vec<u8>, key: &[u8]) {
    let needs_escape = |b: &u8| matches!(b, b'\\' | b'\t' | b'\n' | b'\r');
    if !key.iter().any(needs_escape) {
        out.extend_from_slice(key);
        return;
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
        out.extend_from_slice(&key[plain_from..at]);
        out.extend_from_slice(escaped);
        plain_from = at + 1;
    }
    out.extend_from_slice(&key[plain_from..]);
}

/// Undo [`write_tsv_field`].
///
/// # Errors
/// A backslash followed by anything but `\`, `t`, `n` or `r`: the byte
/// offset of the backslash.
pub fn unescape_tsv_field(field: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().enumerate();
    while let Some((at, &byte)) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        match bytes.next() {
            Some((_, b'\\')) => out.push(b'\\'),
            Some((_, b't')) => out.push(b'\t'),
            Some((_, b'n')) => out.push(b'\n'),
            Some((_, b'r')) => out.push(b'\r'),
            _ => return Err(at),
        }
    }
    Ok(out)
}

/// Append an RFC 4180 field: quoted, with quotes doubled, when it holds a
/// comma, a quote or a line break.
pub fn write_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for part in field.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

/// Append a key as a JSON value: text as a string (bytes that are not
/// UTF-8 become U+FFFD), JSON as itself.
pub fn write_key_json(out: &mut Vec<u8>, kind: KeyKind, key: &[u8]) {
    match kind {
        KeyKind::Json => out.extend_from_slice(key),
        KeyKind::Text => crate::json::write_text_as_string(key, out),
    }
}

/// How records print: as text (`tsv`, `csv`) or as JSON (`jsonl`, `json`).
/// In `json`, each record is written as `,\n` then the value, and the
/// writer turns the stream into one array (see [`JsonArray`]).
#[derive(Debug, Clone, Copy)]
pub struct RecordFormat {
    pub format: Format,
    pub terminator: u8,
    /// As rows of a partial result instead.
    pub partial: bool,
}

impl RecordFormat {
    /// Append one record. In `tsv`, a record that holds the terminator
    /// (a line break, which would make one record two) is escaped as keys
    /// are; in `csv` it is quoted.
    pub fn write(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        if self.partial {
            crate::partial::write_record(item, out);
            return;
        }
        match self.format {
            Format::Tsv => {
                let start = out.len();
                item.write_text(out);
                if memchr::memchr(self.terminator, &out[start..]).is_some() {
                    let text = out.split_off(start);
                    if self.terminator == b'\n' {
                        write_tsv_field(out, &text);
                    } else {
                        // NUL-terminated records: escape NUL and backslash.
                        for &byte in &text {
                            match byte {
                                0 => out.extend_from_slice(b"\\0"),
                                b'\\' => out.extend_from_slice(b"\\\\"),
                                other => out.push(other),
                            }
                        }
                    }
                }
                out.push(self.terminator);
            }
            Format::Csv => {
                let mut text = Vec::new();
                item.write_text(&mut text);
                write_csv_field(out, &text);
                out.push(self.terminator);
            }
            Format::Jsonl => {
                item.write_json(out);
                out.push(b'\n');
            }
            Format::Json => {
                out.extend_from_slice(b",\n");
                item.write_json(out);
            }
        }
    }

    /// Append one value printed on its own (a scalar result): as text in
    /// `tsv` and `csv`, as JSON in `jsonl` and `json`.
    pub fn write_scalar(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        match self.format {
            Format::Tsv | Format::Csv => {
                RecordFormat {
                    format: self.format,
                    terminator: b'\n',
                    partial: false,
                }
                .write(item, out);
            }
            Format::Jsonl | Format::Json => {
                item.write_json(out);
                out.push(b'\n');
            }
        }
    }
}

/// Turns `json` record output (each record prefixed by `,\n`) into one
/// array, across any number of chunks.
#[derive(Debug, Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// The bytes to write for `chunk`.
    pub fn chunk<'c>(&mut self, chunk: &'c [u8]) -> (&'static [u8], &'c [u8]) {
        if chunk.is_empty() {
            return (b"", chunk);
        }
        if self.started {
            (b"", chunk)
        } else {
            self.started = true;
            (b"[\n", &chunk[2..])
        }
    }

    /// The closing bytes.
    pub fn end(&self) -> &'static [u8] {
        if self.started { b"\n]\n" } else { b"[]\n" }
    }
}

/// Where results go.
pub enum Destination {
    Stdout,
    /// A regular file (or a new one), replaced by renaming a temporary file
    /// written beside it, with the old file's mode, when the run succeeds.
    Replace {
        shown: String,
        target: PathBuf,
        temp: tempfile::NamedTempFile,
        mode: Option<u32>,
    },
    /// Not a regular file (a device, a FIFO): written directly.
    Through {
        shown: String,
        path: PathBuf,
    },
    /// `--expect`: written to a temporary file, then compared with the
    /// golden file.
    Expect {
        golden: PathBuf,
        shown: String,
        temp: std::fs::File,
        command: String,
    },
}

/// Follow symbolic links from `path` to the path they end at (which may
/// not exist yet).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::from_raw_os_error(40)) // ELOOP
}

impl Destination {
    /// The destination the output options name: `--expect FILE`, `-o
    /// FILE`, or stdout. `command` names the output in a diff.
    ///
    /// # Errors
    /// As [`Destination::open`]; a golden file that cannot be read.
    pub fn for_options(
        options: &crate::cli::OutputOptions,
        command: &str,
    ) -> Result<Destination, Error> {
        let Some(golden) = &options.expect else {
            return Destination::open(options.output.as_deref());
        };
        let shown = crate::input::display_bytes(golden.as_os_str().as_bytes());
        let fail = |e: io::Error| Error::io(shown.clone(), e);
        let meta = std::fs::metadata(golden).map_err(fail)?;
        if meta.is_dir() {
            return Err(Error::IsDirectory { path: shown });
        }
        rustix::fs::access(golden, rustix::fs::Access::READ_OK)
            .map_err(|e| fail(io::Error::from(e)))?;
        let temp = tempfile::tempfile().map_err(|e| Error::io("temporary file", e))?;
        Ok(Destination::Expect {
            golden: golden.clone(),
            shown,
            temp,
            command: command.to_owned(),
        })
    }

    /// Prepare the destination, before any work, so that a bad `-o` path
    /// fails at once: resolve symbolic links, refuse what the user may not
    /// write (as `sort -o` does) and directories, and create the temporary
    /// file beside a regular file.
    ///
    /// # Errors
    /// The path is a directory, cannot be written, or its directory does
    /// not exist.
    pub fn open(path: Option<&Path>) -> Result<Destination, Error> {
        let Some(path) = path else {
            crate::input::check_stdout_open()?;
            return Ok(Destination::Stdout);
        };
        let shown = crate::input::display_bytes(path.as_os_str().as_bytes());
        let fail = |e: io::Error| Error::io(shown.clone(), e);
        let target = follow_links(path).map_err(fail)?;
        let mode = match std::fs::metadata(&target) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::IsDirectory { path: shown });
            }
            Ok(meta) => {
                rustix::fs::access(&target, rustix::fs::Access::WRITE_OK)
                    .map_err(|e| fail(io::Error::from(e)))?;
                if !meta.is_file() {
                    return Ok(Destination::Through {
                        shown,
                        path: target,
                    });
                }
                Some(meta.permissions().mode() & 0o7777)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(e)),
        };
        let dir = match target.parent() {
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
            .map_err(fail)?;
        crate::interrupt::register(temp.path());
        Ok(Destination::Replace {
            shown,
            target,
            temp,
            mode,
        })
    }

    /// Whether two destinations write one file (`x` and `./x`, or two
    /// links to it), which may not exist yet.
    pub fn same_file(&self, other: &Destination) -> bool {
        let target = |d: &Destination| -> Option<PathBuf> {
            let path = match d {
                Destination::Stdout | Destination::Expect { .. } => return None,
                Destination::Replace { target, .. } => target,
                Destination::Through { path, .. } => path,
            };
            // The directory exists (a temporary file was made in it); the
            // file itself may not.
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
        };
        matches!((target(self), target(other)), (Some(a), Some(b)) if a == b)
    }

    /// A buffered writer to the destination (for a replaced file, to its
    /// temporary file until [`Destination::commit`]).
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn sink(&self) -> Result<Box<dyn Write + Send>, Error> {
        match self {
            Destination::Stdout => Ok(Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))),
            Destination::Replace { shown, temp, .. } => {
                let file = temp
                    .as_file()
                    .try_clone()
                    .map_err(|e| Error::io(shown.clone(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
            Destination::Through { shown, path } => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::io(shown.clone(), e))?;
                Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
            }
            Destination::Expect { temp, .. } => {
                let file = temp
                    .try_clone()
                    .map_err(|e| Error::io("temporary file", e))?;
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
            Destination::Replace { shown, .. } | Destination::Through { shown, .. } => {
                Error::io(shown.clone(), err)
            }
            Destination::Expect { .. } => Error::io("temporary file", err),
        }
    }

    /// Move a replaced file into place (with its old mode); nothing to do
    /// otherwise.
    ///
    /// # Errors
    /// The rename failed.
    pub fn commit(self) -> Result<(), Error> {
        match self {
            Destination::Stdout | Destination::Through { .. } => Ok(()),
            Destination::Expect {
                golden,
                shown,
                mut temp,
                command,
            } => {
                use std::io::{Read, Seek};
                let mut output = Vec::new();
                temp.rewind()
                    .and_then(|()| temp.read_to_end(&mut output))
                    .map_err(|e| Error::io("temporary file", e))?;
                let expected = std::fs::read(&golden).map_err(|e| Error::io(shown.clone(), e))?;
                match crate::expect::compare(&shown, &expected, &output, &command) {
                    None => Ok(()),
                    Some(report) => Err(Error::Different(report)),
                }
            }
            Destination::Replace {
                shown,
                target,
                temp,
                mode,
            } => {
                let temp_path = temp.path().to_path_buf();
                let result = (|| {
                    if let Some(mode) = mode {
                        temp.as_file()
                            .set_permissions(Permissions::from_mode(mode))?;
                    }
                    temp.persist(&target).map(drop).map_err(|e| e.error)
                })()
                .map_err(|e| Error::io(shown, e));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn render(rows: &[Row<'_>], format: Format) -> String {
        let mut out = Vec::new();
        write_table(&mut out, rows, format).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tsv_escapes_keys_so_they_round_trip() {
        let key = b"a\tb\\c\nd\re";
        let rows = [Row::text(key, 2)];
        assert_eq!(render(&rows, Format::Tsv), "a\\tb\\\\c\\nd\\re\t2\n");
        let mut field = Vec::new();
        write_tsv_field(&mut field, key);
        assert_eq!(unescape_tsv_field(&field).unwrap(), key);
        assert_eq!(unescape_tsv_field(b"a\\x"), Err(1));
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
    fn records_with_line_breaks_stay_one_line() {
        let item = Item::Text(Cow::Borrowed(b"a\nb\\c"));
        let mut out = Vec::new();
        RecordFormat {
            format: Format::Tsv,
            terminator: b'\n',
            partial: false,
        }
        .write(&item, &mut out);
        assert_eq!(out, b"a\\nb\\\\c\n");
        out.clear();
        let plain = Item::Text(Cow::Borrowed(b"a\tb\\c"));
        RecordFormat {
            format: Format::Tsv,
            terminator: b'\n',
            partial: false,
        }
        .write(&plain, &mut out);
        assert_eq!(out, b"a\tb\\c\n");
        out.clear();
        RecordFormat {
            format: Format::Csv,
            terminator: b'\n',
            partial: false,
        }
        .write(&item, &mut out);
        assert_eq!(out, b"\"a\nb\\c\"\n");
        out.clear();
        RecordFormat {
            format: Format::Tsv,
            terminator: 0,
            partial: false,
        }
        .write(&item, &mut out);
        assert_eq!(out, b"a\nb\\c\0");
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

    #[test]
    fn destinations_follow_links_keep_modes_and_write_through_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.tsv");
        std::fs::write(&real, "old\n").unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.tsv");
        std::os::unix::fs::symlink("real.tsv", &link).unwrap();
        Destination::open(Some(&link))
            .unwrap()
            .write_with(|w| w.write_all(b"new\n"))
            .unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new\n");
        assert_eq!(
            std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );

        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        Destination::open(Some(&fifo))
            .unwrap()
            .write_with(|w| w.write_all(b"through\n"))
            .unwrap();
        assert_eq!(reader.join().unwrap(), b"through\n");
        assert!(
            rustix::fs::FileType::from_raw_mode(rustix::fs::stat(&fifo).unwrap().st_mode)
                == rustix::fs::FileType::Fifo
        );
        assert!(matches!(
            Destination::open(Some(dir.path())),
            Err(Error::IsDirectory { .. })
        ));
    }
}
