//! Count tables as rows: the two kinds of key, the one order of keys
//! (their bytes, then text before JSON), the two output orders, and the
//! `--top` and `--min-count` cuts. Everything that orders keys (printing,
//! partials, `distinct`, the rows a later stage sees, the merge of sorted
//! runs) orders them by these.

use std::cmp::Ordering;

/// A key of a count table: the bytes that print in TSV, and whether they
/// are canonical JSON (a number, an object, ...) rather than text. JSON
/// strings are text keys, so `"en"` from JSON and `en` from text count
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum KeyKind {
    Text,
    Json,
}

/// The order of keys: bytes, then text before JSON (the two can print
/// alike: text `42` and the number 42). Keys in one table are distinct, so
/// this order is total on them.
pub(crate) fn key_cmp(a: (KeyKind, &[u8]), b: (KeyKind, &[u8])) -> Ordering {
    a.1.cmp(b.1).then(a.0.cmp(&b.0))
}

/// The order of a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Count (or value) descending, then key.
    Count,
    /// Key.
    Key,
}

/// One row of a count table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row<'a> {
    pub key: &'a [u8],
    pub count: u64,
    /// Text keys print as text in TSV and CSV and as JSON strings in JSON
    /// output; JSON keys (numbers, objects, ...) as their canonical JSON.
    pub kind: KeyKind,
    /// The key's first 16 bytes, big-endian and zero-padded: comparing it
    /// orders keys as their bytes do, without a `memcmp` call (which
    /// profiling showed dominating the sort of a million keys).
    prefix: u128,
}

/// Anything that reads as a row: a row, or a row read back from disk.
pub(crate) trait AsRow {
    fn row(&self) -> Row<'_>;
}

impl AsRow for Row<'_> {
    #[inline]
    fn row(&self) -> Row<'_> {
        *self
    }
}

impl<'a> Row<'a> {
    pub fn new(key: &'a [u8], count: u64, kind: KeyKind) -> Row<'a> {
        let mut head = [0u8; 16];
        let len = key.len().min(16);
        head[..len].copy_from_slice(&key[..len]);
        Row {
            key,
            count,
            kind,
            prefix: u128::from_be_bytes(head),
        }
    }

    /// The key, from the row itself when it is short: the sorted rows of a
    /// large table point all over its memory, and reading each key there
    /// missed the cache on every row written.
    pub fn key_bytes<'b>(&'b self, head: &'b mut [u8; 16]) -> &'b [u8] {
        let len = self.key.len();
        if len > 16 {
            return self.key;
        }
        *head = self.prefix.to_be_bytes();
        &head[..len]
    }
}

/// `--min-count` and `--top` of rows streamed in `order`: in count order
/// the rows below the minimum are the last, so the stream ends at the
/// first.
pub(crate) fn cut<R: AsRow>(
    rows: impl Iterator<Item = R>,
    order: Order,
    top: Option<usize>,
    min_count: Option<u64>,
) -> impl Iterator<Item = R> {
    let min = min_count.unwrap_or(0);
    rows.take_while(move |row| order == Order::Key || row.row().count >= min)
        .filter(move |row| row.row().count >= min)
        .take(top.unwrap_or(usize::MAX))
}

/// How rows compare in `order`.
pub(crate) fn by_order(order: Order) -> fn(&Row<'_>, &Row<'_>) -> Ordering {
    match order {
        Order::Count => by_count,
        Order::Key => by_key,
    }
}

fn by_count(a: &Row<'_>, b: &Row<'_>) -> Ordering {
    b.count.cmp(&a.count).then_with(|| by_key(a, b))
}

/// [`key_cmp`], faster: equal prefixes mean equal first 16 bytes (or a
/// shorter key padded with zeros), so only then are whole keys compared.
fn by_key(a: &Row<'_>, b: &Row<'_>) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| key_cmp((a.kind, a.key), (b.kind, b.key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(key: &[u8], count: u64) -> Row<'_> {
        Row::new(key, count, KeyKind::Text)
    }

    #[test]
    fn the_prefix_orders_like_the_bytes() {
        let keys: [&[u8]; 8] = [
            b"",
            b"a",
            b"a\0",
            b"ab",
            b"b",
            b"0123456789abcdefA",
            b"0123456789abcdef",
            b"\xff",
        ];
        for a in keys {
            for b in keys {
                let (x, y) = (text(a, 1), text(b, 1));
                assert_eq!(by_key(&x, &y), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(
                    by_key(&x, &y),
                    key_cmp((KeyKind::Text, a), (KeyKind::Text, b))
                );
            }
        }
        assert_eq!(
            by_key(&text(b"42", 1), &Row::new(b"42", 1, KeyKind::Json)),
            Ordering::Less
        );
    }

    #[test]
    fn cuts_apply_the_minimum_then_the_top() {
        let rows = || vec![text(b"c", 5), text(b"a", 2), text(b"b", 2), text(b"d", 1)];
        let cut_rows =
            |order, top, min| cut(rows().into_iter(), order, top, min).collect::<Vec<_>>();
        assert_eq!(
            cut_rows(Order::Count, Some(2), None),
            vec![text(b"c", 5), text(b"a", 2)]
        );
        assert_eq!(
            cut_rows(Order::Count, None, Some(2)),
            vec![text(b"c", 5), text(b"a", 2), text(b"b", 2)]
        );
        // In key order a small count may come first: the rest still counts.
        let by_key = vec![text(b"a", 1), text(b"b", 3), text(b"c", 2)];
        assert_eq!(
            cut(by_key.into_iter(), Order::Key, Some(1), Some(2)).collect::<Vec<_>>(),
            vec![text(b"b", 3)]
        );
        assert!(cut_rows(Order::Count, Some(0), None).is_empty());
    }
}
