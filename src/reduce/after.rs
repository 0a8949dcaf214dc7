//! The rest of a pipeline after a reduction: the reduced bag (a table's
//! rows as `{"key": K, "count": N}`, groups as `{"key": K, "value": V}`,
//! records, or one value) goes through the same stages and reductions as
//! blocks do, on one thread. A table that later stages only filter or cut
//! is still a table, so it still prints as one.

use super::acc::{Acc, Position};
use super::finish::{GroupRow, Outcome};
use super::reducer::Reducer;
use crate::error::Error;
use crate::json::{Number, Value};
use crate::pipeline::ast::{Pipeline, Reduce, Stage};
use crate::pipeline::eval::{Dropped, StageError};
use crate::pipeline::item::Item;
use crate::pipeline::program::{Commands, Program};
use crate::table::{KeyKind, Order};

/// The rows a reduced bag came from, when it was a table: a later stage
/// that only drops or reorders rows leaves a table.
enum RowSource {
    Table(Vec<(KeyKind, Vec<u8>, u64)>),
    Groups(Vec<GroupRow>, bool),
}

/// An outcome as a bag of records, in its output order: a table's rows as
/// `{"key": K, "count": N}`, groups as `{"key": K, "value": V}`.
fn into_bag(
    outcome: Outcome,
    sort: Option<Order>,
    pool: &rayon::ThreadPool,
) -> (Vec<Item<'static>>, Option<RowSource>) {
    let key_value = |kind: KeyKind, key: &[u8]| Item::from_key(kind, key).to_value();
    let count = |n: u64| Value::Number(Number::count(n));
    match outcome {
        Outcome::Counts(counts) => {
            let order = sort.unwrap_or(Order::Count);
            let runs = counts.into_runs(order, pool);
            let owned: Vec<_> = crate::counts::merge_runs(&runs, order)
                .map(|r| (r.kind, r.key.to_vec(), r.count))
                .collect();
            table_bag(owned, key_value, count)
        }
        Outcome::Rows(rows) => table_bag(rows, key_value, count),
        Outcome::Groups {
            rows,
            summary,
            ordered,
        } => {
            let rows = GroupRow::in_order(rows, ordered, sort);
            let items = rows
                .iter()
                .map(|r| {
                    Item::value(Value::object([
                        ("key", key_value(r.kind, &r.key)),
                        ("value", r.value.clone()),
                    ]))
                })
                .collect();
            (items, Some(RowSource::Groups(rows, summary)))
        }
        Outcome::Records(records) => (records.into_iter().map(|(_, item)| item).collect(), None),
        Outcome::Distinct(keys) => {
            let records = super::finish::distinct_records(keys, pool);
            (records.into_iter().map(|(_, item)| item).collect(), None)
        }
        outcome @ Outcome::GroupTable { .. } => into_bag(outcome.with_group_rows(), sort, pool),
        Outcome::Scalar(item) => (vec![item], None),
        Outcome::Summary(value) => (vec![Item::value(value)], None),
    }
}

fn table_bag(
    rows: Vec<(KeyKind, Vec<u8>, u64)>,
    key_value: impl Fn(KeyKind, &[u8]) -> Value,
    count: impl Fn(u64) -> Value,
) -> (Vec<Item<'static>>, Option<RowSource>) {
    let items = rows
        .iter()
        .map(|(kind, key, n)| {
            Item::value(Value::object([
                ("key", key_value(*kind, key)),
                ("count", count(*n)),
            ]))
        })
        .collect();
    (items, Some(RowSource::Table(rows)))
}

/// Run the rest of a pipeline on the outcome of a reduction: the reduced
/// bag goes through the same stages and reductions as blocks do.
///
/// # Errors
/// A stage that fails on a record of the bag, a reduction with no answer.
pub(crate) fn finish_rest(
    outcome: Outcome,
    rest: &Pipeline,
    sort: Option<Order>,
    terminator: u8,
    pool: &rayon::ThreadPool,
    missing_path: &mut u64,
) -> Result<Outcome, Error> {
    if rest.is_empty() {
        return Ok(outcome);
    }
    let (bag, rows) = into_bag(outcome, sort, pool);
    let program = Program::new(rest.stages.clone(), terminator);
    let reduction = rest.reduce.as_deref();
    let reducer = reduction.map(|r| Reducer::new(r.reduce.clone(), r.group.clone()));
    let mut acc = reducer.as_ref().map(Reducer::new_acc);
    let mut kept: Vec<(Position, Item<'static>)> = Vec::new();
    let mut dropped = Dropped::default();
    let mut inner = Dropped::default();
    let mut pipe_input = Vec::new();
    let fail = |e: StageError| Error::NoResult(format!("after the reduction: {}", e.message));
    let has_pipes = program.has_pipes();
    // A record's place in the bag is its position's block, so that rows can
    // be found again after stages that only drop or reorder them.
    for (index, item) in bag.into_iter().enumerate() {
        let mut sub = 0u64;
        program
            .first()
            .run(item, &mut dropped, &mut |item| {
                if has_pipes {
                    program.write_for_command(&item, &mut pipe_input);
                    return Ok(());
                }
                let position = Position {
                    source: 0,
                    block: index as u64,
                    item: sub,
                };
                sub += 1;
                collect(&reducer, &mut acc, &mut kept, item, position, &mut inner)
            })
            .map_err(fail)?;
    }
    if has_pipes {
        let mut line = 0u64;
        program
            .run_pipes(
                std::mem::take(&mut pipe_input),
                0,
                &Commands::default(),
                &mut dropped,
                &mut |item| {
                    let position = Position {
                        source: 0,
                        block: line,
                        item: 0,
                    };
                    line += 1;
                    collect(&reducer, &mut acc, &mut kept, item, position, &mut inner)
                },
            )
            .map_err(fail)?;
    }
    dropped.missing_path += inner.missing_path;
    *missing_path += dropped.missing_path;
    let rows = rows.filter(|_| rest.stages.iter().all(Stage::only_drops) && !has_pipes);
    let outcome = match (reducer, acc) {
        (Some(reducer), Some(acc)) => {
            let outcome = acc
                .finish(&reducer.reduce)
                .map_err(|e| Error::NoResult(e.0))?;
            let keeps = !reducer.is_grouped()
                && matches!(reducer.reduce, Reduce::Take(_) | Reduce::TopK { .. });
            match (outcome, rows) {
                (Outcome::Records(records), Some(rows)) if keeps => select_rows(rows, &records),
                (outcome, _) => outcome,
            }
        }
        _ => match rows {
            Some(rows) => select_rows(rows, &kept),
            None => Outcome::Records(kept),
        },
    };
    match reduction {
        Some(reduction) => finish_rest(
            outcome,
            &reduction.rest,
            sort,
            terminator,
            pool,
            missing_path,
        ),
        None => Ok(outcome),
    }
}

/// Where a record of the reduced bag goes: the next reduction, or the
/// records kept.
fn collect(
    reducer: &Option<Reducer>,
    acc: &mut Option<Acc>,
    kept: &mut Vec<(Position, Item<'static>)>,
    item: Item<'_>,
    position: Position,
    dropped: &mut Dropped,
) -> Result<(), StageError> {
    match (reducer, acc) {
        (Some(reducer), Some(acc)) => reducer.add(acc, item, position, dropped),
        _ => {
            kept.push((position, item.into_owned()));
            Ok(())
        }
    }
}

/// The rows at the records' positions, in the records' order.
fn select_rows(rows: RowSource, records: &[(Position, Item<'static>)]) -> Outcome {
    let index = |p: &Position| p.block as usize;
    match rows {
        RowSource::Table(rows) => Outcome::Rows(
            records
                .iter()
                .filter_map(|(p, _)| rows.get(index(p)).cloned())
                .collect(),
        ),
        RowSource::Groups(rows, summary) => Outcome::Groups {
            rows: records
                .iter()
                .filter_map(|(p, _)| rows.get(index(p)).cloned())
                .collect(),
            summary,
            ordered: true,
        },
    }
}
