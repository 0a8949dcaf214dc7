//! Checks of rbag's promises on arbitrary bytes, shared by the fuzz
//! targets in `fuzz/` and by the test that replays every input they ever
//! found (`fuzz/regressions/`). Each check panics only when a promise is
//! broken: a panic inside rbag, or a result that differs from a naive
//! model or from another way of computing the same thing.
#![doc(hidden)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};

use crate::input::block::{BlockId, BlockReader};
use crate::input::{Compression, decoder};
use crate::json::Value;
use crate::json::parse::{Step, parse, pluck};
use crate::pipeline::ast::InputKind;
use crate::pipeline::ast::Reduce;
use crate::pipeline::eval::{Dropped, Evaluator};
use crate::pipeline::item::Item;
use crate::pipeline::parse::parse as parse_pipeline;
use crate::reduce::{Outcome, Position, Reducer};
use crate::tokenize::{Splitter, Tokenizer, is_word_char, lowercase_into};

/// The naive model of `wordcount` (SPEC section 2): the whole input as one
/// sequence of characters (a byte that is not UTF-8 being a character of
/// words), scanned once, one token at a time.
pub fn naive_word_counts(text: &[u8], words: bool, lowercase: bool) -> BTreeMap<Vec<u8>, u64> {
    let mut chars = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (ch, size) = bstr::decode_utf8(rest);
        chars.push((ch, &rest[..size]));
        rest = &rest[size..];
    }
    // Bytes that are not UTF-8 belong to the word they touch.
    let is_word = |i: usize| chars.get(i).is_some_and(|c| c.0.is_none_or(is_word_char));
    let in_token = |i: usize| -> bool {
        if words {
            is_word(i)
                || (matches!(chars[i].0, Some('\'' | '\u{2019}'))
                    && i > 0
                    && is_word(i - 1)
                    && is_word(i + 1))
        } else {
            !chars[i].0.is_some_and(char::is_whitespace)
        }
    };
    let mut counts = BTreeMap::new();
    let mut i = 0;
    while i < chars.len() {
        if !in_token(i) || (words && !is_word(i)) {
            i += 1;
            continue;
        }
        let mut token = Vec::new();
        while i < chars.len() && in_token(i) {
            token.extend_from_slice(chars[i].1);
            i += 1;
        }
        if lowercase {
            let mut lowered = Vec::new();
            lowercase_into(&token, &mut lowered);
            token = lowered;
        }
        *counts.entry(token).or_insert(0) += 1;
    }
    counts
}

/// A reader handing out at most `chunk` bytes per call, as a pipe might.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The block cutter and tokenizer: blocks hold the input exactly, follow
/// the window rule, and counting words block by block equals the naive
/// model over the whole input. The first two bytes choose the block size,
/// the read size, the splitter and the case handling.
pub fn block_cut(data: &[u8]) {
    let [a, b, text @ ..] = data else { return };
    let block_size = u64::from(*a % 64) + 1;
    let chunk = usize::from(*b >> 2) + 1;
    let words = b & 1 == 1;
    let lowercase = b & 2 == 2;
    let mut reader = BlockReader::new(Trickle { data: text, chunk }, block_size, b'\n');
    let splitter = if words {
        Splitter::Words
    } else {
        Splitter::Whitespace
    };
    let tokenizer = Tokenizer::new(splitter, lowercase, b'\n');
    let mut joined = Vec::new();
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut scratch = Vec::new();
    let mut index = 0;
    let mut last_window = None;
    while let Some(mut block) = reader
        .next_block(BlockId { source: 0, index }, Vec::new())
        .expect("reading memory cannot fail")
    {
        assert_eq!(
            block.offset,
            joined.len() as u64,
            "a block starts where the last ended"
        );
        let window = block.offset / block_size;
        assert!(last_window.is_none_or(|w| w < window), "windows increase");
        last_window = Some(window);
        joined.extend_from_slice(block.data());
        tokenizer.for_each_token(block.data_mut(), &mut scratch, |token| {
            *counts.entry(token.to_vec()).or_insert(0) += 1;
        });
        index += 1;
    }
    assert_eq!(joined, text, "blocks lose or add nothing");
    assert_eq!(
        counts,
        naive_word_counts(text, words, lowercase),
        "block-wise counts equal the model"
    );
}

/// The pipeline parser: any text parses or fails with a position, never a
/// panic; a pipeline's canonical text parses to the same canonical text.
pub fn pipeline_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for kind in [InputKind::Text, InputKind::Json] {
        match parse_pipeline(&text, kind) {
            Err(e) => assert!(e.line >= 1 && e.column >= 1),
            Ok(pipeline) => {
                let canonical = pipeline.to_string();
                let again = parse_pipeline(&canonical, kind)
                    .unwrap_or_else(|e| panic!("{text:?} -> {canonical:?} does not parse: {e:?}"));
                assert_eq!(again.to_string(), canonical);
            }
        }
    }
}

const PATHS: &[&[&str]] = &[
    &[],
    &["a"],
    &["a", "b"],
    &["a", "0"],
    &["a", "-1"],
    &["0"],
    &["-1", "a"],
];

const PIPELINES: &[&str] = &[
    "pluck .a",
    "pluck .a // 0",
    "pluck [.a, .b]",
    "explode",
    "filter .a > 1 or not .b",
    "filter .a =~ /x/",
    "pluck .a | explode | len",
    "text | words | lower",
    "json",
];

const REDUCTIONS: &[&str] = &[
    "frequencies",
    "distinct",
    "sum",
    "mean",
    "var 1",
    "summary",
    "min",
    "max",
    "topk 2 by .a",
    "bottomk 2",
    "take 1",
    "group .a | count",
];

/// A JSON line: parsed or rejected alike whether built in full or plucked;
/// the canonical form of a value parses back to it; serde_json accepts the
/// same lines (but for what rbag reads differently on purpose); and the
/// value goes through stages and reductions without a panic.
pub fn json_line(data: &[u8]) {
    let full = parse(data);
    for steps in PATHS {
        let steps: Vec<Step> = steps
            .iter()
            .map(|s| match s.parse::<i64>() {
                Ok(i) => Step::Index(i),
                Err(_) => Step::Key((*s).to_owned()),
            })
            .collect();
        let plucked = pluck(data, &steps);
        match (&full, &plucked) {
            (Ok(value), Ok(found)) => {
                let path = crate::pipeline::path::Path { steps };
                assert_eq!(
                    found.as_ref(),
                    path.lookup(value),
                    "a pluck agrees with a full parse"
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "the same error either way"),
            _ => panic!("accepted one way, rejected the other: {full:?} / {plucked:?}"),
        }
    }
    let reference = serde_json::from_slice::<serde_json::Value>(data);
    match (&full, &reference) {
        (Ok(value), _) => {
            let canonical = value.to_canonical();
            assert_eq!(
                parse(&canonical).as_ref(),
                Ok(value),
                "canonical text parses back"
            );
            if let Err(e) = &reference {
                let text = e.to_string();
                // serde_json's own limits: its nesting limit is lower, and
                // it reads big numbers as floats that may overflow.
                assert!(
                    text.contains("recursion limit") || text.contains("number out of range"),
                    "serde_json rejects what rbag accepts: {e}"
                );
            }
        }
        (Err(e), Ok(_)) => {
            assert!(
                e.message.contains("out of range") || e.message.contains("nested deeper"),
                "rbag rejects what serde_json accepts: {e:?}"
            );
        }
        (Err(_), Err(_)) => {}
    }
    if let Ok(value) = full {
        run_pipelines(Item::Json(value, Some(Cow::Borrowed(data))));
    }
    run_pipelines(Item::Text(Cow::Borrowed(data)));
}

/// The pipelines and reductions, compiled once (regexes are slow to
/// compile, and the fuzzer runs the check many times a second).
struct Compiled {
    stages: Vec<(InputKind, Evaluator)>,
    reducers: Vec<(InputKind, Reducer)>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: std::sync::OnceLock<Compiled> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| {
        let mut stages = Vec::new();
        let mut reducers = Vec::new();
        for kind in [InputKind::Text, InputKind::Json] {
            for pipeline in PIPELINES {
                if let Ok(parsed) = parse_pipeline(pipeline, kind) {
                    stages.push((kind, Evaluator::new(parsed.stages)));
                }
            }
            for reduction in REDUCTIONS {
                if let Ok(parsed) = parse_pipeline(reduction, kind)
                    && let Some(r) = parsed.reduce
                {
                    reducers.push((kind, Reducer::new(r.reduce.clone(), r.group.clone())));
                }
            }
        }
        Compiled { stages, reducers }
    })
}

fn run_pipelines(item: Item<'_>) {
    let kind = match item {
        Item::Text(_) => InputKind::Text,
        Item::Json(..) => InputKind::Json,
    };
    let compiled = compiled();
    for (_, eval) in compiled.stages.iter().filter(|(k, _)| *k == kind) {
        let _ = eval.run(item.clone(), &mut Dropped::default(), &mut |_| Ok(()));
    }
    for (_, reducer) in compiled.reducers.iter().filter(|(k, _)| *k == kind) {
        let mut a = reducer.new_acc();
        let mut b = reducer.new_acc();
        let mut dropped = Dropped::default();
        let _ = reducer.add(&mut a, item.clone(), Position::default(), &mut dropped);
        let _ = reducer.add(
            &mut b,
            item.clone(),
            Position {
                item: 1,
                ..Position::default()
            },
            &mut dropped,
        );
        if let Ok(merged) = a.merge(b, &reducer.reduce) {
            let _ = merged.finish(&reducer.reduce);
        }
    }
}

/// `rbag merge` input: arbitrary bytes as a partial (or a plain table)
/// are read, merged and finished, or refused with a line number; never a
/// panic. Rows that do read write back as the same rows.
pub fn merge_input(data: &[u8]) {
    use crate::partial::PartialReader;
    let _ = crate::partial::read_table(&mut &data[..], &crate::partial::Tally::default());
    let reader = |bytes: Vec<u8>| PartialReader::new(Box::new(std::io::Cursor::new(bytes)));
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let mut partials = reader(data.to_vec());
    // Partial after partial, while each reads; one that does not leaves
    // the stream mid-way, so the rest is not read.
    while let Ok(Some(header)) = partials.next_header() {
        let kind = if header.input == "json" {
            InputKind::Json
        } else {
            InputKind::Text
        };
        let Ok(pipeline) = parse_pipeline(&header.pipeline, kind) else {
            return;
        };
        // One tally for the part and its copy read back: a merge of the
        // two is then exact, or the second read is refused.
        let tally = crate::partial::Tally::default();
        let mut rows = partials.rows(0, &tally);
        let Some(reduction) = pipeline.reduce else {
            if crate::partial::read_records(&mut rows).is_err() {
                return;
            }
            continue;
        };
        let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
        let Ok(acc) =
            crate::partial::read_acc(&mut rows, &reducer.reduce, reducer.is_grouped(), None)
                .and_then(|acc| rows.finish().map(|()| acc))
        else {
            return;
        };
        let taken = rows.lines();
        let mut written = Vec::new();
        crate::partial::write_acc(&acc, &reducer.reduce, &mut written);
        // The reader accepts exactly what the writer writes: the rows it
        // accepted are the rows it would write.
        let original: Vec<u8> = lines[(taken.start - 1) as usize..(taken.end - 1) as usize]
            .iter()
            .flat_map(|r| r.iter().copied().chain([b'\n']))
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&original),
            "accepted rows that rbag does not write"
        );
        let mut copy = Vec::new();
        header.write(&mut copy);
        copy.extend_from_slice(&written);
        let count = written.iter().filter(|&&b| b == b'\n').count();
        copy.extend_from_slice(format!("end\t{count}\n").as_bytes());
        let mut again_reader = reader(copy);
        let Ok(Some(_)) = again_reader.next_header() else {
            panic!("what rbag writes, rbag reads: its header");
        };
        let mut again_rows = again_reader.rows(0, &tally);
        let again = match crate::partial::read_acc(
            &mut again_rows,
            &reducer.reduce,
            reducer.is_grouped(),
            None,
        ) {
            Ok(again) => again,
            Err((_, message)) if message.contains("too many to merge") => continue,
            Err(e) => panic!("what rbag writes, rbag reads: {e:?}"),
        };
        let mut rewritten = Vec::new();
        crate::partial::write_acc(&again, &reducer.reduce, &mut rewritten);
        assert_eq!(rewritten, written, "rows round-trip");
        if let Ok(merged) = acc.clone().merge(again, &reducer.reduce)
            && let Ok(outcome) = merged.finish(&reducer.reduce)
        {
            assert_possible(&outcome, &reducer.reduce);
        }
    }
}

/// A number as a float, if it is one.
fn float(value: Option<&Value>) -> Option<f64> {
    let mut text = Vec::new();
    match value? {
        Value::Number(_) => Value::write_canonical(value?, &mut text),
        _ => return None,
    }
    std::str::from_utf8(&text).ok()?.parse().ok()
}

/// A merged answer is one that some input could give: a variance or
/// standard deviation is not negative, a summary's mean lies between its
/// min and max (give or take the rounding of a float division).
fn assert_possible(outcome: &Outcome, reduce: &Reduce) {
    let check = |value: &Value| {
        if let Reduce::Var { .. } = reduce {
            let v = float(Some(value));
            assert!(
                v.is_none_or(|v| v >= 0.0),
                "an impossible variance: {value:?}"
            );
        }
        if let (Reduce::Summary, Value::Object(fields)) = (reduce, value) {
            let get = |name: &str| float(fields.get(name));
            assert!(
                get("std").is_none_or(|s| s >= 0.0),
                "an impossible std: {value:?}"
            );
            if let (Some(min), Some(mean), Some(max)) = (get("min"), get("mean"), get("max")) {
                let slack = 1e-9 * min.abs().max(max.abs());
                assert!(
                    min - slack <= mean && mean <= max + slack,
                    "a mean outside its min and max: {value:?}"
                );
            }
        }
    };
    match outcome {
        Outcome::Scalar(item) => check(&item.to_value()),
        Outcome::Summary(value) => check(value),
        Outcome::Groups { rows, .. } => rows.iter().for_each(|row| check(&row.value)),
        Outcome::GroupTable { values, .. } => values.iter().for_each(check),
        _ => {}
    }
}

/// Decompression of arbitrary bytes in each format: data or an error,
/// never a panic or a hang, and cutting the output into blocks loses
/// nothing.
pub fn decompress(data: &[u8]) {
    for compression in [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Xz,
    ] {
        let Ok(reader) = decoder(
            compression,
            BufReader::new(std::io::Cursor::new(data.to_vec())),
        ) else {
            continue;
        };
        // Bounded: a tiny input can claim a huge output.
        let mut limited = reader.take(1 << 20);
        let mut plain = Vec::new();
        if limited.read_to_end(&mut plain).is_err() {
            continue;
        }
        let mut cutter = BlockReader::new(&plain[..], 7, b'\n');
        let mut joined = Vec::new();
        let mut index = 0;
        while let Ok(Some(block)) = cutter.next_block(BlockId { source: 0, index }, Vec::new()) {
            joined.extend_from_slice(block.data());
            index += 1;
        }
        assert_eq!(joined, plain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(text: &str) -> Outcome {
        Outcome::Summary(parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn possible_answers_pass() {
        assert_possible(
            &summary(r#"{"count":2,"max":3,"mean":2,"min":1,"std":1,"sum":4}"#),
            &Reduce::Summary,
        );
    }

    #[test]
    #[should_panic(expected = "a mean outside its min and max")]
    fn a_mean_outside_its_bounds_is_caught() {
        assert_possible(
            &summary(r#"{"count":2,"max":3,"mean":7,"min":1,"std":1,"sum":14}"#),
            &Reduce::Summary,
        );
    }

    #[test]
    #[should_panic(expected = "an impossible variance")]
    fn a_negative_variance_is_caught() {
        assert_possible(
            &Outcome::Scalar(Item::value(parse(b"-1.0").unwrap())),
            &Reduce::Var {
                ddof: 0,
                std: false,
            },
        );
    }
}
