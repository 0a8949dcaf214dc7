//! `rbag merge`: combine partial results (and plain `key<TAB>count`
//! tables) into the output one run over all the input would print, or into
//! one partial again (a merge of merges).
//!
//! Partials merge in the order given: order matters to `take`, to the ties
//! of `topk`, and to records of a pipeline without a reduction, which come
//! out part after part. Merging is exact for every reduction, and refused,
//! with the reason, for what cannot be merged exactly: partials of
//! different jobs, a table cut by `--top` or `--min-count`, a malformed or
//! truncated partial, an unknown format version.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use crate::cli::MergeArgs;
use crate::error::Error;
use crate::input::{self, Source};
use crate::output::Destination;
use crate::partial::{self, Header, Part, Rows, Tally};
use crate::pipeline::parse::{self, InputKind, Pipeline, Reduce};
use crate::reduce::{Acc, Outcome, Reducer};
use crate::run::{self, Summary};

/// One input of a merge: a partial's parts, or a plain table's counts.
enum Piece {
    Parts(Vec<Part>),
    Table(crate::reduce::KeyCounts),
}

/// Run `rbag merge`.
///
/// # Errors
/// Unreadable inputs; partials that cannot be merged (with the reason and,
/// for a malformed line, its position); output errors.
pub fn run(args: MergeArgs) -> Result<(), Error> {
    let sources = input::resolve(&args.files)?;
    let mut inputs = Vec::with_capacity(sources.len());
    for source in &sources {
        let shape = input::inspect(source, input::Decompress::Never)?;
        inputs.push(crate::engine::Input {
            source: source.clone(),
            shape,
            span: (0, 0),
            range_start: 0,
        });
    }
    if let Some(format) = args.exec.plan.explain {
        let plan = crate::explain::Plan {
            command: "merge",
            inputs: &inputs,
            blocks: false,
            block_size: 0,
            threads: args.exec.threads(),
            records: "partial",
            delimiter: b'\n',
            stages: Vec::new(),
            reduction: Some(crate::explain::ReductionPlan {
                name: "the reduction the partials name".into(),
                partial: "the state read from each partial (of one job, none cut)".into(),
                combine: vec![
                    "the partials merged exactly, in the order given".into(),
                    "finished as the job's pipeline says".into(),
                ],
                then: None,
            }),
            output: run::output_plan(&args.output, false),
        };
        return crate::explain::print(&plan, format);
    }
    let destination = Destination::for_options(&args.output, "rbag merge")?;
    let tally = Tally::default();
    let mut pieces = Vec::new();
    for source in &sources {
        pieces.push((source.name(), read_piece(source, &tally)?));
    }

    // The job is the first partial's; plain tables are frequency tables.
    let first = pieces.iter().find_map(|(name, piece)| match piece {
        Piece::Parts(parts) => Some((name.clone(), parts[0].header.clone())),
        Piece::Table(_) => None,
    });
    let (first_name, header) = match first {
        Some(found) => found,
        None => (
            String::new(),
            Header {
                plan: "frequencies of plain tables".into(),
                pipeline: "frequencies".into(),
                input: "text".into(),
                terminator: b'\n',
                cut: None,
            },
        ),
    };
    let kind = if header.input == "json" {
        InputKind::Json
    } else {
        InputKind::Text
    };
    let pipeline = parse::parse(&header.pipeline, kind).map_err(|e| {
        Error::Usage(format!(
            "{first_name}: the partial's pipeline does not parse ({}): was it written by another rbag?",
            e.message
        ))
    })?;
    for (name, piece) in &pieces {
        match piece {
            Piece::Parts(parts) => {
                for part in parts {
                    check_mergeable(name, &part.header, &first_name, &header)?;
                }
            }
            Piece::Table(_) => {
                let frequencies = pipeline
                    .reduce
                    .as_ref()
                    .is_some_and(|r| r.reduce == Reduce::Frequencies && r.group.is_none());
                if !frequencies {
                    return Err(Error::Merge(format!(
                        "{name}: a plain key<TAB>count table merges only with frequency tables, and {first_name} holds '{}'",
                        header.pipeline
                    )));
                }
            }
        }
    }

    let mut partial_out = Vec::new();
    let parts = pieces.into_iter().flat_map(|(name, piece)| match piece {
        Piece::Parts(parts) => parts
            .into_iter()
            .map(|p| (name.clone(), Ok(p)))
            .collect::<Vec<_>>(),
        Piece::Table(counts) => vec![(name, Err(counts))],
    });
    let streaming = is_streaming(&pipeline);
    let options = &args.output;
    if let Some(limit) = streaming {
        // Records: part after part, in the order given.
        let mut records = Vec::new();
        for (index, (name, part)) in parts.enumerate() {
            let Ok(part) = part else { continue };
            let mut rows = Rows::new(&part.rows, part.first_line, index as u32, &tally);
            records
                .extend(partial::read_records(&mut rows).map_err(|(line, m)| bad(&name, line, m))?);
        }
        if let Some(limit) = limit {
            records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if args.output.partial {
            for (_, item) in &records {
                partial::write_record(item, &mut partial_out);
            }
            return write_partial(destination, &header, &partial_out);
        }
        let outcome = Outcome::Records(records);
        let pool = pool(&args)?;
        run::print_result(outcome, destination, options, header.terminator, &pool)?;
        return Ok(());
    }

    let reduction = pipeline
        .reduce
        .as_deref()
        .expect("not streaming: a reduction");
    let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
    let mut merged: Option<Acc> = None;
    for (index, (name, part)) in parts.enumerate() {
        let acc = match part {
            Ok(part) => {
                let mut rows = Rows::new(&part.rows, part.first_line, index as u32, &tally);
                let acc = partial::read_acc(&mut rows, &reducer.reduce, reducer.is_grouped())
                    .map_err(|(line, m)| bad(&name, line, m))?;
                if !rows.done() {
                    return Err(bad(&name, part.first_line, "rows left over".into()));
                }
                acc
            }
            Err(counts) => Acc::Frequencies(counts),
        };
        merged = Some(match merged {
            Some(sum) => sum.merge(acc, &reducer.reduce),
            None => acc,
        });
    }
    let acc = merged.unwrap_or_else(|| reducer.new_acc());
    if args.output.partial {
        let (acc, cut) = run::cut_for_partial(acc, options)?;
        partial::write_acc(&acc, &reducer.reduce, &mut partial_out);
        let header = Header { cut, ..header };
        return write_partial(destination, &header, &partial_out);
    }
    let outcome = acc
        .finish(&reducer.reduce)
        .map_err(|e| Error::NoResult(e.0))?;
    let mut summary = Summary::default();
    let pool = pool(&args)?;
    let outcome = run::finish_rest(outcome, &reduction.rest, options, &pool, &mut summary)?;
    run::print_result(outcome, destination, options, header.terminator, &pool)?;
    Ok(())
}

fn pool(args: &MergeArgs) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.exec.threads())
        .build()
        .map_err(|e| Error::Usage(format!("cannot start threads: {e}")))
}

/// `Some(limit)` when the pipeline streams records (no reduction, or only
/// a final `take`).
fn is_streaming(pipeline: &Pipeline) -> Option<Option<u64>> {
    match pipeline.reduce.as_deref() {
        None => Some(None),
        Some(r) if r.group.is_none() && r.rest.is_empty() => match r.reduce {
            Reduce::Take(n) => Some(Some(n)),
            _ => None,
        },
        _ => None,
    }
}

fn bad(name: &str, line: u64, message: String) -> Error {
    Error::Merge(format!("{name}:{line}: {message}"))
}

fn check_mergeable(
    name: &str,
    header: &Header,
    first_name: &str,
    first: &Header,
) -> Result<(), Error> {
    if let Some(cut) = &header.cut {
        return Err(Error::Merge(format!(
            "{name}: this table was cut by {cut}, so it lacks rows: merging it would not be exact (make the partials without --top and --min-count, and cut the merged result)"
        )));
    }
    if header.plan != first.plan {
        return Err(Error::Merge(format!(
            "{name}: a partial of {}, but {first_name} is a partial of {}: partials of different jobs do not merge",
            header.plan, first.plan
        )));
    }
    Ok(())
}

fn read_piece(source: &Source, tally: &Tally) -> Result<Piece, Error> {
    let name = source.name();
    let reader: Box<dyn BufRead> = match source {
        Source::Stdin => Box::new(BufReader::new(io::stdin())),
        Source::File(path) => {
            let path: &PathBuf = path;
            Box::new(BufReader::new(
                File::open(path).map_err(|e| Error::io(name.clone(), e))?,
            ))
        }
    };
    let mut reader = reader;
    // Peek at the first bytes to tell a partial from a table.
    let head = reader.fill_buf().map_err(|e| Error::io(name.clone(), e))?;
    if head.starts_with(partial::MAGIC.as_bytes()) {
        return match partial::read_parts(&mut reader).map_err(|e| Error::io(name.clone(), e))? {
            Ok(Some(parts)) => Ok(Piece::Parts(parts)),
            Ok(None) => Err(bad(&name, 1, "not a partial".into())),
            Err((line, message)) => Err(bad(&name, line, message)),
        };
    }
    match partial::read_table(&mut reader, tally).map_err(|e| Error::io(name.clone(), e))? {
        Ok(counts) => Ok(Piece::Table(counts)),
        Err((line, message)) => Err(bad(&name, line, message)),
    }
}

fn write_partial(destination: Destination, header: &Header, rows: &[u8]) -> Result<(), Error> {
    destination.write_with(|w| partial::write_partial(w, header, rows))
}
