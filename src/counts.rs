//! The frequency table: counts per distinct key, built by one worker at a
//! time and merged at the end.
//!
//! Lookups hash the borrowed token once and compare it with keys kept in one
//! arena, so a token that is already counted costs no allocation; only a new
//! key is copied. Every table hashes with the same fixed seed, so stored
//! hashes stay valid when one table is merged into another.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Any fixed value works; it only has to be the same for every table.
const SEED: u64 = 0x7262_6167_5f6b_6579;

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    start: usize,
    len: usize,
    count: u64,
}

/// Counts of byte-string keys.
#[derive(Debug, Clone)]
pub struct Counts {
    table: HashTable<Slot>,
    arena: Vec<u8>,
    hasher: FixedState,
    total: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts::new()
    }
}

impl Counts {
    /// An empty table.
    pub fn new() -> Counts {
        Counts {
            table: HashTable::new(),
            arena: Vec::new(),
            hasher: FixedState::with_seed(SEED),
            total: 0,
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Count `key` once.
    #[inline]
    pub fn add(&mut self, key: &[u8]) {
        let hash = self.hasher.hash_one(key);
        self.add_hashed(hash, key, 1);
    }

    #[inline]
    fn add_hashed(&mut self, hash: u64, key: &[u8], count: u64) {
        self.total += count;
        let arena = &self.arena;
        let found = self.table.find_mut(hash, |slot| {
            slot.hash == hash && &arena[slot.start..slot.start + slot.len] == key
        });
        match found {
            // Counts cannot overflow a u64 in practice (that many tokens
            // would take centuries to read), so plain addition is fine.
            Some(slot) => slot.count += count,
            None => {
                let start = self.arena.len();
                self.arena.extend_from_slice(key);
                let slot = Slot {
                    hash,
                    start,
                    len: key.len(),
                    count,
                };
                self.table.insert_unique(hash, slot, |s| s.hash);
            }
        }
    }

    /// Add all of `other`'s counts, folding the smaller table into the
    /// larger one.
    pub fn merge(mut self, mut other: Counts) -> Counts {
        if other.len() > self.len() {
            std::mem::swap(&mut self, &mut other);
        }
        self.table.reserve(other.len(), |s| s.hash);
        for slot in other.table.iter() {
            let key = &other.arena[slot.start..slot.start + slot.len];
            self.add_hashed(slot.hash, key, slot.count);
        }
        self
    }

    /// Every key with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.table
            .iter()
            .map(|s| (&self.arena[s.start..s.start + s.len], s.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn model(keys: &[Vec<u8>]) -> BTreeMap<Vec<u8>, u64> {
        let mut map = BTreeMap::new();
        for key in keys {
            *map.entry(key.clone()).or_insert(0) += 1;
        }
        map
    }

    fn table(keys: &[Vec<u8>]) -> Counts {
        let mut counts = Counts::new();
        for key in keys {
            counts.add(key);
        }
        counts
    }

    fn sorted(counts: &Counts) -> BTreeMap<Vec<u8>, u64> {
        counts.iter().map(|(k, c)| (k.to_vec(), c)).collect()
    }

    fn keys() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(proptest::collection::vec(0u8..4, 0..4), 0..60)
    }

    proptest! {
        #[test]
        fn counting_matches_a_map(keys in keys()) {
            let counts = table(&keys);
            prop_assert_eq!(sorted(&counts), model(&keys));
            prop_assert_eq!(counts.total(), keys.len() as u64);
        }

        #[test]
        fn merge_is_the_count_of_the_concatenation(a in keys(), b in keys(), c in keys()) {
            let all: Vec<_> = a.iter().chain(&b).chain(&c).cloned().collect();
            let left = table(&a).merge(table(&b)).merge(table(&c));
            let right = table(&c).merge(table(&b).merge(table(&a)));
            prop_assert_eq!(sorted(&left), model(&all));
            prop_assert_eq!(sorted(&right), model(&all));
        }
    }
}
