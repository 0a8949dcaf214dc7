//! The frequency table: counts per distinct key, built by one worker at a
//! time and merged at the end.
//!
//! Lookups hash the borrowed token once and compare it with the stored key,
//! so a token that is already counted costs no allocation; only a new key
//! is copied. Keys of up to 15 bytes are stored inline in their slot,
//! longer ones in the table's arena. The table is open addressing with
//! linear probing over 32-byte slots that hold key, count and hash
//! together: a lookup reads one cache line, where a separate control array,
//! index and entry cost three dependent loads (profiling showed those loads
//! as the main stall). Every table hashes the same way, so stored hashes
//! stay valid when one table is merged into another.
//!
//! A large vocabulary splits the table into parts by hash, which grow and
//! merge on their own (in parallel), and queues each key briefly while its
//! slot is fetched from memory.

mod runs;

pub(crate) use runs::{Merged, Run, merge_runs};

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

/// Any fixed value works; it only has to be the same for every table.
const SEED: u64 = 0x7262_6167_5f6b_6579;

/// Keys up to this long live in the slot itself: comparing three words
/// finds them, with no arena access and no `memcmp` call. Most words,
/// IPv4 addresses, ids and short n-grams fit.
const INLINE_MAX: usize = 23;

/// Keys up to this long take the word-counting fast path: two words read
/// in place and one multiply to hash.
const SHORT_MAX: usize = 15;

/// Marks a slot whose key lives in the arena: no inline key is this long.
const IN_ARENA: u8 = 0xff;

/// A table slot: 32 bytes, two to a cache line. `key` holds either the key
/// itself, zero-padded, with its length in the last byte, or (for longer
/// keys) the arena offset in bytes 0..8, the key's hash in bytes 8..16,
/// its length in bytes 16..23 and [`IN_ARENA`] in the last byte. A slot
/// with a count of 0 is empty: every counted key has at least 1. An inline
/// key's hash is not stored: it is three words away, and recomputing it
/// when a table grows costs less than the memory a stored hash takes from
/// every slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    key: [u8; 24],
    count: u64,
}

impl Slot {
    fn arena_range(&self) -> Option<std::ops::Range<usize>> {
        if self.key[23] != IN_ARENA {
            return None;
        }
        let start = word(&self.key, 0) as usize;
        let len = (word(&self.key, 16) & LOW_56) as usize;
        Some(start..start + len)
    }

    fn key<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        match self.arena_range() {
            Some(range) => &arena[range],
            None => &self.key[..usize::from(self.key[23])],
        }
    }

    /// The hash the slot's key was placed by.
    fn hash(&self) -> u64 {
        if self.key[23] == IN_ARENA {
            word(&self.key, 8)
        } else {
            inline_hash(&self.key)
        }
    }
}

const LOW_56: u64 = (1 << 56) - 1;

/// The little-endian word at `at` of a slot's key.
#[inline(always)]
fn word(key: &[u8; 24], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&key[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// The hash of an inline key: one multiply for keys of up to
/// [`SHORT_MAX`] bytes (whose third word holds only the length), two for
/// longer ones.
#[inline(always)]
fn inline_hash(key: &[u8; 24]) -> u64 {
    let (low, middle, high) = (word(key, 0), word(key, 8), word(key, 16));
    if key[23] as usize <= SHORT_MAX {
        mix(low, middle | high)
    } else {
        mix(low, middle) ^ mix(high, 0x4528_21e6_38d0_1377)
    }
}

/// The inline form of a key of at most [`INLINE_MAX`] bytes: the bytes
/// zero-padded, the length in the last byte.
#[inline(always)]
fn inline_key(key: &[u8]) -> [u8; 24] {
    if key.len() <= SHORT_MAX {
        let (low, high) = inline_words(key);
        return words_key(low, high);
    }
    let mut stored = [0u8; 24];
    stored[..key.len()].copy_from_slice(key);
    stored[23] = key.len() as u8;
    stored
}

/// The slot key of a short key from its [`inline_words`]. Built in
/// registers: copying into a stack buffer and reading it back stalls
/// store forwarding, which profiling showed costing a quarter of the
/// counting time.
#[inline(always)]
fn words_key(low: u64, high: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&low.to_le_bytes());
    key[8..16].copy_from_slice(&(high & LOW_56).to_le_bytes());
    key[16..].copy_from_slice(&(high & !LOW_56).to_le_bytes());
    key
}

/// The padded bytes of a key of at most [`SHORT_MAX`] bytes, as two
/// little-endian words, its length in the high word's last byte.
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

/// [`inline_words`] of `buf[start..end]`, a key of 1 to [`SHORT_MAX`]
/// bytes, read as two whole words when `buf` has 16 bytes from `start`
/// and masked to the key's length: no branch on the length, whose
/// mispredictions cost more than the loads (tokens are 1 to 15 bytes in no
/// pattern). Near the end of `buf` it reads as [`inline_words`] does.
#[inline(always)]
fn inline_words_in(buf: &[u8], start: usize, end: usize) -> (u64, u64) {
    let len = end - start;
    debug_assert!((1..=SHORT_MAX).contains(&len));
    let Some(window) = buf.get(start..start + 16) else {
        return inline_words(&buf[start..end]);
    };
    let word = |at: usize| {
        u64::from_le_bytes([
            window[at],
            window[at + 1],
            window[at + 2],
            window[at + 3],
            window[at + 4],
            window[at + 5],
            window[at + 6],
            window[at + 7],
        ])
    };
    // At least one byte is kept of the low word, so the shift is at most 56.
    let low_mask = u64::MAX >> (64 - 8 * len.min(8));
    let high_mask = (1u64 << (8 * len.saturating_sub(8))) - 1;
    (
        word(0) & low_mask,
        (word(8) & high_mask) | ((len as u64) << 56),
    )
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

/// Slots of a new table; it doubles when three quarters full.
const INITIAL_SLOTS: usize = 64;

/// A table that grows past this many keys is split into [`PARTS`] tables by
/// the top bits of the hash. Doubling one huge table zeroes and refills
/// hundreds of megabytes at a time (profiling 5 million distinct keys
/// showed a quarter of the run in that, in the page faults of the fresh
/// memory, and in merging two such tables on one thread); split, each part
/// grows on its own, reusing freed memory, and the parts of two tables merge
/// in parallel, each in cache. Small vocabularies never split, so word
/// counting keeps one table.
#[cfg(not(test))]
const SPLIT_KEYS: usize = 1 << 16;
/// Small in unit tests, so that they split tables of a few keys.
#[cfg(test)]
const SPLIT_KEYS: usize = 8;

/// How many parts a split table has, chosen by the hash's top bits.
const PARTS: usize = 256;
const PART_SHIFT: u32 = 64 - PARTS.trailing_zeros();

const EMPTY: Slot = Slot {
    count: 0,
    key: [0; 24],
};

/// How many keys wait for their slots once a table is split.
const WAITING: usize = 16;

/// Counts of byte-string keys: one table, or [`PARTS`] tables once large.
#[derive(Debug, Clone)]
pub struct Counts {
    parts: Vec<Table>,
    hasher: FixedState,
    /// Keys added with [`Counts::add_soon`] and not counted yet.
    waiting: Vec<Waiting>,
    /// The next of `waiting` to count, once it is full.
    oldest: usize,
}

/// A key waiting for its slot to arrive in the cache.
#[derive(Debug, Clone)]
struct Waiting {
    hash: u64,
    count: u64,
    /// The inline key, or `None` when the key is in `long`.
    inline: Option<[u8; 24]>,
    long: Vec<u8>,
}

impl Waiting {
    /// Count the key into its part of a split table.
    fn count_into(&self, parts: &mut [Table]) {
        let table = &mut parts[(self.hash >> PART_SHIFT) as usize];
        match self.inline {
            Some(key) => table.add_inline(self.hash, key, self.count),
            None => table.add_long(self.hash, &self.long, self.count),
        };
    }
}

/// One open-addressing table with its own arena for long keys.
#[derive(Debug, Clone)]
struct Table {
    /// A power of two of slots, at most three quarters of them used.
    slots: Vec<Slot>,
    len: usize,
    arena: Vec<u8>,
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
            parts: vec![Table::with_slots(INITIAL_SLOTS)],
            hasher: FixedState::with_seed(SEED),
            waiting: Vec::new(),
            oldest: 0,
        }
    }

    /// Count `key` `count` times, now or after a few more keys: once the
    /// table is split (too large for the cache), the key waits in a short
    /// queue while its slot is fetched, so that the memory misses of
    /// several keys overlap. [`Counts::settle`] counts the waiting keys;
    /// reading the table before that is a bug, and panics.
    #[inline(always)]
    pub fn add_soon(&mut self, key: &[u8], count: u64) {
        if self.parts.len() == 1 {
            self.add_count(key, count);
            return;
        }
        self.add_waiting(key, count);
    }

    /// [`Counts::add_soon`] of `buf[start..end]`: a short key is read from
    /// `buf` with whole-word loads.
    #[inline(always)]
    pub fn add_soon_in(&mut self, buf: &[u8], start: usize, end: usize, count: u64) {
        // Tokens are never empty, but an empty key must not reach the
        // masks (a shift by 64).
        if end - start > SHORT_MAX || start == end {
            self.add_soon(&buf[start..end], count);
            return;
        }
        let (low, high) = inline_words_in(buf, start, end);
        if self.parts.len() == 1 {
            self.add_words(low, high, count);
        } else {
            self.add_waiting_key(mix(low, high), Some(words_key(low, high)), &[], count);
        }
    }

    fn add_waiting(&mut self, key: &[u8], count: u64) {
        let (hash, inline) = if key.len() <= INLINE_MAX {
            let inline = inline_key(key);
            (inline_hash(&inline), Some(inline))
        } else {
            (self.hasher.hash_one(key), None)
        };
        self.add_waiting_key(hash, inline, key, count);
    }

    /// Queue a key: `inline`, or `long` when that is `None`.
    fn add_waiting_key(&mut self, hash: u64, inline: Option<[u8; 24]>, long: &[u8], count: u64) {
        let table = self.table(hash);
        crate::prefetch::prefetch(&table.slots[hash as usize & (table.slots.len() - 1)]);
        if self.waiting.len() < WAITING {
            self.waiting.push(Waiting {
                hash,
                count,
                inline,
                long: if inline.is_none() {
                    long.to_vec()
                } else {
                    Vec::new()
                },
            });
            return;
        }
        // Count the oldest waiting key (its slot has had time to arrive),
        // and put the new one in its place, reusing its storage.
        let at = self.oldest;
        self.oldest = (at + 1) % WAITING;
        self.waiting[at].count_into(&mut self.parts);
        let entry = &mut self.waiting[at];
        entry.hash = hash;
        entry.count = count;
        entry.inline = inline;
        if inline.is_none() {
            entry.long.clear();
            entry.long.extend_from_slice(long);
        }
    }

    /// Count every waiting key.
    pub fn settle(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        self.oldest = 0;
        for entry in waiting {
            entry.count_into(&mut self.parts);
        }
    }

    fn assert_settled(&self) {
        assert!(
            self.waiting.is_empty(),
            "internal error: a count table read with keys still waiting"
        );
    }

    /// Bytes the table holds: its slots, its arena and the keys waiting.
    pub fn memory(&self) -> u64 {
        let parts: usize = self
            .parts
            .iter()
            .map(|t| t.slots.capacity() * std::mem::size_of::<Slot>() + t.arena.capacity())
            .sum();
        let waiting: usize = self.waiting.iter().map(|w| w.long.capacity() + 64).sum();
        (parts + waiting) as u64
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.assert_settled();
        self.parts.iter().map(|t| t.len).sum()
    }

    /// Sum of all counts (computed on demand: keeping a running total
    /// cost a memory update per token).
    pub fn total(&self) -> u64 {
        self.assert_settled();
        self.parts
            .iter()
            .flat_map(|t| &t.slots)
            .map(|slot| slot.count)
            .sum()
    }

    /// Count `key` once.
    #[inline(always)]
    #[cfg(test)]
    pub fn add(&mut self, key: &[u8]) {
        self.add_count(key, 1);
    }

    /// Count `key` `count` (at least 1) times.
    #[inline(always)]
    pub fn add_count(&mut self, key: &[u8], count: u64) {
        if key.len() <= SHORT_MAX {
            let (low, high) = inline_words(key);
            self.add_words(low, high, count);
            return;
        }
        if key.len() <= INLINE_MAX {
            let inline = inline_key(key);
            let hash = inline_hash(&inline);
            let inserted = self.table(hash).add_inline(hash, inline, count);
            self.split_if_large(inserted);
            return;
        }
        let hash = self.hasher.hash_one(key);
        let inserted = self.table(hash).add_long(hash, key, count);
        self.split_if_large(inserted);
    }

    /// The number stored for `key`, storing `value` (at least 1) first
    /// when the key is new: the table as an index from keys to numbers
    /// (a group's state, by its place in a list).
    pub fn entry(&mut self, key: &[u8], value: u64) -> u64 {
        self.settle();
        let (stored, inserted) = if key.len() <= INLINE_MAX {
            let inline = inline_key(key);
            let hash = inline_hash(&inline);
            self.table(hash).entry(hash, inline, None, value)
        } else {
            let hash = self.hasher.hash_one(key);
            self.table(hash).entry(hash, [0; 24], Some(key), value)
        };
        self.split_if_large(inserted);
        stored
    }

    /// Count the short key whose [`inline_words`] are `low` and `high`.
    #[inline(always)]
    fn add_words(&mut self, low: u64, high: u64, count: u64) {
        let hash = mix(low, high);
        let inserted = self.table(hash).add_short(hash, low, high, count);
        self.split_if_large(inserted);
    }

    /// After a key was counted (`inserted` when it was new): split the one
    /// table once it has grown past [`SPLIT_KEYS`].
    #[inline(always)]
    fn split_if_large(&mut self, inserted: bool) {
        if inserted && self.parts.len() == 1 && self.parts[0].len > SPLIT_KEYS {
            self.split();
        }
    }

    /// The table that holds keys with `hash`.
    #[inline(always)]
    fn table(&mut self, hash: u64) -> &mut Table {
        let index = if self.parts.len() == 1 {
            0
        } else {
            (hash >> PART_SHIFT) as usize
        };
        &mut self.parts[index]
    }

    /// Split the one table into [`PARTS`], each with room for its share.
    #[cold]
    fn split(&mut self) {
        if self.parts.len() != 1 {
            return;
        }
        let whole = self.parts.pop().expect("one table");
        let share = (whole.len / PARTS * 4)
            .next_power_of_two()
            .max(INITIAL_SLOTS);
        self.parts = (0..PARTS).map(|_| Table::with_slots(share)).collect();
        for slot in whole.slots.iter().filter(|s| s.count != 0) {
            let hash = slot.hash();
            let table = &mut self.parts[(hash >> PART_SHIFT) as usize];
            match slot.arena_range() {
                None => table.add_inline(hash, slot.key, slot.count),
                Some(range) => table.add_long(hash, &whole.arena[range], slot.count),
            };
        }
    }

    /// Add all of `other`'s counts.
    pub fn merge(self, other: Counts) -> Counts {
        Counts::merge_all(vec![self, other], None)
    }

    /// The counts of all `tables` together. Split tables merge part by
    /// part, on `pool` when given.
    pub fn merge_all(tables: Vec<Counts>, pool: Option<&rayon::ThreadPool>) -> Counts {
        let mut tables = tables;
        for table in &mut tables {
            table.settle();
        }
        let split = tables.iter().any(|t| t.parts.len() > 1)
            || tables.iter().map(Counts::len).sum::<usize>() > SPLIT_KEYS;
        if !split {
            let mut merged = Counts::new();
            if let Some(largest) = (0..tables.len()).max_by_key(|&i| tables[i].len()) {
                merged = tables.swap_remove(largest);
            }
            for other in tables {
                let mine = merged.parts.pop().expect("one table");
                let theirs = other.parts.into_iter().next().expect("one table");
                merged.parts.push(mine.merge(theirs));
            }
            if merged.parts[0].len > SPLIT_KEYS {
                merged.split();
            }
            return merged;
        }
        let run = |tables: Vec<Counts>| -> Vec<Table> {
            use rayon::prelude::*;
            let split: Vec<Vec<Table>> = tables
                .into_par_iter()
                .map(|mut t| {
                    t.split();
                    t.parts
                })
                .collect();
            let mut by_part: Vec<Vec<Table>> = (0..PARTS).map(|_| Vec::new()).collect();
            for parts in split {
                for (index, table) in parts.into_iter().enumerate() {
                    by_part[index].push(table);
                }
            }
            by_part
                .into_par_iter()
                .map(|tables| {
                    tables
                        .into_iter()
                        .reduce(Table::merge)
                        .expect("every table has every part")
                })
                .collect()
        };
        let parts = match pool {
            Some(pool) => pool.install(|| run(tables)),
            None => run(tables),
        };
        Counts {
            parts,
            ..Counts::new()
        }
    }

    /// Keep only the keys for which `keep` holds (a filter that commutes
    /// with counting, run once per distinct key), in place: the parts are
    /// rebuilt from their stored hashes, with no key hashed again.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        self.assert_settled();
        for table in &mut self.parts {
            let mut removed = 0;
            for at in 0..table.slots.len() {
                let slot = table.slots[at];
                if slot.count != 0 && !keep(slot.key(&table.arena)) {
                    table.slots[at].count = 0;
                    removed += 1;
                }
            }
            if removed > 0 {
                table.len -= removed;
                // An emptied slot would end the probes that ran through
                // it: place the rest again.
                let size = table.slots.len();
                table.resize(size);
            }
        }
    }

    /// Every key with its count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        self.assert_settled();
        self.parts.iter().flat_map(|table| {
            table
                .slots
                .iter()
                .filter(|slot| slot.count != 0)
                .map(|slot| (slot.key(&table.arena), slot.count))
        })
    }
}

impl Table {
    fn with_slots(slots: usize) -> Table {
        Table {
            slots: vec![EMPTY; slots],
            len: 0,
            arena: Vec::new(),
        }
    }

    /// [`Table::add_inline`] of a key of at most [`SHORT_MAX`] bytes
    /// given as its [`inline_words`]: compared word by word with the
    /// slots, the key's array built only when it is new (built first, it
    /// went through the stack, and reading it back stalled store
    /// forwarding on every token).
    #[inline(always)]
    fn add_short(&mut self, hash: u64, low: u64, high: u64, count: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        let (middle, last) = (high & LOW_56, high & !LOW_56);
        loop {
            let slot = &mut self.slots[at];
            if slot.count == 0 {
                break;
            }
            if word(&slot.key, 0) == low
                && word(&slot.key, 8) == middle
                && word(&slot.key, 16) == last
            {
                slot.count += count;
                return false;
            }
            at = (at + 1) & mask;
        }
        self.insert_at(
            at,
            Slot {
                count,
                key: words_key(low, high),
            },
        );
        true
    }

    /// Count an inline key `count` (at least 1) times (split tables and
    /// merges; the short keys of a word count take [`Table::add_short`]).
    /// True when the key is new.
    #[inline(always)]
    fn add_inline(&mut self, hash: u64, key: [u8; 24], count: u64) -> bool {
        // Counts cannot overflow a u64 in practice (that many tokens would
        // take centuries to read; `rbag merge` bounds what it reads), so
        // plain addition is fine.
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        // Compared as three words: a 24-byte array comparison became a
        // byte-wise loop in the word count's hot path.
        let words = [word(&key, 0), word(&key, 8), word(&key, 16)];
        loop {
            let slot = &mut self.slots[at];
            if slot.count == 0 {
                break;
            }
            // An inline key never equals an arena reference: their last
            // bytes differ (a length up to 23, or IN_ARENA).
            if [word(&slot.key, 0), word(&slot.key, 8), word(&slot.key, 16)] == words {
                slot.count += count;
                return false;
            }
            at = (at + 1) & mask;
        }
        self.insert_at(at, Slot { count, key });
        true
    }

    /// The value of the key `inline` (or `long`, when given), or `value`
    /// stored for it when it is new; and whether it was.
    fn entry(
        &mut self,
        hash: u64,
        inline: [u8; 24],
        long: Option<&[u8]>,
        value: u64,
    ) -> (u64, bool) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.count == 0 {
                break;
            }
            let found = match long {
                None => slot.key == inline,
                Some(key) => self.holds_long(slot, hash, key),
            };
            if found {
                return (slot.count, false);
            }
            at = (at + 1) & mask;
        }
        match long {
            None => self.insert_at(
                at,
                Slot {
                    count: value,
                    key: inline,
                },
            ),
            Some(key) => {
                let stored = self.store_long(hash, key);
                self.insert_at(
                    at,
                    Slot {
                        count: value,
                        key: stored,
                    },
                );
            }
        }
        (value, true)
    }

    /// Copy a long key into the arena; the slot key that refers to it.
    fn store_long(&mut self, hash: u64, key: &[u8]) -> [u8; 24] {
        let mut stored = [0u8; 24];
        stored[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
        stored[8..16].copy_from_slice(&hash.to_le_bytes());
        stored[16..23].copy_from_slice(&(key.len() as u64).to_le_bytes()[..7]);
        stored[23] = IN_ARENA;
        self.arena.extend_from_slice(key);
        stored
    }

    /// Whether `slot` holds the long key `key`, whose hash is `hash`: the
    /// stored hash first, the arena's bytes only when it matches.
    fn holds_long(&self, slot: &Slot, hash: u64, key: &[u8]) -> bool {
        slot.key[23] == IN_ARENA
            && word(&slot.key, 8) == hash
            && slot.arena_range().is_some_and(|r| &self.arena[r] == key)
    }

    /// True when the key is new.
    fn add_long(&mut self, hash: u64, key: &[u8], count: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.count == 0 {
                break;
            }
            if self.holds_long(slot, hash, key) {
                self.slots[at].count += count;
                return false;
            }
            at = (at + 1) & mask;
        }
        let stored = self.store_long(hash, key);
        self.insert_at(at, Slot { count, key: stored });
        true
    }

    #[cold]
    fn insert_at(&mut self, at: usize, slot: Slot) {
        self.slots[at] = slot;
        self.len += 1;
        if self.len > max_load(self.slots.len()) {
            self.resize(self.slots.len() * 2);
        }
    }

    /// Rebuild with `size` (a power of two) slots from the stored hashes.
    fn resize(&mut self, size: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|s| s.count != 0) {
            let mut at = slot.hash() as usize & mask;
            while self.slots[at].count != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }

    /// Add all of `other`'s counts, folding the smaller table into the
    /// larger one.
    fn merge(mut self, mut other: Table) -> Table {
        if other.len > self.len {
            std::mem::swap(&mut self, &mut other);
        }
        let mut needed = self.slots.len();
        while self.len + other.len > max_load(needed) {
            needed *= 2;
        }
        if needed > self.slots.len() {
            self.resize(needed);
        }
        for slot in other.slots.iter().filter(|s| s.count != 0) {
            match slot.arena_range() {
                None => self.add_inline(slot.hash(), slot.key, slot.count),
                Some(range) => self.add_long(slot.hash(), &other.arena[range], slot.count),
            };
        }
        self
    }
}

/// How many keys a table of `slots` slots holds before it doubles: three
/// quarters. (Half full, a table of many keys took twice the memory of
/// its keys' slots; a hit still reads about two slots, in one or two cache
/// lines, at three quarters.)
fn max_load(slots: usize) -> usize {
    slots / 4 * 3
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
                proptest::collection::vec(0u8..2, 22..26),
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
            let mut expected = [0u8; 24];
            expected[..key.len()].copy_from_slice(&key);
            expected[23] = key.len() as u8;
            prop_assert_eq!(inline_key(&key), expected);
            let slot = Slot { key: expected, count: 1 };
            prop_assert_eq!(slot.key(&[]), &key[..]);
        }

        #[test]
        fn keys_read_in_place_are_the_keys_read_alone(
            buf in proptest::collection::vec(any::<u8>(), 1..48),
            start in any::<prop::sample::Index>(),
            len in 1..=SHORT_MAX,
        ) {
            let start = start.index(buf.len());
            let end = (start + len).min(buf.len());
            prop_assert_eq!(inline_words_in(&buf, start, end), inline_words(&buf[start..end]));
        }

        #[test]
        fn keys_counted_soon_are_counted_once_settled(keys in keys(), split_first in any::<bool>()) {
            let mut counts = Counts::new();
            if split_first {
                counts.split();
            }
            for (i, key) in keys.iter().enumerate() {
                counts.add_soon(key, 1 + (i as u64 % 3));
            }
            counts.settle();
            let mut expected = BTreeMap::new();
            for (i, key) in keys.iter().enumerate() {
                *expected.entry(key.clone()).or_insert(0) += 1 + (i as u64 % 3);
            }
            prop_assert_eq!(sorted(&counts), expected);
        }

        #[test]
        fn merging_all_at_once_in_parallel_is_merging_one_by_one(
            parts in proptest::collection::vec(keys(), 0..5),
        ) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
            let all: Vec<_> = parts.iter().flatten().cloned().collect();
            let tables: Vec<Counts> = parts.iter().map(|p| {
                let mut t = Counts::new();
                for key in p {
                    t.add_soon(key, 1);
                }
                t
            }).collect();
            let one_by_one = tables.clone().into_iter().fold(Counts::new(), Counts::merge);
            let at_once = Counts::merge_all(tables, Some(&pool));
            prop_assert_eq!(sorted(&one_by_one), model(&all));
            prop_assert_eq!(sorted(&at_once), model(&all));
            prop_assert_eq!(at_once.len(), model(&all).len());
        }

        #[test]
        fn retain_keeps_what_it_should_and_the_table_still_counts(
            keys in keys(),
            more in keys(),
            cut in 0usize..5,
        ) {
            let keep = |key: &[u8]| key.len() % 5 != cut;
            let mut counts = table(&keys);
            counts.settle();
            counts.retain(keep);
            let mut expected = model(&keys);
            expected.retain(|k, _| keep(k));
            prop_assert_eq!(sorted(&counts), expected.clone());
            prop_assert_eq!(counts.len(), expected.len());
            // Probing still finds every key kept: counting on adds to it.
            for key in &more {
                counts.add(key);
                *expected.entry(key.clone()).or_insert(0) += 1;
            }
            counts.settle();
            prop_assert_eq!(sorted(&counts), expected);
        }

        /// As an index, the table gives each key the number it was first
        /// stored with, through splits and long keys alike.
        #[test]
        fn entries_keep_the_number_first_stored(keys in keys(), more in keys()) {
            let mut index = Counts::new();
            let mut model: std::collections::HashMap<Vec<u8>, u64> = Default::default();
            for key in keys.iter().chain(&more) {
                let next = model.len() as u64 + 1;
                let want = *model.entry(key.clone()).or_insert(next);
                prop_assert_eq!(index.entry(key, next), want);
            }
            prop_assert_eq!(index.len(), model.len());
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

    #[test]
    fn retain_works_on_a_table_split_into_parts() {
        let keys: Vec<Vec<u8>> = (0..100_000u32)
            .map(|i| format!("key number {i}").into_bytes())
            .collect();
        let mut counts = table(&keys);
        counts.settle();
        assert!(counts.parts.len() > 1, "large enough to be split");
        counts.retain(|key| key.ends_with(b"7"));
        assert_eq!(counts.len(), 10_000);
        for key in &keys {
            counts.add(key);
        }
        counts.settle();
        assert_eq!(counts.len(), 100_000);
        let sevens = counts.iter().filter(|(_, c)| *c == 2).count();
        assert_eq!(sevens, 10_000);
        assert!(counts.iter().all(|(k, c)| (c == 2) == k.ends_with(b"7")));
    }

    #[test]
    fn an_empty_key_in_place_is_the_empty_key() {
        let mut in_place = Counts::new();
        in_place.add_soon_in(b"abc", 1, 1, 2);
        in_place.settle();
        let mut alone = Counts::new();
        alone.add_soon(b"", 2);
        alone.settle();
        assert_eq!(sorted(&in_place), sorted(&alone));
    }

    #[test]
    fn a_read_before_settling_is_caught() {
        let mut counts = Counts::new();
        counts.split();
        counts.add_soon(b"waiting", 1);
        let read = std::panic::catch_unwind(|| counts.len());
        assert!(
            read.is_err(),
            "reading with keys waiting must not pass silently"
        );
    }
}
