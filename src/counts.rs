//! The frequency table: counts per distinct key, built by one worker at a
//! time and merged at the end.
//!
//! Lookups hash the borrowed token once and compare it with the stored key,
//! so a token that is already counted costs no allocation; only a new key
//! is copied. Keys of up to 15 bytes are stored inline in their slot,
//! longer ones in one arena. The table is open addressing with linear
//! probing over 32-byte slots that hold key, count and hash together: a
//! lookup reads one cache line, where a separate control array, index and
//! entry cost three dependent loads (profiling showed those loads as the
//! main stall). Every table hashes the same way, so stored hashes stay
//! valid when one table is merged into another.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

/// Any fixed value works; it only has to be the same for every table.
const SEED: u64 = 0x7262_6167_5f6b_6579;

/// Keys up to this long live in the slot itself: one 16-byte comparison
/// finds them, with no arena access and no `memcmp` call. Most words fit.
const INLINE_MAX: usize = 15;

/// Marks a slot whose key lives in the arena.
const IN_ARENA: u8 = 0xff;

/// A table slot. `key` holds either the key itself, zero-padded, with its
/// length in the last byte, or (for longer keys) the arena offset in bytes
/// 0..8, the length in bytes 8..15 and [`IN_ARENA`] in the last byte. A
/// slot with a count of 0 is empty: every counted key has at least 1.
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

/// Slots of a new table; it doubles when half full.
const INITIAL_SLOTS: usize = 64;

const EMPTY: Slot = Slot {
    hash: 0,
    count: 0,
    key: [0; 16],
};

/// Counts of byte-string keys.
#[derive(Debug, Clone)]
pub struct Counts {
    /// A power of two of slots, at most half of them used.
    slots: Vec<Slot>,
    len: usize,
    arena: Vec<u8>,
    hasher: FixedState,
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
            slots: vec![EMPTY; INITIAL_SLOTS],
            len: 0,
            arena: Vec::new(),
            hasher: FixedState::with_seed(SEED),
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sum of all counts (computed on demand: keeping a running total
    /// cost a memory update per token).
    pub fn total(&self) -> u64 {
        self.slots.iter().map(|slot| slot.count).sum()
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

    /// Count `key` `count` (at least 1) times.
    pub fn add_count(&mut self, key: &[u8], count: u64) {
        if key.len() <= INLINE_MAX {
            let (low, high) = inline_words(key);
            self.add_inline(mix(low, high), words_key(low, high), count);
        } else {
            let hash = self.hasher.hash_one(key);
            self.add_long(hash, key, count);
        }
    }

    /// Count an inline key `count` (at least 1) times; the hot path of word
    /// counting.
    #[inline(always)]
    fn add_inline(&mut self, hash: u64, key: [u8; 16], count: u64) {
        // Counts cannot overflow a u64 in practice (that many tokens would
        // take centuries to read), so plain addition is fine.
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &mut self.slots[at];
            if slot.count == 0 {
                break;
            }
            // An inline key never equals an arena reference: their last
            // bytes differ (a length up to 15, or IN_ARENA).
            if slot.key == key {
                slot.count += count;
                return;
            }
            at = (at + 1) & mask;
        }
        self.insert_at(at, Slot { hash, count, key });
    }

    fn add_long(&mut self, hash: u64, key: &[u8], count: u64) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.count == 0 {
                break;
            }
            if slot.hash == hash && slot.arena_range().is_some_and(|r| &self.arena[r] == key) {
                self.slots[at].count += count;
                return;
            }
            at = (at + 1) & mask;
        }
        let mut stored = [0u8; 16];
        stored[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
        stored[8..15].copy_from_slice(&(key.len() as u64).to_le_bytes()[..7]);
        stored[15] = IN_ARENA;
        self.arena.extend_from_slice(key);
        self.insert_at(
            at,
            Slot {
                hash,
                count,
                key: stored,
            },
        );
    }

    #[cold]
    fn insert_at(&mut self, at: usize, slot: Slot) {
        self.slots[at] = slot;
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.resize(self.slots.len() * 2);
        }
    }

    /// Rebuild with `size` (a power of two) slots from the stored hashes.
    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|s| s.count != 0) {
            let mut at = slot.hash as usize & mask;
            while self.slots[at].count != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }

    /// Add all of `other`'s counts, folding the smaller table into the
    /// larger one.
    pub fn merge(mut self, mut other: Counts) -> Counts {
        if other.len() > self.len() {
            std::mem::swap(&mut self, &mut other);
        }
        let needed = ((self.len + other.len) * 2).next_power_of_two();
        if needed > self.slots.len() {
            self.resize(needed);
        }
        for slot in other.slots.iter().filter(|s| s.count != 0) {
            match slot.arena_range() {
                None => self.add_inline(slot.hash, slot.key, slot.count),
                Some(range) => self.add_long(slot.hash, &other.arena[range], slot.count),
            }
        }
        self
    }

    /// Every key with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.slots
            .iter()
            .filter(|slot| slot.count != 0)
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
