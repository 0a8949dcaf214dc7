//! The element-wise stages of a pipeline as they run on a block: runs of
//! fused stages, with `pipe "CMD"` between them. A command sees all the
//! records of its block at once (one per line on its standard input) and
//! its output lines flow on as text records, so the stages before a pipe
//! run record by record, collect the block's records, then the command
//! runs, then the stages after it run on its lines.

use std::borrow::Cow;
use std::io::Write;
use std::process::{Command, Stdio};

use super::ast::Stage;
use super::eval::{Dropped, Evaluator, Sink, StageError};
use super::item::Item;
use crate::json::Value;

/// How many lines of a failed command's standard error a message quotes.
const STDERR_LINES: usize = 3;

/// The stages of one pipeline segment, split at its `pipe` stages.
pub struct Program {
    first: Evaluator,
    pipes: Vec<(String, Evaluator)>,
}

impl Program {
    pub fn new(stages: Vec<Stage>) -> Program {
        let mut runs = vec![(String::new(), Vec::new())];
        for stage in stages {
            match stage {
                Stage::Pipe(cmd) => runs.push((cmd, Vec::new())),
                other => runs.last_mut().expect("never empty").1.push(other),
            }
        }
        let mut runs = runs.into_iter();
        let (_, first) = runs.next().expect("never empty");
        Program {
            first: Evaluator::new(first),
            pipes: runs
                .map(|(cmd, stages)| (cmd, Evaluator::new(stages)))
                .collect(),
        }
    }

    /// Whether a command runs per block.
    pub fn has_pipes(&self) -> bool {
        !self.pipes.is_empty()
    }

    /// The stages before the first command (all of them, without one).
    pub fn first(&self) -> &Evaluator {
        &self.first
    }

    /// After every record of a block went through [`Program::first`] into
    /// `input` (with [`write_for_command`]), run the commands and the
    /// stages after them, sending the results to `sink`.
    ///
    /// # Errors
    /// A command failed (the message names it and quotes its standard
    /// error), or a later stage failed on one of its lines.
    pub fn run_pipes(
        &self,
        mut input: Vec<u8>,
        dropped: &mut Dropped,
        sink: &mut Sink<'_>,
    ) -> Result<(), StageError> {
        for (i, (cmd, stages)) in self.pipes.iter().enumerate() {
            let output = run_command(cmd, &input).map_err(StageError::new)?;
            let last = i + 1 == self.pipes.len();
            let mut next = Vec::new();
            for line in lines(&output) {
                let item = Item::Text(Cow::Borrowed(line));
                if last {
                    stages.run(item, dropped, sink)?;
                } else {
                    stages.run(item, dropped, &mut |item| {
                        write_for_command(&item, &mut next);
                        Ok(())
                    })?;
                }
            }
            input = next;
        }
        Ok(())
    }
}

/// A record as a line for a command: text as it is, a JSON value (a
/// string too) as compact JSON.
pub fn write_for_command(item: &Item<'_>, out: &mut Vec<u8>) {
    match item {
        Item::Text(text) => out.extend_from_slice(text),
        Item::Json(value, _) => Value::write_canonical(value, out),
    }
    out.push(b'\n');
}

/// The lines of a command's output: split at newlines, one `\r` before a
/// newline dropped, a last line without a newline kept.
fn lines(output: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = output.strip_suffix(b"\n").unwrap_or(output);
    let empty = output.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
}

/// Run `cmd` with `sh -c`, `input` on its standard input; its standard
/// output, or a message saying how it failed.
fn run_command(cmd: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "pipe \"{cmd}\": cannot start sh: {}",
                crate::error::io_message(&e)
            )
        })?;
    let pid = child.id();
    crate::interrupt::register_child(pid);
    let mut stdin = child.stdin.take();
    let output = std::thread::scope(|scope| {
        scope.spawn(|| {
            if let Some(stdin) = stdin.as_mut() {
                // A command that stops reading early (`head`) closes the
                // pipe: not an error of ours.
                let _ = stdin.write_all(input);
            }
            drop(stdin.take());
        });
        child.wait_with_output()
    });
    crate::interrupt::unregister_child(pid);
    let output = output.map_err(|e| format!("pipe \"{cmd}\": {}", crate::error::io_message(&e)))?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let status = match output.status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_owned(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(STDERR_LINES).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let said = if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join(" / "))
    };
    Err(format!("pipe \"{cmd}\" {status}{said}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ast::InputKind;
    use crate::pipeline::parse::parse;

    fn run(pipeline: &str, records: &[&str]) -> Result<Vec<String>, String> {
        let program = Program::new(parse(pipeline, InputKind::Text).unwrap().stages);
        let mut dropped = Dropped::default();
        let mut input = Vec::new();
        for record in records {
            program
                .first()
                .run(
                    Item::Text(Cow::Borrowed(record.as_bytes())),
                    &mut dropped,
                    &mut |item| {
                        write_for_command(&item, &mut input);
                        Ok(())
                    },
                )
                .map_err(|e| e.message)?;
        }
        let mut out = Vec::new();
        program
            .run_pipes(input, &mut dropped, &mut |item| {
                out.push(String::from_utf8(item.text().into_owned()).unwrap());
                Ok(())
            })
            .map_err(|e| e.message)?;
        Ok(out)
    }

    #[test]
    fn commands_see_the_records_and_their_lines_flow_on() {
        assert_eq!(
            run("lower | pipe \"tr a-z A-Z\" | split \" \"", &["a b", "C"]).unwrap(),
            ["A", "B", "C"]
        );
        assert_eq!(
            run("pipe \"sort -r\" | pipe \"head -1\"", &["a", "c", "b"]).unwrap(),
            ["c"]
        );
        assert_eq!(
            run("pipe \"printf 'x\\r\\ny'\"", &["a"]).unwrap(),
            ["x", "y"]
        );
        assert!(run("pipe \"true\"", &["a"]).unwrap().is_empty());
    }

    #[test]
    fn a_failing_command_says_how() {
        let err = run("pipe \"echo oops >&2; echo more >&2; exit 3\"", &["a"]).unwrap_err();
        assert_eq!(
            err,
            "pipe \"echo oops >&2; echo more >&2; exit 3\" exited with status 3: oops / more"
        );
    }
}
