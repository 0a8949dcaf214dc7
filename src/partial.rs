//! rbag's partial results (`--partial`), the exchange format of `rbag
//! merge` and of machines that each run a part of one job.
//!
//! A partial is line-oriented and self-describing:
//!
//! ```text
//! rbag-partial<TAB>1<TAB>{"plan":...,"pipeline":...,"input":...,"cut":...}
//! <rows of the reduction's state>
//! end<TAB><number of rows>
//! ```
//!
//! The header names the format version and the plan: everything that
//! decides what the rows mean (the command, the pipeline in canonical
//! form, how records are read), so that only partials of the same plan
//! merge. The rows hold the exact state of the first reduction (integer
//! and float sums as the exact integers they are, never rounded), or the
//! records themselves when the pipeline has no reduction. Fields are
//! separated by TAB and escaped as TSV keys are, so any bytes round-trip.
//! The trailer counts the rows, so a partial cut short is refused rather
//! than merged. Rows are written in a canonical order: a partial does not
//! depend on threads or block sizes either.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, BufRead, Write};

use num_bigint::BigInt;

use crate::json::{Number, Value};
use crate::numbers::{ExactSum, FloatSum, IntSum, Squares};
use crate::output::{unescape_tsv_field, write_tsv_field};
use crate::pipeline::item::{Item, KeyKind};
use crate::pipeline::parse::Reduce;
use crate::reduce::{Acc, Groups, KeyCounts, Position, Ranked, SummaryAcc};

/// The format version this rbag writes and reads.
pub const VERSION: u32 = 1;

/// The first word of a partial.
pub const MAGIC: &str = "rbag-partial";

/// What a partial says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The identity of the job: partials merge only with partials of the
    /// same plan.
    pub plan: String,
    /// The pipeline in canonical form, to finish the merged result with.
    pub pipeline: String,
    /// `text` or `json`: how the pipeline was read.
    pub input: String,
    /// The record terminator, for printing records: `\n` or `\0`.
    pub terminator: u8,
    /// Set when the rows were cut (`--top`, `--min-count`): such a partial
    /// lacks rows and cannot be merged exactly.
    pub cut: Option<String>,
}

impl Header {
    /// The header line.
    pub fn write(&self, out: &mut Vec<u8>) {
        let fields = Value::object([
            ("plan", Value::string(self.plan.clone())),
            ("pipeline", Value::string(self.pipeline.clone())),
            ("input", Value::string(self.input.clone())),
            (
                "terminator",
                Value::string(if self.terminator == 0 { "\0" } else { "\n" }),
            ),
            ("cut", self.cut.clone().map_or(Value::Null, Value::String)),
        ]);
        out.extend_from_slice(format!("{MAGIC}\t{VERSION}\t").as_bytes());
        fields.write_canonical(out);
        out.push(b'\n');
    }

    /// Read a header line (without its newline).
    ///
    /// # Errors
    /// Not a partial, another version, or a malformed header.
    pub fn read(line: &[u8]) -> Result<Header, String> {
        let mut fields = line.splitn(3, |&b| b == b'\t');
        if fields.next() != Some(MAGIC.as_bytes()) {
            return Err("not an rbag partial (it does not start with 'rbag-partial')".into());
        }
        let version = fields
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or("the partial's header has no format version")?;
        if version != VERSION {
            return Err(format!(
                "partial format version {version}; this rbag reads version {VERSION} (use the rbag that wrote it)"
            ));
        }
        let json = fields
            .next()
            .ok_or("the partial's header has no description")?;
        let Ok(Value::Object(object)) = crate::json::parse::parse(json) else {
            return Err("the partial's header is not a JSON object".into());
        };
        let text = |key: &str| match object.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(format!("the partial's header lacks \"{key}\"")),
        };
        Ok(Header {
            plan: text("plan")?,
            pipeline: text("pipeline")?,
            input: text("input")?,
            terminator: if text("terminator")? == "\0" {
                0
            } else {
                b'\n'
            },
            cut: match object.get("cut") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
        })
    }
}

/// Append one row: its fields TAB-separated, each escaped.
fn row(out: &mut Vec<u8>, fields: &[&[u8]]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        write_tsv_field(out, field);
    }
    out.push(b'\n');
}

fn kind_tag(kind: KeyKind) -> &'static [u8] {
    match kind {
        KeyKind::Text => b"t",
        KeyKind::Json => b"j",
    }
}

/// An item as two fields: `t` and its text, `r` and its original JSON
/// line, or `j` and its canonical JSON.
fn item_fields(item: &Item<'_>) -> (&'static [u8], Vec<u8>) {
    match item {
        Item::Text(text) => (b"t", text.to_vec()),
        Item::Json(_, Some(raw)) => (b"r", raw.to_vec()),
        Item::Json(value, None) => (b"j", value.to_canonical()),
    }
}

/// Append a record as a row of a streaming partial.
pub fn write_record(item: &Item<'_>, out: &mut Vec<u8>) {
    let (tag, data) = item_fields(item);
    row(out, &[tag, &data]);
}

fn sum_fields(sum: &ExactSum) -> Vec<Vec<u8>> {
    let mut fields = vec![
        sum.count.to_string().into_bytes(),
        if sum.floats {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        },
        sum.ints.total().to_string().into_bytes(),
        sum.fsum.to_bigint().to_string().into_bytes(),
    ];
    if let Some(squares) = &sum.squares {
        fields.push(squares.ints.total().to_string().into_bytes());
        fields.push(squares.fsum.to_bigint().to_string().into_bytes());
        fields.push(squares.rare.to_string().into_bytes());
    }
    fields
}

/// Append the rows of a reduction's state, in a canonical order.
pub fn write_acc(acc: &Acc, reduce: &Reduce, out: &mut Vec<u8>) {
    match acc {
        Acc::Frequencies(counts) | Acc::Distinct(counts) => {
            let mut keys: Vec<(KeyKind, &[u8], u64)> = counts.iter().collect();
            keys.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
            let counted = matches!(acc, Acc::Frequencies(_));
            for (kind, key, count) in keys {
                if counted {
                    row(out, &[kind_tag(kind), key, count.to_string().as_bytes()]);
                } else {
                    row(out, &[kind_tag(kind), key]);
                }
            }
        }
        Acc::Count(n) => row(out, &[b"count", n.to_string().as_bytes()]),
        Acc::Sum(sum) => {
            let fields = sum_fields(sum);
            let mut all: Vec<&[u8]> = vec![b"sum"];
            all.extend(fields.iter().map(Vec::as_slice));
            row(out, &all);
        }
        Acc::Summary(summary) => {
            let fields = sum_fields(&summary.sum);
            let number = |n: &Option<Number>| {
                n.as_ref().map_or(b"-".to_vec(), |n| {
                    let mut text = Vec::new();
                    n.write(&mut text);
                    text
                })
            };
            let (min, max) = (number(&summary.min), number(&summary.max));
            let mut all: Vec<&[u8]> = vec![b"summary"];
            all.extend(fields.iter().map(Vec::as_slice));
            all.push(&min);
            all.push(&max);
            row(out, &all);
        }
        Acc::Extreme(item) => {
            if let Some(item) = item {
                let (tag, data) = item_fields(item);
                row(out, &[b"item", tag, &data]);
            }
        }
        Acc::TopK(kept) => {
            for ranked in crate::reduce::ranked_in_order(kept.clone(), reduce) {
                let rank = ranked
                    .rank
                    .as_ref()
                    .map_or(b"-".to_vec(), Value::to_canonical);
                let (tag, data) = item_fields(&ranked.item);
                row(out, &[&rank, tag, &data]);
            }
        }
        Acc::Take(kept) => {
            let mut kept: Vec<_> = kept.iter().collect();
            kept.sort_by_key(|(p, _)| *p);
            for (_, item) in kept {
                let (tag, data) = item_fields(item);
                row(out, &[tag, &data]);
            }
        }
        Acc::Group(groups) => {
            let mut keys: Vec<_> = groups.map.iter().collect();
            keys.sort_unstable_by(|a, b| a.0.1.cmp(&b.0.1).then(a.0.0.cmp(&b.0.0)));
            for ((kind, key), acc) in keys {
                row(out, &[b"group", kind_tag(*kind), key]);
                write_acc(acc, reduce, out);
                row(out, &[b"end-group"]);
            }
        }
    }
}

/// A problem in a partial: its line number (1-based) and what is wrong.
pub type Bad = (u64, String);

/// The sum of every count one merge has read, in all its inputs. Each
/// merged count (and the table's total) is a sum of counts read, so while
/// the tally fits in a u64 no merged count can overflow; past that, the
/// merge is refused rather than wrapped or rounded.
#[derive(Debug, Default)]
pub struct Tally(Cell<u128>);

impl Tally {
    /// Spend `count`.
    ///
    /// # Errors
    /// The message when the counts read add up to more than a u64 holds.
    pub fn spend(&self, count: u64) -> Result<(), String> {
        let total = self.0.get() + u128::from(count);
        self.0.set(total);
        if total > u128::from(u64::MAX) {
            return Err(format!(
                "the counts read add up to more than {}: too many to merge exactly",
                u64::MAX
            ));
        }
        Ok(())
    }
}

/// The rows of a partial, read one at a time.
pub struct Rows<'a> {
    lines: &'a [Vec<u8>],
    /// The counts read so far by the whole merge.
    tally: &'a Tally,
    /// Index of the next row in `lines`.
    next: usize,
    /// Line number of `lines[0]`.
    first_line: u64,
    /// Where records of this partial come from, for their positions.
    part: u32,
}

impl<'a> Rows<'a> {
    /// The rows of a partial starting at line `first_line`; `part` is the
    /// partial's place among those merged.
    pub fn new(lines: &'a [Vec<u8>], first_line: u64, part: u32, tally: &'a Tally) -> Rows<'a> {
        Rows {
            lines,
            tally,
            next: 0,
            first_line,
            part,
        }
    }

    /// The line of the row last taken (errors are about it).
    fn line(&self) -> u64 {
        (self.first_line + self.next as u64).saturating_sub(1)
    }

    fn bad<T>(&self, message: impl Into<String>) -> Result<T, Bad> {
        Err((self.line(), message.into()))
    }

    fn peek(&self) -> Option<&'a [u8]> {
        self.lines.get(self.next).map(Vec::as_slice)
    }

    /// The fields of the next row, unescaped.
    fn take(&mut self) -> Result<Option<Vec<Vec<u8>>>, Bad> {
        let Some(line) = self.peek() else {
            return Ok(None);
        };
        self.next += 1;
        let mut fields = Vec::new();
        for field in line.split(|&b| b == b'\t') {
            match unescape_tsv_field(field) {
                Ok(f) => fields.push(f),
                Err(_) => {
                    return self.bad("a bad escape (a backslash not followed by \\, t, n or r)");
                }
            }
        }
        Ok(Some(fields))
    }

    /// A count read from this row, spent from the merge's tally.
    fn count(&self, field: &[u8]) -> Result<u64, Bad> {
        let count = number(field, "a count", self)?;
        match self.tally.spend(count) {
            Ok(()) => Ok(count),
            Err(message) => self.bad(message),
        }
    }

    fn position(&self) -> Position {
        Position {
            source: self.part,
            block: 0,
            item: self.next as u64,
        }
    }

    /// Whether every row was read.
    pub fn done(&self) -> bool {
        self.next >= self.lines.len()
    }
}

fn number<T: std::str::FromStr>(field: &[u8], what: &str, rows: &Rows<'_>) -> Result<T, Bad> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|f| f.parse().ok())
        .map_or_else(|| rows.bad(format!("{what} is not a number")), Ok)
}

fn kind_of(tag: &[u8], rows: &Rows<'_>) -> Result<KeyKind, Bad> {
    match tag {
        b"t" => Ok(KeyKind::Text),
        b"j" => Ok(KeyKind::Json),
        _ => rows.bad("a key kind must be t or j"),
    }
}

fn json_key(kind: KeyKind, key: &[u8], rows: &Rows<'_>) -> Result<(), Bad> {
    if kind == KeyKind::Json && crate::json::parse::parse(key).is_err() {
        return rows.bad("a JSON key that is not JSON");
    }
    Ok(())
}

/// An item from its two fields.
fn read_item(tag: &[u8], data: Vec<u8>, rows: &Rows<'_>) -> Result<Item<'static>, Bad> {
    match tag {
        b"t" => Ok(Item::Text(Cow::Owned(data))),
        b"r" | b"j" => {
            let value = match crate::json::parse::parse(&data) {
                Ok(value) => value,
                Err(e) => return rows.bad(format!("a record that is not JSON: {}", e.message)),
            };
            let raw = (tag == b"r").then_some(Cow::Owned(data));
            Ok(Item::Json(value, raw))
        }
        _ => rows.bad("a record kind must be t, r or j"),
    }
}

fn read_sum(fields: &[Vec<u8>], squares: bool, rows: &Rows<'_>) -> Result<ExactSum, Bad> {
    let want = if squares { 7 } else { 4 };
    if fields.len() != want {
        return rows.bad(format!("a sum has {want} fields"));
    }
    let big = |f: &[u8]| number::<BigInt>(f, "a sum", rows);
    let fsum = |sum: &BigInt| -> Result<FloatSum, Bad> {
        FloatSum::from_bigint(sum).map_or_else(|| rows.bad("a float sum out of range"), Ok)
    };
    let floats = match fields[1].as_slice() {
        b"0" => false,
        b"1" => true,
        _ => return rows.bad("a sum's float flag is 0 or 1"),
    };
    let count = rows.count(&fields[0])?;
    // Each double is below 2^1024, so `count` of them (in units of
    // 2^-1074) sum to at most count * 2^2098; bounding every float sum so
    // keeps the merged sum (whose count the tally bounds) inside the
    // accumulator.
    let reachable = |sum: BigInt| -> Result<FloatSum, Bad> {
        if sum.magnitude() > &(num_bigint::BigUint::from(count) << 2098u32) {
            return rows.bad("a float sum larger than its count of numbers can make");
        }
        fsum(&sum)
    };
    Ok(ExactSum {
        count,
        floats,
        ints: IntSum::from_total(big(&fields[2])?),
        fsum: reachable(big(&fields[3])?)?,
        squares: if squares {
            Some(Squares {
                ints: IntSum::from_total(big(&fields[4])?),
                fsum: reachable(big(&fields[5])?)?,
                rare: big(&fields[6])?,
            })
        } else {
            None
        },
    })
}

/// Read a reduction's state from its rows (up to the end of `rows`, or of
/// a group).
///
/// # Errors
/// A malformed row, with its line number.
pub fn read_acc(rows: &mut Rows<'_>, reduce: &Reduce, grouped: bool) -> Result<Acc, Bad> {
    if grouped {
        let mut groups = Groups::default();
        while let Some(fields) = rows.take()? {
            let [tag, kind, key] = fields.as_slice() else {
                return Err((rows.line(), "expected a 'group' row".into()));
            };
            if tag != b"group" {
                return Err((rows.line(), "expected a 'group' row".into()));
            }
            let kind = kind_of(kind, rows)?;
            json_key(kind, key, rows)?;
            let acc = read_acc_until_group_end(rows, reduce)?;
            groups.map.insert((kind, key.clone()), acc);
        }
        return Ok(Acc::Group(groups));
    }
    read_plain(rows, reduce, false)
}

fn read_acc_until_group_end(rows: &mut Rows<'_>, reduce: &Reduce) -> Result<Acc, Bad> {
    read_plain(rows, reduce, true)
}

/// The state of a reduction that is not grouped; with `in_group`, up to
/// the `end-group` row (which is consumed).
fn read_plain(rows: &mut Rows<'_>, reduce: &Reduce, in_group: bool) -> Result<Acc, Bad> {
    let mut acc = Acc::new(reduce);
    loop {
        if in_group && rows.peek() == Some(b"end-group".as_slice()) {
            rows.next += 1;
            return Ok(acc);
        }
        let position = rows.position();
        let Some(fields) = rows.take()? else {
            if in_group {
                return rows.bad("a group without its 'end-group' row");
            }
            return Ok(acc);
        };
        let line = rows.line();
        let wrong = |what: &str| -> Result<Acc, Bad> { Err((line, format!("expected {what}"))) };
        match (&mut acc, fields.as_slice()) {
            (Acc::Frequencies(counts), [kind, key, count]) => {
                let kind = kind_of(kind, rows)?;
                json_key(kind, key, rows)?;
                let count = rows.count(count)?;
                if count == 0 {
                    return Err((line, "a count of 0".into()));
                }
                counts.add_key(kind, key, count);
            }
            (Acc::Frequencies(_), _) => return wrong("a key row: kind, key, count"),
            (Acc::Distinct(counts), [kind, key]) => {
                let kind = kind_of(kind, rows)?;
                json_key(kind, key, rows)?;
                counts.add_key(kind, key, 1);
            }
            (Acc::Distinct(_), _) => return wrong("a key row: kind, key"),
            (Acc::Count(n), [tag, count]) if tag == b"count" => {
                *n += rows.count(count)?;
            }
            (Acc::Count(_), _) => return wrong("a 'count' row"),
            (Acc::Sum(sum), [tag, rest @ ..]) if tag == b"sum" => {
                let squares = matches!(reduce, Reduce::Var { .. });
                sum.merge(&read_sum(rest, squares, rows)?);
            }
            (Acc::Sum(_), _) => return wrong("a 'sum' row"),
            (Acc::Summary(summary), [tag, rest @ ..]) if tag == b"summary" && rest.len() == 9 => {
                let sum = read_sum(&rest[..7], true, rows)?;
                let extreme = |f: &[u8]| -> Result<Option<Number>, Bad> {
                    if f == b"-" {
                        return Ok(None);
                    }
                    match crate::json::parse::parse(f) {
                        Ok(Value::Number(n)) => Ok(Some(n)),
                        _ => rows.bad("a summary's min and max are numbers"),
                    }
                };
                let part = SummaryAcc {
                    sum,
                    min: extreme(&rest[7])?,
                    max: extreme(&rest[8])?,
                };
                let merged = Acc::Summary(std::mem::take(summary))
                    .merge(Acc::Summary(Box::new(part)), reduce);
                acc = merged;
            }
            (Acc::Summary(_), _) => return wrong("a 'summary' row"),
            (Acc::Extreme(best), [tag, kind, data]) if tag == b"item" => {
                let item = read_item(kind, data.clone(), rows)?;
                let merged = Acc::Extreme(best.take()).merge(Acc::Extreme(Some(item)), reduce);
                acc = merged;
            }
            (Acc::Extreme(_), _) => return wrong("an 'item' row"),
            (Acc::TopK(kept), [rank, kind, data]) => {
                let rank = if rank == b"-" {
                    None
                } else {
                    match crate::json::parse::parse(rank) {
                        Ok(value) => Some(value),
                        Err(_) => return rows.bad("a rank that is not JSON"),
                    }
                };
                let item = read_item(kind, data.clone(), rows)?;
                kept.push(Ranked {
                    rank,
                    position,
                    item,
                });
            }
            (Acc::TopK(_), _) => return wrong("a ranked row: rank, kind, record"),
            (Acc::Take(kept), [kind, data]) => {
                kept.push((position, read_item(kind, data.clone(), rows)?));
            }
            (Acc::Take(_), _) => return wrong("a record row: kind, record"),
            (Acc::Group(_), _) => return wrong("no groups here"),
        }
    }
}

/// Read records (a streaming partial's rows).
///
/// # Errors
/// A malformed row, with its line number.
pub fn read_records(rows: &mut Rows<'_>) -> Result<Vec<(Position, Item<'static>)>, Bad> {
    let mut records = Vec::new();
    loop {
        let position = rows.position();
        let Some(fields) = rows.take()? else {
            return Ok(records);
        };
        let [kind, data] = fields.as_slice() else {
            return Err((rows.line(), "expected a record row: kind, record".into()));
        };
        records.push((position, read_item(kind, data.clone(), rows)?));
    }
}

/// One partial read from a stream: its header, its rows (undecoded), and
/// the line number of its first row.
pub struct Part {
    pub header: Header,
    pub rows: Vec<Vec<u8>>,
    pub first_line: u64,
}

/// Read every partial in `input` (several may follow each other, as
/// `cat a.partial b.partial` makes). A stream that does not start like a
/// partial is `Ok(None)`: the caller reads it as a plain table.
///
/// # Errors
/// I/O errors, and malformed partials with their line numbers.
pub fn read_parts(input: &mut dyn BufRead) -> io::Result<Result<Option<Vec<Part>>, Bad>> {
    let mut parts = Vec::new();
    let mut line_number = 0u64;
    let mut line = Vec::new();
    let mut current: Option<Part> = None;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        line_number += 1;
        let had_newline = line.last() == Some(&b'\n');
        if had_newline {
            line.pop();
        }
        match current.as_mut() {
            None => {
                if line_number == 1 && !line.starts_with(MAGIC.as_bytes()) {
                    return Ok(Ok(None));
                }
                let header = match Header::read(&line) {
                    Ok(header) => header,
                    Err(message) => return Ok(Err((line_number, message))),
                };
                current = Some(Part {
                    header,
                    rows: Vec::new(),
                    first_line: line_number + 1,
                });
            }
            Some(part) => {
                if let Some(count) = line.strip_prefix(b"end\t") {
                    let count = std::str::from_utf8(count)
                        .ok()
                        .and_then(|c| c.parse::<usize>().ok());
                    if count != Some(part.rows.len()) || !had_newline {
                        return Ok(Err((
                            line_number,
                            format!(
                                "the partial's last line says {} rows, but {} came before it (was it cut short or edited?)",
                                String::from_utf8_lossy(&line[4..]),
                                part.rows.len()
                            ),
                        )));
                    }
                    parts.push(current.take().expect("matched Some"));
                } else {
                    part.rows.push(line.clone());
                }
            }
        }
    }
    if current.is_some() || parts.is_empty() {
        let message = if parts.is_empty() && current.is_none() {
            "empty: not a partial and not a table"
        } else {
            "the partial ends before its 'end' line (was it cut short?)"
        };
        return Ok(Err((line_number + 1, message.into())));
    }
    Ok(Ok(Some(parts)))
}

/// Write a partial: header, rows, trailer.
pub fn write_partial(out: &mut dyn Write, header: &Header, rows: &[u8]) -> io::Result<()> {
    let mut head = Vec::new();
    header.write(&mut head);
    out.write_all(&head)?;
    out.write_all(rows)?;
    let count = rows.iter().filter(|&&b| b == b'\n').count();
    out.write_all(format!("end\t{count}\n").as_bytes())
}

/// The frequency counts of a plain `key<TAB>count` table written by rbag
/// (TSV, keys escaped); keys are text.
///
/// # Errors
/// A line that is not `key<TAB>count`, with its line number.
pub fn read_table(input: &mut dyn BufRead, tally: &Tally) -> io::Result<Result<KeyCounts, Bad>> {
    let not_a_table = |number: u64, problem: &str| -> io::Result<Result<KeyCounts, Bad>> {
        Ok(Err((
            number,
            format!(
                "{problem} (rbag merge reads partials written with --partial, and key<TAB>count tables)"
            ),
        )))
    };
    let mut counts = KeyCounts::default();
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(Ok(counts));
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let Some(tab) = memchr::memrchr(b'\t', &line) else {
            return not_a_table(number, "expected key<TAB>count");
        };
        let key = match unescape_tsv_field(&line[..tab]) {
            Ok(key) => key,
            Err(_) => return not_a_table(number, "a bad escape in the key"),
        };
        let count = std::str::from_utf8(&line[tab + 1..])
            .ok()
            .and_then(|c| c.parse::<u64>().ok())
            .filter(|c| *c > 0);
        let Some(count) = count else {
            return not_a_table(number, "the count is not a whole number above 0");
        };
        if let Err(message) = tally.spend(count) {
            return Ok(Err((number, message)));
        }
        counts.add_key(KeyKind::Text, &key, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::parse::{InputKind, parse};
    use crate::reduce::Reducer;

    fn json(s: &str) -> Item<'static> {
        Item::value(crate::json::parse::parse(s.as_bytes()).unwrap())
    }

    fn round_trip(pipeline: &str, items: Vec<Item<'static>>) {
        let parsed = parse(pipeline, InputKind::Json).unwrap();
        let reduction = parsed.reduce.unwrap();
        let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
        let stages = crate::pipeline::eval::Evaluator::new(parsed.stages);
        let mut acc = reducer.new_acc();
        let mut dropped = crate::pipeline::eval::Dropped::default();
        let mut inner = crate::pipeline::eval::Dropped::default();
        for (i, item) in items.into_iter().enumerate() {
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            stages
                .run(item, &mut dropped, &mut |item| {
                    reducer.add(&mut acc, item, position, &mut inner)
                })
                .unwrap();
        }
        let mut rows = Vec::new();
        write_acc(&acc, &reducer.reduce, &mut rows);
        let lines: Vec<Vec<u8>> = rows
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let tally = Tally::default();
        let mut reader = Rows::new(&lines, 2, 0, &tally);
        let back = read_acc(&mut reader, &reducer.reduce, reducer.is_grouped()).unwrap();
        let mut again = Vec::new();
        write_acc(&back, &reducer.reduce, &mut again);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&rows),
            "{pipeline}"
        );
    }

    #[test]
    fn every_reduction_round_trips() {
        let items = || {
            vec![
                json(r#"{"a": "x\ty", "n": 1.5}"#),
                json(r#"{"a": 2, "n": 123456789012345678901234567890}"#),
                json(r#"{"a": "x\ty", "n": -0.1}"#),
                Item::Text(Cow::Borrowed(b"caf\xe9\n\\")),
            ]
        };
        for pipeline in [
            "frequencies",
            "distinct",
            "count",
            "pluck .n | sum",
            "pluck .n | mean",
            "pluck .n | var 1",
            "pluck .n | summary",
            "min",
            "max",
            "topk 2 by .n",
            "bottomk 3",
            "take 2",
            "group .a | count",
            "group .a | pluck .n | sum",
            "group .a | frequencies",
            "group .a | topk 1",
        ] {
            let items = if pipeline.starts_with("pluck .n") || pipeline.contains("sum") {
                items().into_iter().take(3).collect()
            } else {
                items()
            };
            round_trip(pipeline, items);
        }
    }

    #[test]
    fn headers_say_what_is_wrong() {
        let header = Header {
            plan: "run json 'count'".into(),
            pipeline: "count".into(),
            input: "json".into(),
            terminator: b'\n',
            cut: None,
        };
        let mut line = Vec::new();
        header.write(&mut line);
        assert_eq!(Header::read(line.strip_suffix(b"\n").unwrap()), Ok(header));
        assert_eq!(
            Header::read(b"rbag-partial\t7\t{}"),
            Err(
                "partial format version 7; this rbag reads version 1 (use the rbag that wrote it)"
                    .into()
            )
        );
        assert!(Header::read(b"the\t85").is_err());
    }

    #[test]
    fn a_partial_cut_short_is_refused() {
        let text = b"rbag-partial\t1\t{\"cut\":null,\"input\":\"text\",\"pipeline\":\"count\",\"plan\":\"p\",\"terminator\":\"\\n\"}\ncount\t3\n";
        let got = read_parts(&mut &text[..]).unwrap();
        assert_eq!(
            got.err(),
            Some((
                3,
                "the partial ends before its 'end' line (was it cut short?)".into()
            ))
        );
        let wrong = [&text[..], b"end\t2\n"].concat();
        assert!(read_parts(&mut &wrong[..]).unwrap().is_err());
        let right = [&text[..], b"end\t1\n"].concat();
        assert_eq!(
            read_parts(&mut &right[..]).unwrap().unwrap().unwrap().len(),
            1
        );
        assert!(
            read_parts(&mut &b"the\t3\n"[..])
                .unwrap()
                .unwrap()
                .is_none()
        );
    }
}
