//! `rbag wordcount`: tokenize every block, count per worker, merge, filter
//! and print the table.

use std::collections::HashSet;

use regex::bytes::Regex;

use crate::cli::{Split, WordcountArgs};
use crate::counts::Counts;
use crate::engine::{BlockFailure, BlockTask, Engine, EngineOptions, Input, RunStats};
use crate::error::Error;
use crate::input;
use crate::input::block::Block;
use crate::output::{Destination, Row};
use crate::plan;
use crate::progress::Progress;
use crate::tokenize::{Splitter, Tokenizer, lowercase_into};

/// The word-counting task run on each block.
pub struct WordCount {
    tokenizer: Tokenizer,
}

/// One worker's counts and its reusable lowercasing buffer.
#[derive(Default)]
pub struct WordPartial {
    counts: Counts,
    scratch: Vec<u8>,
}

impl WordCount {
    /// A task counting the tokens of `tokenizer`.
    pub fn new(tokenizer: Tokenizer) -> WordCount {
        WordCount { tokenizer }
    }
}

impl BlockTask for WordCount {
    type Partial = WordPartial;

    fn new_partial(&self) -> WordPartial {
        WordPartial::default()
    }

    fn process(&self, partial: &mut WordPartial, block: &mut Block) -> Result<(), BlockFailure> {
        let WordPartial { counts, scratch } = partial;
        self.tokenizer
            .for_each_token_in(block.data_mut(), scratch, |buf, start, end| {
                counts.add_soon_in(buf, start, end, 1);
            });
        Ok(())
    }

    fn may_fail(&self) -> bool {
        false
    }
}

/// Count the words of `sources` with the given engine; the merged table.
///
/// # Errors
/// As [`Engine::run`].
pub fn count(
    engine: &Engine,
    task: &WordCount,
    inputs: &[Input],
    progress: &Progress,
) -> Result<(Counts, RunStats), Error> {
    let (partials, stats, _) = engine.run(task, inputs, progress)?;
    let tables = partials.into_iter().map(|p| p.counts).collect();
    let counts = Counts::merge_all(tables, Some(engine.pool()));
    Ok((counts, stats))
}

/// Run `rbag wordcount`.
///
/// # Errors
/// Usage errors (bad regex), unreadable inputs or stopwords, bad data under
/// `--strict-utf8`, and output errors.
pub fn run(args: WordcountArgs) -> Result<(), Error> {
    let lowercase = !args.words.keep_case;
    let splitter = match &args.words.pattern {
        Some(pattern) => Splitter::Pattern(
            Regex::new(pattern).map_err(|e| Error::Usage(format!("--pattern: {e}")))?,
        ),
        None => match args.words.split {
            Split::Words => Splitter::Words,
            Split::Whitespace => Splitter::Whitespace,
        },
    };
    let delimiter = if args.input.null { 0 } else { b'\n' };
    let stopwords = match &args.words.stopwords {
        Some(path) => read_stopwords(path, lowercase)?,
        None => HashSet::new(),
    };

    let sources = input::resolve(&args.files)?;
    crate::run::check_output_options(&args.output, crate::run::Shape::Table, true)?;
    let inputs = plan::inputs(
        sources,
        args.input.decompress.to_input(),
        args.input.byte_range,
        args.exec.threads(),
    )?;
    let threads = plan::threads(args.exec.threads(), &inputs, args.input.blocksize);
    if let Some(format) = args.exec.plan.explain {
        let mut combine = vec!["the workers' tables merged into one".to_owned()];
        if args.words.min_len > 0 || !stopwords.is_empty() {
            combine.push("short words and stopwords left out".into());
        }
        combine.push(match args.output.sort {
            Some(crate::cli::SortOrder::Key) => "sorted by key bytes".into(),
            _ => "sorted by count (descending), then key bytes".into(),
        });
        let plan = crate::explain::Plan {
            command: "wordcount",
            inputs: &inputs,
            blocks: true,
            block_size: args.input.blocksize,
            threads,
            records: "text",
            delimiter,
            stages: describe_stages(&splitter, lowercase),
            reduction: Some(crate::explain::ReductionPlan {
                name: "frequencies".into(),
                partial: "a table of counts per word".into(),
                combine,
                then: None,
            }),
            output: crate::run::output_plan(&args.output, false),
        };
        return crate::explain::print(&plan, format);
    }
    let destination = Destination::for_options(&args.output, "rbag wordcount")?;

    let engine = Engine::new(EngineOptions {
        threads,
        block_size: args.input.blocksize,
        delimiter,
        count_records: args.exec.stats,
        strict_utf8: args.input.strict_utf8,
        live: true,
    })?;
    let task = WordCount::new(Tokenizer::new(splitter, lowercase, delimiter));
    let progress = Progress::new(args.exec.progress, crate::run::known_total(&inputs));
    let result = count(&engine, &task, &inputs, &progress);
    progress.finish();
    let (counts, stats) = result?;

    let min_len = args.words.min_len;
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(counts.len());
    rows.extend(
        counts
            .iter()
            .filter(|(key, _)| min_len == 0 || char_len(key) >= min_len)
            .filter(|(key, _)| !stopwords.contains(*key))
            .map(|(key, count)| Row::text(key, count)),
    );
    if args.output.partial {
        let mut kept = crate::reduce::KeyCounts::default();
        for row in &rows {
            kept.add_key(row.kind, row.key, row.count);
        }
        let header = crate::partial::Header {
            plan: plan_text(&args, &stopwords),
            pipeline: "frequencies".into(),
            input: "text".into(),
            terminator: delimiter,
            cut: None,
        };
        let (acc, cut) =
            crate::run::cut_for_partial(crate::reduce::Acc::Frequencies(kept), &args.output)?;
        let header = crate::partial::Header { cut, ..header };
        let mut out = Vec::new();
        crate::partial::write_acc(&acc, &crate::pipeline::parse::Reduce::Frequencies, &mut out);
        destination.write_with(|w| crate::partial::write_partial(w, &header, &out))?;
    } else {
        crate::run::print_table(destination, rows, &args.output, engine.pool())?;
    }

    if args.exec.stats {
        eprintln!(
            "rbag: stats: {} input(s), {} bytes in {} block(s), {} record(s), {} token(s), {} distinct, {:.3} s ({:.1} MB/s)",
            stats.sources,
            stats.bytes,
            stats.blocks,
            stats.records,
            counts.total(),
            counts.len(),
            stats.seconds,
            stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9),
        );
    }
    Ok(())
}

/// The stages of a word count, for the plan.
pub fn describe_stages(splitter: &Splitter, lowercase: bool) -> Vec<(String, &'static str)> {
    let split = match splitter {
        Splitter::Words => {
            "words: Unicode letters, marks, digits, '_' and inner apostrophes".to_owned()
        }
        Splitter::Whitespace => "words: runs of anything but white space".to_owned(),
        Splitter::Pattern(regex) => {
            format!("words: the matches of /{}/ in each record", regex.as_str())
        }
    };
    let mut stages = vec![(split, "per block, 64 bytes at a time where it is ASCII")];
    if lowercase {
        stages.push((
            "lower: the full Unicode lowercase of each word".into(),
            "per word",
        ));
    }
    stages
}

/// What identifies a word count for partials: every option that changes
/// which words are counted (the stopwords by a hash of their set).
fn plan_text(args: &WordcountArgs, stopwords: &HashSet<Vec<u8>>) -> String {
    let words = &args.words;
    let mut plan = String::from("wordcount");
    match &words.pattern {
        Some(pattern) => plan.push_str(&format!(" --pattern '{pattern}'")),
        None => plan.push_str(match words.split {
            Split::Words => " --split words",
            Split::Whitespace => " --split whitespace",
        }),
    }
    if words.keep_case {
        plan.push_str(" --keep-case");
    }
    if words.min_len > 0 {
        plan.push_str(&format!(" --min-len {}", words.min_len));
    }
    if !stopwords.is_empty() {
        let mut sorted: Vec<&Vec<u8>> = stopwords.iter().collect();
        sorted.sort();
        let joined: Vec<u8> = sorted
            .iter()
            .flat_map(|w| w.iter().copied().chain([0]))
            .collect();
        let digest = xxhash_rust::xxh3::xxh3_64(&joined);
        plan.push_str(&format!(
            " --stopwords {} words, hash {digest:016x}",
            sorted.len()
        ));
    }
    if args.input.null {
        plan.push_str(" -0");
    }
    plan
}

/// Length in characters; each byte that is not UTF-8 counts as one.
fn char_len(key: &[u8]) -> usize {
    key.utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum()
}

/// The stopwords of `path`, one per line, case-handled like the words.
///
/// A byte order mark at the start and white space around each word are
/// not part of the words (editors add both without showing them).
fn read_stopwords(path: &std::path::Path, lowercase: bool) -> Result<HashSet<Vec<u8>>, Error> {
    let shown = input::display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()));
    let text = std::fs::read(path).map_err(|e| Error::io(shown, e))?;
    let text = text
        .strip_prefix(crate::input::record::BOM)
        .unwrap_or(&text);
    let mut words = HashSet::new();
    for line in text.split(|&b| b == b'\n') {
        let line = bstr::ByteSlice::trim(line);
        if line.is_empty() {
            continue;
        }
        if lowercase {
            let mut lowered = Vec::with_capacity(line.len());
            lowercase_into(line, &mut lowered);
            words.insert(lowered);
        } else {
            words.insert(line.to_vec());
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn char_len_counts_characters_and_stray_bytes() {
        assert_eq!(char_len("café".as_bytes()), 4);
        assert_eq!(char_len(b"a\xff\xfeb"), 4);
    }

    /// Pieces that stress the rules: case, final sigma, combining marks,
    /// both apostrophes, Unicode and ASCII white space, CRLF, invalid bytes.
    const PIECES: &[&[u8]] = &[
        b"a",
        b"B",
        b"the",
        b"THE",
        b" ",
        b"  ",
        b"\n",
        b"\r\n",
        b"\t",
        b"'",
        b"don't",
        b"_",
        b"1",
        b".",
        b",",
        b"-",
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
        "\u{3a3}".as_bytes(),
        "\u{3a3}\u{391}\u{3a3}".as_bytes(),
        "\u{e9}".as_bytes(),
        "e\u{301}".as_bytes(),
        "\u{2019}".as_bytes(),
        "\u{a0}".as_bytes(),
        "\u{3000}".as_bytes(),
        "\u{6771}".as_bytes(),
        "\u{130}".as_bytes(),
    ];

    fn model(text: &[u8], words: bool, lowercase: bool) -> BTreeMap<Vec<u8>, u64> {
        crate::fuzzing::naive_word_counts(text, words, lowercase)
    }

    fn engine_counts(
        text: &[u8],
        words: bool,
        lowercase: bool,
        block_size: u64,
        threads: usize,
    ) -> BTreeMap<Vec<u8>, u64> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.txt");
        std::fs::write(&path, text).unwrap();
        let engine = Engine::new(EngineOptions {
            threads,
            block_size,
            delimiter: b'\n',
            count_records: false,
            strict_utf8: false,
            live: false,
        })
        .unwrap();
        let splitter = if words {
            Splitter::Words
        } else {
            Splitter::Whitespace
        };
        let task = WordCount::new(Tokenizer::new(splitter, lowercase, b'\n'));
        let inputs = plan::inputs(
            vec![crate::input::Source::File(path)],
            crate::input::Decompress::Never,
            None,
            1,
        )
        .unwrap();
        let (counts, _) = count(&engine, &task, &inputs, &Progress::hidden()).unwrap();
        counts.iter().map(|(k, c)| (k.to_vec(), c)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn wordcount_equals_the_naive_model(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..120),
            words in any::<bool>(),
            lowercase in any::<bool>(),
            block_size in 1u64..48,
            threads in 1usize..4,
        ) {
            let text = pieces.concat();
            let got = engine_counts(&text, words, lowercase, block_size, threads);
            prop_assert!(!got.contains_key(&Vec::new()), "an empty token was counted");
            prop_assert_eq!(got, model(&text, words, lowercase));
        }
    }
}
