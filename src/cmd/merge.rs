//! `rbag merge`: partial results (and plain `key<TAB>count` tables), read
//! whole and merged into what one run over all their input would print.
//! What they hold is known once they are read, so the plan says so.

use std::ffi::OsString;

use super::request::Common;
use crate::error::Error;
use crate::input::{self, Decompress};
use crate::plan::{Command, Input, Plan, Work};

/// The plan of `rbag merge FILE...`.
///
/// # Errors
/// An input that is missing, unreadable or a directory.
pub(super) fn plan(files: Vec<OsString>, common: Common) -> Result<Plan, Error> {
    let mut inputs = Vec::new();
    for source in input::resolve(&files)? {
        let shape = input::inspect(&source, Decompress::Never)?;
        inputs.push(Input::whole(source, shape));
    }
    crate::plan::check_stdin_once(&inputs, &common.output)?;
    Ok(Plan {
        command: Command::Merge,
        inputs,
        threads: common.threads,
        work: Work::Partials,
        output: common.output,
        progress: crate::progress::Mode::Never,
        stats: false,
        argv: common.argv,
    })
}
