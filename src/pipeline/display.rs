//! The canonical text of a pipeline: stages separated by ` | `, regexes
//! with their flags folded in, literals as compact JSON, filters fully
//! parenthesised. It is what `--explain` shows and part of what names a
//! job in its partials, so it parses back to itself.

use std::fmt;

use super::ast::{
    Compare, Expr, Key, Operand, Pattern, Pipeline, Projection, Reduce, Reduction, Separator, Stage,
};
use crate::json::Value;

/// `text` as a JSON string.
pub(super) fn quoted(text: &str) -> String {
    let mut out = Vec::new();
    crate::json::write_string(text, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.stages.iter().map(ToString::to_string).collect();
        if let Some(reduction) = &self.reduce {
            parts.push(reduction.head());
            if !reduction.rest.is_empty() {
                parts.push(reduction.rest.to_string());
            }
        }
        f.write_str(&parts.join(" | "))
    }
}

impl Reduction {
    /// The reduction as written, with its group, without what follows it:
    /// `frequencies`, `group .lang | pluck .n | sum`.
    pub fn head(&self) -> String {
        let mut parts = Vec::new();
        if let Some(group) = &self.group {
            parts.push(format!("group {}", group.key));
            parts.extend(group.stages.iter().map(ToString::to_string));
        }
        parts.push(self.reduce.to_string());
        parts.join(" | ")
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Lower => f.write_str("lower"),
            Stage::Upper => f.write_str("upper"),
            Stage::Trim => f.write_str("trim"),
            Stage::Pluck(p) => write!(f, "pluck {p}"),
            Stage::Replace(re, text) => {
                write!(f, "replace {re} {}", quoted(&String::from_utf8_lossy(text)))
            }
            Stage::Extract(re) => write!(f, "extract {re}"),
            Stage::Len => f.write_str("len"),
            Stage::Json => f.write_str("json"),
            Stage::Text => f.write_str("text"),
            Stage::Filter { test, keep: true } => write!(f, "filter {test}"),
            Stage::Filter { test, keep: false } => write!(f, "remove {test}"),
            Stage::NonEmpty => f.write_str("nonempty"),
            Stage::Words => f.write_str("words"),
            Stage::Ngrams(n) => write!(f, "ngrams {n}"),
            Stage::Split(Separator::Text(sep)) => {
                write!(f, "split {}", quoted(&String::from_utf8_lossy(sep)))
            }
            Stage::Split(Separator::Regex(re)) => write!(f, "split {re}"),
            Stage::Chars => f.write_str("chars"),
            Stage::Explode => f.write_str("explode"),
            Stage::Sample { rate, seed } => write!(f, "sample {rate} seed {seed}"),
            Stage::Pipe(cmd) => write!(f, "pipe {}", quoted(cmd)),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.shown.replace('/', "\\/"))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Projection(p) => p.fmt(f),
            Key::Regex(re) => re.fmt(f),
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Projection::Path {
                path,
                default: None,
            } => path.fmt(f),
            Projection::Path {
                path,
                default: Some(value),
            } => write!(
                f,
                "{path} // {}",
                String::from_utf8_lossy(&value.to_canonical())
            ),
            Projection::Array(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Not(a) => write!(f, "not {a}"),
            Expr::Compare(a, op, b) => write!(f, "{a} {op} {b}"),
            Expr::Matches(a, re, false) => write!(f, "{a} =~ {re}"),
            Expr::Matches(a, re, true) => write!(f, "{a} !~ {re}"),
            Expr::In(a, items) => {
                write!(
                    f,
                    "{a} in {}",
                    String::from_utf8_lossy(&Value::Array(items.clone()).to_canonical())
                )
            }
            Expr::Truthy(a) => a.fmt(f),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(p) => p.fmt(f),
            Operand::Literal(v) => f.write_str(&String::from_utf8_lossy(&v.to_canonical())),
            Operand::Len => f.write_str("len"),
            Operand::Regex(re) => re.fmt(f),
        }
    }
}

impl fmt::Display for Compare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compare::Eq => "==",
            Compare::Ne => "!=",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        })
    }
}

impl fmt::Display for Reduce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reduce::Frequencies => f.write_str("frequencies"),
            Reduce::Count => f.write_str("count"),
            Reduce::Distinct => f.write_str("distinct"),
            Reduce::Sum => f.write_str("sum"),
            Reduce::Min => f.write_str("min"),
            Reduce::Max => f.write_str("max"),
            Reduce::Mean => f.write_str("mean"),
            Reduce::Var { ddof, std } => {
                let name = if *std { "std" } else { "var" };
                write!(f, "{name} {ddof}")
            }
            Reduce::Summary => f.write_str("summary"),
            Reduce::TopK { k, by, bottom } => {
                let name = if *bottom { "bottomk" } else { "topk" };
                match by {
                    Some(by) => write!(f, "{name} {k} by {by}"),
                    None => write!(f, "{name} {k}"),
                }
            }
            Reduce::Take(n) => write!(f, "take {n}"),
        }
    }
}
