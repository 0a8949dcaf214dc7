//! Running the element-wise stages on one record: maps, filters and
//! flattens, fused. Each record is pushed through every stage before the
//! next one is read, and a flatten hands each of its items on as it finds
//! it, so a 300 MB line split into words never exists as a list of words.

use std::borrow::Cow;

use bstr::ByteSlice;

use super::ast::{Compare, Expr, Operand, Separator, Stage};
use super::item::{Item, View};
use super::project::{pluck, view};
use crate::json::{Number, Value};
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
    pub fn new(message: String) -> StageError {
        StageError {
            message,
            bad_json: false,
        }
    }
}

/// What the stages dropped, for `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Records without the path that `pluck`, `group` or `topk ... by`
    /// asked for.
    pub missing_path: u64,
}

/// Where the records coming out of the stages go.
pub type Sink<'s> = dyn FnMut(Item<'_>) -> Result<(), StageError> + 's;

/// A run of element-wise stages, ready to run.
pub struct Evaluator {
    stages: Vec<Stage>,
    words: Tokenizer,
}

impl Evaluator {
    /// An evaluator for `stages`, none of which may be `pipe` (which runs
    /// per block, between evaluators).
    pub fn new(stages: Vec<Stage>) -> Evaluator {
        debug_assert!(!stages.iter().any(|s| matches!(s, Stage::Pipe(_))));
        Evaluator {
            stages,
            words: Tokenizer::new(Splitter::Words, false, b'\n'),
        }
    }

    /// Run `record` through every stage, calling `sink` with each result in
    /// order.
    ///
    /// # Errors
    /// A stage that cannot handle a record, or an error from `sink`.
    pub fn run(
        &self,
        record: Item<'_>,
        dropped: &mut Dropped,
        sink: &mut Sink<'_>,
    ) -> Result<(), StageError> {
        self.push(0, record, dropped, sink)
    }

    fn push(
        &self,
        at: usize,
        item: Item<'_>,
        dropped: &mut Dropped,
        sink: &mut Sink<'_>,
    ) -> Result<(), StageError> {
        let Some(stage) = self.stages.get(at) else {
            return sink(item);
        };
        let next = at + 1;
        match stage {
            Stage::Lower => {
                let mut lowered = Vec::new();
                lowercase_into(&item.text(), &mut lowered);
                self.push(next, Item::Text(Cow::Owned(lowered)), dropped, sink)
            }
            Stage::Upper => {
                let text = item.text();
                let mut upper = Vec::with_capacity(text.len());
                for chunk in text.utf8_chunks() {
                    upper.extend_from_slice(chunk.valid().to_uppercase().as_bytes());
                    upper.extend_from_slice(chunk.invalid());
                }
                self.push(next, Item::Text(Cow::Owned(upper)), dropped, sink)
            }
            Stage::Trim => {
                let trimmed = match item.into_text() {
                    Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
                    Cow::Owned(text) => Cow::Owned(text.trim().to_vec()),
                };
                self.push(next, Item::Text(trimmed), dropped, sink)
            }
            Stage::Pluck(projection) => match pluck(projection, item) {
                Some(found) => self.push(next, found, dropped, sink),
                None => {
                    dropped.missing_path += 1;
                    Ok(())
                }
            },
            Stage::Replace(pattern, replacement) => {
                let text = item.into_text();
                let replaced = match pattern.regex.replace_all(&text, replacement.as_slice()) {
                    Cow::Borrowed(_) => None,
                    Cow::Owned(changed) => Some(changed),
                };
                let text = replaced.map_or(text, Cow::Owned);
                self.push(next, Item::Text(text), dropped, sink)
            }
            Stage::Extract(pattern) => {
                let text = item.into_text();
                let range = pattern
                    .regex
                    .captures(&text)
                    .and_then(|caps| caps.get(1).or_else(|| caps.get(0)))
                    .map(|m| m.range());
                match range {
                    Some(range) => {
                        let piece = sub_text(text, range.start, range.end);
                        self.push(next, Item::Text(piece), dropped, sink)
                    }
                    None => Ok(()),
                }
            }
            Stage::Len => {
                let len = Value::Number(Number::count(length(&item)));
                self.push(next, Item::value(len), dropped, sink)
            }
            Stage::Json => match crate::json::parse::parse(&item.text()) {
                Ok(value) => self.push(next, Item::value(value), dropped, sink),
                Err(e) => Err(StageError {
                    message: format!("json: invalid JSON: {} (byte {})", e.message, e.at + 1),
                    bad_json: true,
                }),
            },
            Stage::Text => self.push(next, Item::Text(item.into_text()), dropped, sink),
            Stage::Filter { test, keep } => {
                if passes(test, &item) == *keep {
                    self.push(next, item, dropped, sink)
                } else {
                    Ok(())
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
                if empty {
                    Ok(())
                } else {
                    self.push(next, item, dropped, sink)
                }
            }
            Stage::Words => {
                let text = item.into_text();
                let mut result = Ok(());
                self.words.for_each_range(&text, |start, end| {
                    if result.is_ok() {
                        let piece = Item::Text(Cow::Borrowed(&text[start..end]));
                        result = self.push(next, piece, dropped, sink);
                    }
                });
                result
            }
            Stage::Ngrams(n) => {
                let text = item.into_text();
                // The last n words' ranges, oldest first; an n-gram is
                // built in one buffer reused for every record's n-grams.
                let mut window = std::collections::VecDeque::with_capacity((*n).min(64));
                let mut gram = Vec::new();
                let mut result = Ok(());
                self.words.for_each_range(&text, |start, end| {
                    if result.is_err() {
                        return;
                    }
                    if window.len() == *n {
                        window.pop_front();
                    }
                    window.push_back((start, end));
                    if window.len() == *n {
                        gram.clear();
                        for (i, &(start, end)) in window.iter().enumerate() {
                            if i > 0 {
                                gram.push(b' ');
                            }
                            gram.extend_from_slice(&text[start..end]);
                        }
                        result = self.push(next, Item::Text(Cow::Borrowed(&gram)), dropped, sink);
                    }
                });
                result
            }
            Stage::Split(separator) => {
                let text = item.into_text();
                let mut start = 0;
                match separator {
                    Separator::Text(sep) => {
                        for at in memchr::memmem::find_iter(&text, sep) {
                            // Overlapping matches of a repetitive separator
                            // are skipped, as str::split does.
                            if at >= start {
                                let piece = Item::Text(Cow::Borrowed(&text[start..at]));
                                self.push(next, piece, dropped, sink)?;
                                start = at + sep.len();
                            }
                        }
                    }
                    Separator::Regex(pattern) => {
                        for found in pattern.regex.find_iter(&text) {
                            let piece = Item::Text(Cow::Borrowed(&text[start..found.start()]));
                            self.push(next, piece, dropped, sink)?;
                            start = found.end();
                        }
                    }
                }
                let last = Item::Text(Cow::Borrowed(&text[start..]));
                self.push(next, last, dropped, sink)
            }
            Stage::Chars => {
                let text = item.into_text();
                for (start, end, _) in text.char_indices() {
                    let piece = Item::Text(Cow::Borrowed(&text[start..end]));
                    self.push(next, piece, dropped, sink)?;
                }
                Ok(())
            }
            Stage::Explode => match item {
                Item::Json(Value::Array(items), _) => {
                    for value in items {
                        self.push(next, Item::value(value), dropped, sink)?;
                    }
                    Ok(())
                }
                Item::Json(other, _) => Err(StageError::new(format!(
                    "explode: expected a JSON array, found {}",
                    other.kind_name()
                ))),
                Item::Text(_) => Err(StageError::new(
                    "explode: expected a JSON array, found text".into(),
                )),
            },
            Stage::Sample { rate, seed } => {
                if sampled(&item.text(), *rate, *seed) {
                    self.push(next, item, dropped, sink)
                } else {
                    Ok(())
                }
            }
            Stage::Pipe(_) => Err(StageError::new(
                "pipe: internal error: a command cannot run record by record".into(),
            )),
        }
    }
}

/// `sample RATE seed SEED`: whether the record with this text is kept.
/// The decision is a function of the record's bytes and the seed only (an
/// XXH3 hash, a published and stable algorithm), so it is the same for
/// every thread count, block size and machine.
pub fn sampled(text: &[u8], rate: f64, seed: u64) -> bool {
    let hash = xxhash_rust::xxh3::xxh3_64_with_seed(text, seed);
    // `rate` is in [0, 1]; 2^64 * rate as an integer threshold.
    let threshold = (rate * 18_446_744_073_709_551_616.0) as u128;
    u128::from(hash) < threshold
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

/// A value an operand found.
enum Found<'v> {
    View(View<'v>),
    Owned(Value),
}

impl Found<'_> {
    fn view(&self) -> View<'_> {
        match self {
            Found::View(view) => *view,
            Found::Owned(value) => View::Value(value),
        }
    }
}

fn operand<'v>(operand: &'v Operand, item: &'v Item<'_>) -> Option<Found<'v>> {
    match operand {
        Operand::Path(path) => view(path, item).map(Found::View),
        Operand::Literal(value) => Some(Found::View(View::Value(value))),
        Operand::Len => Some(Found::Owned(Value::Number(Number::count(length(item))))),
        Operand::Regex(pattern) => Some(Found::Owned(Value::Bool(
            pattern.regex.is_match(&item.text()),
        ))),
    }
}

/// The text a regex matches against: text itself, a string's content,
/// any other value's canonical JSON.
fn text_of(view: View<'_>) -> Cow<'_, [u8]> {
    match view {
        View::Text(text) => Cow::Borrowed(text),
        View::Value(Value::String(s)) => Cow::Borrowed(s.as_bytes()),
        View::Value(value) => Cow::Owned(value.to_canonical()),
    }
}

/// Whether `expr` holds for `item`. A test on a path the record does not
/// have is false (and `not` of it true).
pub fn passes(expr: &Expr, item: &Item<'_>) -> bool {
    match expr {
        Expr::Or(a, b) => passes(a, item) || passes(b, item),
        Expr::And(a, b) => passes(a, item) && passes(b, item),
        Expr::Not(a) => !passes(a, item),
        Expr::Compare(left, op, right) => match (operand(left, item), operand(right, item)) {
            (Some(a), Some(b)) => holds(*op, a.view().value_cmp(b.view())),
            _ => false,
        },
        Expr::Matches(left, pattern, negated) => match operand(left, item) {
            Some(found) => pattern.regex.is_match(&text_of(found.view())) != *negated,
            None => false,
        },
        Expr::In(left, list) => match operand(left, item) {
            Some(found) => list
                .iter()
                .any(|v| found.view().value_cmp(View::Value(v)).is_eq()),
            None => false,
        },
        Expr::Truthy(Operand::Regex(pattern)) => pattern.regex.is_match(&item.text()),
        Expr::Truthy(op) => match operand(op, item) {
            Some(found) => match found.view() {
                View::Text(_) => true,
                View::Value(value) => value.is_truthy(),
            },
            None => false,
        },
    }
}

fn holds(op: Compare, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        Compare::Eq => ordering == Equal,
        Compare::Ne => ordering != Equal,
        Compare::Lt => ordering == Less,
        Compare::Le => ordering != Greater,
        Compare::Gt => ordering == Greater,
        Compare::Ge => ordering != Less,
    }
}

/// The number a record holds, for numeric reductions: a JSON number, or
/// text (or a JSON string) that is one number in JSON syntax.
pub fn number_of(item: &Item<'_>) -> Option<Number> {
    match item {
        Item::Json(Value::Number(n), _) => Some(n.clone()),
        Item::Json(Value::String(s), _) => Number::parse_text(s.as_bytes()),
        Item::Json(..) => None,
        Item::Text(text) => Number::parse_text(text),
    }
}

/// A record for a message: at most 40 characters; text and strings
/// quoted, other values as JSON (so `null` is not mistaken for a string).
pub fn shorten(item: &Item<'_>) -> String {
    let text = match item {
        Item::Json(Value::String(_), _) | Item::Text(_) => {
            let mut out = Vec::new();
            crate::json::write_text_as_string(&item.text(), &mut out);
            String::from_utf8_lossy(&out).into_owned()
        }
        Item::Json(value, _) => String::from_utf8_lossy(&value.to_canonical()).into_owned(),
    };
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ast::InputKind;
    use crate::pipeline::parse::parse;

    fn run(pipeline: &str, kind: InputKind, records: &[&str]) -> Vec<String> {
        let parsed = parse(pipeline, kind).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let mut out = Vec::new();
        let mut dropped = Dropped::default();
        for record in records {
            let item = match kind {
                InputKind::Text => Item::Text(Cow::Borrowed(record.as_bytes())),
                InputKind::Json => Item::Json(
                    crate::json::parse::parse(record.as_bytes()).unwrap(),
                    Some(Cow::Borrowed(record.as_bytes())),
                ),
            };
            eval.run(item, &mut dropped, &mut |item| {
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
        assert_eq!(
            run("filter /a/ and not /p/", InputKind::Text, &lines),
            ["banana"]
        );
        assert_eq!(
            run("filter . == \"kiwi\" or len == 0", InputKind::Text, &lines),
            ["kiwi", ""]
        );
        assert_eq!(
            run("filter . in [\"kiwi\", \"apple\"]", InputKind::Text, &lines),
            ["apple", "kiwi"]
        );
    }

    #[test]
    fn json_comparisons_follow_one_order() {
        let records = [
            r#"{"age": 31, "lang": "en", "s": 2, "r": 1.5}"#,
            r#"{"age": 30.5, "lang": "fr", "s": 1, "r": 1.5}"#,
            r#"{"lang": "en"}"#,
            r#"{"age": "old", "path": "/api/x"}"#,
            r#"{"age": null, "n": 18446744073709551617}"#,
        ];
        let pick = |pipeline: &str| -> Vec<usize> {
            let out = run(pipeline, InputKind::Json, &records);
            out.iter()
                .map(|o| records.iter().position(|r| r == o).unwrap())
                .collect()
        };
        assert_eq!(pick("filter .age > 30.5"), [0, 3]);
        assert_eq!(pick("filter .age >= 30.5 and .age < \"\""), [0, 1]);
        assert_eq!(pick(r#"filter .lang == "en""#), [0, 2]);
        assert_eq!(pick(r#"filter .lang != "en""#), [1]);
        assert_eq!(pick("filter .age"), [0, 1, 3]);
        assert_eq!(pick("filter not .age"), [2, 4]);
        assert_eq!(pick("filter .age == 31.0"), [0]);
        assert_eq!(pick("filter .s > .r"), [0]);
        assert_eq!(pick("filter .path =~ /^\\/api/"), [3]);
        assert_eq!(pick("filter .lang !~ /e/"), [1]);
        assert_eq!(pick("filter .lang in [\"fr\", \"de\"]"), [1]);
        assert_eq!(pick("filter .n == 18446744073709551617"), [4]);
        assert_eq!(
            pick("filter .n == 18446744073709551616"),
            Vec::<usize>::new()
        );
        assert_eq!(pick("filter (.s == 1 or .s == 2) and .age < 31"), [1]);
    }

    #[test]
    fn pluck_forms() {
        let records = [r#"{"a": 1, "b": null}"#, r#"{"c": 2}"#];
        assert_eq!(run("pluck .a // 0", InputKind::Json, &records), ["1", "0"]);
        assert_eq!(
            run("pluck .b // \"none\"", InputKind::Json, &records),
            ["none", "none"]
        );
        assert_eq!(run("pluck .b", InputKind::Json, &records), ["null"]);
        assert_eq!(
            run("pluck [.a, .c]", InputKind::Json, &records),
            ["[1,null]", "[null,2]"]
        );
        assert_eq!(
            run("pluck [.a // 5, [.c]]", InputKind::Json, &records),
            ["[1,[null]]", "[5,[2]]"]
        );
    }

    #[test]
    fn flattens_make_several_records() {
        assert_eq!(
            run("words", InputKind::Text, &["Don't stop, now"]),
            ["Don't", "stop", "now"]
        );
        assert_eq!(
            run(
                "ngrams 2",
                InputKind::Text,
                &["Don't stop, now", "one", "a b"]
            ),
            ["Don't stop", "stop now", "a b"]
        );
        assert_eq!(
            run("ngrams 1", InputKind::Text, &["x  y"]),
            run("words", InputKind::Text, &["x  y"])
        );
        assert_eq!(
            run("ngrams 3 | upper", InputKind::Text, &["a b c d", "e f"]),
            ["A B C", "B C D"]
        );
        assert!(run("ngrams 9", InputKind::Text, &["a b c"]).is_empty());
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
        assert_eq!(run("lower | words", InputKind::Text, &["A B"]), ["a", "b"]);
    }

    #[test]
    fn samples_depend_on_the_record_and_seed_only() {
        let lines: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let kept = run("sample 0.25", InputKind::Text, &refs);
        assert!((400..600).contains(&kept.len()), "{}", kept.len());
        assert_eq!(run("sample 0.25", InputKind::Text, &refs), kept);
        assert_ne!(run("sample 0.25 seed 1", InputKind::Text, &refs), kept);
        assert_eq!(run("sample 1", InputKind::Text, &refs).len(), 2000);
        assert!(run("sample 0", InputKind::Text, &refs).is_empty());
    }

    #[test]
    fn pluck_drops_and_counts_missing_paths() {
        let parsed = parse("pluck .a.b", InputKind::Json).unwrap();
        let eval = Evaluator::new(parsed.stages);
        let mut dropped = Dropped::default();
        let mut kept = 0;
        for record in [r#"{"a":{"b":1}}"#, r#"{"a":2}"#, r#"[1]"#] {
            let item = Item::value(crate::json::parse::parse(record.as_bytes()).unwrap());
            eval.run(item, &mut dropped, &mut |_| {
                kept += 1;
                Ok(())
            })
            .unwrap();
        }
        assert_eq!((kept, dropped.missing_path), (1, 2));
    }

    #[test]
    fn stage_errors_name_the_stage() {
        let eval = Evaluator::new(parse("explode", InputKind::Json).unwrap().stages);
        let item = Item::value(crate::json::parse::parse(br#"{"a": 1}"#).unwrap());
        let err = eval
            .run(item, &mut Dropped::default(), &mut |_| Ok(()))
            .unwrap_err();
        assert_eq!(
            err.message,
            "explode: expected a JSON array, found an object"
        );
        let eval = Evaluator::new(parse("json", InputKind::Text).unwrap().stages);
        let err = eval
            .run(
                Item::Text(Cow::Borrowed(b"{x")),
                &mut Dropped::default(),
                &mut |_| Ok(()),
            )
            .unwrap_err();
        assert!(err.bad_json);
        assert_eq!(
            err.message,
            "json: invalid JSON: expected a string key, found 'x' (byte 2)"
        );
    }

    #[test]
    fn messages_show_values_as_what_they_are() {
        assert_eq!(shorten(&Item::value(Value::Null)), "null");
        assert_eq!(shorten(&Item::value(Value::string("null"))), "\"null\"");
        assert_eq!(shorten(&Item::Text(Cow::Borrowed(b"abc"))), "\"abc\"");
    }
}
