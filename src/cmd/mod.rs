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
    let (plan, explain) = match request {
        Request::Wordcount { words, blocks } => {
            let explain = blocks.common.explain;
            (wordcount::plan(words, blocks)?, explain)
        }
        Request::Freq {
            field,
            records,
            blocks,
        } => {
            let explain = blocks.common.explain;
            (freq::plan(field, records, blocks)?, explain)
        }
        Request::Run {
            pipeline,
            records,
            blocks,
        } => {
            let explain = blocks.common.explain;
            (run::plan(&pipeline, records, blocks)?, explain)
        }
        Request::Merge { files, common } => {
            let explain = common.explain;
            (merge::plan(files, common)?, explain)
        }
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
