//! `--explain`: the plan a run executes, printed instead of running it,
//! as text for people, JSON for tools (the Dask driver plans its byte
//! ranges from it), or a Graphviz task graph (the shell's answer to
//! Dask's `visualize()`).
//!
//! Everything printed comes from the [`Plan`] the run would execute: the
//! engine's inputs and their windows, the thread count, the stages as the
//! task runs them. Nothing is read but the first bytes of regular files
//! (to tell compression); pipes, FIFOs and stdin are never opened.

use std::fmt::Write as _;

use crate::engine::Input;
use crate::input::{Shape, Source};
use crate::json::Value;

/// Print the plan on stdout.
///
/// # Errors
/// Writing failed (a closed pipe is a quiet end).
pub fn print(plan: &Plan<'_>, format: ExplainFormat) -> Result<(), crate::error::Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(plan.render(format).as_bytes())
        .and_then(|()| out.flush())
        .map_err(crate::error::Error::Stdout)
}

/// How to print the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// For people
    Text,
    /// For tools: stable keys, every block
    Json,
    /// A Graphviz task graph
    Dot,
}

/// How many blocks of a file the text plan lists before saying how many
/// more there are; the graph draws up to this many block tasks in all.
const SHOWN_BLOCKS: usize = 4;
const DRAWN_BLOCKS: usize = 16;

/// The format version of `--explain=json`.
pub const PLAN_VERSION: u64 = 1;

/// What a run will do.
pub struct Plan<'a> {
    pub command: &'static str,
    pub inputs: &'a [Input],
    /// Inputs are cut into blocks (false: each is read whole, as partials
    /// are by `merge`).
    pub blocks: bool,
    pub block_size: u64,
    pub threads: usize,
    /// `text` or `json`.
    pub records: &'static str,
    pub delimiter: u8,
    /// The stages that run per block, in order, with where each runs.
    pub stages: Vec<(String, &'static str)>,
    /// The first reduction, if any.
    pub reduction: Option<ReductionPlan>,
    pub output: OutputPlan,
}

/// The reduction and how partial results are combined.
pub struct ReductionPlan {
    pub name: String,
    /// What each worker keeps.
    pub partial: String,
    /// How the workers' partials become the answer, step by step.
    pub combine: Vec<String>,
    /// The rest of the pipeline, run on the reduced bag.
    pub then: Option<String>,
}

/// Where and how the result is written.
pub struct OutputPlan {
    pub format: String,
    pub order: Option<String>,
    pub top: Option<usize>,
    pub min_count: Option<u64>,
    pub to: String,
    pub partial: bool,
    pub expect: Option<String>,
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
fn input_kind(input: &Input) -> &'static str {
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

fn windows(input: &Input, block_size: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    (0..input.window_count(block_size)).filter_map(move |k| input.window(k, block_size))
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

impl Plan<'_> {
    /// The plan in `format`.
    pub fn render(&self, format: ExplainFormat) -> String {
        match format {
            ExplainFormat::Text => self.text(),
            ExplainFormat::Json => {
                let mut out = Vec::new();
                self.json().write_canonical(&mut out);
                out.push(b'\n');
                String::from_utf8_lossy(&out).into_owned()
            }
            ExplainFormat::Dot => self.dot(),
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "rbag {} plan", self.command);
        let _ = writeln!(out, "inputs: {}", self.inputs.len());
        for input in self.inputs {
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
            if !self.blocks {
                let _ = write!(out, "; read whole");
            } else if matches!(input.shape, Shape::Regular { .. }) {
                let count = input.window_count(self.block_size);
                let shown: Vec<String> = windows(input, self.block_size)
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
                    human(self.block_size)
                );
            }
            out.push('\n');
        }
        if !self.blocks {
            let _ = writeln!(out, "threads: {} (for sorting the result)", self.threads);
            self.text_reduction(&mut out);
            self.text_output(&mut out);
            return out;
        }
        let _ = writeln!(
            out,
            "blocks: windows of {}; a record belongs to the window it starts in",
            human(self.block_size)
        );
        let _ = writeln!(
            out,
            "threads: {} (each keeps one partial result over the blocks it takes)",
            self.threads
        );
        let records = match (self.records, self.delimiter) {
            ("json", _) => "JSON values, one per line",
            (_, 0) => "text records ending in NUL",
            _ => "text lines",
        };
        let _ = writeln!(out, "records: {records}");
        if self.stages.is_empty() {
            let _ = writeln!(out, "stages per block: none");
        } else {
            let _ = writeln!(out, "stages per block, fused:");
            for (i, (stage, runs)) in self.stages.iter().enumerate() {
                let _ = writeln!(out, "  {}. {stage}  ({runs})", i + 1);
            }
        }
        self.text_reduction(&mut out);
        self.text_output(&mut out);
        out
    }

    fn text_reduction(&self, out: &mut String) {
        match &self.reduction {
            None => {
                let _ = writeln!(out, "reduction: none; records stream out in input order");
            }
            Some(r) => {
                let _ = writeln!(out, "reduction: {}", r.name);
                let _ = writeln!(out, "  per worker: {}", r.partial);
                for step in &r.combine {
                    let _ = writeln!(out, "  then: {step}");
                }
                if let Some(then) = &r.then {
                    let _ = writeln!(out, "  then the reduced records go through: {then}");
                }
            }
        }
    }

    fn text_output(&self, out: &mut String) {
        let o = &self.output;
        let mut output = if o.partial {
            "a partial result (for rbag merge)".to_owned()
        } else {
            o.format.clone()
        };
        if let Some(order) = &o.order {
            let _ = write!(output, ", {order}");
        }
        if let Some(top) = o.top {
            let _ = write!(output, ", the first {top}");
        }
        if let Some(min) = o.min_count {
            let _ = write!(output, ", counts of at least {min}");
        }
        match &o.expect {
            Some(golden) => {
                let _ = writeln!(out, "output: {output}, compared with {golden} (--expect)");
            }
            None => {
                let _ = writeln!(out, "output: {output}, to {}", o.to);
            }
        }
    }

    fn json(&self) -> Value {
        let text = |s: &str| Value::string(s);
        let opt_text =
            |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| Value::string(s.clone()));
        let number = |n: u64| Value::Number(crate::json::Number::Int(n as i64));
        let inputs = self
            .inputs
            .iter()
            .map(|input| {
                let blocks = match input.shape {
                    _ if !self.blocks => Value::Null,
                    Shape::Regular { .. } => Value::Array(
                        windows(input, self.block_size)
                            .map(|(a, b)| Value::Array(vec![number(a), number(b)]))
                            .collect(),
                    ),
                    Shape::Stream { .. } => Value::Null,
                };
                let range = match input.shape {
                    Shape::Regular { .. } => {
                        Value::Array(vec![number(input.span.0), number(input.span.1)])
                    }
                    Shape::Stream { .. } => Value::Null,
                };
                Value::object([
                    ("name", text(&input.source.name())),
                    ("kind", text(input_kind(input))),
                    ("size", size(input).map_or(Value::Null, number)),
                    ("compression", opt_text(&compression(input))),
                    (
                        "read",
                        text(if matches!(input.shape, Shape::Regular { .. }) {
                            "windows"
                        } else {
                            "stream"
                        }),
                    ),
                    ("range", range),
                    ("blocks", blocks),
                ])
            })
            .collect();
        let stages = self
            .stages
            .iter()
            .map(|(stage, runs)| Value::object([("stage", text(stage)), ("runs", text(runs))]))
            .collect();
        let reduction = self.reduction.as_ref().map_or(Value::Null, |r| {
            Value::object([
                ("name", text(&r.name)),
                ("per_worker", text(&r.partial)),
                (
                    "combine",
                    Value::Array(r.combine.iter().map(|s| text(s)).collect()),
                ),
                ("then", opt_text(&r.then)),
            ])
        });
        let o = &self.output;
        let output = Value::object([
            (
                "format",
                if o.partial {
                    text("partial")
                } else {
                    text(&o.format)
                },
            ),
            ("order", opt_text(&o.order)),
            ("top", o.top.map_or(Value::Null, |t| number(t as u64))),
            ("min_count", o.min_count.map_or(Value::Null, number)),
            ("to", text(&o.to)),
            ("expect", opt_text(&o.expect)),
        ]);
        Value::object([
            ("rbag_plan", number(PLAN_VERSION)),
            ("command", text(self.command)),
            ("threads", number(self.threads as u64)),
            ("block_size", number(self.block_size)),
            (
                "records",
                Value::object([
                    ("kind", text(self.records)),
                    (
                        "delimiter",
                        text(if self.delimiter == 0 { "\0" } else { "\n" }),
                    ),
                ]),
            ),
            ("inputs", Value::Array(inputs)),
            ("stages", Value::Array(stages)),
            ("reduction", reduction),
            ("output", output),
        ])
    }

    fn dot(&self) -> String {
        let mut out = String::from(
            "digraph rbag {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        // What each block task does: its fused stages, then into the
        // worker's partial result.
        let mut task: Vec<String> = self.stages.iter().map(|(s, _)| s.clone()).collect();
        if let Some(r) = &self.reduction {
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
                _ if !self.blocks => {
                    let _ = writeln!(out, "  input{i} -> queue;");
                }
                Shape::Regular { .. } => {
                    for (k, (a, b)) in windows(input, self.block_size).enumerate() {
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
        let partial = self
            .reduction
            .as_ref()
            .map_or("records in order", |r| r.partial.as_str());
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
        let steps: Vec<String> = match &self.reduction {
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
        let output = if self.output.partial {
            "partial".to_owned()
        } else {
            self.output.format.clone()
        };
        let destination = format!("{output} to {}", self.output.to);
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
