//! `rbag wordcount`: the word kernel and a frequency table. The words are
//! cut by `--split` or `--pattern`, lowercased unless `--keep-case`, and
//! filtered by `--min-len` and `--stopwords`: steps of the kernel, so that
//! a word count is one job whichever command asks for it.

use std::collections::HashSet;

use regex::bytes::Regex;

use super::blocks::plan_blocks;
use super::request::{Blocks, Split, Words};
use crate::error::Error;
use crate::input;
use crate::pipeline::ast::{InputKind, Pipeline, Reduce, Reduction};
use crate::plan::{BadLines, Command, Plan, Records, Step, Stopwords, WordFilter, check_output};
use crate::tokenize::{Splitter, lowercase_into};

/// The plan of a word count.
///
/// # Errors
/// A bad `--pattern` (a usage error), unreadable stopwords or inputs,
/// output options that do not fit a table.
pub(super) fn plan(words: Words, blocks: Blocks) -> Result<Plan, Error> {
    let lowercase = !words.keep_case;
    let splitter = match words.split {
        Split::Pattern(pattern) => Splitter::Pattern(
            Regex::new(&pattern).map_err(|e| Error::Usage(format!("--pattern: {e}")))?,
        ),
        Split::Words => Splitter::Words,
        Split::Whitespace => Splitter::Whitespace,
    };
    let stopwords = match &words.stopwords {
        Some(path) => Some(read_stopwords(path, lowercase)?),
        None => None,
    };
    let sources = input::resolve(&blocks.files)?;
    let reduction = Reduction {
        group: None,
        reduce: Reduce::Frequencies,
        at: 0,
        rest: Pipeline::empty(),
    };
    check_output(&blocks.common.output, Some(&reduction))?;
    let mut steps = vec![Step::Tokenize(splitter)];
    if lowercase {
        steps.push(Step::LowerWords);
    }
    if words.min_len > 0 {
        steps.push(Step::DropWords(WordFilter::MinLen(words.min_len)));
    }
    if let Some(stopwords) = stopwords.filter(|s| !s.words.is_empty()) {
        steps.push(Step::DropWords(WordFilter::Stopwords(stopwords)));
    }
    let records = Records {
        kind: InputKind::Text,
        delimiter: if blocks.null { 0 } else { b'\n' },
        keep_cr: false,
        strict_utf8: blocks.strict_utf8,
        bad_lines: BadLines::Fail,
    };
    plan_blocks(
        Command::Wordcount,
        sources,
        blocks,
        records,
        steps,
        Some(reduction),
    )
}

/// The stopwords of `path`, one per line, case-handled like the words.
///
/// A byte order mark at the start and white space around each word are
/// not part of the words (editors add both without showing them).
fn read_stopwords(path: &std::path::Path, lowercase: bool) -> Result<Stopwords, Error> {
    let shown = crate::error::display_path(path);
    let text = std::fs::read(path).map_err(|e| Error::io(shown.clone(), e))?;
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
    Ok(Stopwords { words, file: shown })
}
