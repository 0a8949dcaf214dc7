//! Count tables of keys, text and JSON apart (a text key and a JSON key
//! never count together): what `frequencies` and `distinct` accumulate.

use crate::counts::{Counts, Run};
use crate::pipeline::item::Item;
use crate::table::{KeyKind, Order};

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

    /// The number stored for a key, storing `value` first when it is new
    /// (see [`Counts::entry`]).
    pub fn entry(&mut self, kind: KeyKind, key: &[u8], value: u64) -> u64 {
        match kind {
            KeyKind::Text => self.text.entry(key, value),
            KeyKind::Json => self.json.entry(key, value),
        }
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

    /// The table as sorted runs (see [`Counts::into_runs`]), to merge
    /// with [`crate::counts::merge_runs`].
    pub fn into_runs(self, order: Order, pool: &rayon::ThreadPool) -> Vec<Run> {
        let mut runs = self.text.into_runs(KeyKind::Text, order, pool);
        runs.extend(self.json.into_runs(KeyKind::Json, order, pool));
        runs
    }

    /// Every key with its kind and count, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (KeyKind, &[u8], u64)> + '_ {
        let text = self.text.iter().map(|(k, c)| (KeyKind::Text, k, c));
        let json = self.json.iter().map(|(k, c)| (KeyKind::Json, k, c));
        text.chain(json)
    }

    /// Bytes the tables hold.
    pub fn memory(&self) -> u64 {
        self.text.memory() + self.json.memory()
    }

    pub fn len(&self) -> usize {
        self.text.len() + self.json.len()
    }
}
