//! What one worker accumulates for a reduction, and the one exact merge of
//! two such states: frequency tables, exact sums, extremes, the records
//! `topk` and `take` keep (with their positions, so that ties and order
//! are input order), and groups of any of these.

use std::cmp::Ordering;

use super::keys::KeyCounts;
use crate::json::{Number, Value};
use crate::numbers::ExactSum;
use crate::pipeline::ast::Reduce;
use crate::pipeline::eval::{Dropped, StageError, number_of, shorten};
use crate::pipeline::item::{Item, View};
use crate::pipeline::project::project_opt;
use crate::table::KeyKind;

/// A record's place in the input: source (or part), block, and the order of
/// the record (or of the items a flatten made of it) in the block. Order of
/// positions is input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Position {
    pub source: u32,
    pub block: u64,
    pub item: u64,
}

/// What a worker accumulates for one reduction.
#[derive(Debug, Clone)]
pub enum Acc {
    Frequencies(Box<KeyCounts>),
    Distinct(Box<KeyCounts>),
    Count(u64),
    /// `sum`, `mean`, `var` and `std`.
    Sum(Box<ExactSum>),
    /// `min` or `max`: the extreme record so far (boxed, as every large
    /// state is, so that a group's state is small).
    Extreme(Option<Box<Item<'static>>>),
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

/// Partial results per group key: the keys in a count table (lean: short
/// keys inline, no allocation per key) whose number for each key is the
/// place of its state in `states`, plus one.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    keys: KeyCounts,
    states: Vec<Acc>,
}

impl Groups {
    /// The state of group `key`, made by `new` if the group is new.
    pub fn state(&mut self, kind: KeyKind, key: &[u8], new: impl FnOnce() -> Acc) -> &mut Acc {
        let next = self.states.len() as u64 + 1;
        let at = self.keys.entry(kind, key, next);
        if at == next {
            self.states.push(new());
        }
        &mut self.states[(at - 1) as usize]
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Every group's key and state, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (KeyKind, &[u8], &Acc)> {
        self.keys
            .iter()
            .map(|(kind, key, at)| (kind, key, &self.states[(at - 1) as usize]))
    }

    /// Each group's state made a value by `finish`: the keys, whose
    /// number is the place of their value in the list, plus one.
    pub fn finish<E>(
        self,
        finish: impl FnMut(Acc) -> Result<Value, E>,
    ) -> Result<(KeyCounts, Vec<Value>), E> {
        // Collected in place: a value takes the memory of its state.
        let values = self
            .states
            .into_iter()
            .map(finish)
            .collect::<Result<_, E>>()?;
        Ok((self.keys, values))
    }

    /// `other`'s groups merged into these.
    fn merge(mut self, other: Groups, reduce: &Reduce) -> Result<Groups, MergeError> {
        if other.len() > self.len() {
            return other.merge(self, reduce);
        }
        let Groups {
            keys,
            states: mut theirs,
        } = other;
        let take = |states: &mut Vec<Acc>, at: u64| {
            std::mem::replace(&mut states[(at - 1) as usize], Acc::Count(0))
        };
        for (kind, key, at) in keys.iter() {
            let state = take(&mut theirs, at);
            let next = self.states.len() as u64 + 1;
            let mine = self.keys.entry(kind, key, next);
            if mine == next {
                self.states.push(state);
            } else {
                let merged = take(&mut self.states, mine).merge(state, reduce)?;
                self.states[(mine - 1) as usize] = merged;
            }
        }
        Ok(self)
    }
}

/// Why two partial results do not merge exactly: they are states of
/// different reductions, or their counts add up past what a count holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

impl Acc {
    /// An empty accumulator for `reduce`.
    pub fn new(reduce: &Reduce) -> Acc {
        match reduce {
            Reduce::Frequencies => Acc::Frequencies(Box::default()),
            Reduce::Distinct => Acc::Distinct(Box::default()),
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
                    *best = Some(Box::new(item.into_owned()));
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
    ///
    /// # Errors
    /// As [`Acc::merge`].
    pub fn merge_all(
        accs: Vec<Acc>,
        reduce: &Reduce,
        pool: Option<&rayon::ThreadPool>,
    ) -> Option<Result<Acc, MergeError>> {
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
                    Acc::Frequencies(c) | Acc::Distinct(c) => Some(*c),
                    _ => None,
                })
                .collect();
            let merged = KeyCounts::merge_all(counts, pool);
            return Some(Ok(if frequencies {
                Acc::Frequencies(Box::new(merged))
            } else {
                Acc::Distinct(Box::new(merged))
            }));
        }
        let mut accs = accs.into_iter();
        let first = accs.next()?;
        Some(accs.try_fold(first, |a, b| a.merge(b, reduce)))
    }

    /// Combine two partial results of the same reduction.
    ///
    /// # Errors
    /// The two are states of different reductions, or their counts add up
    /// past what a count holds: never picked one of the two silently.
    pub fn merge(self, other: Acc, reduce: &Reduce) -> Result<Acc, MergeError> {
        Ok(match (self, other) {
            (Acc::Frequencies(a), Acc::Frequencies(b)) => Acc::Frequencies(Box::new(a.merge(*b))),
            (Acc::Distinct(a), Acc::Distinct(b)) => Acc::Distinct(Box::new(a.merge(*b))),
            (Acc::Count(a), Acc::Count(b)) => Acc::Count(a.checked_add(b).ok_or_else(|| {
                MergeError(format!(
                    "{reduce}: the counts add up to more than {}",
                    u64::MAX
                ))
            })?),
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
            (Acc::Group(a), Acc::Group(b)) => Acc::Group(a.merge(b, reduce)?),
            (a, b) => {
                return Err(MergeError(format!(
                    "{reduce}: a {} cannot merge with a {}",
                    a.state_name(),
                    b.state_name()
                )));
            }
        })
    }

    /// How many distinct keys (or groups) the state holds, for `--stats`.
    pub fn distinct_keys(&self) -> usize {
        match self {
            Acc::Frequencies(counts) | Acc::Distinct(counts) => counts.len(),
            Acc::Group(groups) => groups.len(),
            _ => 0,
        }
    }

    /// What kind of state this is, for messages.
    fn state_name(&self) -> &'static str {
        match self {
            Acc::Frequencies(_) => "frequency table",
            Acc::Distinct(_) => "set of keys",
            Acc::Count(_) => "count",
            Acc::Sum(_) => "sum",
            Acc::Extreme(_) => "extreme record",
            Acc::Summary(_) => "summary",
            Acc::TopK(_) => "ranking",
            Acc::Take(_) => "list of records",
            Acc::Group(_) => "table of groups",
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
pub(super) fn ranked_order(a: &Ranked, b: &Ranked, bottom: bool) -> Ordering {
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

pub(super) fn prune_ranked(kept: &mut Vec<Ranked>, k: usize, bottom: bool) {
    if kept.len() > k {
        if k == 0 {
            kept.clear();
            return;
        }
        kept.select_nth_unstable_by(k - 1, |a, b| ranked_order(a, b, bottom));
        kept.truncate(k);
    }
}
