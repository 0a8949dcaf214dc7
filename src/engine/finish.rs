//! Finishing a merged state, the same way whatever made it (blocks or
//! partials): written as a partial, or answered, run through the rest of
//! the pipeline, and printed.

use crate::error::Error;
use crate::output::{self, Destination};
use crate::partial::{self, Header};
use crate::pipeline::ast::Reduce;
use crate::pipeline::ast::Reduction;
use crate::plan::Output;
use crate::reduce::spill::Spill;
use crate::reduce::{Acc, after};
use crate::table::Order;

/// Finish a merged state: as a partial (cut by `--top`/`--min-count` when
/// asked, which the header then says), or as the reduction's answer run
/// through the rest of the pipeline and printed. Returns the records the
/// rest of the pipeline found without the path it asked for.
///
/// # Errors
/// A reduction with no answer, a stage of the rest that fails, output
/// errors.
pub(super) fn finish(
    acc: Acc,
    reduction: &Reduction,
    header: Header,
    output: &Output,
    destination: Destination,
    terminator: u8,
    pool: &rayon::ThreadPool,
) -> Result<u64, Error> {
    let how = &output.presentation;
    if output.partial {
        let (acc, cut) =
            partial::cut_table(acc, how.top, how.min_count, pool).map_err(Error::Usage)?;
        let header = Header { cut, ..header };
        let mut rows = Vec::new();
        partial::write_acc(&acc, &reduction.reduce, &mut rows);
        destination.write_with(|w| partial::write_partial(w, &header, &rows))?;
        return Ok(0);
    }
    let outcome = acc
        .finish(&reduction.reduce)
        .map_err(|e| Error::NoResult(e.0))?;
    let mut missing_path = 0;
    let outcome = after::finish_rest(
        outcome,
        &reduction.rest,
        how.sort,
        terminator,
        pool,
        &mut missing_path,
    )?;
    output::print(outcome, destination, how, terminator, pool)?;
    Ok(missing_path)
}

/// Finish a table that spilled: count each partition alone, and print
/// the merge of their sorted runs, as [`finish`] would have printed the
/// whole table. Returns the number of distinct keys.
///
/// # Errors
/// Reading or writing the spill, output errors.
pub(super) fn finish_spilled(
    spill: Spill,
    keep: &(dyn Fn(&[u8]) -> bool + Sync),
    reduction: &Reduction,
    output: &Output,
    destination: Destination,
    terminator: u8,
    pool: &rayon::ThreadPool,
) -> Result<usize, Error> {
    let how = &output.presentation;
    let distinct = reduction.reduce == Reduce::Distinct;
    let order = if distinct {
        Order::Key
    } else {
        how.sort.unwrap_or(Order::Count)
    };
    let runs = spill.into_runs(order, keep, pool)?;
    output::print_spilled(&runs, distinct, destination, how, terminator)?;
    Ok(runs.distinct())
}
