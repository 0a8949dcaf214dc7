//! `rbag freq`: how often each record occurs, the pipeline `frequencies`
//! (or `pluck PATH | frequencies` with `--field`).

use super::blocks::plan_records;
use super::request::{Blocks, RecordOptions};
use crate::error::Error;
use crate::pipeline::path::Path;
use crate::plan::{Command, Plan};

/// The plan of `rbag freq`.
///
/// # Errors
/// A `--field` that is not a path (a usage error), or what planning
/// `run 'pluck PATH | frequencies'` finds.
pub(super) fn plan(
    field: Option<String>,
    records: RecordOptions,
    blocks: Blocks,
) -> Result<Plan, Error> {
    let pipeline = match &field {
        None => String::from("frequencies"),
        Some(field) => {
            if !field.starts_with('.') {
                return Err(Error::Usage(format!(
                    "--field: '{field}' is not a JSON path; paths start with '.', like .user.lang"
                )));
            }
            match Path::parse_prefix(field) {
                Ok((_, used)) if used == field.len() => {}
                Ok((_, used)) => {
                    return Err(Error::Usage(format!(
                        "--field: unexpected '{}' in the path {field}",
                        &field[used..]
                    )));
                }
                Err((message, _)) => {
                    return Err(Error::Usage(format!("--field: {message} in {field}")));
                }
            }
            format!("pluck {field} | frequencies")
        }
    };
    plan_records(Command::Freq, &pipeline, field.as_deref(), records, blocks)
}
