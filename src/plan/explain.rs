//! `--explain`: the [`Plan`] a run would execute, printed instead of
//! running it: as text for people, JSON for tools (rbag-dask plans its
//! byte ranges from it), or a Graphviz task graph (the shell's answer to
//! Dask's `visualize()`).
//!
//! Everything printed is read from the plan: its inputs and their
//! windows, the threads, the steps as the engine fuses them, the
//! reduction, the output. Nothing is read but the first bytes of regular
//! files (to tell compression); pipes, FIFOs and stdin are never opened.

use std::fmt::Write as _;

use super::{Input, Job, Plan, Step, WordFilter, Work};
use crate::error::display_path;
use crate::input::{Shape, Source};
use crate::json::{Number, Value};
use crate::pipeline::ast::{InputKind, Reduce, Reduction, Stage};
use crate::table::Order;
use crate::tokenize::Splitter;

/// How to print the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
    Dot,
}

/// How many blocks of a file the text plan lists before saying how many
/// more there are; the graph draws up to this many block tasks in all.
const SHOWN_BLOCKS: usize = 4;
const DRAWN_BLOCKS: usize = 16;

/// The format version of `--explain=json`.
pub(crate) const PLAN_VERSION: u64 = 1;

/// A step as the plan shows it: what it does, and where it runs.
struct ShownStep {
    what: String,
    runs: &'static str,
}

/// The reduction as the plan shows it.
struct ShownReduction {
    name: String,
    /// What each worker keeps.
    per_worker: String,
    /// How the workers' states become the answer, step by step.
    combine: Vec<String>,
    /// The rest of the pipeline, run on the reduced bag.
    then: Option<String>,
}

fn steps(job: &Job) -> Vec<ShownStep> {
    let mut after_pipe = false;
    job.steps
        .iter()
        .filter_map(|step| {
            Some(match step {
                Step::Tokenize(splitter) => {
                    let (what, runs) = match splitter {
                        Splitter::Words => (
                            "words: Unicode letters, marks, digits, '_' and inner apostrophes"
                                .to_owned(),
                            "per block, 64 bytes at a time where it is ASCII",
                        ),
                        Splitter::Whitespace => (
                            "words: runs of anything but white space".to_owned(),
                            "per block, 64 bytes at a time where it is ASCII",
                        ),
                        Splitter::Pattern(regex) => (
                            format!("words: the matches of /{}/ in each record", regex.as_str()),
                            "per record",
                        ),
                    };
                    ShownStep { what, runs }
                }
                Step::LowerWords => ShownStep {
                    what: "lower: the full Unicode lowercase of each word".into(),
                    runs: "per word",
                },
                // They run once the tables are merged: see `reduction`.
                Step::DropWords(_) => return None,
                Step::ParsePluck(projection) => ShownStep {
                    what: format!("pluck {projection}"),
                    runs: "inside the JSON parser: only this value is built",
                },
                Step::Stage(stage) => {
                    let runs = match stage {
                        Stage::Pipe(_) => {
                            after_pipe = true;
                            "per block: the block's records through the command, its lines on"
                        }
                        _ if after_pipe => "per line of the command's output",
                        _ => "per record",
                    };
                    ShownStep {
                        what: stage.to_string(),
                        runs,
                    }
                }
            })
        })
        .collect()
}

/// What each worker keeps for a reduction.
fn worker_state(reduce: &Reduce) -> String {
    match reduce {
        Reduce::Frequencies => "a table of counts per key".into(),
        Reduce::Distinct => "a set of keys".into(),
        Reduce::Count => "a count".into(),
        Reduce::Sum | Reduce::Mean => "an exact sum (integers, and floats in fixed point)".into(),
        Reduce::Var { .. } => "exact sums of the numbers and of their squares".into(),
        Reduce::Summary => "exact sums, the smallest and the largest number".into(),
        Reduce::Min => "the smallest record so far".into(),
        Reduce::Max => "the largest record so far".into(),
        Reduce::TopK {
            k, bottom: false, ..
        } => format!("the {k} largest records so far"),
        Reduce::TopK {
            k, bottom: true, ..
        } => format!("the {k} smallest records so far"),
        Reduce::Take(n) => format!("the first {n} records of its blocks"),
    }
}

/// The reduction of a job, and how the workers' states combine.
fn reduction(job: &Job, reduction: &Reduction, sort: Option<Order>) -> ShownReduction {
    let reduce = &reduction.reduce;
    // The kernel's tables hold words, all text: one table of words.
    let words = job.kernel().is_some();
    let per_worker = match (&reduction.group, words) {
        (Some(_), _) => format!("a table of groups, each with {}", worker_state(reduce)),
        (None, true) => "a table of counts per word".into(),
        (None, false) => worker_state(reduce),
    };
    let merge = match reduce {
        Reduce::Frequencies if words => "the workers' tables merged into one",
        Reduce::Frequencies | Reduce::Distinct => "the workers' tables merged exactly",
        Reduce::Count => "the workers' counts added",
        Reduce::Sum | Reduce::Mean | Reduce::Var { .. } | Reduce::Summary => {
            "the workers' sums added exactly"
        }
        Reduce::Min | Reduce::Max => "the workers' records compared",
        Reduce::TopK { .. } | Reduce::Take(_) => {
            "the workers' records merged by value and input position"
        }
    };
    let merge = if reduction.group.is_some() {
        format!("{merge}, group by group")
    } else {
        merge.to_owned()
    };
    let last = match (&reduction.group, reduce) {
        (Some(_), _) => match sort {
            Some(Order::Count) => "one row per group, by value (largest first), then key",
            _ => "one row per group, by key bytes",
        },
        (None, Reduce::Frequencies) => match sort {
            Some(Order::Key) => "sorted by key bytes",
            _ => "sorted by count (descending), then key bytes",
        },
        (None, Reduce::Distinct) => "sorted by key bytes",
        (None, Reduce::Sum) => "the exact total, rounded once if it has floats",
        (None, Reduce::Mean | Reduce::Var { .. } | Reduce::Summary) => {
            "computed from the exact sums, rounded once"
        }
        (None, Reduce::TopK { .. }) => "the best records, ties in input order",
        (None, Reduce::Take(_)) => "the first records in input order",
        (None, Reduce::Count | Reduce::Min | Reduce::Max) => "the answer",
    };
    // The kernel's word filters commute with counting: they run once per
    // distinct word, after the merge.
    let mut combine = vec![merge];
    combine.extend(job.word_filters().map(|filter| match filter {
        WordFilter::MinLen(n) => format!("words of fewer than {n} characters left out (--min-len)"),
        WordFilter::Stopwords(stopwords) => format!(
            "the {} stopwords of {} left out",
            stopwords.words.len(),
            stopwords.file
        ),
    }));
    combine.push(last.to_owned());
    ShownReduction {
        name: reduction.head(),
        per_worker,
        combine,
        then: (!reduction.rest.is_empty()).then(|| reduction.rest.to_string()),
    }
}

/// The reduction of a merge, before the partials are read.
fn merged_reduction() -> ShownReduction {
    ShownReduction {
        name: "the reduction the partials name".into(),
        per_worker: "the state read from each partial (of one job, none cut)".into(),
        combine: vec![
            "the partials merged exactly, in the order given".into(),
            "finished as the job's pipeline says".into(),
        ],
        then: None,
    }
}

/// A Graphviz label of lines: quoted, `\` and `"` escaped, lines joined
/// by Graphviz's `\n`.
fn dot_label(lines: &[&str]) -> String {
    let escaped: Vec<String> = lines
        .iter()
        .map(|line| line.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    format!("\"{}\"", escaped.join("\\n"))
}

/// The kind of an input, for the plan.
fn source_kind(input: &Input) -> &'static str {
    match (&input.source, &input.shape) {
        (Source::Stdin, _) => "stdin",
        (_, Shape::Regular { .. }) => "file",
        (_, Shape::Stream { size: Some(_), .. }) => "file",
        (_, Shape::Stream { .. }) => "stream",
    }
}

fn compression(input: &Input) -> Option<String> {
    match &input.shape {
        Shape::Regular { .. } => None,
        Shape::Stream {
            compression: Some(c),
            ..
        } => Some(c.name().into()),
        Shape::Stream { detect: true, .. } => Some("by its first bytes, when read".into()),
        Shape::Stream { .. } => None,
    }
}

fn size(input: &Input) -> Option<u64> {
    match &input.shape {
        Shape::Regular { size } => Some(*size),
        Shape::Stream { size, .. } => *size,
    }
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        value /= 1024.0;
        unit = u;
        if value < 1024.0 {
            break;
        }
    }
    format!("{value:.1} {unit} ({bytes} bytes)")
}

/// A count as a JSON number, exactly.
fn number(n: u64) -> Value {
    Value::Number(Number::count(n))
}

impl Plan {
    /// The plan in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(),
            Format::Json => {
                let mut out = Vec::new();
                self.json().write_canonical(&mut out);
                out.push(b'\n');
                String::from_utf8_lossy(&out).into_owned()
            }
            Format::Dot => self.dot(),
        }
    }

    fn job(&self) -> Option<&Job> {
        match &self.work {
            Work::Blocks(job) => Some(job),
            Work::Partials => None,
        }
    }

    fn block_size(&self) -> u64 {
        self.job().map_or(0, |job| job.block_size)
    }

    fn shown_steps(&self) -> Vec<ShownStep> {
        self.job().map(steps).unwrap_or_default()
    }

    fn shown_reduction(&self) -> Option<ShownReduction> {
        match &self.work {
            Work::Partials => Some(merged_reduction()),
            Work::Blocks(job) => job
                .reduction
                .as_ref()
                .map(|r| reduction(job, r, self.output.presentation.sort)),
        }
    }

    /// How records are read, for the plan.
    fn records(&self) -> (&'static str, u8) {
        match self.job() {
            None => ("partial", b'\n'),
            Some(job) => (
                match job.records.kind {
                    InputKind::Json => "json",
                    InputKind::Text => "text",
                },
                job.records.delimiter,
            ),
        }
    }

    /// The output's order, for the plan.
    fn order(&self) -> Option<&'static str> {
        let streams = self.job().is_some_and(|job| job.streams() == Some(None));
        match (streams, self.output.presentation.sort) {
            (true, _) => Some("records in input order, as they are ready"),
            (false, Some(Order::Key)) => Some("by key"),
            (false, Some(Order::Count)) => Some("by count or value"),
            (false, None) => None,
        }
    }

    fn destination(&self) -> String {
        self.output
            .to
            .as_deref()
            .map_or_else(|| "stdout".to_owned(), display_path)
    }

    fn expect(&self) -> Option<String> {
        self.output.expect.as_deref().map(display_path)
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "rbag {} plan", self.command.name());
        let _ = writeln!(out, "inputs: {}", self.inputs.len());
        let block_size = self.block_size();
        for input in &self.inputs {
            let name = input.source.name();
            let size = size(input).map_or_else(|| "unknown size".to_owned(), human);
            let how = match &input.shape {
                Shape::Stream {
                    compression: Some(c),
                    ..
                } => format!("{} compressed, read as one stream", c.name()),
                Shape::Stream { detect: true, .. } => {
                    "read as one stream (compression told by its first bytes)".into()
                }
                Shape::Stream { .. } => "read as one stream".into(),
                Shape::Regular { .. } => "not compressed".into(),
            };
            let _ = write!(out, "  {name}: {size}, {how}");
            if self.job().is_none() {
                let _ = write!(out, "; read whole");
            } else if matches!(input.shape, Shape::Regular { .. }) {
                let count = input.window_count(block_size);
                let shown: Vec<String> = input
                    .windows(block_size)
                    .take(SHOWN_BLOCKS)
                    .map(|(a, b)| format!("[{a}, {b})"))
                    .collect();
                let more = (count as usize).saturating_sub(SHOWN_BLOCKS);
                let tail = if more > 0 {
                    format!(" ... and {more} more")
                } else {
                    String::new()
                };
                let _ = write!(out, "; {count} block(s): {}{tail}", shown.join(" "));
            } else {
                let _ = write!(
                    out,
                    "; cut into blocks of {} as it is read",
                    human(block_size)
                );
            }
            out.push('\n');
        }
        if self.job().is_none() {
            let _ = writeln!(out, "threads: {} (for sorting the result)", self.threads);
            self.text_reduction(&mut out);
            self.text_output(&mut out);
            return out;
        }
        let _ = writeln!(
            out,
            "blocks: windows of {}; a record belongs to the window it starts in",
            human(block_size)
        );
        let _ = writeln!(
            out,
            "threads: {} (each keeps one partial result over the blocks it takes)",
            self.threads
        );
        let records = match self.records() {
            ("json", _) => "JSON values, one per line",
            (_, 0) => "text records ending in NUL",
            _ => "text lines",
        };
        let _ = writeln!(out, "records: {records}");
        let steps = self.shown_steps();
        if steps.is_empty() {
            let _ = writeln!(out, "stages per block: none");
        } else {
            let _ = writeln!(out, "stages per block, fused:");
            for (i, step) in steps.iter().enumerate() {
                let _ = writeln!(out, "  {}. {}  ({})", i + 1, step.what, step.runs);
            }
        }
        self.text_reduction(&mut out);
        self.text_output(&mut out);
        out
    }

    fn text_reduction(&self, out: &mut String) {
        match self.shown_reduction() {
            None => {
                let _ = writeln!(out, "reduction: none; records stream out in input order");
            }
            Some(r) => {
                let _ = writeln!(out, "reduction: {}", r.name);
                let _ = writeln!(out, "  per worker: {}", r.per_worker);
                for step in &r.combine {
                    let _ = writeln!(out, "  then: {step}");
                }
                if let Some(then) = &r.then {
                    let _ = writeln!(out, "  then the reduced records go through: {then}");
                }
            }
        }
    }

    fn format_name(&self) -> &'static str {
        if self.output.partial {
            "partial"
        } else {
            self.output.presentation.format.name()
        }
    }

    fn text_output(&self, out: &mut String) {
        let how = &self.output.presentation;
        let mut output = if self.output.partial {
            "a partial result (for rbag merge)".to_owned()
        } else {
            how.format.name().to_owned()
        };
        if let Some(order) = self.order() {
            let _ = write!(output, ", {order}");
        }
        if let Some(top) = how.top {
            let _ = write!(output, ", the first {top}");
        }
        if let Some(min) = how.min_count {
            let _ = write!(output, ", counts of at least {min}");
        }
        match self.expect() {
            Some(golden) => {
                let _ = writeln!(out, "output: {output}, compared with {golden} (--expect)");
            }
            None => {
                let _ = writeln!(out, "output: {output}, to {}", self.destination());
            }
        }
    }

    fn json(&self) -> Value {
        let text = |s: &str| Value::string(s);
        let opt_text = |s: Option<&str>| s.map_or(Value::Null, Value::string);
        let block_size = self.block_size();
        let inputs = self
            .inputs
            .iter()
            .map(|input| {
                let windows = matches!(input.shape, Shape::Regular { .. });
                let blocks = if self.job().is_some() && windows {
                    Value::Array(
                        input
                            .windows(block_size)
                            .map(|(a, b)| Value::Array(vec![number(a), number(b)]))
                            .collect(),
                    )
                } else {
                    Value::Null
                };
                let range = if windows {
                    Value::Array(vec![number(input.span.0), number(input.span.1)])
                } else {
                    Value::Null
                };
                Value::object([
                    ("name", text(&input.source.name())),
                    ("kind", text(source_kind(input))),
                    ("size", size(input).map_or(Value::Null, number)),
                    ("compression", opt_text(compression(input).as_deref())),
                    ("read", text(if windows { "windows" } else { "stream" })),
                    ("range", range),
                    ("blocks", blocks),
                ])
            })
            .collect();
        let stages = self
            .shown_steps()
            .iter()
            .map(|s| Value::object([("stage", text(&s.what)), ("runs", text(s.runs))]))
            .collect();
        let reduction = self.shown_reduction().map_or(Value::Null, |r| {
            Value::object([
                ("name", text(&r.name)),
                ("per_worker", text(&r.per_worker)),
                (
                    "combine",
                    Value::Array(r.combine.iter().map(|s| text(s)).collect()),
                ),
                ("then", opt_text(r.then.as_deref())),
            ])
        });
        let how = &self.output.presentation;
        let output = Value::object([
            ("format", text(self.format_name())),
            ("order", opt_text(self.order())),
            ("top", how.top.map_or(Value::Null, |t| number(t as u64))),
            ("min_count", how.min_count.map_or(Value::Null, number)),
            ("to", text(&self.destination())),
            ("expect", opt_text(self.expect().as_deref())),
        ]);
        let strings = |args: &[String]| Value::Array(args.iter().map(|a| text(a)).collect());
        let (records, delimiter) = self.records();
        Value::object([
            ("rbag_plan", number(PLAN_VERSION)),
            ("command", text(self.command.name())),
            ("threads", number(self.threads as u64)),
            ("block_size", number(block_size)),
            (
                "records",
                Value::object([
                    ("kind", text(records)),
                    ("delimiter", text(if delimiter == 0 { "\0" } else { "\n" })),
                ]),
            ),
            ("inputs", Value::Array(inputs)),
            ("stages", Value::Array(stages)),
            ("reduction", reduction),
            ("output", output),
            (
                "argv",
                Value::object([
                    ("job", strings(&self.argv.job)),
                    ("output", strings(&self.argv.output)),
                ]),
            ),
        ])
    }

    fn dot(&self) -> String {
        let mut out = String::from(
            "digraph rbag {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        let reduction = self.shown_reduction();
        // What each block task does: its fused steps, then into the
        // worker's partial result.
        let mut task: Vec<String> = self.shown_steps().into_iter().map(|s| s.what).collect();
        if let Some(r) = &reduction {
            task.push(format!("into {}", r.name));
        }
        if task.is_empty() {
            task.push("records".into());
        }
        let task: Vec<&str> = task.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "  queue [shape=diamond, label=\"blocks in input order\"];"
        );
        let block_size = self.block_size();
        let mut drawn = 0;
        let mut hidden = 0u64;
        for (i, input) in self.inputs.iter().enumerate() {
            let name = input.source.name();
            let _ = writeln!(
                out,
                "  input{i} [shape=note, label={}];",
                dot_label(&[&name])
            );
            match input.shape {
                _ if self.job().is_none() => {
                    let _ = writeln!(out, "  input{i} -> queue;");
                }
                Shape::Regular { .. } => {
                    for (k, (a, b)) in input.windows(block_size).enumerate() {
                        if drawn < DRAWN_BLOCKS {
                            let head = format!("{name} [{a}, {b})");
                            let lines: Vec<&str> = std::iter::once(head.as_str())
                                .chain(task.iter().copied())
                                .collect();
                            let _ = writeln!(out, "  block{i}_{k} [label={}];", dot_label(&lines));
                            let _ = writeln!(
                                out,
                                "  input{i} -> block{i}_{k};\n  block{i}_{k} -> queue;"
                            );
                            drawn += 1;
                        } else {
                            hidden += 1;
                        }
                    }
                }
                Shape::Stream { .. } => {
                    let head = format!("{name}: blocks as read");
                    let lines: Vec<&str> = std::iter::once(head.as_str())
                        .chain(task.iter().copied())
                        .collect();
                    let _ = writeln!(out, "  stream{i} [label={}];", dot_label(&lines));
                    let _ = writeln!(out, "  input{i} -> stream{i};\n  stream{i} -> queue;");
                }
            }
        }
        if hidden > 0 {
            let more = format!("... {hidden} more blocks");
            let _ = writeln!(
                out,
                "  more [shape=plaintext, label={}];\n  more -> queue;",
                dot_label(&[&more])
            );
        }
        let partial = reduction
            .as_ref()
            .map_or("records in order", |r| r.per_worker.as_str());
        for w in 0..self.threads {
            let label = format!("worker {w}");
            let _ = writeln!(
                out,
                "  worker{w} [label={}];",
                dot_label(&[&label, partial])
            );
            let _ = writeln!(out, "  queue -> worker{w};");
        }
        let mut last: Vec<String> = (0..self.threads).map(|w| format!("worker{w}")).collect();
        let steps: Vec<String> = match &reduction {
            Some(r) => r
                .combine
                .iter()
                .cloned()
                .chain(r.then.clone().map(|t| format!("then {t}")))
                .collect(),
            None => vec!["written in input order".into()],
        };
        for (s, step) in steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "  step{s} [shape=ellipse, label={}];",
                dot_label(&[step])
            );
            for from in &last {
                let _ = writeln!(out, "  {from} -> step{s};");
            }
            last = vec![format!("step{s}")];
        }
        let destination = format!("{} to {}", self.format_name(), self.destination());
        let _ = writeln!(
            out,
            "  output [shape=note, label={}];",
            dot_label(&[&destination])
        );
        for from in &last {
            let _ = writeln!(out, "  {from} -> output;");
        }
        out.push_str("}\n");
        out
    }
}
