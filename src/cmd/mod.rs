//! The commands. Each lowers its request (plain options, lowered from the
//! command line by `cli`) into a [`Plan`](crate::plan::Plan); then the
//! plan is either rendered (`--explain`) or executed by the engine, the
//! same way for every command. Commands never call each other: what they
//! share is planned in `blocks`.

mod blocks;
mod freq;
mod merge;
mod request;
mod run;
mod wordcount;

use std::io::Write;

pub(crate) use request::{Blocks, Common, RecordOptions, Request, Split, Words};

use crate::error::Error;

/// Plan the request, then explain or execute the plan.
///
/// # Errors
/// Whatever planning or running finds.
pub(crate) fn run(request: Request) -> Result<(), Error> {
    let explain = request.explain();
    let plan = match request {
        Request::Wordcount { words, blocks } => wordcount::plan(words, blocks)?,
        Request::Freq {
            field,
            records,
            blocks,
        } => freq::plan(field, records, blocks)?,
        Request::Run {
            pipeline,
            records,
            blocks,
        } => run::plan(&pipeline, records, blocks)?,
        Request::Merge { files, common } => merge::plan(files, common)?,
    };
    match explain {
        Some(format) => {
            let mut out = std::io::stdout().lock();
            out.write_all(plan.render(format).as_bytes())
                .and_then(|()| out.flush())
                .map_err(Error::Stdout)
        }
        None => crate::engine::execute(plan),
    }
}
