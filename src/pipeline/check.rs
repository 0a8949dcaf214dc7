//! The check pass: after parsing, follow the kind of record (text or JSON)
//! through the stages and reductions, and refuse a stage that needs JSON
//! where only text can reach it, before any input is read.
//!
//! Text stays text through text stages; `json`, `explode` and `len` make
//! JSON; `pluck` of a path makes JSON; a filter keeps what it is given;
//! `distinct`, `min`, `max`, `topk` and `take` keep the kind of their
//! records, every other reduction (and a group) makes JSON rows.

use super::ast::{Expr, InputKind, Key, Operand, Pipeline, Projection, Reduce, Stage};
use super::diag::needs_json_message;
use super::path::Path;

/// A problem: the byte offset of the stage, and the message.
type Problem = (usize, String);

/// Check `pipeline` for records that start as `input`.
///
/// # Errors
/// The first stage that needs JSON records and gets text.
pub fn check(pipeline: &Pipeline, input: InputKind) -> Result<(), Problem> {
    segment(pipeline, input == InputKind::Json).map(drop)
}

/// Check a segment whose records start as JSON when `json`; whether they
/// end as JSON.
fn segment(pipeline: &Pipeline, json: bool) -> Result<bool, Problem> {
    let json = stages(&pipeline.stages, &pipeline.starts, json)?;
    let Some(reduction) = &pipeline.reduce else {
        return Ok(json);
    };
    let json = match &reduction.group {
        Some(group) => {
            if let Key::Projection(key) = &group.key {
                needs(json, key, "group .PATH", group.at)?;
            }
            let inner = stages(&group.stages, &group.starts, json)?;
            reduce(&reduction.reduce, inner, reduction.at)?;
            // A group's rows are {"key": ..., "value": ...}.
            true
        }
        None => reduce(&reduction.reduce, json, reduction.at)?,
    };
    segment(&reduction.rest, json)
}

fn stages(stages: &[Stage], starts: &[usize], mut json: bool) -> Result<bool, Problem> {
    debug_assert_eq!(stages.len(), starts.len(), "the parser records every start");
    for (stage, &at) in stages.iter().zip(starts) {
        json = stage_kind(stage, json, at)?;
    }
    Ok(json)
}

/// Whether a stage's records are JSON, given whether its input is.
fn stage_kind(stage: &Stage, json: bool, at: usize) -> Result<bool, Problem> {
    Ok(match stage {
        Stage::Json | Stage::Len => true,
        Stage::Explode => {
            if !json {
                return Err((at, needs_json_message("explode")));
            }
            true
        }
        Stage::Pluck(projection) => {
            needs(json, projection, "pluck", at)?;
            json || !projection.only_whole_record()
        }
        Stage::Filter { test, .. } => {
            if !json && let Some(path) = first_json_path(test) {
                return Err((at, needs_json_message(&format!("the path {path}"))));
            }
            json
        }
        Stage::NonEmpty | Stage::Sample { .. } => json,
        Stage::Lower
        | Stage::Upper
        | Stage::Trim
        | Stage::Replace(..)
        | Stage::Extract(_)
        | Stage::Text
        | Stage::Words
        | Stage::Ngrams(_)
        | Stage::Split(_)
        | Stage::Chars
        | Stage::Pipe(_) => false,
    })
}

/// Whether a reduction's records are JSON, given whether its input is.
fn reduce(reduce: &Reduce, json: bool, at: usize) -> Result<bool, Problem> {
    Ok(match reduce {
        Reduce::TopK { by, bottom, .. } => {
            if let Some(by) = by {
                let name = if *bottom { "bottomk" } else { "topk" };
                needs(json, by, &format!("{name} ... by"), at)?;
            }
            json
        }
        Reduce::Distinct | Reduce::Min | Reduce::Max | Reduce::Take(_) => json,
        Reduce::Frequencies
        | Reduce::Count
        | Reduce::Sum
        | Reduce::Mean
        | Reduce::Var { .. }
        | Reduce::Summary => true,
    })
}

/// A projection other than `.` needs JSON records.
fn needs(json: bool, projection: &Projection, what: &str, at: usize) -> Result<(), Problem> {
    if json || projection.only_whole_record() {
        Ok(())
    } else {
        Err((at, needs_json_message(what)))
    }
}

/// The first path of a test, in reading order, that text records lack.
fn first_json_path(expr: &Expr) -> Option<&Path> {
    fn operand(op: &Operand) -> Option<&Path> {
        match op {
            Operand::Path(path) if !path.is_whole() => Some(path),
            _ => None,
        }
    }
    match expr {
        Expr::Or(a, b) | Expr::And(a, b) => first_json_path(a).or_else(|| first_json_path(b)),
        Expr::Not(a) => first_json_path(a),
        Expr::Compare(a, _, b) => operand(a).or_else(|| operand(b)),
        Expr::Matches(a, ..) | Expr::In(a, _) | Expr::Truthy(a) => operand(a),
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::ast::InputKind;
    use crate::pipeline::parse::parse;

    fn text_error(pipeline: &str) -> Option<String> {
        parse(pipeline, InputKind::Text)
            .err()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
    }

    #[test]
    fn json_stages_need_json_and_say_where() {
        let needs = |what: &str| {
            format!(
                "'{what}' needs JSON records: read JSON lines with --jsonl (automatic for .jsonl and .ndjson files) or parse text with 'json' first"
            )
        };
        assert_eq!(
            text_error("lower | explode"),
            Some(format!("1:9: {}", needs("explode")))
        );
        assert_eq!(
            text_error("filter len > 2 and .a == 1"),
            Some(format!("1:1: {}", needs("the path .a")))
        );
        assert_eq!(
            text_error("group .a | count"),
            Some(format!("1:1: {}", needs("group .PATH")))
        );
        assert_eq!(
            text_error("trim | topk 2 by .n"),
            Some(format!("1:8: {}", needs("topk ... by")))
        );
        // What a reduction makes is JSON: its rows have paths.
        assert_eq!(text_error("frequencies | filter .count > 1 | count"), None);
        assert_eq!(text_error("group /(x)/ | count | pluck .key"), None);
        // `.` is any record, text too.
        assert_eq!(text_error("filter . == \"x\" | topk 1 by ."), None);
        assert_eq!(text_error("json | group .a | count"), None);
        assert!(text_error("json | pluck .a | lower | pluck .b").is_some());
    }
}
