//! The output of a run: how a result is presented (format, order, cuts),
//! printing each kind of result (`format`), and where it goes
//! (`destination`). Partials are not output: they are written by
//! `partial`, to the same destinations.

mod destination;
mod format;

pub(crate) use destination::Destination;
pub(crate) use format::{Format, JsonArray, RecordFormat};

use crate::error::Error;
use crate::reduce::spill::SortedRuns;
use crate::reduce::{GroupRow, Outcome};
use crate::table::{self, Order, Row};

/// How a result is presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presentation {
    pub format: Format,
    /// `--sort`; unset, tables go by count and groups by key.
    pub sort: Option<Order>,
    pub top: Option<usize>,
    pub min_count: Option<u64>,
}

/// Print a table that spilled, from its sorted runs: the rows of a
/// frequency table, or the records of `distinct`, as [`print()`] prints them.
///
/// # Errors
/// Reading the runs, or writing, failed.
pub(crate) fn print_spilled(
    runs: &SortedRuns,
    distinct: bool,
    destination: Destination,
    how: &Presentation,
    terminator: u8,
) -> Result<(), Error> {
    let mut rows = runs.rows()?;
    let format = how.format;
    let result = destination.write_with(|w| {
        if distinct {
            let record_format = RecordFormat { format, terminator };
            let items = (&mut rows)
                .take(how.top.unwrap_or(usize::MAX))
                .map(|row| crate::pipeline::item::Item::from_key(row.kind, &row.key));
            format::write_records(w, items, record_format)?;
        } else {
            let order = how.sort.unwrap_or(Order::Count);
            let rows = table::cut(&mut rows, order, how.top, how.min_count);
            format::write_table(w, rows, format)?;
        }
        // A run that stopped early must fail the output, not shorten it.
        if rows.sources_mut().any(|run| run.failed()) {
            return Err(std::io::Error::other("a spilled run could not be read"));
        }
        Ok(())
    });
    if let Some(e) = runs.failure(&mut rows) {
        return Err(e);
    }
    result
}

/// Print an outcome, records ending in `terminator`.
///
/// # Errors
/// Writing failed.
pub(crate) fn print(
    outcome: Outcome,
    destination: Destination,
    how: &Presentation,
    terminator: u8,
    pool: &rayon::ThreadPool,
) -> Result<(), Error> {
    let format = how.format;
    let record_format = RecordFormat { format, terminator };
    let top = |len: usize| how.top.map_or(len, |k| k.min(len));
    match outcome {
        Outcome::Counts(counts) => {
            let order = how.sort.unwrap_or(Order::Count);
            let runs = counts.into_runs(order, pool);
            let rows = crate::counts::merge_runs(&runs, order);
            let rows = table::cut(rows, order, how.top, how.min_count);
            destination.write_with(|w| format::write_table(w, rows, format))
        }
        Outcome::Rows(rows) => {
            // Already in the order a later stage left them.
            let mut rows: Vec<Row<'_>> = rows
                .iter()
                .filter(|r| how.min_count.is_none_or(|min| r.2 >= min))
                .map(|(kind, key, count)| Row::new(key, *count, *kind))
                .collect();
            rows.truncate(top(rows.len()));
            destination.write_with(|w| format::write_table(w, rows, format))
        }
        Outcome::GroupTable {
            keys,
            values,
            summary,
        } if how.sort.is_none_or(|order| order == Order::Key) => {
            // In the order of keys, straight from the table.
            let runs = keys.into_runs(Order::Key, pool);
            let rows = crate::counts::merge_runs(&runs, Order::Key)
                .take(how.top.unwrap_or(usize::MAX))
                .map(|row| (row.kind, row.key, &values[(row.count - 1) as usize]));
            destination.write_with(|w| format::write_groups(w, rows, summary, format))
        }
        outcome @ Outcome::GroupTable { .. } => print(
            outcome.with_group_rows(),
            destination,
            how,
            terminator,
            pool,
        ),
        Outcome::Groups {
            rows,
            summary,
            ordered,
        } => {
            let mut rows = GroupRow::in_order(rows, ordered, how.sort);
            rows.truncate(top(rows.len()));
            let rows = rows.iter().map(|r| (r.kind, r.key.as_slice(), &r.value));
            destination.write_with(|w| format::write_groups(w, rows, summary, format))
        }
        Outcome::Distinct(keys) => {
            let runs = keys.into_runs(Order::Key, pool);
            let items = crate::counts::merge_runs(&runs, Order::Key)
                .take(how.top.unwrap_or(usize::MAX))
                .map(|row| crate::pipeline::item::Item::of_key(row.kind, row.key));
            destination.write_with(|w| format::write_records(w, items, record_format))
        }
        Outcome::Records(records) => {
            let kept = top(records.len());
            let items = records.into_iter().take(kept).map(|(_, item)| item);
            destination.write_with(|w| format::write_records(w, items, record_format))
        }
        Outcome::Scalar(item) => {
            let mut out = Vec::new();
            record_format.write_scalar(&item, &mut out);
            destination.write_with(|w| w.write_all(&out))
        }
        Outcome::Summary(value) => {
            destination.write_with(|w| format::write_summary(w, &value, format))
        }
    }
}
