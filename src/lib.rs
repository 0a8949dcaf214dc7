//! rbag: Dask Bag's model for the shell. Input is cut into blocks at record
//! boundaries (`input`), each block is tokenized (`tokenize`) and counted
//! (`counts`) in parallel by the `engine`, and the merged table is sorted and
//! printed (`output`). `cli` defines the command line, `error` the messages
//! and exit codes, `generate` the man pages and completions.

pub mod cli;
pub mod counts;
pub mod engine;
pub mod error;
pub mod examples;
pub mod expect;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod input;
pub mod interrupt;
pub mod json;
pub mod merge;
pub mod numbers;
pub mod output;
pub mod partial;
pub mod pipeline;
pub mod plan;
pub mod prefetch;
pub mod progress;
pub mod reduce;
pub mod run;
pub mod tokenize;
pub mod wordcount;

use crate::cli::{Cli, Command};
use crate::error::Error;

/// Run a parsed command line.
///
/// # Errors
/// Any [`Error`]; the caller prints it and exits with its code.
pub fn run(cli: Cli) -> Result<(), Error> {
    if let Some(what) = cli.generate {
        return generate::print(what);
    }
    match cli.command {
        Some(Command::Wordcount(args)) => wordcount::run(args),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Freq(args)) => run::freq(args),
        Some(Command::Merge(args)) => merge::run(args),
        None => Err(Error::Usage(
            "a command is required (try 'rbag wordcount FILE' or 'rbag --help')".into(),
        )),
    }
}
