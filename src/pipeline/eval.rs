//! Running the element-wise stages on one record: maps, filters and
//! flattens, fused, so each record goes through all of them before the next
//! is read.

use std::borrow::Cow;
use std::cmp::Ordering;

use bstr::ByteSlice;
use serde_json::Value;

use super::item::Item;
use super::parse::{Compare, Separator, Stage, Test};
use crate::numbers::Num;
use crate::tokenize::{Splitter, Tokenizer, lowercase_into};

/// A record a stage cannot handle; the message names the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError {
    pub message: String,
    /// True for text that the `json` stage could not parse, which
    /// `--skip-bad-lines` skips like a bad input line.
    pub bad_json: bool,
}

impl StageError {
    fn new(message: String) -> StageError {
        StageError {
            message,
            bad_json: false,
        }
    }
}

/// What the stages dropped, for `--stats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dropped {
    /// Records without the path that `pluck` asked for.
    pub missing_path: u64,
}

/// The element-wise stages of a pipeline, ready to run.
pub struct Evaluator {
    stages: Vec<Stage>,
    words: Tokenizer,
}

impl Evaluator {
    pub fn new(stages: Vec<Stage>) -> Evaluator {
        Evaluator {
            stages,
            words: Tokenizer::new(Splitter::Words, false, b'\n'),
        }
    }

    /// Run `record` through every stage, calling `out` with each result in
    /// order. `current` and `next` are reusable buffers.
    ///
    /// # Errors
    /// A stage that cannot handle a record, or an error from `out`.
    pub fn run<'a, F>(
        &self,
        record: Item<'a>,
        buffers: &mut (Vec<Item<'a>>, Vec<Item<'a>>),
        dropped: &mut Dropped,
        mut out: F,
    ) -> Result<(), StageError>
    where
        F: FnMut(Item<'a>) -> Result<(), StageError>,
    {
        let (current, next) = buffers;
        current.clear();
        current.push(record);
        for stage in &self.stages {
            next.clear();
            for item in current.drain(..) {
                self.apply(stage, item, next, dropped)?;
            }
            std::mem::swap(current, next);
            if current.is_empty() {
                return Ok(());
            }
        }
        for item in current.drain(..) {
            out(item)?;
        }
        Ok(())
    }

    fn apply<'a>(
        &self,
        stage: &Stage,
        item: Item<'a>,
        out: &mut Vec<Item<'a>>,
        dropped: &mut Dropped,
    ) -> Result<(), StageError> {
        match stage {
            Stage::Lower => {
                let mut lowered = Vec::new();
                lowercase_into(&item.text(), &mut lowered);
                out.push(Item::Text(Cow::Owned(lowered)));
            }
            Stage::Upper => {
                let text = item.text();
                let mut upper = Vec::with_capacity(text.len());
                for chunk in text.utf8_chunks() {
                    upper.extend_from_slice(chunk.valid().to_uppercase().as_bytes());
                    upper.extend_from_slice(chunk.invalid());
                }
                out.push(Item::Text(Cow::Owned(upper)));
            }
            Stage::Trim => {
                let trimmed = match item.into_text() {
                    Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
                    Cow::Owned(text) => Cow::Owned(text.trim().to_vec()),
                };
                out.push(Item::Text(trimmed));
            }
            Stage::Pluck(path) => match item {
                Item::Json(mut value, _) => match path.lookup_mut(&mut value) {
                    Some(found) => out.push(Item::Json(found.take(), None)),
                    None => dropped.missing_path += 1,
                },
                Item::Text(_) => {
                    return Err(StageError::new(format!(
                        "pluck {path}: the record is text, not JSON"
                    )));
                }
            },
            Stage::Replace(regex, replacement) => {
                let text = item.into_text();
                let replaced = match regex.replace_all(&text, replacement.as_slice()) {
                    Cow::Borrowed(_) => None,
                    Cow::Owned(changed) => Some(changed),
                };
                out.push(Item::Text(replaced.map_or(text, Cow::Owned)));
            }
            Stage::Extract(regex) => {
                let text = item.into_text();
                let range = regex
                    .captures(&text)
                    .and_then(|caps| caps.get(1).or_else(|| caps.get(0)))
                    .map(|m| m.range());
                if let Some(range) = range {
                    out.push(Item::Text(sub_text(text, range.start, range.end)));
                }
            }
            Stage::Len => out.push(Item::Json(Value::from(length(&item)), None)),
            Stage::Json => {
                let parsed = serde_json::from_slice::<Value>(&item.text());
                match parsed {
                    Ok(value) => out.push(Item::Json(value, None)),
                    Err(e) => {
                        return Err(StageError {
                            message: format!("json: invalid JSON: {}", json_message(&e)),
                            bad_json: true,
                        });
                    }
                }
            }
            Stage::Text => out.push(Item::Text(item.into_text())),
            Stage::Filter { test, keep } => {
                if passes(test, &item) == *keep {
                    out.push(item);
                }
            }
            Stage::NonEmpty => {
                let empty = match &item {
                    Item::Text(text) => text.is_empty(),
                    Item::Json(Value::Null, _) => true,
                    Item::Json(Value::String(s), _) => s.is_empty(),
                    Item::Json(Value::Array(a), _) => a.is_empty(),
                    Item::Json(Value::Object(o), _) => o.is_empty(),
                    Item::Json(..) => false,
                };
                if !empty {
                    out.push(item);
                }
            }
            Stage::Words => {
                let text = item.into_text();
                let mut ranges = Vec::new();
                self.words
                    .for_each_range(&text, |start, end| ranges.push((start, end)));
                push_pieces(text, ranges, out);
            }
            Stage::Split(separator) => {
                let text = item.into_text();
                let mut ranges = Vec::new();
                let mut start = 0;
                match separator {
                    Separator::Text(sep) => {
                        for at in memchr::memmem::find_iter(&text, sep) {
                            // Overlapping matches of a repetitive separator
                            // are skipped, as str::split does.
                            if at >= start {
                                ranges.push((start, at));
                                start = at + sep.len();
                            }
                        }
                    }
                    Separator::Regex(regex) => {
                        for found in regex.find_iter(&text) {
                            ranges.push((start, found.start()));
                            start = found.end();
                        }
                    }
                }
                ranges.push((start, text.len()));
                push_pieces(text, ranges, out);
            }
            Stage::Chars => {
                let text = item.into_text();
                let ranges: Vec<_> = text
                    .char_indices()
                    .map(|(start, end, _)| (start, end))
                    .collect();
                push_pieces(text, ranges, out);
            }
            Stage::Explode => match item {
                Item::Json(Value::Array(items), _) => {
                    out.extend(items.into_iter().map(|v| Item::Json(v, None)));
                }
                Item::Json(other, _) => {
                    return Err(StageError::new(format!(
                        "explode: expected a JSON array, found {}",
                        kind_name(&other)
                    )));
                }
                Item::Text(_) => {
                    return Err(StageError::new(
                        "explode: expected a JSON array, found text".into(),
                    ));
                }
            },
        }
        Ok(())
    }
}

/// Pieces of `text`, borrowed from the block when `text` is.
fn push_pieces<'a>(text: Cow<'a, [u8]>, ranges: Vec<(usize, usize)>, out: &mut Vec<Item<'a>>) {
    match text {
        Cow::Borrowed(text) => {
            out.extend(
                ranges
                    .into_iter()
                    .map(|(s, e)| Item::Text(Cow::Borrowed(&text[s..e]))),
            );
        }
        Cow::Owned(text) => {
            out.extend(
                ranges
                    .into_iter()
                    .map(|(s, e)| Item::Text(Cow::Owned(text[s..e].to_vec()))),
            );
        }
    }
}

fn sub_text(text: Cow<'_, [u8]>, start: usize, end: usize) -> Cow<'_, [u8]> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(&text[start..end]),
        Cow::Owned(text) => Cow::Owned(text[start..end].to_vec()),
    }
}

/// `len`: characters of text (a byte that is not UTF-8 counts as one),
/// elements of an array, members of an object, 0 for null, and the length
/// of the text form of a number or boolean.
pub fn length(item: &Item<'_>) -> u64 {
    let chars = |text: &[u8]| text.chars().count() as u64;
    match item {
        Item::Json(Value::Array(items), _) => items.len() as u64,
        Item::Json(Value::Object(members), _) => members.len() as u64,
        Item::Json(Value::Null, _) => 0,
        other => chars(&other.text()),
    }
}

fn passes(test: &Test, item: &Item<'_>) -> bool {
    match test {
        Test::Matches(regex) => regex.is_match(&item.text()),
        Test::Len(op, number) => {
            let len = Num::Int(i128::from(length(item)));
            holds(*op, len.value_cmp(&Num::from_json(number)))
        }
        Test::Path(path, op, literal) => match item {
            // A record without the path passes no comparison.
            Item::Json(value, _) => {
                path.lookup(value)
                    .is_some_and(|found| match compare_values(found, literal) {
                        Some(ordering) => holds(*op, ordering),
                        None => *op == Compare::Ne,
                    })
            }
            Item::Text(_) => false,
        },
        Test::Truthy(path) => match item {
            Item::Json(value, _) => path
                .lookup(value)
                .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false))),
            Item::Text(_) => false,
        },
    }
}

fn holds(op: Compare, ordering: Ordering) -> bool {
    match op {
        Compare::Eq => ordering == Ordering::Equal,
        Compare::Ne => ordering != Ordering::Equal,
        Compare::Lt => ordering == Ordering::Less,
        Compare::Le => ordering != Ordering::Greater,
        Compare::Gt => ordering == Ordering::Greater,
        Compare::Ge => ordering != Ordering::Less,
    }
}

/// Compare two JSON values: numbers by value, strings by bytes, booleans
/// false < true; other equal values are equal. `None` means unequal and
/// unordered (different kinds, or different arrays or objects), for which
/// only `!=` holds.
fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            Some(Num::from_json(x).value_cmp(&Num::from_json(y)))
        }
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

/// The name of a JSON value's kind, for messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json's message without its "at line L column C" tail; rbag reports
/// positions itself, in the input file.
pub fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A number in a JSON value, for messages and reductions.
pub fn number_of(item: &Item<'_>) -> Option<Num> {
    match item {
        Item::Json(Value::Number(n), _) => Some(Num::from_json(n)),
        Item::Json(Value::String(s), _) => Num::parse(s.as_bytes()),
        Item::Json(..) => None,
        Item::Text(text) => Num::parse(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::parse::{InputKind, parse};

    fn run(pipeline: &str, kind: InputKind, records: &[&str]) -> Vec<String> {
        let parsed = parse(pipeline, kind).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let mut out = Vec::new();
        let mut buffers = (Vec::new(), Vec::new());
        let mut dropped = Dropped::default();
        for record in records {
            let item = match kind {
                InputKind::Text => Item::Text(Cow::Borrowed(record.as_bytes())),
                InputKind::Json => Item::Json(
                    serde_json::from_str(record).unwrap(),
                    Some(Cow::Borrowed(record.as_bytes())),
                ),
            };
            eval.run(item, &mut buffers, &mut dropped, |item| {
                let mut text = Vec::new();
                item.write_text(&mut text);
                out.push(String::from_utf8(text).unwrap());
                Ok(())
            })
            .unwrap();
        }
        out
    }

    #[test]
    fn maps_change_text() {
        assert_eq!(run("lower", InputKind::Text, &["ÀB Σ"]), ["àb σ"]);
        assert_eq!(run("upper", InputKind::Text, &["straße"]), ["STRASSE"]);
        assert_eq!(run("trim", InputKind::Text, &["\u{a0} a b \t"]), ["a b"]);
        assert_eq!(
            run(r#"replace /(\d+)/ "<$1>""#, InputKind::Text, &["a1b22"]),
            ["a<1>b<22>"]
        );
        assert_eq!(
            run(
                r"extract /id=(\d+)/",
                InputKind::Text,
                &["x id=7 y", "none"]
            ),
            ["7"]
        );
        assert_eq!(run(r"extract /\d+/", InputKind::Text, &["ab 12 3"]), ["12"]);
        assert_eq!(run("len", InputKind::Text, &["café", ""]), ["4", "0"]);
    }

    #[test]
    fn filters_keep_or_remove() {
        let lines = ["apple", "kiwi", "", "banana"];
        assert_eq!(run("filter /an/", InputKind::Text, &lines), ["banana"]);
        assert_eq!(
            run("remove /an/", InputKind::Text, &lines),
            ["apple", "kiwi", ""]
        );
        assert_eq!(
            run("filter len >= 5", InputKind::Text, &lines),
            ["apple", "banana"]
        );
        assert_eq!(
            run("nonempty", InputKind::Text, &lines),
            ["apple", "kiwi", "banana"]
        );
    }

    #[test]
    fn json_comparisons() {
        let records = [
            r#"{"age": 31, "lang": "en"}"#,
            r#"{"age": 30.5, "lang": "fr"}"#,
            r#"{"lang": "en"}"#,
            r#"{"age": "old"}"#,
        ];
        assert_eq!(
            run("filter .age > 30.5", InputKind::Json, &records),
            [records[0]]
        );
        assert_eq!(
            run("filter .age >= 30.5", InputKind::Json, &records),
            [records[0], records[1]]
        );
        assert_eq!(
            run(r#"filter .lang == "en""#, InputKind::Json, &records),
            [records[0], records[2]]
        );
        assert_eq!(
            run(r#"filter .lang != "en""#, InputKind::Json, &records),
            [records[1]]
        );
        assert_eq!(
            run("filter .age", InputKind::Json, &records),
            [records[0], records[1], records[3]]
        );
        assert_eq!(
            run("filter .age == 31.0", InputKind::Json, &records),
            [records[0]]
        );
    }

    #[test]
    fn flattens_make_several_records() {
        assert_eq!(
            run("words", InputKind::Text, &["Don't stop, now"]),
            ["Don't", "stop", "now"]
        );
        assert_eq!(
            run(r#"split ",""#, InputKind::Text, &["a,,b"]),
            ["a", "", "b"]
        );
        assert_eq!(
            run(r"split /\s*;\s*/", InputKind::Text, &["a ; b;c"]),
            ["a", "b", "c"]
        );
        assert_eq!(run("chars", InputKind::Text, &["né"]), ["n", "é"]);
        assert_eq!(
            run(
                "pluck .tags | explode",
                InputKind::Json,
                &[r#"{"tags": ["x", 1, {"b":2,"a":1}]}"#]
            ),
            ["x", "1", r#"{"a":1,"b":2}"#]
        );
    }

    #[test]
    fn pluck_drops_and_counts_missing_paths() {
        let parsed = parse("pluck .a.b", InputKind::Json).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let mut dropped = Dropped::default();
        let mut buffers = (Vec::new(), Vec::new());
        let mut kept = 0;
        for record in [r#"{"a":{"b":1}}"#, r#"{"a":2}"#, r#"[1]"#] {
            let item = Item::Json(serde_json::from_str(record).unwrap(), None);
            eval.run(item, &mut buffers, &mut dropped, |_| {
                kept += 1;
                Ok(())
            })
            .unwrap();
        }
        assert_eq!((kept, dropped.missing_path), (1, 2));
    }

    #[test]
    fn stage_errors_name_the_stage() {
        let parsed = parse("explode", InputKind::Json).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let err = eval
            .run(
                Item::Json(serde_json::json!({"a": 1}), None),
                &mut (Vec::new(), Vec::new()),
                &mut Dropped::default(),
                |_| Ok(()),
            )
            .unwrap_err();
        assert_eq!(
            err.message,
            "explode: expected a JSON array, found an object"
        );
        let parsed = parse("json", InputKind::Text).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let err = eval
            .run(
                Item::Text(Cow::Borrowed(b"{x")),
                &mut (Vec::new(), Vec::new()),
                &mut Dropped::default(),
                |_| Ok(()),
            )
            .unwrap_err();
        assert!(err.bad_json);
        assert_eq!(err.message, "json: invalid JSON: key must be a string");
    }
}
