//! Diagnostics of the pipeline language: errors with the line and column of
//! the problem (by the one rule of `location`), the words rbag suggests for
//! a misspelt name, and the message for a stage that needs JSON records.

use crate::location::Place;

/// A pipeline that does not parse: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl ParseError {
    /// The error at byte `at` of the pipeline `text`.
    pub fn at(text: &str, at: usize, message: String) -> ParseError {
        let place = Place::of(text.as_bytes(), at, b'\n');
        ParseError {
            line: place.line,
            column: place.column,
            message,
        }
    }
}

/// The name of `names` that `unknown` is probably a misspelling of.
pub fn suggest<'n>(unknown: &str, names: &[&'n str]) -> Option<&'n str> {
    names
        .iter()
        .map(|name| (strsim::damerau_levenshtein(unknown, name), *name))
        .filter(|(distance, name)| *distance <= 2 && *distance < name.len())
        .min()
        .map(|(_, name)| name)
}

/// What to say when `what` meets text records.
pub fn needs_json_message(what: &str) -> String {
    format!(
        "'{what}' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
    )
}
