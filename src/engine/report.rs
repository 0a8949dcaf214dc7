//! What a run says about itself on standard error: the summary of the
//! lines `--skip-bad-lines` skipped (and the `--rejects` file holding
//! them), and the one `--stats` line every job prints.

use super::ledger::{Ledger, line_base};
use super::records::Reject;
use super::schedule::RunStats;
use crate::error::Error;
use crate::output::Destination;
use crate::plan::Input;

/// How many skipped lines the summary on stderr names.
const REJECTS_SHOWN: usize = 3;

/// Counts for `--stats`, beyond what the engine measured.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counted {
    /// Records read (lines, or JSON values).
    pub records_in: u64,
    /// Records that reached the reduction or the output (for a word
    /// count, the words).
    pub records_out: u64,
    /// Records without the path a stage asked for.
    pub missing_path: u64,
    /// Lines skipped by `--skip-bad-lines`.
    pub bad_lines: u64,
    /// Distinct keys (or groups) of the first reduction.
    pub distinct: usize,
    /// Bytes spilled to disk, and how many times a table spilled.
    pub spilled: (u64, u64),
}

/// The `--stats` line.
pub(super) fn print_stats(stats: &RunStats, counted: &Counted) {
    eprintln!(
        "rbag: stats: {} input(s), {} bytes in {} block(s), {} record(s) in, {} out, {} without the path, {} bad line(s) skipped, {} distinct, {:.3} s ({:.1} MB/s)",
        stats.sources,
        stats.bytes,
        stats.blocks,
        counted.records_in,
        counted.records_out,
        counted.missing_path,
        counted.bad_lines,
        counted.distinct,
        stats.seconds,
        stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9),
    );
    let (bytes, times) = counted.spilled;
    if times > 0 {
        eprintln!(
            "rbag: stats: over the --memory budget, tables spilled {times} time(s): {bytes} bytes written to disk and read back"
        );
    }
}

/// Report the skipped lines: a summary naming the first few, and every
/// one of them, as it was, in `destination` (`--rejects`).
///
/// # Errors
/// Writing the rejects failed.
pub(super) fn report_rejects(
    rejects: &mut [Reject],
    inputs: &[Input],
    ledger: &Ledger,
    delimiter: u8,
    destination: Option<Destination>,
) -> Result<(), Error> {
    if !rejects.is_empty() {
        rejects.sort_by_key(|r| (r.id, r.line_in_block));
        let place = |r: &Reject| {
            format!(
                "{}:{}:{}: {}",
                inputs[r.id.source as usize].source.name(),
                line_base(inputs, ledger, r.id, delimiter) + r.line_in_block + 1,
                r.column,
                r.message
            )
        };
        let shown: Vec<String> = rejects.iter().take(REJECTS_SHOWN).map(place).collect();
        let more = rejects.len().saturating_sub(REJECTS_SHOWN);
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        eprintln!(
            "rbag: skipped {} bad line(s): {}{tail}",
            rejects.len(),
            shown.join("; ")
        );
    }
    // Written even when empty: a file of rejects from an earlier run must
    // not stay behind looking like this run's.
    if let Some(destination) = destination {
        destination.write_with(|w| {
            for r in rejects.iter() {
                w.write_all(&r.raw)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
    }
    Ok(())
}
