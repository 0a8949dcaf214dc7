//! The pipeline language's tree: what the parser builds, the check pass
//! reads, `display` prints canonically and the evaluator runs. Stages and
//! reductions keep the byte offset they were written at, so that a check
//! after parsing can point at them.

use regex::bytes::Regex;

use super::path::Path;
use crate::json::Value;

/// A parsed pipeline: element-wise stages, then optionally a reduction
/// whose result flows on through the rest.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    /// Where each stage starts in the pipeline's text (one per stage).
    pub starts: Vec<usize>,
    pub reduce: Option<Box<Reduction>>,
}

/// A reduction and what follows it.
#[derive(Debug, Clone)]
pub struct Reduction {
    /// `group KEY | STAGES... |` before the reduction, when there is one.
    pub group: Option<Group>,
    pub reduce: Reduce,
    /// Where the reduction's name starts in the text.
    pub at: usize,
    /// The stages (and reductions) applied to the reduced bag.
    pub rest: Pipeline,
}

/// `group KEY` and the element-wise stages run on each record of a group.
#[derive(Debug, Clone)]
pub struct Group {
    pub key: Key,
    /// Where `group` starts in the text.
    pub at: usize,
    pub stages: Vec<Stage>,
    /// Where each of the group's stages starts.
    pub starts: Vec<usize>,
}

/// What records are grouped by.
#[derive(Debug, Clone)]
pub enum Key {
    /// A value of the record.
    Projection(Projection),
    /// The first capture group (else the whole match) in the record's text;
    /// records without a match are dropped.
    Regex(Pattern),
}

/// An element-wise stage.
#[derive(Debug, Clone)]
pub enum Stage {
    Lower,
    Upper,
    Trim,
    Pluck(Projection),
    Replace(Pattern, Vec<u8>),
    Extract(Pattern),
    Len,
    Json,
    Text,
    /// `filter` keeps the records for which the test holds, `remove` drops
    /// them.
    Filter {
        test: Expr,
        keep: bool,
    },
    NonEmpty,
    Words,
    /// The runs of N consecutive words of a record (words as `words` cuts
    /// them), each joined by one space.
    Ngrams(usize),
    Split(Separator),
    Chars,
    Explode,
    /// Keep a record when the hash of its text and the seed falls below the
    /// threshold (a fraction of 2^64).
    Sample {
        rate: f64,
        seed: u64,
    },
    /// Run a command over the block's records.
    Pipe(String),
}

/// A regex with the text it was written as.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: Regex,
    /// As written between the slashes, flags after.
    pub shown: String,
}

/// A value taken from a record: a path with a default for when it is
/// missing or null, or an array of projections.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Path { path: Path, default: Option<Value> },
    Array(Vec<Projection>),
}

/// A boolean test on a record.
#[derive(Debug, Clone)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Compare, Operand),
    /// `=~` (or `!~` when negated).
    Matches(Operand, Pattern, bool),
    In(Operand, Vec<Value>),
    /// An operand alone: present and not null or false; a regex alone
    /// matches the record's text.
    Truthy(Operand),
}

/// A value in an expression.
#[derive(Debug, Clone)]
pub enum Operand {
    Path(Path),
    Literal(Value),
    /// The record's length.
    Len,
    /// A regex alone: whether it matches the record's text.
    Regex(Pattern),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What `split` cuts at.
#[derive(Debug, Clone)]
pub enum Separator {
    Text(Vec<u8>),
    Regex(Pattern),
}

/// A reduction.
#[derive(Debug, Clone, PartialEq)]
pub enum Reduce {
    Frequencies,
    Count,
    Distinct,
    Sum,
    Min,
    Max,
    Mean,
    /// Variance (`std`: its square root) with `ddof` delta degrees of
    /// freedom.
    Var {
        ddof: u64,
        std: bool,
    },
    Summary,
    /// The `k` largest (or, `bottom`, smallest) records, by a projection.
    TopK {
        k: usize,
        by: Option<Projection>,
        bottom: bool,
    },
    Take(u64),
}

impl Reduce {
    /// Whether the reduction's answer is one value.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Reduce::Count
                | Reduce::Sum
                | Reduce::Min
                | Reduce::Max
                | Reduce::Mean
                | Reduce::Var { .. }
                | Reduce::Summary
        )
    }
}

/// What the records are when they enter the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Json,
}

impl Pipeline {
    pub fn empty() -> Pipeline {
        Pipeline {
            stages: Vec::new(),
            starts: Vec::new(),
            reduce: None,
        }
    }

    /// Whether the pipeline has no stage at all.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty() && self.reduce.is_none()
    }

    /// Whether any stage, at any depth, is `pipe` (its output may depend
    /// on where blocks are cut).
    pub fn has_pipe(&self) -> bool {
        self.stages.iter().any(|s| matches!(s, Stage::Pipe(_)))
            || self.reduce.as_ref().is_some_and(|r| r.rest.has_pipe())
    }
}

impl Stage {
    /// Whether the stage only drops records (keeping the others as they
    /// are), so that the rows of a table stay rows of a table after it.
    pub fn only_drops(&self) -> bool {
        matches!(
            self,
            Stage::Filter { .. } | Stage::NonEmpty | Stage::Sample { .. }
        )
    }
}

impl Projection {
    /// Whether the projection reads only `.`, which text records have too.
    pub fn only_whole_record(&self) -> bool {
        match self {
            Projection::Path { path, .. } => path.is_whole(),
            Projection::Array(items) => items.iter().all(Projection::only_whole_record),
        }
    }
}
