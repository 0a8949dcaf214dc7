//! Sorted runs: a count table turned, part by part, into rows in an
//! output order, and the one merge that streams many runs as one ordered
//! table. A table's rows are never copied out whole: each part is
//! compacted and sorted in place, and the merge holds one row per run.

use std::cmp::Ordering;

use super::{Counts, IN_ARENA, Slot};
use crate::table::{AsRow, KeyKind, Order, Row, by_order};

/// One part of a count table, compacted and sorted: its keys (inline in
/// the slots, longer ones in the arena) in an order.
#[derive(Debug)]
pub(crate) struct Run {
    kind: KeyKind,
    slots: Vec<Slot>,
    arena: Vec<u8>,
}

impl Run {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Row `at`, which must exist.
    pub fn row(&self, at: usize) -> Row<'_> {
        let slot = &self.slots[at];
        Row::new(slot.key(&self.arena), slot.count, self.kind)
    }

    /// Every row, in the run's order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|at| self.row(at))
    }
}

impl Counts {
    /// The table as runs, one per part, each in `order`, with keys of
    /// `kind`. Parts are sorted in parallel on `pool`; each is compacted in
    /// place first, so that no part is ever held twice.
    pub fn into_runs(mut self, kind: KeyKind, order: Order, pool: &rayon::ThreadPool) -> Vec<Run> {
        use rayon::prelude::*;
        self.settle();
        let parts = std::mem::take(&mut self.parts);
        pool.install(|| {
            parts
                .into_par_iter()
                .filter(|table| table.len > 0)
                .map(|table| {
                    let mut slots = table.slots;
                    slots.retain(|slot| slot.count != 0);
                    slots.shrink_to_fit();
                    let arena = table.arena;
                    match order {
                        Order::Count => slots.sort_unstable_by(|a, b| {
                            b.count
                                .cmp(&a.count)
                                .then_with(|| slot_key_cmp(a, b, &arena))
                        }),
                        Order::Key => slots.sort_unstable_by(|a, b| slot_key_cmp(a, b, &arena)),
                    }
                    Run { kind, slots, arena }
                })
                .collect()
        })
    }
}

/// The order of two keys of one part by their bytes. Two inline keys
/// compare as three big-endian words, with no `memcmp` call: their
/// zero-padded bytes, then their lengths, which is the order of the bytes
/// (a key that is a prefix of another pads with zeros and is shorter).
fn slot_key_cmp(a: &Slot, b: &Slot, arena: &[u8]) -> Ordering {
    if a.key[23] != IN_ARENA && b.key[23] != IN_ARENA {
        let words = |key: &[u8; 24]| {
            let be = |at: usize| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&key[at..at + 8]);
                u64::from_be_bytes(bytes)
            };
            (be(0), be(8), be(16))
        };
        return words(&a.key).cmp(&words(&b.key));
    }
    a.key(arena).cmp(b.key(arena))
}

/// Rows from several sources, each already in one order, streamed as one
/// table in that order. A source is anything that gives its rows in
/// order: a sorted run in memory, and (the same way) a run read back from
/// disk. Keys must be distinct across sources.
///
/// A tournament of losers: each row out costs one comparison per level
/// of a tree over the sources (a binary heap costs two), which profiling
/// showed to matter with hundreds of runs.
pub(crate) struct Merged<T, S> {
    sources: Vec<S>,
    /// Each source's current row; `None` once it has no more.
    heads: Vec<Option<T>>,
    /// `tree[0]` is the source whose row comes next; `tree[n]` for `n` in
    /// `1..k` the loser of the match at node `n`, whose children are
    /// nodes `2n` and `2n + 1`, and node `k + i` is source `i`.
    tree: Vec<usize>,
    order: Order,
}

impl<T: AsRow, S: Iterator<Item = T>> Merged<T, S> {
    pub fn new(sources: impl IntoIterator<Item = S>, order: Order) -> Merged<T, S> {
        let mut sources: Vec<S> = sources.into_iter().collect();
        let heads = sources.iter_mut().map(Iterator::next).collect();
        let k = sources.len();
        let mut merged = Merged {
            sources,
            heads,
            tree: vec![0; k.max(1)],
            order,
        };
        if k > 0 {
            merged.tree[0] = merged.play(1);
        }
        merged
    }

    /// The sources, as they are now.
    pub fn sources_mut(&mut self) -> impl Iterator<Item = &mut S> {
        self.sources.iter_mut()
    }

    /// The winner of the matches below node `n`, recording the losers.
    fn play(&mut self, n: usize) -> usize {
        let k = self.sources.len();
        if n >= k {
            return n - k;
        }
        let (left, right) = (self.play(2 * n), self.play(2 * n + 1));
        let (winner, loser) = if self.first(right, left) {
            (right, left)
        } else {
            (left, right)
        };
        self.tree[n] = loser;
        winner
    }

    /// Whether source `a`'s row comes before source `b`'s; a source with
    /// no more rows comes last.
    #[inline]
    fn first(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => by_order(self.order)(&x.row(), &y.row()) == Ordering::Less,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

impl<T: AsRow, S: Iterator<Item = T>> Iterator for Merged<T, S> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let k = self.sources.len();
        if k == 0 {
            return None;
        }
        let mut winner = self.tree[0];
        let row = self.heads[winner].take()?;
        self.heads[winner] = self.sources[winner].next();
        let mut n = (winner + k) / 2;
        while n >= 1 {
            if self.first(self.tree[n], winner) {
                std::mem::swap(&mut self.tree[n], &mut winner);
            }
            n /= 2;
        }
        self.tree[0] = winner;
        Some(row)
    }
}

/// The rows of `runs` merged into `order` (the order they were sorted in).
pub(crate) fn merge_runs(runs: &[Run], order: Order) -> impl Iterator<Item = Row<'_>> {
    Merged::new(runs.iter().map(Run::rows), order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pool() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
    }

    proptest! {
        /// Runs merged are the table sorted whole, whatever the keys'
        /// lengths (inline, long, prefixes of each other) and counts.
        #[test]
        fn merged_runs_are_the_table_sorted(
            text in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), any::<u8>()], 0..40), 1u64..4),
                0..200,
            ),
            json in proptest::collection::vec((proptest::collection::vec(0u8..3, 0..3), 1u64..3), 0..10),
            by_count in any::<bool>(),
        ) {
            let order = if by_count { Order::Count } else { Order::Key };
            let mut tables = [Counts::new(), Counts::new()];
            for (key, count) in &text {
                tables[0].add_soon(key, *count);
            }
            for (key, count) in &json {
                tables[1].add_soon(key, *count);
            }
            let [text_table, json_table] = tables;
            let mut expected: Vec<(Vec<u8>, u64, KeyKind)> = Vec::new();
            for (table, kind) in [(&text_table, KeyKind::Text), (&json_table, KeyKind::Json)] {
                let mut table = table.clone();
                table.settle();
                expected.extend(table.iter().map(|(k, c)| (k.to_vec(), c, kind)));
            }
            expected.sort_by(|a, b| {
                let rows = (Row::new(&a.0, a.1, a.2), Row::new(&b.0, b.1, b.2));
                by_order(order)(&rows.0, &rows.1)
            });
            let pool = pool();
            let mut runs = text_table.into_runs(KeyKind::Text, order, &pool);
            runs.extend(json_table.into_runs(KeyKind::Json, order, &pool));
            let merged: Vec<_> = merge_runs(&runs, order)
                .map(|row| (row.key.to_vec(), row.count, row.kind))
                .collect();
            prop_assert_eq!(merged, expected);
        }
    }

    #[test]
    fn a_large_table_merges_from_many_runs() {
        let mut counts = Counts::new();
        for i in 0..50_000u32 {
            counts.add_count(format!("key {i}").as_bytes(), u64::from(i % 7) + 1);
        }
        let runs = counts.into_runs(KeyKind::Text, Order::Count, &pool());
        assert!(runs.len() > 1, "split into parts");
        let rows: Vec<_> = merge_runs(&runs, Order::Count).collect();
        assert_eq!(rows.len(), 50_000);
        assert!(
            rows.windows(2)
                .all(|w| by_order(Order::Count)(&w[0], &w[1]).is_lt())
        );
    }
}
