//! Writing partials: the header, a reduction's state as rows in a
//! canonical order (keys in the one key order, records in input order,
//! sums as the exact integers they are), records of a stream, the `end`
//! line that counts the rows; and the cut of a table by `--top` or
//! `--min-count`, which the header then names.

use std::io::{self, Write};

use super::Header;
use crate::json::{Number, Value};
use crate::numbers::ExactSum;
use crate::pipeline::ast::Reduce;
use crate::pipeline::item::Item;
use crate::reduce::{Acc, KeyCounts, ranked_in_order};
use crate::table::{self, KeyKind, Order, key_cmp};
use crate::tsv;

/// Append one row: its fields TAB-separated, each escaped.
fn row(out: &mut Vec<u8>, fields: &[&[u8]]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        tsv::write_field(out, field);
    }
    out.push(b'\n');
}

fn kind_tag(kind: KeyKind) -> &'static [u8] {
    match kind {
        KeyKind::Text => b"t",
        KeyKind::Json => b"j",
    }
}

/// An item as two fields: `t` and its text, `r` and its original JSON
/// line, or `j` and its canonical JSON.
fn item_fields(item: &Item<'_>) -> (&'static [u8], Vec<u8>) {
    match item {
        Item::Text(text) => (b"t", text.to_vec()),
        Item::Json(_, Some(raw)) => (b"r", raw.to_vec()),
        Item::Json(value, None) => (b"j", value.to_canonical()),
    }
}

/// Append a record as a row of a streaming partial.
pub fn write_record(item: &Item<'_>, out: &mut Vec<u8>) {
    let (tag, data) = item_fields(item);
    row(out, &[tag, &data]);
}

fn sum_fields(sum: &ExactSum) -> Vec<Vec<u8>> {
    let mut fields = vec![
        sum.count.to_string().into_bytes(),
        if sum.floats {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        },
        sum.ints.total().to_string().into_bytes(),
        sum.fsum.to_bigint().to_string().into_bytes(),
    ];
    if let Some(squares) = &sum.squares {
        fields.push(squares.ints.total().to_string().into_bytes());
        fields.push(squares.fsum.to_bigint().to_string().into_bytes());
        fields.push(squares.rare.to_string().into_bytes());
    }
    fields
}

/// Append the rows of a reduction's state, in a canonical order.
pub fn write_acc(acc: &Acc, reduce: &Reduce, out: &mut Vec<u8>) {
    match acc {
        Acc::Frequencies(counts) | Acc::Distinct(counts) => {
            let mut keys: Vec<(KeyKind, &[u8], u64)> = counts.iter().collect();
            keys.sort_unstable_by(|a, b| key_cmp((a.0, a.1), (b.0, b.1)));
            let counted = matches!(acc, Acc::Frequencies(_));
            for (kind, key, count) in keys {
                if counted {
                    row(out, &[kind_tag(kind), key, count.to_string().as_bytes()]);
                } else {
                    row(out, &[kind_tag(kind), key]);
                }
            }
        }
        Acc::Count(n) => row(out, &[b"count", n.to_string().as_bytes()]),
        Acc::Sum(sum) => {
            let fields = sum_fields(sum);
            let mut all: Vec<&[u8]> = vec![b"sum"];
            all.extend(fields.iter().map(Vec::as_slice));
            row(out, &all);
        }
        Acc::Summary(summary) => {
            let fields = sum_fields(&summary.sum);
            let number = |n: &Option<Number>| {
                n.as_ref().map_or(b"-".to_vec(), |n| {
                    let mut text = Vec::new();
                    n.write(&mut text);
                    text
                })
            };
            let (min, max) = (number(&summary.min), number(&summary.max));
            let mut all: Vec<&[u8]> = vec![b"summary"];
            all.extend(fields.iter().map(Vec::as_slice));
            all.push(&min);
            all.push(&max);
            row(out, &all);
        }
        Acc::Extreme(item) => {
            if let Some(item) = item {
                let (tag, data) = item_fields(item);
                row(out, &[b"item", tag, &data]);
            }
        }
        Acc::TopK(kept) => {
            for ranked in ranked_in_order(kept.clone(), reduce) {
                let rank = ranked
                    .rank
                    .as_ref()
                    .map_or(b"-".to_vec(), Value::to_canonical);
                let (tag, data) = item_fields(&ranked.item);
                row(out, &[&rank, tag, &data]);
            }
        }
        Acc::Take(kept) => {
            let mut kept: Vec<_> = kept.iter().collect();
            kept.sort_by_key(|(p, _)| *p);
            for (_, item) in kept {
                let (tag, data) = item_fields(item);
                row(out, &[tag, &data]);
            }
        }
        Acc::Group(groups) => {
            let mut keys: Vec<_> = groups.iter().collect();
            keys.sort_unstable_by(|a, b| key_cmp((a.0, a.1), (b.0, b.1)));
            for (kind, key, acc) in keys {
                row(out, &[b"group", kind_tag(kind), key]);
                write_acc(acc, reduce, out);
                row(out, &[b"end-group"]);
            }
        }
    }
}

/// Write a partial: header, rows, trailer.
pub fn write_partial(out: &mut dyn Write, header: &Header, rows: &[u8]) -> io::Result<()> {
    let mut head = Vec::new();
    header.write(&mut head);
    out.write_all(&head)?;
    out.write_all(rows)?;
    let count = rows.iter().filter(|&&b| b == b'\n').count();
    out.write_all(format!("end\t{count}\n").as_bytes())
}

/// Apply `--top` and `--min-count` to a frequency table about to be
/// written as a partial; also what cut it, for the header to say (so that
/// `rbag merge` refuses the partial rather than merge a table that lacks
/// rows).
///
/// # Errors
/// The cut options on a reduction that is not a frequency table.
pub fn cut_table(
    acc: Acc,
    top: Option<usize>,
    min_count: Option<u64>,
    pool: &rayon::ThreadPool,
) -> Result<(Acc, Option<String>), String> {
    let what = match (top, min_count) {
        (None, None) => return Ok((acc, None)),
        (Some(k), Some(n)) => format!("--top {k} and --min-count {n}"),
        (Some(k), None) => format!("--top {k}"),
        (None, Some(n)) => format!("--min-count {n}"),
    };
    let Acc::Frequencies(counts) = acc else {
        return Err("--top and --min-count cut frequency tables; give them to rbag merge".into());
    };
    let runs = counts.into_runs(Order::Count, pool);
    let rows = crate::counts::merge_runs(&runs, Order::Count);
    let mut kept = KeyCounts::default();
    for row in table::cut(rows, Order::Count, top, min_count) {
        kept.add_key(row.kind, row.key, row.count);
    }
    Ok((Acc::Frequencies(Box::new(kept)), Some(what)))
}
