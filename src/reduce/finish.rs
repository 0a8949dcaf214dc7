//! The answer of a reduction: a table, group rows, records, or one value,
//! from the merged state; and the orders group rows print in.

use super::acc::{Acc, Position, Ranked, SummaryAcc, prune_ranked, ranked_order};
use super::keys::KeyCounts;
use crate::json::{Number, Value};
use crate::numbers::SumError;
use crate::pipeline::ast::Reduce;
use crate::pipeline::item::Item;
use crate::table::{KeyKind, Order, key_cmp};

/// Why a reduction has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoAnswer(pub String);

/// The result of a reduction.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A frequency table, in no order yet.
    Counts(KeyCounts),
    /// The distinct keys of `distinct`, in no order yet: their records
    /// print in the order of keys.
    Distinct(KeyCounts),
    /// Rows of a table in their final order.
    Rows(Vec<(KeyKind, Vec<u8>, u64)>),
    /// One value per group, in no order yet: the keys, each numbered by
    /// the place of its value (plus one). Printed in the order of keys
    /// straight from the table; other orders make it [`Outcome::Groups`].
    GroupTable {
        keys: KeyCounts,
        values: Vec<Value>,
        summary: bool,
    },
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

impl GroupRow {
    /// Sort group rows: by key ([`Order::Key`], the default for groups),
    /// or by value, largest first in the order of values, then by key.
    pub fn arrange(rows: &mut [GroupRow], order: Order) {
        let by_key = |a: &GroupRow, b: &GroupRow| key_cmp((a.kind, &a.key), (b.kind, &b.key));
        match order {
            Order::Key => rows.sort_by(by_key),
            Order::Count => {
                rows.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| by_key(a, b)))
            }
        }
    }

    /// Group rows in their output order: as a later stage left them
    /// (`ordered`), or by `sort` (by key unless told otherwise).
    pub fn in_order(mut rows: Vec<GroupRow>, ordered: bool, sort: Option<Order>) -> Vec<GroupRow> {
        if !ordered {
            GroupRow::arrange(&mut rows, sort.unwrap_or(Order::Key));
        }
        rows
    }
}

impl Outcome {
    /// The outcome with a group table made rows ([`Outcome::Groups`]).
    #[must_use]
    pub fn with_group_rows(self) -> Outcome {
        let Outcome::GroupTable {
            keys,
            mut values,
            summary,
        } = self
        else {
            return self;
        };
        let rows = keys
            .iter()
            .map(|(kind, key, at)| GroupRow {
                kind,
                key: key.to_vec(),
                value: std::mem::replace(&mut values[(at - 1) as usize], Value::Null),
            })
            .collect();
        Outcome::Groups {
            rows,
            summary,
            ordered: false,
        }
    }
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
            Acc::Frequencies(counts) => Outcome::Counts(*counts),
            Acc::Group(groups) => {
                let summary = *reduce == Reduce::Summary;
                let (keys, values) = groups.finish(|acc| acc.finish_value(reduce))?;
                Outcome::GroupTable {
                    keys,
                    values,
                    summary,
                }
            }
            Acc::Summary(summary) => Outcome::Summary(summary.value(reduce)?),
            Acc::Distinct(counts) => Outcome::Distinct(*counts),
            Acc::TopK(kept) => Outcome::Records(ranked_records(kept, reduce)),
            Acc::Take(kept) => Outcome::Records(kept),
            Acc::Extreme(None) => {
                return Err(NoAnswer(format!("{reduce}: no records in the input")));
            }
            Acc::Extreme(Some(item)) => Outcome::Scalar(*item),
            acc => Outcome::Scalar(Item::value(acc.finish_value(reduce)?)),
        })
    }

    /// The answer as one value (the value of a group).
    fn finish_value(self, reduce: &Reduce) -> Result<Value, NoAnswer> {
        Ok(match self {
            Acc::Count(n) => Value::Number(Number::count(n)),
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
                rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| key_cmp((a.0, a.1), (b.0, b.1))));
                Value::Array(
                    rows.into_iter()
                        .map(|(kind, key, count)| {
                            Value::object([
                                ("key", Item::from_key(kind, key).to_value()),
                                ("count", Value::Number(Number::count(count))),
                            ])
                        })
                        .collect(),
                )
            }
            Acc::Distinct(counts) => {
                // A group's own keys: few, sorted here.
                let mut keys: Vec<_> = counts.iter().map(|(kind, key, _)| (kind, key)).collect();
                keys.sort_unstable_by(|a, b| key_cmp(*a, *b));
                Value::Array(
                    keys.into_iter()
                        .map(|(kind, key)| Item::from_key(kind, key).to_value())
                        .collect(),
                )
            }
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
    pub(super) fn value(&self, reduce: &Reduce) -> Result<Value, NoAnswer> {
        let count = Value::Number(Number::count(self.sum.count));
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
/// The records of `distinct`, in the order of keys, as a later stage
/// takes them.
pub fn distinct_records(
    counts: KeyCounts,
    pool: &rayon::ThreadPool,
) -> Vec<(Position, Item<'static>)> {
    let runs = counts.into_runs(Order::Key, pool);
    crate::counts::merge_runs(&runs, Order::Key)
        .enumerate()
        .map(|(i, row)| {
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            (position, Item::from_key(row.kind, row.key))
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
