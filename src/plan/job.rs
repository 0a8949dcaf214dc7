//! Lowering a parsed pipeline into a job's steps: `words [| lower] |
//! frequencies` on text becomes the word kernel (the same steps
//! `wordcount` lowers into, so the two are one job), a first `pluck` of
//! JSON lines runs inside the parser, and every other stage runs per
//! record. Also what shape a job's result has, and which output options
//! fit that shape.

use super::{Output, Step};
use crate::error::Error;
use crate::pipeline::ast::{InputKind, Pipeline, Projection, Reduce, Reduction, Stage};
use crate::tokenize::Splitter;

/// The steps and the first reduction of `pipeline`, for records of
/// `kind`.
pub(crate) fn lower_pipeline(
    pipeline: Pipeline,
    kind: InputKind,
) -> (Vec<Step>, Option<Reduction>) {
    let Pipeline { stages, reduce, .. } = pipeline;
    let reduction = reduce.map(|r| *r);
    let counts_words = kind == InputKind::Text
        && reduction
            .as_ref()
            .is_some_and(|r| r.group.is_none() && r.reduce == Reduce::Frequencies);
    if counts_words {
        match stages.as_slice() {
            [Stage::Words] => return (vec![Step::Tokenize(Splitter::Words)], reduction),
            [Stage::Words, Stage::Lower] => {
                let steps = vec![Step::Tokenize(Splitter::Words), Step::LowerWords];
                return (steps, reduction);
            }
            _ => {}
        }
    }
    let mut stages = stages.into_iter().peekable();
    let mut steps = Vec::new();
    if kind == InputKind::Json
        && let Some(Stage::Pluck(Projection::Path { path, .. })) = stages.peek()
        && !path.is_whole()
        && let Some(Stage::Pluck(projection)) = stages.next()
    {
        steps.push(Step::ParsePluck(projection));
    }
    steps.extend(stages.map(Step::Stage));
    (steps, reduction)
}

/// What the final output of a job is, known before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultShape {
    /// Records streamed in input order.
    Stream,
    /// A frequency table.
    Table,
    /// One row per group.
    Groups,
    /// Records, printed when all are known.
    Records,
    /// One value.
    Scalar,
    /// `summary`: one row of six fields.
    Summary,
}

impl ResultShape {
    /// The shape of the result of a pipeline whose first reduction is
    /// `reduction`.
    pub fn of(reduction: Option<&Reduction>) -> ResultShape {
        let Some(reduction) = reduction else {
            return ResultShape::Stream;
        };
        let base = if reduction.group.is_some() {
            ResultShape::Groups
        } else {
            match reduction.reduce {
                Reduce::Frequencies => ResultShape::Table,
                Reduce::Summary => ResultShape::Summary,
                ref r if r.is_scalar() => ResultShape::Scalar,
                _ => ResultShape::Records,
            }
        };
        base.after(&reduction.rest)
    }

    /// The shape once `rest` ran on a result of this shape: a table or
    /// groups that later stages only filter, cut (`take`, `topk`) or
    /// reorder stay what they were.
    fn after(self, rest: &Pipeline) -> ResultShape {
        if rest.is_empty() {
            return self;
        }
        let rows = matches!(self, ResultShape::Table | ResultShape::Groups)
            && rest.stages.iter().all(Stage::only_drops);
        match rest.reduce.as_deref() {
            None if rows => self,
            None => ResultShape::Records,
            Some(next) => {
                let keeps = next.group.is_none()
                    && matches!(next.reduce, Reduce::Take(_) | Reduce::TopK { .. });
                if rows && keeps {
                    self.after(&next.rest)
                } else {
                    ResultShape::of(Some(next))
                }
            }
        }
    }
}

/// `--expect -` reads the golden file from standard input, which then
/// cannot be an input too.
///
/// # Errors
/// Standard input is both.
pub(crate) fn check_stdin_once(inputs: &[super::Input], output: &Output) -> Result<(), Error> {
    let golden_on_stdin = output.expect.as_deref() == Some(std::path::Path::new("-"));
    if golden_on_stdin
        && inputs
            .iter()
            .any(|i| matches!(i.source, crate::input::Source::Stdin))
    {
        return Err(Error::Usage(
            "--expect - reads the golden file from standard input, which is already an input; name the input files, or give the golden file by name".into(),
        ));
    }
    Ok(())
}

/// Check the output options against what the job makes: `reduction` is
/// its first reduction. The one rule for every command and for `rbag
/// merge` (so that merged partials print what one run prints): `--top K`
/// keeps the first K rows of a table or groups, or the first K records
/// (of a stream too, in input order); `--min-count` cuts frequency
/// tables; `--sort` orders tables and groups; a single value takes none.
///
/// # Errors
/// `--min-count` on anything but a frequency table, `--sort` on records,
/// `--top` on a value, `--top` or `--min-count` on a partial that is not
/// a frequency table.
pub(crate) fn check_output(output: &Output, reduction: Option<&Reduction>) -> Result<(), Error> {
    let how = &output.presentation;
    let shape = ResultShape::of(reduction);
    if output.partial {
        // A partial holds the first reduction's state: only a frequency
        // table can be cut (and is then refused by merge).
        let first_is_table =
            reduction.is_some_and(|r| r.group.is_none() && r.reduce == Reduce::Frequencies);
        if (how.top.is_some() || how.min_count.is_some()) && !first_is_table {
            return Err(Error::Usage(
                "--top and --min-count cut the final output; give them to rbag merge".into(),
            ));
        }
        return Ok(());
    }
    if how.min_count.is_some() && shape != ResultShape::Table {
        return Err(Error::Usage(
            "--min-count applies to frequency tables; this pipeline's result is not one".into(),
        ));
    }
    if how.sort.is_some() && !matches!(shape, ResultShape::Table | ResultShape::Groups) {
        return Err(Error::Usage(
            "--sort orders tables and groups; this pipeline's result is records or a value".into(),
        ));
    }
    if how.top.is_some() && matches!(shape, ResultShape::Scalar | ResultShape::Summary) {
        return Err(Error::Usage(
            "--top keeps the first rows of a table, groups or records; this pipeline's result is one value".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::parse::parse;

    fn shape(pipeline: &str) -> ResultShape {
        let parsed = parse(pipeline, InputKind::Json).unwrap();
        ResultShape::of(parsed.reduce.as_deref())
    }

    fn steps(pipeline: &str, kind: InputKind) -> Vec<String> {
        let (steps, _) = lower_pipeline(parse(pipeline, kind).unwrap(), kind);
        steps
            .iter()
            .map(|s| match s {
                Step::Tokenize(_) => "tokenize".to_owned(),
                Step::LowerWords => "lower words".to_owned(),
                Step::DropWords(_) => "drop words".to_owned(),
                Step::ParsePluck(p) => format!("parse pluck {p}"),
                Step::Stage(s) => s.to_string(),
            })
            .collect()
    }

    #[test]
    fn word_counts_lower_into_the_kernel_that_wordcount_runs() {
        use InputKind::{Json, Text};
        assert_eq!(
            steps("words | lower | frequencies", Text),
            ["tokenize", "lower words"]
        );
        assert_eq!(steps("words | frequencies | take 2", Text), ["tokenize"]);
        // Only a frequency table of the words is the kernel's.
        assert_eq!(steps("words | lower | count", Text), ["words", "lower"]);
        assert_eq!(
            steps("lower | words | frequencies", Text),
            ["lower", "words"]
        );
        assert_eq!(
            steps("words | lower | frequencies", Json),
            ["words", "lower"]
        );
        assert_eq!(
            steps("pluck .a.b | frequencies", Json),
            ["parse pluck .a.b"]
        );
        assert_eq!(steps("pluck . | frequencies", Json), ["pluck ."]);
    }

    #[test]
    fn shapes_follow_the_rest_of_the_pipeline() {
        assert_eq!(shape("lower"), ResultShape::Stream);
        assert_eq!(shape("frequencies"), ResultShape::Table);
        assert_eq!(shape("frequencies | filter .count > 1"), ResultShape::Table);
        assert_eq!(shape("frequencies | take 3"), ResultShape::Table);
        assert_eq!(shape("frequencies | count"), ResultShape::Scalar);
        assert_eq!(shape("frequencies | pluck .key"), ResultShape::Records);
        assert_eq!(
            shape("group .a | count | topk 2 by .value"),
            ResultShape::Groups
        );
        assert_eq!(shape("take 3"), ResultShape::Records);
        assert_eq!(shape("summary"), ResultShape::Summary);
    }
}
