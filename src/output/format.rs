//! The four output formats of tables, group rows, summaries and records:
//! TSV (fields escaped by the one codec of `tsv`), RFC 4180 CSV, JSON
//! lines, and one JSON array. A `json` array is framed in one place
//! ([`JsonArray`]): every value is written after `,\n`, and the framing
//! turns that stream, in any number of chunks, into `[\n`, the values,
//! `\n]\n` (or `[]\n`).

use std::io::{self, Write};

use crate::json::Value;
use crate::pipeline::item::Item;
use crate::reduce::SUMMARY_FIELDS;
use crate::table::{AsRow, KeyKind};
use crate::tsv;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `key<TAB>count`, keys escaped.
    Tsv,
    /// RFC 4180 CSV with a header.
    Csv,
    /// One JSON value per line.
    Jsonl,
    /// One JSON array.
    Json,
}

impl Format {
    /// The name as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tsv => "tsv",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Json => "json",
        }
    }
}

/// How many bytes are formatted before they are written: one dynamic write
/// per row field was a tenth of the time of a million-key table.
const CHUNK: usize = 1 << 16;

/// Turns `json` output (each value written after `,\n`) into one array,
/// across any number of chunks.
#[derive(Debug, Default)]
pub struct JsonArray {
    started: bool,
}

impl JsonArray {
    /// The bytes to write for `chunk`: what goes before it, and the chunk.
    pub fn chunk<'c>(&mut self, chunk: &'c [u8]) -> (&'static [u8], &'c [u8]) {
        if chunk.is_empty() || self.started {
            return (b"", chunk);
        }
        self.started = true;
        (b"[\n", &chunk[2..])
    }

    /// The closing bytes.
    pub fn end(&self) -> &'static [u8] {
        if self.started { b"\n]\n" } else { b"[]\n" }
    }
}

/// Formatted bytes on their way to a writer, in chunks, framed as one
/// array in `json`.
struct Chunks<'w> {
    out: &'w mut dyn Write,
    buf: Vec<u8>,
    array: Option<JsonArray>,
}

impl<'w> Chunks<'w> {
    fn new(out: &'w mut dyn Write, format: Format) -> Chunks<'w> {
        Chunks {
            out,
            buf: Vec::with_capacity(CHUNK),
            array: (format == Format::Json).then(JsonArray::default),
        }
    }

    /// Write what is formatted, when it is a chunk's worth (`all`: always).
    fn flush(&mut self, all: bool) -> io::Result<()> {
        if self.buf.len() < CHUNK && !all {
            return Ok(());
        }
        let mut body = &self.buf[..];
        if let Some(array) = &mut self.array {
            let (head, rest) = array.chunk(body);
            self.out.write_all(head)?;
            body = rest;
        }
        self.out.write_all(body)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush(true)?;
        if let Some(array) = &self.array {
            self.out.write_all(array.end())?;
        }
        Ok(())
    }
}

/// Write a count table in `format`.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_table<R: AsRow>(
    out: &mut dyn Write,
    rows: impl IntoIterator<Item = R>,
    format: Format,
) -> io::Result<()> {
    let mut number = itoa::Buffer::new();
    let mut chunks = Chunks::new(out, format);
    if format == Format::Csv {
        chunks.buf.extend_from_slice(b"key,count\n");
    }
    let mut head = [0u8; 16];
    for row in rows {
        let row = row.row();
        let buf = &mut chunks.buf;
        let key = row.key_bytes(&mut head);
        match format {
            Format::Tsv | Format::Csv => {
                if format == Format::Tsv {
                    tsv::write_field(buf, key);
                    buf.push(b'\t');
                } else {
                    write_csv_field(buf, key);
                    buf.push(b',');
                }
                buf.extend_from_slice(number.format(row.count).as_bytes());
                buf.push(b'\n');
            }
            Format::Jsonl | Format::Json => {
                if format == Format::Json {
                    buf.extend_from_slice(b",\n");
                }
                buf.extend_from_slice(b"{\"key\":");
                write_key_json(buf, row.kind, key);
                buf.extend_from_slice(b",\"count\":");
                buf.extend_from_slice(number.format(row.count).as_bytes());
                buf.push(b'}');
                if format == Format::Jsonl {
                    buf.push(b'\n');
                }
            }
        }
        chunks.flush(false)?;
    }
    chunks.finish()
}

/// Write the rows of a grouped reduction: `key<TAB>value` (a summary's six
/// fields instead of one value), `key,value` CSV, or
/// `{"key":...,"value":...}` objects.
///
/// # Errors
/// Whatever the writer returns.
pub fn write_groups<'a>(
    out: &mut dyn Write,
    rows: impl IntoIterator<Item = (KeyKind, &'a [u8], &'a Value)>,
    summary: bool,
    format: Format,
) -> io::Result<()> {
    let mut chunks = Chunks::new(out, format);
    if format == Format::Csv {
        chunks.buf.extend_from_slice(if summary {
            b"key,count,sum,min,max,mean,std\n"
        } else {
            b"key,value\n"
        });
    }
    for (kind, key, value) in rows {
        let buf = &mut chunks.buf;
        match format {
            Format::Tsv | Format::Csv => {
                let field = |buf: &mut Vec<u8>, bytes: &[u8]| {
                    if format == Format::Tsv {
                        tsv::write_field(buf, bytes);
                    } else {
                        write_csv_field(buf, bytes);
                    }
                };
                let separator = if format == Format::Tsv { b'\t' } else { b',' };
                field(buf, key);
                for value in fields(value, summary) {
                    buf.push(separator);
                    field(buf, &value_text(value));
                }
                buf.push(b'\n');
            }
            Format::Jsonl | Format::Json => {
                if format == Format::Json {
                    buf.extend_from_slice(b",\n");
                }
                buf.extend_from_slice(b"{\"key\":");
                write_key_json(buf, kind, key);
                buf.extend_from_slice(b",\"value\":");
                value.write_canonical(buf);
                buf.push(b'}');
                if format == Format::Jsonl {
                    buf.push(b'\n');
                }
            }
        }
        chunks.flush(false)?;
    }
    chunks.finish()
}

/// Write records as a complete output (not streamed).
///
/// # Errors
/// Whatever the writer returns.
pub fn write_records<'a>(
    out: &mut dyn Write,
    items: impl Iterator<Item = Item<'a>>,
    format: RecordFormat,
) -> io::Result<()> {
    let mut chunks = Chunks::new(out, format.format);
    for item in items {
        format.write(&item, &mut chunks.buf);
        chunks.flush(false)?;
    }
    chunks.finish()
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

/// Append an RFC 4180 field: quoted, with quotes doubled, when it holds a
/// comma, a quote or a line break.
fn write_csv_field(out: &mut Vec<u8>, field: &[u8]) {
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
fn write_key_json(out: &mut Vec<u8>, kind: KeyKind, key: &[u8]) {
    match kind {
        KeyKind::Json => out.extend_from_slice(key),
        KeyKind::Text => crate::json::write_text_as_string(key, out),
    }
}

/// How records print: as text (`tsv`, `csv`) or as JSON (`jsonl`, `json`).
/// In `json`, each record is written after `,\n` and the writer frames
/// the stream as one array ([`JsonArray`]).
#[derive(Debug, Clone, Copy)]
pub struct RecordFormat {
    pub format: Format,
    pub terminator: u8,
}

impl RecordFormat {
    /// Append one record. In `tsv`, a record that holds the terminator
    /// (a line break, which would make one record two) is escaped as keys
    /// are; in `csv` it is quoted.
    pub fn write(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        match self.format {
            Format::Tsv => {
                let start = out.len();
                item.write_text(out);
                if memchr::memchr(self.terminator, &out[start..]).is_some() {
                    let text = out.split_off(start);
                    if self.terminator == b'\n' {
                        tsv::write_field(out, &text);
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
            Format::Tsv | Format::Csv => RecordFormat {
                format: self.format,
                terminator: b'\n',
            }
            .write(item, out),
            Format::Jsonl | Format::Json => {
                item.write_json(out);
                out.push(b'\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Row;
    use std::borrow::Cow;

    fn render(rows: &[Row<'_>], format: Format) -> String {
        let mut out = Vec::new();
        write_table(&mut out, rows.iter().copied(), format).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn text(key: &[u8], count: u64) -> Row<'_> {
        Row::new(key, count, KeyKind::Text)
    }

    #[test]
    fn tsv_escapes_keys_so_they_round_trip() {
        let rows = [text(b"a\tb\\c\nd\re", 2)];
        assert_eq!(render(&rows, Format::Tsv), "a\\tb\\\\c\\nd\\re\t2\n");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let rows = [text(b"plain", 1), text(b"a,\"b\"", 2)];
        assert_eq!(
            render(&rows, Format::Csv),
            "key,count\nplain,1\n\"a,\"\"b\"\"\",2\n"
        );
    }

    #[test]
    fn json_formats_are_valid_json() {
        let rows = [
            text(b"\xffx\"", 3),
            text(b"y", 1),
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
        let json = render(&rows, Format::Json);
        assert!(
            json.starts_with("[\n{") && json.ends_with("}\n]\n"),
            "{json}"
        );
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(3));
        assert_eq!(json[2]["key"], serde_json::json!([1, 2]));
        assert_eq!(render(&[], Format::Json), "[]\n");
    }

    #[test]
    fn one_framing_for_tables_and_records_across_chunks() {
        // Enough rows to cross several chunks.
        let keys: Vec<String> = (0..20_000).map(|i| format!("key{i}")).collect();
        let rows: Vec<Row<'_>> = keys.iter().map(|k| text(k.as_bytes(), 1)).collect();
        let table = render(&rows, Format::Json);
        let items = keys
            .iter()
            .map(|k| Item::value(Value::object([("key", Value::string(k.clone()))])));
        let mut records = Vec::new();
        let format = RecordFormat {
            format: Format::Json,
            terminator: b'\n',
        };
        write_records(&mut records, items, format).unwrap();
        let records = String::from_utf8(records).unwrap();
        assert_eq!(
            table.replace(",\"count\":1", ""),
            records,
            "the same array either way"
        );
        let parsed: serde_json::Value = serde_json::from_str(&records).unwrap();
        assert_eq!(parsed.as_array().map(Vec::len), Some(20_000));
    }

    #[test]
    fn records_with_line_breaks_stay_one_line() {
        let item = Item::Text(Cow::Borrowed(b"a\nb\\c"));
        let write = |format: Format, terminator: u8, item: &Item<'_>| {
            let mut out = Vec::new();
            RecordFormat { format, terminator }.write(item, &mut out);
            out
        };
        assert_eq!(write(Format::Tsv, b'\n', &item), b"a\\nb\\\\c\n");
        let plain = Item::Text(Cow::Borrowed(b"a\tb\\c"));
        assert_eq!(write(Format::Tsv, b'\n', &plain), b"a\tb\\c\n");
        assert_eq!(write(Format::Csv, b'\n', &item), b"\"a\nb\\c\"\n");
        assert_eq!(write(Format::Tsv, 0, &item), b"a\nb\\c\0");
    }
}
