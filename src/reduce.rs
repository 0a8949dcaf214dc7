//! Reductions (`frequencies`, `count`, `distinct`, `sum`, `min`, `max`,
//! `mean`, `topk`): what one worker accumulates from the records that reach
//! the end of a pipeline, how two partial results merge, and the answer.
//!
//! Every merge is exact and every answer is ordered totally, so neither the
//! number of workers nor the blocks they happened to take show in the
//! output.

use std::cmp::Ordering;

use serde_json::Value;

use crate::cli::Format;
use crate::counts::Counts;
use crate::error::Error;
use crate::numbers::{ExactSum, Num};
use crate::pipeline::eval::{StageError, number_of};
use crate::pipeline::item::{Item, KeyKind, canonical};
use crate::pipeline::parse::Reduce;
use crate::pipeline::path::Path;

/// A record's place in the input: block sequence and index in the block.
pub type Position = (u64, u64);

/// Counts of keys, text and JSON apart (they never share a key).
#[derive(Debug, Clone, Default)]
pub struct KeyCounts {
    pub text: Counts,
    pub json: Counts,
}

impl KeyCounts {
    fn add(&mut self, item: &Item<'_>) {
        let (kind, key) = item.key();
        match kind {
            KeyKind::Text => self.text.add(&key),
            KeyKind::Json => self.json.add(&key),
        }
    }

    fn merge(self, other: KeyCounts) -> KeyCounts {
        KeyCounts {
            text: self.text.merge(other.text),
            json: self.json.merge(other.json),
        }
    }

    /// Every key with its kind and count.
    pub fn iter(&self) -> impl Iterator<Item = (KeyKind, &[u8], u64)> + '_ {
        let text = self.text.iter().map(|(k, c)| (KeyKind::Text, k, c));
        let json = self.json.iter().map(|(k, c)| (KeyKind::Json, k, c));
        text.chain(json)
    }
}

/// What a worker accumulates.
#[derive(Debug, Clone)]
pub enum Acc {
    Frequencies(KeyCounts),
    Distinct(KeyCounts),
    Count(u64),
    Sum(ExactSum),
    Mean(ExactSum),
    Min(Option<Num>),
    Max(Option<Num>),
    TopK(TopK),
}

impl Acc {
    /// An empty accumulator for `reduce`; `None` for `take`, which streams.
    pub fn new(reduce: &Reduce) -> Option<Acc> {
        Some(match reduce {
            Reduce::Frequencies => Acc::Frequencies(KeyCounts::default()),
            Reduce::Distinct => Acc::Distinct(KeyCounts::default()),
            Reduce::Count => Acc::Count(0),
            Reduce::Sum => Acc::Sum(ExactSum::default()),
            Reduce::Mean => Acc::Mean(ExactSum::default()),
            Reduce::Min => Acc::Min(None),
            Reduce::Max => Acc::Max(None),
            Reduce::TopK { k, by } => Acc::TopK(TopK::new(*k, by.clone())),
            Reduce::Take(_) => return None,
        })
    }

    /// Take one record.
    ///
    /// # Errors
    /// A numeric reduction given something that is not a number.
    pub fn add(&mut self, item: Item<'_>, position: Position) -> Result<(), StageError> {
        let number = |name: &str, item: &Item<'_>| {
            number_of(item).ok_or_else(|| StageError {
                message: format!("{name}: not a number: {}", shorten(&item.text())),
                bad_json: false,
            })
        };
        match self {
            Acc::Frequencies(counts) | Acc::Distinct(counts) => counts.add(&item),
            Acc::Count(n) => *n += 1,
            Acc::Sum(sum) => sum.add(number("sum", &item)?),
            Acc::Mean(sum) => sum.add(number("mean", &item)?),
            Acc::Min(min) => {
                let n = number("min", &item)?;
                if min.is_none_or(|m| n.total_cmp(&m) == Ordering::Less) {
                    *min = Some(n);
                }
            }
            Acc::Max(max) => {
                let n = number("max", &item)?;
                if max.is_none_or(|m| n.total_cmp(&m) == Ordering::Greater) {
                    *max = Some(n);
                }
            }
            Acc::TopK(top) => top.add(item, position),
        }
        Ok(())
    }

    /// Combine two partial results of the same reduction.
    pub fn merge(self, other: Acc) -> Acc {
        match (self, other) {
            (Acc::Frequencies(a), Acc::Frequencies(b)) => Acc::Frequencies(a.merge(b)),
            (Acc::Distinct(a), Acc::Distinct(b)) => Acc::Distinct(a.merge(b)),
            (Acc::Count(a), Acc::Count(b)) => Acc::Count(a + b),
            (Acc::Sum(mut a), Acc::Sum(b)) => {
                a.merge(&b);
                Acc::Sum(a)
            }
            (Acc::Mean(mut a), Acc::Mean(b)) => {
                a.merge(&b);
                Acc::Mean(a)
            }
            (Acc::Min(a), Acc::Min(b)) => Acc::Min(pick(a, b, Ordering::Less)),
            (Acc::Max(a), Acc::Max(b)) => Acc::Max(pick(a, b, Ordering::Greater)),
            (Acc::TopK(mut a), Acc::TopK(b)) => {
                a.merge(b);
                Acc::TopK(a)
            }
            (a, _) => a,
        }
    }

    /// Records that `topk ... by` skipped for lacking the path.
    pub fn missing_path(&self) -> u64 {
        match self {
            Acc::TopK(top) => top.missing,
            _ => 0,
        }
    }
}

fn pick(a: Option<Num>, b: Option<Num>, wanted: Ordering) -> Option<Num> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.total_cmp(&x) == wanted { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// Text for a message: at most 40 characters, lossy.
fn shorten(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

/// How a scalar reduction's answer prints: one line.
///
/// # Errors
/// No answer: the minimum, maximum or mean of no numbers, or a sum that
/// overflowed.
pub fn scalar(acc: &Acc) -> Result<Option<String>, Error> {
    let json = |n: Num| n.to_json().to_string();
    let none = |what: &str| Error::NoResult(format!("{what}: no numbers in the input"));
    let overflow = |what: &str| {
        Error::NoResult(format!(
            "{what}: the sum overflows (past 128-bit integers or 64-bit floats)"
        ))
    };
    Ok(Some(match acc {
        Acc::Count(n) => n.to_string(),
        Acc::Sum(sum) => json(sum.total().ok_or_else(|| overflow("sum"))?),
        Acc::Mean(sum) if sum.count == 0 => return Err(none("mean")),
        Acc::Mean(sum) => json(Num::Float(sum.mean().ok_or_else(|| overflow("mean"))?)),
        Acc::Min(min) => json(min.ok_or_else(|| none("min"))?),
        Acc::Max(max) => json(max.ok_or_else(|| none("max"))?),
        _ => return Ok(None),
    }))
}

/// The `k` largest records, ties in input order.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    by: Option<Path>,
    kept: Vec<Ranked>,
    /// Records without the `by` path.
    missing: u64,
}

#[derive(Debug, Clone)]
struct Ranked {
    rank: Rank,
    position: Position,
    item: Item<'static>,
}

/// A total order over JSON values (and text, as strings): null < false <
/// true < numbers < strings < arrays < objects; numbers by value, strings
/// by bytes, arrays and objects by canonical form.
#[derive(Debug, Clone, PartialEq)]
enum Rank {
    Null,
    Bool(bool),
    Number(Num),
    Text(Vec<u8>),
    Array(Vec<u8>),
    Object(Vec<u8>),
}

impl Rank {
    fn of(value: &Value) -> Rank {
        match value {
            Value::Null => Rank::Null,
            Value::Bool(b) => Rank::Bool(*b),
            Value::Number(n) => Rank::Number(Num::from_json(n)),
            Value::String(s) => Rank::Text(s.as_bytes().to_vec()),
            Value::Array(_) => Rank::Array(canonical(value)),
            Value::Object(_) => Rank::Object(canonical(value)),
        }
    }

    fn order(&self) -> u8 {
        match self {
            Rank::Null => 0,
            Rank::Bool(_) => 1,
            Rank::Number(_) => 2,
            Rank::Text(_) => 3,
            Rank::Array(_) => 4,
            Rank::Object(_) => 5,
        }
    }

    fn cmp(&self, other: &Rank) -> Ordering {
        match (self, other) {
            (Rank::Bool(a), Rank::Bool(b)) => a.cmp(b),
            (Rank::Number(a), Rank::Number(b)) => a.total_cmp(b),
            (Rank::Text(a), Rank::Text(b))
            | (Rank::Array(a), Rank::Array(b))
            | (Rank::Object(a), Rank::Object(b)) => a.cmp(b),
            _ => self.order().cmp(&other.order()),
        }
    }
}

impl TopK {
    fn new(k: usize, by: Option<Path>) -> TopK {
        TopK {
            k,
            by,
            kept: Vec::new(),
            missing: 0,
        }
    }

    fn order(a: &Ranked, b: &Ranked) -> Ordering {
        b.rank.cmp(&a.rank).then(a.position.cmp(&b.position))
    }

    fn add(&mut self, item: Item<'_>, position: Position) {
        if self.k == 0 {
            return;
        }
        let rank = match (&self.by, &item) {
            (None, Item::Json(value, _)) => Rank::of(value),
            (None, Item::Text(text)) => Rank::Text(text.to_vec()),
            (Some(path), Item::Json(value, _)) => match path.lookup(value) {
                Some(found) => Rank::of(found),
                None => {
                    self.missing += 1;
                    return;
                }
            },
            (Some(_), Item::Text(_)) => {
                self.missing += 1;
                return;
            }
        };
        self.kept.push(Ranked {
            rank,
            position,
            item: item.into_owned(),
        });
        // Prune now and then rather than on every record: amortised
        // O(log k) per record, and memory stays within 2k records.
        if self.kept.len() >= 2 * self.k.max(16) {
            self.prune();
        }
    }

    fn prune(&mut self) {
        if self.kept.len() > self.k {
            self.kept.select_nth_unstable_by(self.k - 1, Self::order);
            self.kept.truncate(self.k);
        }
    }

    fn merge(&mut self, other: TopK) {
        self.missing += other.missing;
        self.kept.extend(other.kept);
        self.prune();
    }

    /// The records, largest first.
    pub fn into_items(mut self) -> Vec<Item<'static>> {
        self.prune();
        self.kept.sort_by(Self::order);
        self.kept.into_iter().map(|r| r.item).collect()
    }
}

/// How records print: as text (`tsv`, `csv`) or as JSON (`jsonl`, `json`).
/// In `json`, each record is written as `,\n` then the value, and the
/// writer turns the stream into one array (see [`JsonArray`]).
#[derive(Debug, Clone, Copy)]
pub struct RecordFormat {
    pub format: Format,
    pub terminator: u8,
}

impl RecordFormat {
    /// Append one record.
    pub fn write(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        match self.format {
            Format::Tsv | Format::Csv => {
                item.write_text(out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn text(s: &'static str) -> Item<'static> {
        Item::Text(Cow::Borrowed(s.as_bytes()))
    }

    fn json(s: &str) -> Item<'static> {
        Item::Json(serde_json::from_str(s).unwrap(), None)
    }

    fn answer(reduce: Reduce, items: Vec<Item<'static>>) -> Result<Option<String>, Error> {
        // Split the input in two partials, the second added in reverse, to
        // show that order and grouping do not matter.
        let mid = items.len() / 2;
        let mut a = Acc::new(&reduce).unwrap();
        let mut b = Acc::new(&reduce).unwrap();
        for (i, item) in items.into_iter().enumerate() {
            let target = if i < mid { &mut a } else { &mut b };
            target
                .add(item, (0, i as u64))
                .map_err(|e| Error::Usage(e.message))?;
        }
        scalar(&b.merge(a))
    }

    #[test]
    fn scalar_reductions() {
        let nums = || vec![json("3"), text(" 4.5 "), json("-1"), text("2")];
        assert_eq!(answer(Reduce::Count, nums()).unwrap().unwrap(), "4");
        assert_eq!(answer(Reduce::Sum, nums()).unwrap().unwrap(), "8.5");
        assert_eq!(answer(Reduce::Mean, nums()).unwrap().unwrap(), "2.125");
        assert_eq!(answer(Reduce::Min, nums()).unwrap().unwrap(), "-1");
        assert_eq!(answer(Reduce::Max, nums()).unwrap().unwrap(), "4.5");
        assert_eq!(
            answer(Reduce::Sum, vec![json("1"), json("2")])
                .unwrap()
                .unwrap(),
            "3"
        );
        assert_eq!(answer(Reduce::Sum, vec![]).unwrap().unwrap(), "0");
    }

    #[test]
    fn empty_and_bad_inputs_are_errors_not_panics() {
        for reduce in [Reduce::Min, Reduce::Max, Reduce::Mean] {
            let err = answer(reduce, vec![]).unwrap_err().to_string();
            assert!(err.ends_with(": no numbers in the input"), "{err}");
        }
        let err = answer(Reduce::Sum, vec![json("1"), text("abc")])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "sum: not a number: \"abc\"");
        let big = i128::MAX.to_string();
        let items = vec![json("1"), Item::Text(Cow::Owned(big.into_bytes()))];
        // i128::MAX does not fit JSON's 64-bit integers: read as a float.
        assert!(answer(Reduce::Sum, items).is_ok());
    }

    #[test]
    fn topk_orders_by_value_then_input_position() {
        let mut top = TopK::new(3, Some(Path::parse_prefix(".s").unwrap().0));
        let records = [
            r#"{"s":2,"i":0}"#,
            r#"{"s":5,"i":1}"#,
            r#"{"i":2}"#,
            r#"{"s":2,"i":3}"#,
            r#"{"s":2.5,"i":4}"#,
            r#"{"s":"x","i":5}"#,
        ];
        for (i, r) in records.iter().enumerate() {
            top.add(json(r), (0, i as u64));
        }
        assert_eq!(top.missing, 1);
        let order: Vec<String> = top
            .into_items()
            .into_iter()
            .map(|item| String::from_utf8(item.text().into_owned()).unwrap())
            .collect();
        assert_eq!(
            order,
            [
                r#"{"i":5,"s":"x"}"#,
                r#"{"i":1,"s":5}"#,
                r#"{"i":4,"s":2.5}"#
            ]
        );
    }

    #[test]
    fn json_array_wraps_prefixed_records() {
        let mut array = JsonArray::default();
        let mut out = Vec::new();
        for chunk in [&b""[..], b",\n1,\n2", b",\n3"] {
            let (head, body) = array.chunk(chunk);
            out.extend_from_slice(head);
            out.extend_from_slice(body);
        }
        out.extend_from_slice(array.end());
        assert_eq!(out, b"[\n1,\n2,\n3\n]\n");
        assert_eq!(JsonArray::default().end(), b"[]\n");
    }
}
