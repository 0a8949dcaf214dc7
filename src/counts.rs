//! The frequency table: counts per distinct key, built by one worker at a
//! time and merged at the end.
//!
//! Lookups hash the borrowed token once and compare it with the stored key,
//! so a token that is already counted costs no allocation; only a new key
//! is copied. Keys of up to 15 bytes are stored inline in their entry;
//! longer ones in one arena. The hash table holds only 4-byte indexes into
//! a dense vector of entries in first-seen order: the table stays small
//! enough for L2 and the frequent words, seen first, share hot cache
//! lines. Every table hashes the same way, so stored hashes stay valid when
//! one table is merged into another.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Any fixed value works; it only has to be the same for every table.
const SEED: u64 = 0x7262_6167_5f6b_6579;

/// Keys up to this long live in the slot itself: one 16-byte comparison
/// finds them, with no arena access and no `memcmp` call. Most words fit.
const INLINE_MAX: usize = 15;

/// Marks a slot whose key lives in the arena.
const IN_ARENA: u8 = 0xff;

/// A table entry. `key` holds either the key itself, zero-padded, with its
/// length in the last byte, or (for longer keys) the arena offset in bytes
/// 0..8, the length in bytes 8..15 and [`IN_ARENA`] in the last byte.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    count: u64,
    key: [u8; 16],
}

impl Slot {
    fn arena_range(&self) -> Option<std::ops::Range<usize>> {
        if self.key[15] != IN_ARENA {
            return None;
        }
        let mut start = [0u8; 8];
        start.copy_from_slice(&self.key[..8]);
        let mut len = [0u8; 8];
        len[..7].copy_from_slice(&self.key[8..15]);
        let start = u64::from_le_bytes(start) as usize;
        Some(start..start + u64::from_le_bytes(len) as usize)
    }

    fn key<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        match self.arena_range() {
            Some(range) => &arena[range],
            None => &self.key[..usize::from(self.key[15])],
        }
    }
}

/// The inline form of a key of at most [`INLINE_MAX`] bytes: the bytes
/// zero-padded, the length in the last byte. Built in registers: copying
/// into a stack buffer and reading it back stalls store forwarding, which
/// profiling showed costing a quarter of the counting time.
#[cfg(test)]
fn inline_key(key: &[u8]) -> [u8; 16] {
    let (low, high) = inline_words(key);
    words_key(low, high)
}

#[inline(always)]
fn words_key(low: u64, high: u64) -> [u8; 16] {
    (u128::from(low) | (u128::from(high) << 64)).to_le_bytes()
}

/// [`inline_key`] as two little-endian words.
#[inline(always)]
fn inline_words(key: &[u8]) -> (u64, u64) {
    let len = key.len();
    let (low, high) = if len <= 8 {
        (load_le(key), 0)
    } else {
        (load_le(&key[..8]), load_le(&key[8..]))
    };
    (low, high | ((len as u64) << 56))
}

/// Up to 8 bytes as a little-endian integer, zero-padded. Reads that
/// overlap put the same byte at the same position, so OR-ing them is exact.
#[inline]
fn load_le(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    match len {
        8.. => u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]),
        4..=7 => {
            let first = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let last = u32::from_le_bytes([
                bytes[len - 4],
                bytes[len - 3],
                bytes[len - 2],
                bytes[len - 1],
            ]);
            u64::from(first) | (u64::from(last) << ((len - 4) * 8))
        }
        1..=3 => {
            u64::from(bytes[0])
                | (u64::from(bytes[len / 2]) << (len / 2 * 8))
                | (u64::from(bytes[len - 1]) << ((len - 1) * 8))
        }
        0 => 0,
    }
}

/// Counts of byte-string keys.
#[derive(Debug, Clone)]
pub struct Counts {
    /// Indexes into `entries`, found by hash.
    index: HashTable<u32>,
    entries: Vec<Slot>,
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
            index: HashTable::new(),
            entries: Vec::new(),
            arena: Vec::new(),
            hasher: FixedState::with_seed(SEED),
            total: 0,
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Count `key` once.
    #[inline(always)]
    pub fn add(&mut self, key: &[u8]) {
        if key.len() <= INLINE_MAX {
            let (low, high) = inline_words(key);
            self.add_inline(mix(low, high), words_key(low, high), 1);
        } else {
            let hash = self.hasher.hash_one(key);
            self.add_long(hash, key, 1);
        }
    }

    /// Count an inline key `count` times; the hot path of word counting.
    #[inline(always)]
    fn add_inline(&mut self, hash: u64, key: [u8; 16], count: u64) {
        // Counts cannot overflow a u64 in practice (that many tokens would
        // take centuries to read), so plain addition is fine.
        self.total += count;
        let entries = &self.entries;
        match self.index.find(hash, |&i| entries[i as usize].key == key) {
            Some(&i) => self.entries[i as usize].count += count,
            None => self.insert(hash, key, count),
        }
    }

    fn add_long(&mut self, hash: u64, key: &[u8], count: u64) {
        self.total += count;
        let entries = &self.entries;
        let arena = &self.arena;
        let found = self.index.find(hash, |&i| {
            let slot = &entries[i as usize];
            slot.hash == hash && slot.arena_range().is_some_and(|r| &arena[r] == key)
        });
        match found {
            Some(&i) => self.entries[i as usize].count += count,
            None => {
                let mut stored = [0u8; 16];
                stored[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
                stored[8..15].copy_from_slice(&(key.len() as u64).to_le_bytes()[..7]);
                stored[15] = IN_ARENA;
                self.arena.extend_from_slice(key);
                self.insert(hash, stored, count);
            }
        }
    }

    #[cold]
    fn insert(&mut self, hash: u64, key: [u8; 16], count: u64) {
        let position = u32::try_from(self.entries.len())
            .expect("fewer than 2^32 distinct keys per worker (that many would need over 100 GiB)");
        self.entries.push(Slot { hash, count, key });
        let entries = &self.entries;
        self.index
            .insert_unique(hash, position, |&i| entries[i as usize].hash);
    }

    /// Add all of `other`'s counts, folding the smaller table into the
    /// larger one.
    pub fn merge(mut self, mut other: Counts) -> Counts {
        if other.len() > self.len() {
            std::mem::swap(&mut self, &mut other);
        }
        let entries = &self.entries;
        self.index
            .reserve(other.len(), |&i| entries[i as usize].hash);
        for slot in &other.entries {
            match slot.arena_range() {
                None => self.add_inline(slot.hash, slot.key, slot.count),
                Some(range) => self.add_long(slot.hash, &other.arena[range], slot.count),
            }
        }
        self
    }

    /// Every key with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.entries
            .iter()
            .map(|slot| (slot.key(&self.arena), slot.count))
    }
}

/// The hash of a short key from its two inline words: a folded 128-bit
/// multiply of the words with fixed constants (the length is in `high`).
#[inline(always)]
fn mix(low: u64, high: u64) -> u64 {
    let product =
        u128::from(low ^ 0x243f_6a88_85a3_08d3) * u128::from(high ^ 0x1319_8a2e_0370_7344);
    (product as u64) ^ ((product >> 64) as u64)
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
        proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(0u8..4, 0..4),
                proptest::collection::vec(0u8..2, 14..18),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..60,
        )
    }

    proptest! {
        #[test]
        fn counting_matches_a_map(keys in keys()) {
            let counts = table(&keys);
            prop_assert_eq!(sorted(&counts), model(&keys));
            prop_assert_eq!(counts.total(), keys.len() as u64);
        }

        #[test]
        fn inline_keys_are_the_padded_bytes(key in proptest::collection::vec(any::<u8>(), 0..=INLINE_MAX)) {
            let mut expected = [0u8; 16];
            expected[..key.len()].copy_from_slice(&key);
            expected[15] = key.len() as u8;
            prop_assert_eq!(inline_key(&key), expected);
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
