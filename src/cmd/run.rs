//! `rbag run`: a pipeline of the language over the records of the input.

use super::blocks::plan_records;
use super::request::{Blocks, RecordOptions};
use crate::error::Error;
use crate::plan::{Command, Plan};

/// The plan of `rbag run PIPELINE`.
///
/// # Errors
/// A pipeline that does not parse (before any input is read), unreadable
/// inputs, output options that do not fit the result.
pub(super) fn plan(pipeline: &str, records: RecordOptions, blocks: Blocks) -> Result<Plan, Error> {
    plan_records(Command::Run, pipeline, None, records, blocks)
}
