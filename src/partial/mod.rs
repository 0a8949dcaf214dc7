//! rbag's partial results (`--partial`), the exchange format of `rbag
//! merge` and of machines that each run a part of one job.
//!
//! A partial is line-oriented and self-describing:
//!
//! ```text
//! rbag-partial<TAB>1<TAB>{"plan":...,"pipeline":...,"input":...,"cut":...}
//! <rows of the reduction's state>
//! end<TAB><number of rows>
//! ```
//!
//! The header names the format version and the plan: everything that
//! decides what the rows mean (the command, the pipeline in canonical
//! form, how records are read), so that only partials of the same plan
//! merge. The rows hold the exact state of the first reduction (integer
//! and float sums as the exact integers they are, never rounded), or the
//! records themselves when the pipeline has no reduction. Fields are
//! separated by TAB and escaped as TSV keys are, so any bytes round-trip.
//! The trailer counts the rows, so a partial cut short is refused rather
//! than merged. Rows are written in a canonical order: a partial does not
//! depend on threads or block sizes either.

mod read;
mod write;

pub(crate) use read::{PartialReader, Rows, Tally, read_acc, read_records, read_table};
pub(crate) use write::{cut_table, write_acc, write_partial, write_record};

use crate::json::Value;

/// The format version this rbag writes and reads.
pub const VERSION: u32 = 1;

/// The first word of a partial.
pub const MAGIC: &str = "rbag-partial";

/// What a partial says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The identity of the job: partials merge only with partials of the
    /// same plan.
    pub plan: String,
    /// The pipeline in canonical form, to finish the merged result with.
    pub pipeline: String,
    /// `text` or `json`: how the pipeline was read.
    pub input: String,
    /// The record terminator, for printing records: `\n` or `\0`.
    pub terminator: u8,
    /// Set when the rows were cut (`--top`, `--min-count`): such a partial
    /// lacks rows and cannot be merged exactly.
    pub cut: Option<String>,
}

impl Header {
    /// The header line.
    pub fn write(&self, out: &mut Vec<u8>) {
        let fields = Value::object([
            ("plan", Value::string(self.plan.clone())),
            ("pipeline", Value::string(self.pipeline.clone())),
            ("input", Value::string(self.input.clone())),
            (
                "terminator",
                Value::string(if self.terminator == 0 { "\0" } else { "\n" }),
            ),
            ("cut", self.cut.clone().map_or(Value::Null, Value::String)),
        ]);
        out.extend_from_slice(format!("{MAGIC}\t{VERSION}\t").as_bytes());
        fields.write_canonical(out);
        out.push(b'\n');
    }

    /// Read a header line (without its newline).
    ///
    /// # Errors
    /// Not a partial, another version, or a malformed header.
    pub fn read(line: &[u8]) -> Result<Header, String> {
        if line.ends_with(b"\r") {
            return Err("the partial's lines end in \\r\\n (CRLF), and rbag writes \\n: was it converted on the way (by git's autocrlf, or an editor)? Convert it back (dos2unix) and merge again".into());
        }
        let mut fields = line.splitn(3, |&b| b == b'\t');
        if fields.next() != Some(MAGIC.as_bytes()) {
            return Err("not an rbag partial (it does not start with 'rbag-partial')".into());
        }
        let version = fields
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or("the partial's header has no format version")?;
        if version != VERSION {
            return Err(format!(
                "partial format version {version}; this rbag reads version {VERSION} (use the rbag that wrote it)"
            ));
        }
        let json = fields
            .next()
            .ok_or("the partial's header has no description")?;
        let Ok(Value::Object(object)) = crate::json::parse::parse(json) else {
            return Err("the partial's header is not a JSON object".into());
        };
        let text = |key: &str| match object.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(format!("the partial's header lacks \"{key}\"")),
        };
        let input = text("input")?;
        if !matches!(input.as_str(), "text" | "json") {
            return Err(format!(
                "the partial's header says its input is \"{input}\"; rbag writes \"text\" or \"json\""
            ));
        }
        let header = Header {
            plan: text("plan")?,
            pipeline: text("pipeline")?,
            input,
            terminator: match text("terminator")?.as_str() {
                "\0" => 0,
                "\n" => b'\n',
                _ => return Err("the partial's record terminator is neither \\n nor \\0".into()),
            },
            cut: match object.get("cut") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) => None,
                _ => {
                    return Err(
                        "the partial's header says \"cut\" is neither null nor what cut it".into(),
                    );
                }
            },
        };
        // Every key once, with its one meaning, in rbag's own form: the
        // header must read back as it would be written.
        let mut again = Vec::new();
        header.write(&mut again);
        if again.strip_suffix(b"\n") != Some(line) {
            return Err("the partial's header is not as rbag writes it (an edited or unknown key, or a version not written 1)".into());
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ast::{InputKind, Reduce};
    use crate::pipeline::item::Item;
    use crate::pipeline::parse::parse;
    use crate::reduce::{Position, Reducer};
    use read::Bad;
    use std::borrow::Cow;

    fn json(s: &str) -> Item<'static> {
        Item::value(crate::json::parse::parse(s.as_bytes()).unwrap())
    }

    fn round_trip(pipeline: &str, items: Vec<Item<'static>>) {
        let parsed = parse(pipeline, InputKind::Json).unwrap();
        let reduction = parsed.reduce.unwrap();
        let reducer = Reducer::new(reduction.reduce.clone(), reduction.group.clone());
        let stages = crate::pipeline::eval::Evaluator::new(parsed.stages);
        let mut acc = reducer.new_acc();
        let mut dropped = crate::pipeline::eval::Dropped::default();
        let mut inner = crate::pipeline::eval::Dropped::default();
        for (i, item) in items.into_iter().enumerate() {
            let position = Position {
                item: i as u64,
                ..Position::default()
            };
            stages
                .run(item, &mut dropped, &mut |item| {
                    reducer.add(&mut acc, item, position, &mut inner)
                })
                .unwrap();
        }
        let mut rows = Vec::new();
        write_acc(&acc, &reducer.reduce, &mut rows);
        let header = Header {
            plan: "p".into(),
            pipeline: pipeline.into(),
            input: "json".into(),
            terminator: b'\n',
            cut: None,
        };
        let mut partial = Vec::new();
        write_partial(&mut partial, &header, &rows).unwrap();
        let tally = Tally::default();
        let mut reader = PartialReader::new(Box::new(std::io::Cursor::new(partial)));
        assert_eq!(reader.next_header(), Ok(Some(header)));
        let mut part = reader.rows(0, &tally);
        let back = read_acc(&mut part, &reducer.reduce, reducer.is_grouped(), None).unwrap();
        part.finish().unwrap();
        assert_eq!(reader.next_header(), Ok(None), "one partial");
        let mut again = Vec::new();
        write_acc(&back, &reducer.reduce, &mut again);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&rows),
            "{pipeline}"
        );
    }

    #[test]
    fn every_reduction_round_trips() {
        let items = || {
            vec![
                json(r#"{"a": "x\ty", "n": 1.5}"#),
                json(r#"{"a": 2, "n": 123456789012345678901234567890}"#),
                json(r#"{"a": "x\ty", "n": -0.1}"#),
                Item::Text(Cow::Borrowed(b"caf\xe9\n\\")),
            ]
        };
        for pipeline in [
            "frequencies",
            "distinct",
            "count",
            "pluck .n | sum",
            "pluck .n | mean",
            "pluck .n | var 1",
            "pluck .n | summary",
            "min",
            "max",
            "topk 2 by .n",
            "bottomk 3",
            "take 2",
            "group .a | count",
            "group .a | pluck .n | sum",
            "group .a | frequencies",
            "group .a | topk 1",
        ] {
            let items = if pipeline.starts_with("pluck .n") || pipeline.contains("sum") {
                items().into_iter().take(3).collect()
            } else {
                items()
            };
            round_trip(pipeline, items);
        }
    }

    #[test]
    fn headers_say_what_is_wrong() {
        let header = Header {
            plan: "run json 'count'".into(),
            pipeline: "count".into(),
            input: "json".into(),
            terminator: b'\n',
            cut: None,
        };
        let mut line = Vec::new();
        header.write(&mut line);
        assert_eq!(Header::read(line.strip_suffix(b"\n").unwrap()), Ok(header));
        assert_eq!(
            Header::read(b"rbag-partial\t7\t{}"),
            Err(
                "partial format version 7; this rbag reads version 1 (use the rbag that wrote it)"
                    .into()
            )
        );
        assert!(Header::read(b"the\t85").is_err());
        // What the writer never writes is refused.
        let good = String::from_utf8(line.strip_suffix(b"\n").unwrap().to_vec()).unwrap();
        for (edit, said) in [
            (good.replace("\t1\t", "\t+1\t"), "not as rbag writes it"),
            (good.replace("\t1\t", "\t01\t"), "not as rbag writes it"),
            (
                good.replace("\"cut\":null", "\"cut\":true"),
                "\"cut\" is neither",
            ),
            (
                good.replace("\"input\":\"json\"", "\"input\":\"csv\""),
                "its input is \"csv\"",
            ),
            (
                good.replace("\"terminator\":\"\\n\"", "\"terminator\":\"\\r\""),
                "terminator",
            ),
            (
                good.replace("{\"cut\"", "{\"color\":\"red\",\"cut\""),
                "not as rbag writes it",
            ),
            (
                good.replace("{\"cut\":null", "{\"cut\":null,\"cut\":null"),
                "not as rbag writes it",
            ),
            (good.replace("\":\"", "\": \""), "not as rbag writes it"),
        ] {
            assert_ne!(edit, good);
            let got = Header::read(edit.as_bytes());
            assert!(
                got.as_ref().is_err_and(|e| e.contains(said)),
                "{edit}: {got:?}"
            );
        }
    }

    #[test]
    fn a_partial_cut_short_is_refused() {
        let text = b"rbag-partial\t1\t{\"cut\":null,\"input\":\"text\",\"pipeline\":\"count\",\"plan\":\"p\",\"terminator\":\"\\n\"}\ncount\t3\n";
        // The count row read, then the end of the stream, or an end line.
        let read = |bytes: &[u8]| -> Result<(), Bad> {
            let mut reader = PartialReader::new(Box::new(std::io::Cursor::new(bytes.to_vec())));
            reader.next_header()?.expect("a header");
            let tally = Tally::default();
            let mut rows = reader.rows(0, &tally);
            read_acc(&mut rows, &Reduce::Count, false, None)?;
            rows.finish()?;
            assert_eq!(reader.next_header()?, None);
            Ok(())
        };
        assert_eq!(
            read(text),
            Err((
                3,
                "the partial ends before its 'end' line (was it cut short?)".into()
            ))
        );
        let wrong = [&text[..], b"end\t2\n"].concat();
        assert!(read(&wrong).unwrap_err().1.contains("says 2 rows, but 1"));
        let right = [&text[..], b"end\t1\n"].concat();
        assert_eq!(read(&right), Ok(()));
        let unended = [&text[..], b"end\t1"].concat();
        assert!(read(&unended).unwrap_err().1.contains("no newline"));
        let mut not_one = PartialReader::new(Box::new(std::io::Cursor::new(b"the\t3\n".to_vec())));
        assert_eq!(not_one.next_header(), Err((1, "not a partial".into())));
    }
}
