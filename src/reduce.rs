//! Reductions: what one worker accumulates from the records that reach a
//! reduction (per group, under `group`), how two partial results merge
//! exactly, and the outcome, which prints as a table, a value or records,
//! or flows on as a bag into the stages after the reduction.
//!
//! Every merge is exact and every outcome ordered totally, so neither the
//! number of workers nor the blocks they happened to take show in the
//! output.

use std::cmp::Ordering;

use crate::counts::Counts;
use crate::json::{Number, Value};
use crate::numbers::{ExactSum, SumError};
use crate::pipeline::eval::{Dropped, Evaluator, StageError, number_of, project_opt, shorten};
use crate::pipeline::item::{Item, KeyKind, View};
use crate::pipeline::parse::{Group, Key, Reduce};

/// A record's place in the input: source (or part), block, and the order of
/// the record (or of the items a flatten made of it) in the block. Order of
/// positions is input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Position {
    pub source: u32,
    pub block: u64,
    pub item: u64,
}

/// Counts of keys, text and JSON apart (they never share a key).
#[derive(Debug, Clone, Default)]
pub struct KeyCounts {
    pub text: Counts,
    pub json: Counts,
}

impl KeyCounts {
    pub fn add(&mut self, item: &Item<'_>) {
        let (kind, key) = item.key();
        self.add_key(kind, &key, 1);
    }

    /// Count one key, perhaps later (see [`Counts::add_soon`]).
    pub fn add_soon(&mut self, kind: KeyKind, key: &[u8]) {
        match kind {
            KeyKind::Text => self.text.add_soon(key, 1),
            KeyKind::Json => self.json.add_soon(key, 1),
        }
    }

    /// Count the keys [`KeyCounts::add_soon`] left waiting.
    pub fn settle(&mut self) {
        self.text.settle();
        self.json.settle();
    }

    pub fn add_key(&mut self, kind: KeyKind, key: &[u8], count: u64) {
        match kind {
            KeyKind::Text => self.text.add_count(key, count),
            KeyKind::Json => self.json.add_count(key, count),
        }
    }

    pub fn merge(self, other: KeyCounts) -> KeyCounts {
        KeyCounts {
            text: self.text.merge(other.text),
            json: self.json.merge(other.json),
        }
    }

    /// All of `counts` together, merged in parallel on `pool` when large.
    pub fn merge_all(counts: Vec<KeyCounts>, pool: Option<&rayon::ThreadPool>) -> KeyCounts {
        let (text, json) = counts.into_iter().map(|c| (c.text, c.json)).unzip();
        KeyCounts {
            text: Counts::merge_all(text, pool),
            json: Counts::merge_all(json, pool),
        }
    }

    /// A row for every key, in no particular order.
    pub fn rows(&self) -> Vec<crate::output::Row<'_>> {
        let mut rows = Vec::with_capacity(self.len());
        rows.extend(
            self.iter()
                .map(|(kind, key, count)| crate::output::Row::new(key, count, kind)),
        );
        rows
    }

    /// Every key with its kind and count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (KeyKind, &[u8], u64)> + '_ {
        let text = self.text.iter().map(|(k, c)| (KeyKind::Text, k, c));
        let json = self.json.iter().map(|(k, c)| (KeyKind::Json, k, c));
        text.chain(json)
    }

    pub fn len(&self) -> usize {
        self.text.len() + self.json.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a worker accumulates for one reduction.
#[derive(Debug, Clone)]
pub enum Acc {
    Frequencies(KeyCounts),
    Distinct(KeyCounts),
    Count(u64),
    /// `sum`, `mean`, `var` and `std`.
    Sum(Box<ExactSum>),
    /// `min` or `max`: the extreme record so far.
    Extreme(Option<Item<'static>>),
    Summary(Box<SummaryAcc>),
    TopK(Vec<Ranked>),
    Take(Vec<(Position, Item<'static>)>),
    Group(Groups),
}

/// `summary`: exact sums and the extremes, of numbers.
#[derive(Debug, Clone, Default)]
pub struct SummaryAcc {
    pub sum: ExactSum,
    pub min: Option<Number>,
    pub max: Option<Number>,
}

/// A record kept by `topk`/`bottomk`, with what it is ranked by.
#[derive(Debug, Clone)]
pub struct Ranked {
    /// The value of `by`; `None` ranks the record itself.
    pub rank: Option<Value>,
    pub position: Position,
    pub item: Item<'static>,
}

/// Partial results per group key.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub map: foldhash::HashMap<(KeyKind, Vec<u8>), Acc>,
}

/// A reduction ready to take records: the group key and stages if any, and
/// the reduction.
pub struct Reducer {
    pub reduce: Reduce,
    group: Option<(Key, Evaluator)>,
}

impl Reducer {
    pub fn new(reduce: Reduce, group: Option<Group>) -> Reducer {
        Reducer {
            reduce,
            group: group.map(|g| (g.key, Evaluator::new(g.stages))),
        }
    }

    /// Whether records are grouped.
    pub fn is_grouped(&self) -> bool {
        self.group.is_some()
    }

    /// An empty accumulator.
    pub fn new_acc(&self) -> Acc {
        if self.group.is_some() {
            Acc::Group(Groups::default())
        } else {
            Acc::new(&self.reduce)
        }
    }

    /// Take one record.
    ///
    /// # Errors
    /// A stage of the group or the reduction cannot handle the record.
    pub fn add(
        &self,
        acc: &mut Acc,
        item: Item<'_>,
        position: Position,
        dropped: &mut Dropped,
    ) -> Result<(), StageError> {
        let Some((key, stages)) = &self.group else {
            if let Acc::Frequencies(counts) | Acc::Distinct(counts) = acc {
                // Only here, not in groups: the table is settled when it
                // is merged or finished.
                let (kind, key) = item.key();
                counts.add_soon(kind, &key);
                return Ok(());
            }
            return acc.add(&self.reduce, item, position, dropped);
        };
        let Acc::Group(groups) = acc else {
            return Err(StageError::new(
                "internal error: a group without groups".into(),
            ));
        };
        let Some(key) = group_key(key, &item) else {
            dropped.missing_path += 1;
            return Ok(());
        };
        let reduce = &self.reduce;
        let mut inner = Dropped::default();
        let mut at_reduce = Dropped::default();
        let result = stages.run(item, &mut inner, &mut |item| {
            // A group exists once a record reaches its reduction.
            if !groups.map.contains_key(&key) {
                groups.map.insert(key.clone(), Acc::new(reduce));
            }
            let acc = groups.map.get_mut(&key).expect("inserted above");
            acc.add(reduce, item, position, &mut at_reduce)
        });
        dropped.missing_path += inner.missing_path + at_reduce.missing_path;
        result
    }
}

/// The key of a record under `group`: a projection's value, or the text a
/// regex captured. `None` when the record has no key.
fn group_key(key: &Key, item: &Item<'_>) -> Option<(KeyKind, Vec<u8>)> {
    match key {
        Key::Projection(projection) => {
            let value = project_opt(projection, item)?;
            let item = Item::value(value);
            let (kind, bytes) = item.key();
            Some((kind, bytes.into_owned()))
        }
        Key::Regex(pattern) => {
            let text = item.text();
            let caps = pattern.regex.captures(&text)?;
            let found = caps.get(1).or_else(|| caps.get(0))?;
            Some((KeyKind::Text, found.as_bytes().to_vec()))
        }
    }
}

impl Acc {
    /// An empty accumulator for `reduce`.
    pub fn new(reduce: &Reduce) -> Acc {
        match reduce {
            Reduce::Frequencies => Acc::Frequencies(KeyCounts::default()),
            Reduce::Distinct => Acc::Distinct(KeyCounts::default()),
            Reduce::Count => Acc::Count(0),
            Reduce::Sum | Reduce::Mean => Acc::Sum(Box::default()),
            Reduce::Var { .. } => Acc::Sum(Box::new(ExactSum::with_squares())),
            Reduce::Min | Reduce::Max => Acc::Extreme(None),
            Reduce::Summary => Acc::Summary(Box::new(SummaryAcc {
                sum: ExactSum::with_squares(),
                ..SummaryAcc::default()
            })),
            Reduce::TopK { .. } => Acc::TopK(Vec::new()),
            Reduce::Take(_) => Acc::Take(Vec::new()),
        }
    }

    /// Take one record.
    ///
    /// # Errors
    /// A numeric reduction given something that is not a number.
    pub fn add(
        &mut self,
        reduce: &Reduce,
        item: Item<'_>,
        position: Position,
        dropped: &mut Dropped,
    ) -> Result<(), StageError> {
        let number = |item: &Item<'_>| {
            number_of(item).ok_or_else(|| {
                StageError::new(format!("{reduce}: not a number: {}", shorten(item)))
            })
        };
        match (self, reduce) {
            (Acc::Frequencies(counts) | Acc::Distinct(counts), _) => counts.add(&item),
            (Acc::Count(n), _) => *n += 1,
            (Acc::Sum(sum), _) => sum.add(&number(&item)?),
            (Acc::Summary(summary), _) => {
                let n = number(&item)?;
                if summary.min.as_ref().is_none_or(|m| n.total_cmp(m).is_lt()) {
                    summary.min = Some(n.clone());
                }
                if summary.max.as_ref().is_none_or(|m| n.total_cmp(m).is_gt()) {
                    summary.max = Some(n.clone());
                }
                summary.sum.add(&n);
            }
            (Acc::Extreme(best), reduce) => {
                let wanted = if *reduce == Reduce::Max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                if best.as_ref().is_none_or(|b| item.total_cmp(b) == wanted) {
                    *best = Some(item.into_owned());
                }
            }
            (Acc::TopK(kept), Reduce::TopK { k, by, bottom }) => {
                if *k == 0 {
                    return Ok(());
                }
                let rank = match by {
                    None => None,
                    Some(by) => match project_opt(by, &item) {
                        Some(value) => Some(value),
                        None => {
                            dropped.missing_path += 1;
                            return Ok(());
                        }
                    },
                };
                kept.push(Ranked {
                    rank,
                    position,
                    item: item.into_owned(),
                });
                // Prune now and then rather than on every record: amortised
                // O(log k) per record, memory within 2k records.
                if kept.len() >= 2 * (*k).max(16) {
                    prune_ranked(kept, *k, *bottom);
                }
            }
            (Acc::Take(kept), Reduce::Take(n)) => {
                if (kept.len() as u64) < *n {
                    kept.push((position, item.into_owned()));
                } else if let Some(last) = kept.iter().map(|(p, _)| *p).max() {
                    // Blocks reach a worker in input order, so this is rare:
                    // keep the earliest n.
                    if position < last {
                        kept.push((position, item.into_owned()));
                        kept.sort_by_key(|(p, _)| *p);
                        kept.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
                    }
                }
            }
            (Acc::Group(_), _) | (Acc::TopK(_), _) | (Acc::Take(_), _) => {
                return Err(StageError::new(
                    "internal error: mismatched reduction".into(),
                ));
            }
        }
        Ok(())
    }

    /// Combine the partial results of one reduction, in order: frequency
    /// and distinct tables in parallel on `pool`, the rest one by one.
    pub fn merge_all(
        accs: Vec<Acc>,
        reduce: &Reduce,
        pool: Option<&rayon::ThreadPool>,
    ) -> Option<Acc> {
        let tables = |accs: &[Acc]| -> Option<bool> {
            let frequencies = accs.iter().all(|a| matches!(a, Acc::Frequencies(_)));
            let distinct = accs.iter().all(|a| matches!(a, Acc::Distinct(_)));
            (!accs.is_empty() && (frequencies || distinct)).then_some(frequencies)
        };
        if let Some(frequencies) = tables(&accs) {
            // Merging settles the tables, even one alone.
            let counts = accs
                .into_iter()
                .filter_map(|a| match a {
                    Acc::Frequencies(c) | Acc::Distinct(c) => Some(c),
                    _ => None,
                })
                .collect();
            let merged = KeyCounts::merge_all(counts, pool);
            return Some(if frequencies {
                Acc::Frequencies(merged)
            } else {
                Acc::Distinct(merged)
            });
        }
        accs.into_iter().reduce(|a, b| a.merge(b, reduce))
    }

    /// Combine two partial results of the same reduction.
    pub fn merge(self, other: Acc, reduce: &Reduce) -> Acc {
        match (self, other) {
            (Acc::Frequencies(a), Acc::Frequencies(b)) => Acc::Frequencies(a.merge(b)),
            (Acc::Distinct(a), Acc::Distinct(b)) => Acc::Distinct(a.merge(b)),
            (Acc::Count(a), Acc::Count(b)) => Acc::Count(a + b),
            (Acc::Sum(mut a), Acc::Sum(b)) => {
                a.merge(&b);
                Acc::Sum(a)
            }
            (Acc::Summary(mut a), Acc::Summary(b)) => {
                a.sum.merge(&b.sum);
                a.min = pick(a.min.take(), b.min, Ordering::Less);
                a.max = pick(a.max.take(), b.max, Ordering::Greater);
                Acc::Summary(a)
            }
            (Acc::Extreme(a), Acc::Extreme(b)) => {
                let wanted = if *reduce == Reduce::Max {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                Acc::Extreme(match (a, b) {
                    (Some(x), Some(y)) => Some(if y.total_cmp(&x) == wanted { y } else { x }),
                    (x, y) => x.or(y),
                })
            }
            (Acc::TopK(mut a), Acc::TopK(b)) => {
                a.extend(b);
                if let Reduce::TopK { k, bottom, .. } = reduce {
                    prune_ranked(&mut a, *k, *bottom);
                }
                Acc::TopK(a)
            }
            (Acc::Take(mut a), Acc::Take(b)) => {
                a.extend(b);
                a.sort_by_key(|(p, _)| *p);
                if let Reduce::Take(n) = reduce {
                    a.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
                }
                Acc::Take(a)
            }
            (Acc::Group(mut a), Acc::Group(b)) => {
                for (key, acc) in b.map {
                    let merged = match a.map.remove(&key) {
                        Some(mine) => mine.merge(acc, reduce),
                        None => acc,
                    };
                    a.map.insert(key, merged);
                }
                Acc::Group(a)
            }
            (a, _) => a,
        }
    }
}

fn pick(a: Option<Number>, b: Option<Number>, wanted: Ordering) -> Option<Number> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.total_cmp(&x) == wanted { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// The order of `topk` (largest first) or `bottomk` (smallest first); ties
/// in input order.
fn ranked_order(a: &Ranked, b: &Ranked, bottom: bool) -> Ordering {
    fn view(r: &Ranked) -> View<'_> {
        match &r.rank {
            Some(value) => View::Value(value),
            None => r.item.view(),
        }
    }
    let by_rank = view(a).total_cmp(view(b));
    let by_rank = if bottom { by_rank } else { by_rank.reverse() };
    by_rank.then(a.position.cmp(&b.position))
}

fn prune_ranked(kept: &mut Vec<Ranked>, k: usize, bottom: bool) {
    if kept.len() > k {
        if k == 0 {
            kept.clear();
            return;
        }
        kept.select_nth_unstable_by(k - 1, |a, b| ranked_order(a, b, bottom));
        kept.truncate(k);
    }
}

/// Why a reduction has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer(pub String);

/// The result of a reduction.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A frequency table, in no order yet.
    Counts(KeyCounts),
    /// Rows of a table in their final order.
    Rows(Vec<(KeyKind, Vec<u8>, u64)>),
    /// One value per group; `ordered` once a later stage has put them in
    /// its order.
    Groups {
        rows: Vec<GroupRow>,
        summary: bool,
        ordered: bool,
    },
    /// Records in their order.
    Records(Vec<(Position, Item<'static>)>),
    /// One value (`count`, `sum`, `min`, ...).
    Scalar(Item<'static>),
    /// `summary`: one row of count, sum, min, max, mean, std.
    Summary(Value),
}

/// A group's key and its reduction's value.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub kind: KeyKind,
    pub key: Vec<u8>,
    pub value: Value,
}

/// The names of `summary`'s fields, in order.
pub const SUMMARY_FIELDS: [&str; 6] = ["count", "sum", "min", "max", "mean", "std"];

fn no_answer(reduce: &Reduce, error: SumError) -> NoAnswer {
    NoAnswer(match (reduce, error) {
        (Reduce::Var { ddof, .. }, SumError::TooFew) if *ddof > 0 => {
            format!("{reduce}: needs more than {ddof} number(s)")
        }
        (_, SumError::TooFew) => format!("{reduce}: no numbers in the input"),
        (_, SumError::Overflow) => {
            format!("{reduce}: the result is beyond the range of 64-bit floats")
        }
    })
}

fn float(x: f64) -> Value {
    Value::Number(Number::Float(x))
}

impl Acc {
    /// The answer of a reduction that is not grouped.
    ///
    /// # Errors
    /// No answer: the mean of no numbers, an overflow, ...
    pub fn finish(mut self, reduce: &Reduce) -> Result<Outcome, NoAnswer> {
        if let Acc::Frequencies(counts) | Acc::Distinct(counts) = &mut self {
            counts.settle();
        }
        Ok(match self {
            Acc::Frequencies(counts) => Outcome::Counts(counts),
            Acc::Group(groups) => {
                let summary = *reduce == Reduce::Summary;
                let mut rows = Vec::with_capacity(groups.map.len());
                for ((kind, key), acc) in groups.map {
                    let value = acc.finish_value(reduce)?;
                    rows.push(GroupRow { kind, key, value });
                }
                Outcome::Groups {
                    rows,
                    summary,
                    ordered: false,
                }
            }
            Acc::Summary(summary) => Outcome::Summary(summary.value(reduce)?),
            Acc::Distinct(counts) => Outcome::Records(distinct_records(&counts)),
            Acc::TopK(kept) => Outcome::Records(ranked_records(kept, reduce)),
            Acc::Take(kept) => Outcome::Records(kept),
            Acc::Extreme(None) => {
                return Err(NoAnswer(format!("{reduce}: no records in the input")));
            }
            Acc::Extreme(Some(item)) => Outcome::Scalar(item),
            acc => Outcome::Scalar(Item::value(acc.finish_value(reduce)?)),
        })
    }

    /// The answer as one value (the value of a group).
    fn finish_value(self, reduce: &Reduce) -> Result<Value, NoAnswer> {
        Ok(match self {
            Acc::Count(n) => Value::Number(Number::Int(n as i64)),
            Acc::Sum(sum) => match reduce {
                Reduce::Sum => Value::Number(sum.total().map_err(|e| no_answer(reduce, e))?),
                Reduce::Mean => float(sum.mean().map_err(|e| no_answer(reduce, e))?),
                Reduce::Var { ddof, std } => {
                    let var = sum.variance(*ddof).map_err(|e| no_answer(reduce, e))?;
                    float(if *std { var.sqrt() } else { var })
                }
                _ => Value::Null,
            },
            Acc::Extreme(item) => item.map_or(Value::Null, |i| i.to_value()),
            Acc::Summary(summary) => summary.value(reduce)?,
            Acc::Frequencies(counts) => {
                let mut rows: Vec<_> = counts.iter().collect();
                rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(b.1)).then(a.0.cmp(&b.0)));
                Value::Array(
                    rows.into_iter()
                        .map(|(kind, key, count)| {
                            Value::object([
                                ("key", Item::from_key(kind, key).to_value()),
                                ("count", Value::Number(Number::Int(count as i64))),
                            ])
                        })
                        .collect(),
                )
            }
            Acc::Distinct(counts) => Value::Array(
                distinct_records(&counts)
                    .into_iter()
                    .map(|(_, item)| item.to_value())
                    .collect(),
            ),
            Acc::TopK(kept) => Value::Array(
                ranked_records(kept, reduce)
                    .into_iter()
                    .map(|(_, item)| item.to_value())
                    .collect(),
            ),
            Acc::Take(kept) => Value::Array(kept.into_iter().map(|(_, i)| i.to_value()).collect()),
            Acc::Group(_) => Value::Null,
        })
    }
}

impl SummaryAcc {
    fn value(&self, reduce: &Reduce) -> Result<Value, NoAnswer> {
        let count = Value::Number(Number::Int(self.sum.count as i64));
        if self.sum.count == 0 {
            return Err(NoAnswer(format!("{reduce}: no numbers in the input")));
        }
        let total = self.sum.total().map_err(|e| no_answer(reduce, e))?;
        let mean = self.sum.mean().map_err(|e| no_answer(reduce, e))?;
        let std = self
            .sum
            .variance(0)
            .map_err(|e| no_answer(reduce, e))?
            .sqrt();
        let number = |n: &Option<Number>| n.clone().map_or(Value::Null, Value::Number);
        Ok(Value::object([
            ("count", count),
            ("sum", Value::Number(total)),
            ("min", number(&self.min)),
            ("max", number(&self.max)),
            ("mean", float(mean)),
            ("std", float(std)),
        ]))
    }
}

/// `distinct`: each key once, in byte order (text before JSON when the
/// bytes are equal).
fn distinct_records(counts: &KeyCounts) -> Vec<(Position, Item<'static>)> {
    let mut keys: Vec<(KeyKind, &[u8])> = counts.iter().map(|(kind, key, _)| (kind, key)).collect();
    keys.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    keys.into_iter()
        .enumerate()
        .map(|(i, (kind, key))| {
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            (position, Item::from_key(kind, key))
        })
        .collect()
}

fn ranked_records(kept: Vec<Ranked>, reduce: &Reduce) -> Vec<(Position, Item<'static>)> {
    ranked_in_order(kept, reduce)
        .into_iter()
        .map(|r| (r.position, r.item))
        .collect()
}

/// The kept records of `topk`/`bottomk`, cut to K and best first.
pub fn ranked_in_order(mut kept: Vec<Ranked>, reduce: &Reduce) -> Vec<Ranked> {
    let (k, bottom) = match reduce {
        Reduce::TopK { k, bottom, .. } => (*k, *bottom),
        _ => (usize::MAX, false),
    };
    prune_ranked(&mut kept, k, bottom);
    kept.sort_by(|a, b| ranked_order(a, b, bottom));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::parse::{InputKind, parse};
    use std::borrow::Cow;

    fn text(s: &'static str) -> Item<'static> {
        Item::Text(Cow::Borrowed(s.as_bytes()))
    }

    fn json(s: &str) -> Item<'static> {
        Item::value(crate::json::parse::parse(s.as_bytes()).unwrap())
    }

    fn reducer(pipeline: &str) -> Reducer {
        let parsed = parse(pipeline, InputKind::Json).unwrap();
        let reduction = parsed.reduce.unwrap();
        Reducer::new(reduction.reduce, reduction.group)
    }

    /// Split the records in two partials, the second taking its records in
    /// reverse and merged first, to show that order and grouping do not
    /// matter.
    fn answer(pipeline: &str, items: Vec<Item<'static>>) -> Result<Outcome, String> {
        let reducer = reducer(pipeline);
        let mid = items.len() / 2;
        let mut a = reducer.new_acc();
        let mut b = reducer.new_acc();
        let mut dropped = Dropped::default();
        let indexed: Vec<_> = items.into_iter().enumerate().collect();
        let (first, second) = indexed.split_at(mid);
        for (i, item) in first.iter().cloned().chain(second.iter().rev().cloned()) {
            let target = if i < mid { &mut a } else { &mut b };
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            reducer
                .add(target, item, position, &mut dropped)
                .map_err(|e| e.message)?;
        }
        b.merge(a, &reducer.reduce)
            .finish(&reducer.reduce)
            .map_err(|e| e.0)
    }

    fn scalar(pipeline: &str, items: Vec<Item<'static>>) -> String {
        match answer(pipeline, items) {
            Ok(Outcome::Scalar(item)) => String::from_utf8(item.text().into_owned()).unwrap(),
            Ok(Outcome::Summary(v)) => String::from_utf8(v.to_canonical()).unwrap(),
            Ok(other) => panic!("{other:?}"),
            Err(e) => e,
        }
    }

    fn records(pipeline: &str, items: Vec<Item<'static>>) -> Vec<String> {
        match answer(pipeline, items).unwrap() {
            Outcome::Records(r) => r
                .into_iter()
                .map(|(_, i)| String::from_utf8(i.text().into_owned()).unwrap())
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalar_reductions() {
        let nums = || vec![json("3"), text(" 4.5 "), json("-1"), text("2")];
        assert_eq!(scalar("count", nums()), "4");
        assert_eq!(scalar("sum", nums()), "8.5");
        assert_eq!(scalar("mean", nums()), "2.125");
        assert_eq!(scalar("var", nums()), "4.046875");
        assert_eq!(scalar("std 1", nums()), "2.322893310794392");
        assert_eq!(scalar("sum", vec![json("1"), json("2")]), "3");
        assert_eq!(scalar("sum", vec![]), "0");
        assert_eq!(
            scalar("summary", nums()),
            r#"{"count":4,"max":4.5,"mean":2.125,"min":-1,"std":2.011684617428885,"sum":8.5}"#
        );
        assert_eq!(
            scalar(
                "sum",
                vec![json("18446744073709551615"), json("18446744073709551615")]
            ),
            "36893488147419103230"
        );
    }

    #[test]
    fn min_and_max_use_the_order_of_values() {
        let values = || {
            vec![
                json("100"),
                json("\"99\""),
                json("null"),
                json("[1]"),
                text("abc"),
            ]
        };
        assert_eq!(scalar("max", values()), "[1]");
        assert_eq!(scalar("min", values()), "null");
        let numbers = || vec![json("1"), json("1.0"), json("-0.0"), json("0.0")];
        assert_eq!(scalar("max", numbers()), "1.0");
        assert_eq!(scalar("min", numbers()), "-0.0");
    }

    #[test]
    fn empty_and_bad_inputs_are_errors_not_panics() {
        for (pipeline, message) in [
            ("min", "min: no records in the input"),
            ("max", "max: no records in the input"),
            ("mean", "mean: no numbers in the input"),
            ("var 1", "var 1: needs more than 1 number(s)"),
            ("summary", "summary: no numbers in the input"),
        ] {
            assert_eq!(scalar(pipeline, vec![]), message);
        }
        assert_eq!(
            scalar("var 1", vec![json("2")]),
            "var 1: needs more than 1 number(s)"
        );
        assert_eq!(
            scalar("sum", vec![json("1"), text("abc")]),
            "sum: not a number: \"abc\""
        );
        assert_eq!(scalar("sum", vec![json("null")]), "sum: not a number: null");
        assert_eq!(
            scalar("sum", vec![json("1e308"), json("1e308")]),
            "sum: the result is beyond the range of 64-bit floats"
        );
    }

    #[test]
    fn topk_and_bottomk_rank_by_one_order_with_ties_in_input_order() {
        let items = || {
            [
                r#"{"s":2,"i":0}"#,
                r#"{"s":5,"i":1}"#,
                r#"{"i":2}"#,
                r#"{"s":2,"i":3}"#,
                r#"{"s":2.5,"i":4}"#,
                r#"{"s":"x","i":5}"#,
                r#"{"s":100,"i":6}"#,
                r#"{"s":"99","i":7}"#,
            ]
            .iter()
            .map(|r| json(r))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            records("topk 3 by .s", items()),
            [
                r#"{"i":5,"s":"x"}"#,
                r#"{"i":7,"s":"99"}"#,
                r#"{"i":6,"s":100}"#
            ]
        );
        assert_eq!(
            records("bottomk 3 by .s", items()),
            [r#"{"i":0,"s":2}"#, r#"{"i":3,"s":2}"#, r#"{"i":4,"s":2.5}"#]
        );
        assert_eq!(
            records("take 2", items()),
            [r#"{"i":0,"s":2}"#, r#"{"i":1,"s":5}"#]
        );
        assert_eq!(
            records("topk 2", vec![text("b"), text("a"), text("c")]),
            ["c", "b"]
        );
        assert_eq!(
            records(
                "distinct",
                vec![json("2"), text("b"), json("\"b\""), json("10")]
            ),
            ["10", "2", "b"]
        );
    }

    #[test]
    fn groups_reduce_each_key() {
        let items = || {
            [
                r#"{"t":"a","n":1}"#,
                r#"{"t":"b","n":2}"#,
                r#"{"t":"a","n":3.5}"#,
                r#"{"n":9}"#,
                r#"{"t":null,"n":4}"#,
                r#"{"t":"b","n":"x"}"#,
            ]
            .iter()
            .map(|r| json(r))
            .collect::<Vec<_>>()
        };
        let groups = |pipeline: &str| -> Vec<String> {
            let Outcome::Groups { rows, .. } = answer(pipeline, items()).unwrap() else {
                panic!()
            };
            let mut rows: Vec<String> = rows
                .into_iter()
                .map(|r| {
                    format!(
                        "{}={}",
                        String::from_utf8(r.key).unwrap(),
                        String::from_utf8(r.value.to_canonical()).unwrap()
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(groups("group .t | count"), ["a=2", "b=2", "null=1"]);
        assert_eq!(
            groups("group .t | filter .n > 1 | count"),
            ["a=1", "b=2", "null=1"]
        );
        assert_eq!(
            groups("group .t | pluck .n | max"),
            ["a=3.5", "b=\"x\"", "null=4"]
        );
        assert_eq!(
            groups("group .t | topk 1 by .n | pluck .n"),
            Vec::<String>::new()
                .into_iter()
                .chain([
                    "a=[{\"n\":3.5,\"t\":\"a\"}]".to_owned(),
                    "b=[{\"n\":\"x\",\"t\":\"b\"}]".to_owned(),
                    "null=[{\"n\":4,\"t\":null}]".to_owned()
                ])
                .collect::<Vec<_>>()
        );
        assert_eq!(
            answer("group .t | pluck .n | sum", items()).unwrap_err(),
            "sum: not a number: \"x\""
        );
    }
}
