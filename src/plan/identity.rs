//! The identity of a job, derived from its plan: what names the job in its
//! partials, so that partials merge exactly when they come from one job.
//!
//! The identity is the job's canonical command line. A word count (the
//! word kernel and a frequency table, whichever command asked for it) is
//! spelt as `wordcount` with the options that change which words count;
//! any other job as `run` with the options that change how records are
//! read and the pipeline in canonical form. So `rbag wordcount` and
//! `rbag run 'words | lower | frequencies'` are one job, and their
//! partials merge.

use super::{BadLines, Job, Records, Step, WordFilter, lower_pipeline};
use crate::partial::Header;
use crate::pipeline::ast::{InputKind, Pipeline, Reduce};
use crate::tokenize::Splitter;

/// Whether a partial's header names the job of the pipeline it holds, as
/// rbag writes it: the plan is the identity of that pipeline read as the
/// header says (for a word count, a `wordcount` identity of a frequency
/// table of text). An edited pipeline under an untouched plan, or the
/// reverse, is not.
pub(crate) fn names_its_job(header: &Header, pipeline: Pipeline, kind: InputKind) -> bool {
    if header.cut.is_some() {
        // A cut table is refused anyway, and says so.
        return true;
    }
    if header.plan.starts_with("wordcount ") {
        return header.pipeline == "frequencies"
            && kind == InputKind::Text
            && is_word_count(&header.plan, header.terminator == 0);
    }
    let (steps, reduction) = lower_pipeline(pipeline, kind);
    let mut job = Job {
        block_size: 1,
        records: Records {
            kind,
            delimiter: header.terminator,
            keep_cr: false,
            strict_utf8: false,
            bad_lines: BadLines::Fail,
        },
        steps,
        reduction,
        memory: crate::plan::Memory::default(),
    };
    let same = |job: &Job| {
        let named = job.identity();
        named.plan == header.plan && named.pipeline == header.pipeline
    };
    if same(&job) {
        return true;
    }
    job.records.keep_cr = true;
    same(&job)
}

/// Whether `plan` is a word count's identity as [`Job::identity`] writes
/// it: the split, then `--keep-case`, `--min-len N`, `--stopwords ...` and
/// `-0` when they were given (`-0` exactly when `nul`).
fn is_word_count(plan: &str, nul: bool) -> bool {
    let Some(rest) = plan.strip_prefix("wordcount ") else {
        return false;
    };
    let (rest, zero) = match rest.strip_suffix(" -0") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    if zero != nul {
        return false;
    }
    let rest = match rest.rfind(" --stopwords ") {
        Some(at) => {
            let tail = &rest[at + " --stopwords ".len()..];
            let Some((count, hash)) = tail.split_once(" words, hash ") else {
                return false;
            };
            let count_ok = crate::numbers::is_canonical_integer(count.as_bytes()) && count != "0";
            let hash_ok = hash.len() == 16
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            if !(count_ok && hash_ok) {
                return false;
            }
            &rest[..at]
        }
        None => rest,
    };
    let rest = match rest.rfind(" --min-len ") {
        Some(at) => {
            let n = &rest[at + " --min-len ".len()..];
            if !crate::numbers::is_canonical_integer(n.as_bytes()) || n == "0" || n.starts_with('-')
            {
                return false;
            }
            &rest[..at]
        }
        None => rest,
    };
    let rest = rest.strip_suffix(" --keep-case").unwrap_or(rest);
    match rest {
        "--split words" | "--split whitespace" => true,
        _ => rest
            .strip_prefix("--pattern '")
            .and_then(|p| p.strip_suffix('\''))
            .is_some_and(|pattern| regex::bytes::Regex::new(pattern).is_ok()),
    }
}

impl Job {
    /// The job's identity, as a partial's header (not cut).
    pub fn identity(&self) -> Header {
        let records = &self.records;
        let input = match records.kind {
            InputKind::Json => "json",
            InputKind::Text => "text",
        };
        let (plan, pipeline) = match self.as_word_count() {
            Some(plan) => (plan, "frequencies".to_owned()),
            None => {
                let pipeline = self.pipeline_text();
                let mut plan = String::from("run");
                if records.kind == InputKind::Json {
                    plan.push_str(" --jsonl");
                }
                // The kernel reads raw blocks: a carriage return is never
                // part of a word, kept or not.
                if records.keep_cr && self.kernel().is_none() {
                    plan.push_str(" --keep-cr");
                }
                if records.delimiter == 0 {
                    plan.push_str(" -0");
                }
                plan.push_str(&format!(" '{pipeline}'"));
                (plan, pipeline)
            }
        };
        Header {
            plan,
            pipeline,
            input: input.to_owned(),
            terminator: records.delimiter,
            cut: None,
        }
    }

    /// A word count's identity: the word kernel, its filters, then a
    /// frequency table and nothing after it.
    fn as_word_count(&self) -> Option<String> {
        let (splitter, lowercase) = self.kernel()?;
        let reduction = self.reduction.as_ref()?;
        if reduction.group.is_some()
            || reduction.reduce != Reduce::Frequencies
            || !reduction.rest.is_empty()
        {
            return None;
        }
        let mut plan = String::from("wordcount");
        match splitter {
            Splitter::Pattern(regex) => plan.push_str(&format!(" --pattern '{}'", regex.as_str())),
            Splitter::Words => plan.push_str(" --split words"),
            Splitter::Whitespace => plan.push_str(" --split whitespace"),
        }
        if !lowercase {
            plan.push_str(" --keep-case");
        }
        for filter in self.word_filters() {
            match filter {
                WordFilter::MinLen(n) => plan.push_str(&format!(" --min-len {n}")),
                WordFilter::Stopwords(stopwords) => plan.push_str(&format!(
                    " --stopwords {} words, hash {:016x}",
                    stopwords.words.len(),
                    stopwords.digest()
                )),
            }
        }
        if self.records.delimiter == 0 {
            plan.push_str(" -0");
        }
        Some(plan)
    }

    /// The job as a pipeline of the language, in canonical form. Only the
    /// word kernel's own options (`--split whitespace`, `--pattern`,
    /// `--min-len`, `--stopwords`) have no words in the language; a job
    /// with them is always a word count, named by [`Job::as_word_count`].
    pub fn pipeline_text(&self) -> String {
        let mut parts: Vec<String> = self
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::Tokenize(_) => Some("words".to_owned()),
                Step::LowerWords => Some("lower".to_owned()),
                Step::DropWords(_) => None,
                Step::ParsePluck(projection) => Some(format!("pluck {projection}")),
                Step::Stage(stage) => Some(stage.to_string()),
            })
            .collect();
        if let Some(reduction) = &self.reduction {
            parts.push(reduction.head());
            if !reduction.rest.is_empty() {
                parts.push(reduction.rest.to_string());
            }
        }
        parts.join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{BadLines, Records, lower_pipeline};

    fn job(pipeline: &str, kind: InputKind, delimiter: u8, keep_cr: bool) -> Job {
        let parsed = crate::pipeline::parse::parse(pipeline, kind).unwrap();
        let (steps, reduction) = lower_pipeline(parsed, kind);
        Job {
            block_size: 1,
            records: Records {
                kind,
                delimiter,
                keep_cr,
                strict_utf8: false,
                bad_lines: BadLines::Fail,
            },
            steps,
            reduction,
            memory: crate::plan::Memory::default(),
        }
    }

    #[test]
    fn a_header_names_the_job_of_its_pipeline() {
        let header = |plan: &str, pipeline: &str, input: &str, terminator: u8| Header {
            plan: plan.into(),
            pipeline: pipeline.into(),
            input: input.into(),
            terminator,
            cut: None,
        };
        let holds = |h: &Header| {
            let kind = if h.input == "json" {
                InputKind::Json
            } else {
                InputKind::Text
            };
            crate::pipeline::parse::parse(&h.pipeline, kind)
                .is_ok_and(|pipeline| names_its_job(h, pipeline, kind))
        };
        for good in [
            header(
                "run --jsonl 'pluck .n | sum'",
                "pluck .n | sum",
                "json",
                b'\n',
            ),
            header(
                "run --keep-cr 'lower | take 2'",
                "lower | take 2",
                "text",
                b'\n',
            ),
            header("run -0 'count'", "count", "text", 0),
            header("wordcount --split words", "frequencies", "text", b'\n'),
            header(
                "wordcount --pattern 'a'b' --keep-case --min-len 3 --stopwords 2 words, hash 00ff00ff00ff00ff -0",
                "frequencies",
                "text",
                0,
            ),
        ] {
            assert!(holds(&good), "{good:?}");
        }
        for bad in [
            // An edited pipeline under the plan of another.
            header(
                "run --jsonl 'pluck .n | sum'",
                "pluck .n | mean",
                "json",
                b'\n',
            ),
            header(
                "run --jsonl 'pluck .n | sum'",
                "pluck .n | sum",
                "text",
                b'\n',
            ),
            header("run 'count'", "count", "text", 0),
            header("run 'count '", "count", "text", b'\n'),
            header("wordcount --split words", "count", "text", b'\n'),
            header("wordcount --split words -0", "frequencies", "text", b'\n'),
            header("wordcount --split sentences", "frequencies", "text", b'\n'),
            header(
                "wordcount --split words --min-len 0",
                "frequencies",
                "text",
                b'\n',
            ),
            header("wordcount --pattern '('", "frequencies", "text", b'\n'),
            header("merge everything", "frequencies", "text", b'\n'),
        ] {
            assert!(!holds(&bad), "{bad:?}");
        }
    }

    #[test]
    fn a_word_count_has_one_name_whichever_command_asked() {
        let text = InputKind::Text;
        assert_eq!(
            job("words | lower | frequencies", text, b'\n', true)
                .identity()
                .plan,
            "wordcount --split words"
        );
        assert_eq!(
            job("words | frequencies", text, 0, false).identity().plan,
            "wordcount --split words --keep-case -0"
        );
        let chained = job("words | lower | frequencies | take 2", text, b'\n', true).identity();
        assert_eq!(chained.plan, "run 'words | lower | frequencies | take 2'");
        assert_eq!(chained.pipeline, "words | lower | frequencies | take 2");
        assert_eq!(
            job("lower | words | frequencies", text, b'\n', true)
                .identity()
                .plan,
            "run --keep-cr 'lower | words | frequencies'"
        );
        let pluck = job("pluck .n | sum", InputKind::Json, b'\n', false).identity();
        assert_eq!(pluck.plan, "run --jsonl 'pluck .n | sum'");
        assert_eq!(pluck.pipeline, "pluck .n | sum");
        assert_eq!(pluck.input, "json");
    }
}
