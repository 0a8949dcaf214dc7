//! Reading partials: every partial of a stream (several may follow one
//! another, as `cat a.partial b.partial` makes), each refused with its
//! line number when it is malformed or cut short; a reduction's state from
//! its rows; and plain `key<TAB>count` tables. Every count read is spent
//! from one tally, so a merge refuses counts that would overflow rather
//! than wrap them.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, BufRead};

use num_bigint::BigInt;

use super::{Header, MAGIC};
use crate::json::{Number, Value};
use crate::numbers::{ExactSum, FloatSum, IntSum, Squares, is_canonical_integer, parse_integer};
use crate::pipeline::ast::Reduce;
use crate::pipeline::item::Item;
use crate::reduce::{Acc, Groups, KeyCounts, Position, Ranked, SummaryAcc, ranked_in_order};
use crate::table::{KeyKind, key_cmp};
use crate::tsv;

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

/// A stream of partials (several may follow one another, as `cat
/// a.partial b.partial` makes), read a line at a time: a merge holds the
/// state it builds, never the rows it reads.
pub struct PartialReader {
    input: Box<dyn BufRead + Send>,
    /// The line last read, without its newline.
    line: Vec<u8>,
    /// How many lines have been read.
    line_number: u64,
}

impl PartialReader {
    pub fn new(input: Box<dyn BufRead + Send>) -> PartialReader {
        PartialReader {
            input,
            line: Vec::new(),
            line_number: 0,
        }
    }

    /// Read the next line into `line`: whether it ended in a newline, or
    /// `None` at the end of the stream.
    fn read_line(&mut self) -> Result<Option<bool>, Bad> {
        self.line.clear();
        match self.input.read_until(b'\n', &mut self.line) {
            Ok(0) => Ok(None),
            Ok(_) => {
                self.line_number += 1;
                let had_newline = self.line.last() == Some(&b'\n');
                if had_newline {
                    self.line.pop();
                }
                Ok(Some(had_newline))
            }
            Err(e) => Err((
                self.line_number + 1,
                format!("cannot read: {}", crate::error::io_message(&e)),
            )),
        }
    }

    /// The header of the next partial; `None` at the end of the stream.
    ///
    /// # Errors
    /// A stream that is not a partial, or a malformed header.
    pub fn next_header(&mut self) -> Result<Option<Header>, Bad> {
        if self.read_line()?.is_none() {
            return Ok(None);
        }
        if self.line_number == 1 && !self.line.starts_with(MAGIC.as_bytes()) {
            return Err((1, "not a partial".into()));
        }
        Header::read(&self.line)
            .map(Some)
            .map_err(|message| (self.line_number, message))
    }

    /// The rows of the partial whose header was just read, up to its
    /// `end` line; `part` is the partial's place among those merged.
    pub fn rows<'a>(&'a mut self, part: u32, tally: &'a Tally) -> Rows<'a> {
        let first_line = self.line_number + 1;
        Rows {
            reader: self,
            tally,
            next: 0,
            first_line,
            part,
            ahead: Ahead::Unread,
        }
    }
}

/// What the line after the last row taken is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ahead {
    /// Not read yet.
    Unread,
    /// A row, in the reader's `line`.
    Row,
    /// The partial's `end` line, checked.
    End,
}

/// The rows of one partial, read one at a time.
pub struct Rows<'a> {
    reader: &'a mut PartialReader,
    /// The counts read so far by the whole merge.
    tally: &'a Tally,
    /// How many rows have been taken.
    next: usize,
    /// Line number of the first row.
    first_line: u64,
    /// Where records of this partial come from, for their positions.
    part: u32,
    ahead: Ahead,
}

impl Rows<'_> {
    /// The line of the row last taken (errors are about it).
    fn line(&self) -> u64 {
        (self.first_line + self.next as u64).saturating_sub(1)
    }

    fn bad<T>(&self, message: impl Into<String>) -> Result<T, Bad> {
        Err((self.line(), message.into()))
    }

    /// The next row, without taking it; `None` at the partial's end.
    fn peek(&mut self) -> Result<Option<&[u8]>, Bad> {
        if self.ahead == Ahead::Unread {
            self.read_ahead()?;
        }
        Ok((self.ahead == Ahead::Row).then_some(self.reader.line.as_slice()))
    }

    fn read_ahead(&mut self) -> Result<(), Bad> {
        let Some(had_newline) = self.reader.read_line()? else {
            return Err((
                self.reader.line_number + 1,
                "the partial ends before its 'end' line (was it cut short?)".into(),
            ));
        };
        let line = &self.reader.line;
        let Some(count) = line.strip_prefix(b"end\t") else {
            if !had_newline {
                // The stream's last line, and a row: the rest is missing.
                return Err((
                    self.reader.line_number + 1,
                    "the partial ends before its 'end' line (was it cut short?)".into(),
                ));
            }
            self.ahead = Ahead::Row;
            return Ok(());
        };
        let at = self.reader.line_number;
        if !had_newline {
            return Err((
                at,
                "the partial's last line has no newline, and rbag ends it with one (was it cut short or edited?)".into(),
            ));
        }
        let said = std::str::from_utf8(count)
            .ok()
            .and_then(|c| c.parse::<usize>().ok());
        if said != Some(self.next) {
            return Err((
                at,
                format!(
                    "the partial's last line says {} rows, but {} came before it (was it cut short or edited?)",
                    String::from_utf8_lossy(count),
                    self.next
                ),
            ));
        }
        self.ahead = Ahead::End;
        Ok(())
    }

    /// Take the row [`Rows::peek`] saw.
    fn skip(&mut self) {
        debug_assert_eq!(self.ahead, Ahead::Row);
        self.ahead = Ahead::Unread;
        self.next += 1;
    }

    /// The fields of the next row, unescaped.
    fn take(&mut self) -> Result<Option<Vec<Vec<u8>>>, Bad> {
        let Some(line) = self.peek()? else {
            return Ok(None);
        };
        let carriage_return = memchr::memchr(b'\r', line).is_some();
        let fields: Result<Vec<Vec<u8>>, _> =
            line.split(|&b| b == b'\t').map(tsv::read_field).collect();
        self.skip();
        if carriage_return {
            // rbag writes a carriage return as \r: a raw one is an edit
            // (or a file whose line ends became CRLF).
            return self.bad(
                "a carriage return in a row (rbag writes it as \\r; were the line ends made CRLF?)",
            );
        }
        match fields {
            Ok(fields) => Ok(Some(fields)),
            Err(_) => self.bad("a bad escape (a backslash not followed by \\, t, n or r)"),
        }
    }

    /// The line numbers of the rows taken.
    #[cfg(feature = "fuzzing")]
    pub fn lines(&self) -> std::ops::Range<u64> {
        self.first_line..self.first_line + self.next as u64
    }

    /// Every row was taken: the partial's `end` line is next.
    ///
    /// # Errors
    /// A row left over, or a partial cut short.
    pub fn finish(&mut self) -> Result<(), Bad> {
        if self.peek()?.is_some() {
            return Err((self.line() + 1, "rows left over".into()));
        }
        Ok(())
    }

    /// A count read from this row, spent from the merge's tally.
    fn count(&self, field: &[u8]) -> Result<u64, Bad> {
        if field.first() == Some(&b'-') || !is_canonical_integer(field) {
            return self.bad("a count is not written so: rbag writes 0 or a whole number without a leading zero or sign");
        }
        let count = number(field, "a count", self).or_else(|_| {
            self.bad(format!(
                "a count larger than {} (too large to be one)",
                u64::MAX
            ))
        })?;
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
    if kind == KeyKind::Json {
        match crate::json::parse::parse(key) {
            Err(_) => return rows.bad("a JSON key that is not JSON"),
            // A key is written in the one canonical form: any other form
            // of an equal value would count apart from it.
            Ok(value) if value.to_key() != key => {
                return rows.bad(
                    "a JSON key not in its one form (compact, keys sorted, numbers by value)",
                );
            }
            Ok(Value::String(_)) => {
                return rows.bad("a JSON string as a JSON key (strings are text keys)");
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// The next key of a table, which must come after `previous` in the one
/// key order (so each key once, in order).
fn next_key(
    previous: &mut Option<(KeyKind, Vec<u8>)>,
    kind: KeyKind,
    key: &[u8],
    rows: &Rows<'_>,
) -> Result<(), Bad> {
    match previous {
        Some((was_kind, was)) => {
            if key_cmp((*was_kind, was), (kind, key)).is_ge() {
                return rows.bad(
                    "a key out of order, or twice (rbag writes each key once, in the order of keys)",
                );
            }
            // The buffer is reused: millions of keys, no allocation each.
            *was_kind = kind;
            was.clear();
            was.extend_from_slice(key);
        }
        None => *previous = Some((kind, key.to_vec())),
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
            if tag == b"j" && value.to_canonical() != data {
                return rows.bad("a JSON record not in its canonical form (compact, keys sorted)");
            }
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
    let big = |f: &[u8]| -> Result<BigInt, Bad> {
        let text = std::str::from_utf8(f)
            .ok()
            .filter(|_| is_canonical_integer(f));
        text.and_then(parse_integer).map_or_else(
            || rows.bad("a sum is not an integer as rbag writes one"),
            Ok,
        )
    };
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
    let sum = ExactSum {
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
    };
    if !sum.is_possible() {
        return rows.bad(
            "sums that no numbers make (the squares do not fit the sum, or a sum of nothing)",
        );
    }
    Ok(sum)
}

/// Read a reduction's state from its rows (up to the end of `rows`, or of
/// a group). A frequency table or set of keys is read `into` the state
/// given, so that a merge holds one row per distinct key and never a
/// second table.
///
/// # Errors
/// A malformed row, with its line number.
pub fn read_acc(
    rows: &mut Rows<'_>,
    reduce: &Reduce,
    grouped: bool,
    into: Option<Acc>,
) -> Result<Acc, Bad> {
    if grouped {
        let mut groups = Groups::default();
        let mut previous = None;
        while let Some(fields) = rows.take()? {
            let [tag, kind, key] = fields.as_slice() else {
                return Err((rows.line(), "expected a 'group' row".into()));
            };
            if tag != b"group" {
                return Err((rows.line(), "expected a 'group' row".into()));
            }
            let kind = kind_of(kind, rows)?;
            json_key(kind, key, rows)?;
            next_key(&mut previous, kind, key, rows)?;
            let acc = read_acc_until_group_end(rows, reduce)?;
            *groups.state(kind, key, || Acc::Count(0)) = acc;
        }
        return Ok(Acc::Group(groups));
    }
    read_plain(rows, reduce, false, into)
}

fn read_acc_until_group_end(rows: &mut Rows<'_>, reduce: &Reduce) -> Result<Acc, Bad> {
    read_plain(rows, reduce, true, None)
}

/// The state of a reduction that is not grouped; with `in_group`, up to
/// the `end-group` row (which is consumed).
fn read_plain(
    rows: &mut Rows<'_>,
    reduce: &Reduce,
    in_group: bool,
    into: Option<Acc>,
) -> Result<Acc, Bad> {
    let mut acc = match into {
        Some(acc @ (Acc::Frequencies(_) | Acc::Distinct(_))) => acc,
        _ => Acc::new(reduce),
    };
    let mut previous = None;
    let mut taken = 0u64;
    let first_row = rows.next;
    loop {
        if in_group && rows.peek()? == Some(b"end-group".as_slice()) {
            rows.skip();
            return complete(acc, rows, taken, first_row, reduce);
        }
        let position = rows.position();
        let Some(fields) = rows.take()? else {
            if in_group {
                return rows.bad("a group without its 'end-group' row");
            }
            return complete(acc, rows, taken, first_row, reduce);
        };
        taken += 1;
        let line = rows.line();
        let wrong = |what: &str| -> Result<Acc, Bad> { Err((line, format!("expected {what}"))) };
        let once = |what: &str| -> Result<(), Bad> {
            if taken > 1 {
                return Err((line, format!("a second '{what}' row: rbag writes one")));
            }
            Ok(())
        };
        match (&mut acc, fields.as_slice()) {
            (Acc::Frequencies(counts), [kind, key, count]) => {
                let kind = kind_of(kind, rows)?;
                json_key(kind, key, rows)?;
                next_key(&mut previous, kind, key, rows)?;
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
                next_key(&mut previous, kind, key, rows)?;
                counts.add_key(kind, key, 1);
            }
            (Acc::Distinct(_), _) => return wrong("a key row: kind, key"),
            (Acc::Count(n), [tag, count]) if tag == b"count" => {
                once("count")?;
                *n += rows.count(count)?;
            }
            (Acc::Count(_), _) => return wrong("a 'count' row"),
            (Acc::Sum(sum), [tag, rest @ ..]) if tag == b"sum" => {
                once("sum")?;
                let squares = matches!(reduce, Reduce::Var { .. });
                sum.merge(&read_sum(rest, squares, rows)?);
            }
            (Acc::Sum(_), _) => return wrong("a 'sum' row"),
            (Acc::Summary(summary), [tag, rest @ ..]) if tag == b"summary" && rest.len() == 9 => {
                once("summary")?;
                let sum = read_sum(&rest[..7], true, rows)?;
                let extreme = |f: &[u8]| -> Result<Option<Number>, Bad> {
                    if f == b"-" {
                        return Ok(None);
                    }
                    match crate::json::parse::parse(f) {
                        Ok(Value::Number(n)) => {
                            let mut again = Vec::new();
                            n.write(&mut again);
                            if again != f {
                                return rows.bad(
                                    "a summary's min or max not written as rbag writes numbers",
                                );
                            }
                            Ok(Some(n))
                        }
                        _ => rows.bad("a summary's min and max are numbers"),
                    }
                };
                let part = SummaryAcc {
                    sum,
                    min: extreme(&rest[7])?,
                    max: extreme(&rest[8])?,
                };
                if !part
                    .sum
                    .bounds_possible(part.min.as_ref(), part.max.as_ref())
                {
                    return Err((
                        line,
                        "a min and max that cannot bound these numbers (in order, and around their mean)"
                            .into(),
                    ));
                }
                acc = Acc::Summary(std::mem::take(summary))
                    .merge(Acc::Summary(Box::new(part)), reduce)
                    .map_err(|e| (line, e.0))?;
            }
            (Acc::Summary(_), _) => return wrong("a 'summary' row"),
            (Acc::Extreme(best), [tag, kind, data]) if tag == b"item" => {
                once("item")?;
                let item = read_item(kind, data.clone(), rows)?;
                acc = Acc::Extreme(best.take())
                    .merge(Acc::Extreme(Some(Box::new(item))), reduce)
                    .map_err(|e| (line, e.0))?;
            }
            (Acc::Extreme(_), _) => return wrong("an 'item' row"),
            (Acc::TopK(kept), [rank, kind, data]) => {
                let rank = if rank == b"-" {
                    None
                } else {
                    match crate::json::parse::parse(rank) {
                        Ok(value) if value.to_canonical() == *rank => Some(value),
                        Ok(_) => return rows.bad("a rank not in its canonical form"),
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
                if let Reduce::Take(n) = reduce
                    && kept.len() as u64 >= *n
                {
                    return Err((line, format!("more records than '{reduce}' keeps")));
                }
                kept.push((position, read_item(kind, data.clone(), rows)?));
            }
            (Acc::Take(_), _) => return wrong("a record row: kind, record"),
            (Acc::Group(_), _) => return wrong("no groups here"),
        }
    }
}

/// The state read from `taken` rows (from row `first_row`), checked as a
/// whole: one row where rbag writes one, ranked records in their order.
fn complete(
    acc: Acc,
    rows: &Rows<'_>,
    taken: u64,
    first_row: usize,
    reduce: &Reduce,
) -> Result<Acc, Bad> {
    let once = matches!(acc, Acc::Count(_) | Acc::Sum(_) | Acc::Summary(_));
    if once && taken != 1 {
        return Err((
            rows.line() + 1,
            "a count or sum is one row, and here there is none".into(),
        ));
    }
    if let Acc::TopK(kept) = &acc {
        let ranked = ranked_in_order(kept.clone(), reduce);
        let in_order = ranked.len() == kept.len()
            && ranked
                .iter()
                .zip(kept)
                .all(|(a, b)| a.position == b.position);
        if !in_order {
            return Err((
                rows.first_line + first_row as u64,
                format!("records not in the order of '{reduce}', or more than it keeps"),
            ));
        }
    }
    Ok(acc)
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
        let key = match tsv::read_field(&line[..tab]) {
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
