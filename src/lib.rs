//! rbag: Dask Bag's model for the shell. The command line (`cli`) is
//! lowered into a request, each command (`cmd`) lowers its request into a
//! `plan` (inputs and windows, how records are read, the
//! fused steps, the reduction, the output), and the `engine` executes the
//! plan: blocks in parallel into one accumulator per worker, an exact
//! merge (`reduce`), then a partial (`partial`) or the output (`output`).
//! `--explain` renders the same plan. ARCHITECTURE.md draws the map.

pub mod cli;
mod cmd;
mod counts;
mod engine;
pub mod error;
pub mod examples;
mod expect;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
mod input;
pub mod interrupt;
mod json;
mod location;
pub mod memory;
mod numbers;
mod output;
mod partial;
mod pipeline;
mod plan;
mod prefetch;
mod progress;
mod reduce;
mod table;
mod threads;
mod tokenize;
mod tsv;

use crate::cli::Cli;
use crate::error::Error;

/// Run a parsed command line.
///
/// # Errors
/// Any [`Error`]; the caller prints it and exits with its code.
pub fn run(cli: Cli) -> Result<(), Error> {
    if let Some(what) = cli.generate {
        return generate::print(what);
    }
    let Some(command) = cli.command else {
        return Err(Error::Usage(
            "a command is required (try 'rbag wordcount FILE' or 'rbag --help')".into(),
        ));
    };
    cmd::run(cli::lower(command)?)
}
