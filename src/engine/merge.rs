//! Executing a merge plan: read every partial (and plain `key<TAB>count`
//! table) in the order given, a row at a time, check that they are of one
//! job and none was cut, and merge their states exactly into what one run
//! over all their input would have held: a frequency table holds one row
//! per distinct key, whatever the number of partials. Order matters to `take`, to the ties of
//! `topk`, and to records of a pipeline without a reduction, which come
//! out part after part.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use super::finish::finish;
use crate::error::Error;
use crate::input::Source;
use crate::output::{self, Destination};
use crate::partial::{self, Header, PartialReader, Tally};
use crate::pipeline::ast::InputKind;
use crate::plan::{Input, Output, check_output, names_its_job, streams};
use crate::reduce::{Acc, KeyCounts, Outcome, Reducer};

/// One input of a merge: a stream of partials (its first header read), or
/// a plain table; open only when it is standard input.
enum Piece {
    Partials(Option<PartialReader>, Header),
    Table(Option<Box<dyn BufRead + Send>>),
}

/// Merge the partials of `inputs` and write the result.
///
/// # Errors
/// Unreadable inputs; partials that cannot be merged (with the reason and,
/// for a malformed line, its position); output errors.
pub(super) fn run(inputs: &[Input], threads: usize, output: &Output) -> Result<(), Error> {
    let destination =
        Destination::for_output(output.to.as_deref(), output.expect.as_deref(), "rbag merge")?;
    let tally = Tally::default();
    let mut pieces = Vec::new();
    for input in inputs {
        pieces.push((input.source.clone(), read_piece(&input.source)?));
    }

    // The job is the first partial's; plain tables are frequency tables.
    let first = pieces.iter().find_map(|(source, piece)| match piece {
        Piece::Partials(_, header) => Some((source.name(), header.clone())),
        Piece::Table(_) => None,
    });
    let (first_name, header) = first.unwrap_or_else(|| {
        let header = Header {
            plan: "frequencies of plain tables".into(),
            pipeline: "frequencies".into(),
            input: "text".into(),
            terminator: b'\n',
            cut: None,
        };
        (String::new(), header)
    });
    let kind = if header.input == "json" {
        InputKind::Json
    } else {
        InputKind::Text
    };
    let pipeline = crate::pipeline::parse::parse(&header.pipeline, kind).map_err(|e| {
        Error::Usage(format!(
            "{first_name}: the partial's pipeline does not parse ({}): was it written by another rbag?",
            e.message
        ))
    })?;
    if !first_name.is_empty() && !names_its_job(&header, pipeline.clone(), kind) {
        return Err(Error::Merge(format!(
            "{first_name}:1: the header's plan and pipeline do not name one job (was the header edited?)"
        )));
    }
    let reduction = pipeline.reduce.as_deref();
    let table = reduction.is_some_and(|r| {
        r.reduce == crate::pipeline::ast::Reduce::Frequencies && r.group.is_none()
    });
    for (source, piece) in &pieces {
        let name = source.name();
        match piece {
            // Later partials of a stream are checked as they come.
            Piece::Partials(_, first) => check_mergeable(&name, first, &first_name, &header)?,
            Piece::Table(_) if !table => {
                return Err(Error::Merge(format!(
                    "{name}: a plain key<TAB>count table merges only with frequency tables, and {first_name} holds '{}'",
                    header.pipeline
                )));
            }
            Piece::Table(_) => {}
        }
    }
    // What the partials hold is known now: the output options must fit it.
    check_output(output, reduction)?;
    let pool = crate::threads::pool(threads)?;
    let mut each = |f: &mut dyn FnMut(&str, Read<'_>) -> Result<(), Error>| {
        each_read(std::mem::take(&mut pieces), &first_name, &header, &tally, f)
    };

    if let Some(limit) = streams(reduction) {
        // Records: part after part, in the order given.
        let mut records = Vec::new();
        each(&mut |name, read| {
            let Read::Partial(mut rows) = read else {
                return Ok(());
            };
            records
                .extend(partial::read_records(&mut rows).map_err(|(line, m)| bad(name, line, m))?);
            Ok(())
        })?;
        if let Some(limit) = limit {
            records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if output.partial {
            let mut rows = Vec::new();
            for (_, item) in &records {
                partial::write_record(item, &mut rows);
            }
            return destination.write_with(|w| partial::write_partial(w, &header, &rows));
        }
        let outcome = Outcome::Records(records);
        return output::print(
            outcome,
            destination,
            &output.presentation,
            header.terminator,
            &pool,
        );
    }

    let reduction = reduction.expect("not streaming: a reduction");
    let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
    let mut merged: Option<Acc> = None;
    each(&mut |name, read| {
        let acc = match read {
            Read::Partial(mut rows) => {
                // A table or set of keys is read into the merged one.
                let into = match merged.take() {
                    Some(acc @ (Acc::Frequencies(_) | Acc::Distinct(_)))
                        if !reducer.is_grouped() =>
                    {
                        Some(acc)
                    }
                    other => {
                        merged = other;
                        None
                    }
                };
                partial::read_acc(&mut rows, &reducer.reduce, reducer.is_grouped(), into)
                    .and_then(|acc| rows.finish().map(|()| acc))
                    .map_err(|(line, m)| bad(name, line, m))?
            }
            Read::Table(counts) => Acc::Frequencies(Box::new(counts)),
        };
        merged = Some(match merged.take() {
            Some(sum) => sum
                .merge(acc, &reducer.reduce)
                .map_err(|e| Error::Merge(format!("{name}: {}", e.0)))?,
            None => acc,
        });
        Ok(())
    })?;
    let acc = merged.unwrap_or_else(|| reducer.new_acc());
    let terminator = header.terminator;
    finish(
        acc,
        reduction,
        header,
        output,
        destination,
        terminator,
        &pool,
    )?;
    Ok(())
}

/// One thing a merge reads: the rows of a partial, or a table's counts.
enum Read<'a> {
    Partial(partial::Rows<'a>),
    Table(KeyCounts),
}

/// Give `f` every partial of every input, in order (each numbered by its
/// place among them, for the positions of its records), and each table;
/// a stream's partials after its first are checked against the job's
/// `header` as they come.
fn each_read(
    pieces: Vec<(Source, Piece)>,
    first_name: &str,
    header: &Header,
    tally: &Tally,
    f: &mut dyn FnMut(&str, Read<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut index = 0u32;
    for (source, piece) in pieces {
        let name = source.name();
        let (mut reader, first) = match piece {
            Piece::Table(reader) => {
                let mut reader = match reader {
                    Some(reader) => reader,
                    None => open(&source)?,
                };
                let counts = match partial::read_table(&mut reader, tally)
                    .map_err(|e| Error::io(name.clone(), e))?
                {
                    Ok(counts) => counts,
                    Err((line, message)) => return Err(bad(&name, line, message)),
                };
                f(&name, Read::Table(counts))?;
                continue;
            }
            Piece::Partials(Some(reader), first) => (reader, Some(first)),
            // Opened again at its turn: its first header is read again,
            // and checked as every other is.
            Piece::Partials(None, _) => (PartialReader::new(open(&source)?), None),
        };
        let mut next = first;
        loop {
            let this = match next.take() {
                Some(this) => this,
                None => match reader.next_header() {
                    Ok(Some(this)) => this,
                    Ok(None) => break,
                    Err((line, m)) => return Err(bad(&name, line, m)),
                },
            };
            check_mergeable(&name, &this, first_name, header)?;
            f(&name, Read::Partial(reader.rows(index, tally)))?;
            index += 1;
        }
    }
    Ok(())
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
    let job = |h: &Header| (h.pipeline.clone(), h.input.clone(), h.terminator);
    if job(header) != job(first) {
        return Err(Error::Merge(format!(
            "{name}: the same plan as {first_name}, but another pipeline, input or terminator (was a header edited?)"
        )));
    }
    Ok(())
}

/// Open an input, decompressed when its first bytes say so; refused when
/// it is empty.
fn open(source: &Source) -> Result<Box<dyn BufRead + Send>, Error> {
    let name = source.name();
    let mut reader: Box<dyn BufRead + Send> = match source {
        Source::Stdin => Box::new(BufReader::new(io::stdin())),
        Source::File(path) => Box::new(BufReader::new(
            File::open(path).map_err(|e| Error::io(name.clone(), e))?,
        )),
    };
    let head = reader.fill_buf().map_err(|e| Error::io(name.clone(), e))?;
    if head.is_empty() {
        // What `rbag ... --partial > x` leaves when it fails before it
        // writes anything: merging it as nothing would lose its part.
        return Err(bad(
            &name,
            1,
            "empty: a partial has at least its header and its 'end' line (was the run that wrote it cut short?)".into(),
        ));
    }
    // A compressed partial is read as every compressed input is: by its
    // magic bytes.
    if let Some(compression) = crate::input::Compression::from_magic(head) {
        let decoded =
            crate::input::decoder(compression, reader).map_err(|e| Error::io(name.clone(), e))?;
        reader = Box::new(BufReader::new(decoded));
        let head = reader.fill_buf().map_err(|e| Error::io(name.clone(), e))?;
        if head.is_empty() {
            return Err(bad(
                &name,
                1,
                format!(
                    "empty once {} decompressed: a partial has at least its header and its 'end' line",
                    compression.name()
                ),
            ));
        }
    }
    Ok(reader)
}

/// What an input is: a stream of partials (with its first header) or a
/// plain table. A file is closed again, and opened when its turn comes,
/// so that a merge of thousands of files (or of compressed ones, whose
/// decoders hold large windows) holds one at a time; standard input,
/// which cannot be read twice, stays open.
fn read_piece(source: &Source) -> Result<Piece, Error> {
    let name = source.name();
    let mut reader = open(source)?;
    let stdin = matches!(source, Source::Stdin);
    let head = reader.fill_buf().map_err(|e| Error::io(name.clone(), e))?;
    if !head.starts_with(partial::MAGIC.as_bytes()) {
        return Ok(Piece::Table(stdin.then_some(reader)));
    }
    let mut partials = PartialReader::new(reader);
    match partials.next_header() {
        Ok(Some(header)) => Ok(Piece::Partials(stdin.then_some(partials), header)),
        Ok(None) => Err(bad(&name, 1, "not a partial".into())),
        Err((line, message)) => Err(bad(&name, line, message)),
    }
}
