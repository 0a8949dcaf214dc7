//! The element-wise stages of a pipeline as they run on a block: runs of
//! fused stages, with `pipe "CMD"` between them. A command sees the
//! records of its block that reach it (one per line on its standard
//! input, or NUL-terminated under `-0`), and its output records flow on
//! through the stages after it as they come, so the stages before a pipe
//! run record by record, collect the block's records, then the commands
//! run as one chain while their output is read. A command never runs
//! when no record reaches it, runs in its own process group, and is ended
//! (with its children) when its block is no longer wanted.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ast::Stage;
use super::eval::{Dropped, Evaluator, Sink, StageError};
use super::item::Item;
use crate::json::Value;

/// How many lines of a failed command's standard error a message quotes.
const STDERR_LINES: usize = 3;

/// How much of a command's standard error is kept for its message: the
/// end of it, however much it writes.
const STDERR_KEPT: usize = 16 * 1024;

/// The stages of one pipeline segment, split at its `pipe` stages.
pub struct Program {
    first: Evaluator,
    pipes: Vec<(String, Evaluator)>,
    /// What ends a record on a command's standard input and output.
    terminator: u8,
}

impl Program {
    /// The program of `stages`, whose commands read and write records
    /// ended by `terminator`.
    pub fn new(stages: Vec<Stage>, terminator: u8) -> Program {
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
            terminator,
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

    /// A record as a command reads it: text as it is, a JSON value (a
    /// string too) as compact JSON, then the terminator.
    pub fn write_for_command(&self, item: &Item<'_>, out: &mut Vec<u8>) {
        match item {
            Item::Text(text) => out.extend_from_slice(text),
            Item::Json(value, _) => Value::write_canonical(value, out),
        }
        out.push(self.terminator);
    }

    /// After every record of block `block` went through
    /// [`Program::first`] into `input` (with
    /// [`Program::write_for_command`]), run the commands and the stages
    /// after them, sending the results to `sink` as the last command
    /// writes them. No command runs on empty input; `commands` ends them
    /// when the block is no longer wanted.
    ///
    /// # Errors
    /// A command failed (the message names it and quotes its standard
    /// error), or a later stage failed on one of its records: the first
    /// in the chain.
    pub fn run_pipes(
        &self,
        input: Vec<u8>,
        block: u64,
        commands: &Commands,
        dropped: &mut Dropped,
        sink: &mut Sink<'_>,
    ) -> Result<(), StageError> {
        if input.is_empty() {
            return Ok(());
        }
        let chain = Chain {
            program: self,
            block,
            commands,
        };
        let first = chain.start(0)?;
        let levels = self.pipes.len();
        std::thread::scope(|scope| {
            let feeder = scope.spawn(move || {
                let mut stdin = first.stdin;
                // A command that stops reading early (`head`) closes the
                // pipe: not an error of ours.
                let _ = stdin.write_all(&input);
            });
            // Command `i` is handed to its reader on channel `i`: the
            // first from here, each later one by the reader of the
            // command before it, which starts it at its first record.
            let (handoffs, receivers): (Vec<_>, Vec<_>) = (0..levels)
                .map(|_| std::sync::mpsc::sync_channel::<Option<Running>>(1))
                .unzip();
            let mut handoffs = handoffs.into_iter();
            let _ = handoffs
                .next()
                .expect("a pipe stage")
                .send(Some(first.running));
            let mut receivers = receivers.into_iter();
            let chain = &chain;
            let relays: Vec<_> = (0..levels - 1)
                .zip(receivers.by_ref().zip(handoffs))
                .map(|(level, (rx, handoff))| {
                    scope.spawn(move || match rx.recv().ok().flatten() {
                        Some(running) => chain.relay(level, running, handoff),
                        None => {
                            let _ = handoff.send(None);
                            Level::default()
                        }
                    })
                })
                .collect();
            let last = receivers.next().expect("a pipe stage");
            let tail = match last.recv().ok().flatten() {
                Some(running) => {
                    let reading = chain.read(levels - 1, running, dropped, &Cell::new(false), sink);
                    chain.finish(reading)
                }
                None => Level::default(),
            };
            let mut outcomes = Vec::with_capacity(levels);
            for relay in relays {
                outcomes.push(
                    relay
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            outcomes.push(tail);
            let _ = feeder.join();
            let mut first_error = None;
            for outcome in outcomes {
                dropped.missing_path += outcome.dropped.missing_path;
                if first_error.is_none() {
                    first_error = outcome.command.or(outcome.stage);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }
}

/// The commands a run started, by block. When a block is no longer
/// wanted (an earlier block failed, `take` has its records, the reader of
/// the output is gone), the commands of the blocks after it are ended at
/// once, with their process groups, and none is started for them.
#[derive(Debug, Default)]
pub struct Commands {
    /// Shared with the timers that end commands which ignore SIGTERM.
    state: Arc<Mutex<Started>>,
}

#[derive(Debug, Default)]
struct Started {
    /// No block after this one is wanted.
    last_wanted: Option<u64>,
    /// The running commands' blocks and process ids (each leads its own
    /// process group).
    running: Vec<(u64, u32)>,
}

/// How long an ended command has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(1);

impl Commands {
    /// No block after `block` is wanted: end their commands.
    pub fn end_after(&self, block: u64) {
        let ended = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let last = state.last_wanted.map_or(block, |b| b.min(block));
            state.last_wanted = Some(last);
            state
                .running
                .iter()
                .filter(|(b, _)| *b > last)
                .map(|&(_, pid)| pid)
                .collect::<Vec<_>>()
        };
        self.end(ended);
    }

    /// End these commands' process groups: SIGTERM now, and SIGKILL for
    /// those still running after a grace period (a command may ignore
    /// SIGTERM).
    fn end(&self, pids: Vec<u32>) {
        if pids.is_empty() {
            return;
        }
        for &pid in &pids {
            signal_group(pid, rustix::process::Signal::TERM);
        }
        let state = Arc::clone(&self.state);
        // Detached: nobody waits for the timer, and it outlives nothing
        // but the run.
        let _ = std::thread::Builder::new()
            .name("rbag-end-commands".into())
            .spawn(move || {
                std::thread::sleep(GRACE);
                let state = state.lock().unwrap_or_else(|e| e.into_inner());
                for pid in pids {
                    if state.running.iter().any(|&(_, p)| p == pid) {
                        signal_group(pid, rustix::process::Signal::KILL);
                    }
                }
            });
    }

    /// Start `command` for `block`, unless the block is no longer wanted.
    /// Starting under the lock means a command is either never started
    /// or seen by [`Commands::end_after`].
    fn start(&self, block: u64, command: &mut Command) -> io::Result<Option<Child>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.last_wanted.is_some_and(|last| block > last) {
            return Ok(None);
        }
        let Some(child) = crate::interrupt::spawn_child(command)? else {
            return Ok(None);
        };
        state.running.push((block, child.id()));
        Ok(Some(child))
    }

    /// Command `pid` has been waited for.
    fn finished(&self, pid: u32) {
        crate::interrupt::unregister_child(pid);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running.retain(|&(_, p)| p != pid);
    }
}

/// Send `signal` to the process group that `pid` leads: the command's
/// shell and whatever it started.
fn signal_group(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// A started command whose output is to be read.
struct Running {
    child: Child,
    stdout: ChildStdout,
    /// The end of its standard error, gathered by a thread of its own so
    /// that a command writing much of it never blocks.
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

/// A command just started: where its input goes, and the command.
struct Start {
    stdin: std::process::ChildStdin,
    running: Running,
}

/// What one command of the chain came to.
#[derive(Default)]
struct Level {
    /// It failed: how.
    command: Option<StageError>,
    /// A stage after it failed on one of its records.
    stage: Option<StageError>,
    dropped: Dropped,
}

/// A command whose output has been read (or given up on).
struct Reading {
    level: usize,
    child: Child,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    /// Reading stopped early, and why.
    stopped: Stop,
    stage: Option<StageError>,
}

#[derive(PartialEq, Eq)]
enum Stop {
    /// The command's output was read to its end.
    No,
    /// Whoever reads on stopped reading: the command may die of SIGPIPE.
    Downstream,
    /// A stage failed: the command was ended.
    Failed,
}

/// The chain of commands of one block.
struct Chain<'p> {
    program: &'p Program,
    block: u64,
    commands: &'p Commands,
}

impl Chain<'_> {
    fn command(&self, level: usize) -> &str {
        &self.program.pipes[level].0
    }

    /// Start command `level` in a process group of its own.
    fn start(&self, level: usize) -> Result<Start, StageError> {
        let cmd = self.command(level);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = self.commands.start(self.block, &mut command).map_err(|e| {
            StageError::new(format!(
                "pipe \"{cmd}\": cannot start sh: {}",
                crate::error::io_message(&e)
            ))
        })?;
        let Some(mut child) = started else {
            return Err(StageError::new(format!(
                "pipe \"{cmd}\" was not started: its block is no longer wanted"
            )));
        };
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("both are piped");
        };
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    match stderr.read(&mut buf) {
                        Ok(0) => return kept,
                        Ok(n) => {
                            kept.extend_from_slice(&buf[..n]);
                            if kept.len() > 2 * STDERR_KEPT {
                                kept.drain(..kept.len() - STDERR_KEPT);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return kept,
                    }
                }
            })
        });
        Ok(Start {
            stdin,
            running: Running {
                child,
                stdout,
                stderr,
            },
        })
    }

    /// Read command `level`'s records, run the stages after it on each,
    /// into `emit`. `closed` is set by `emit` when whoever it writes to
    /// stopped reading.
    fn read(
        &self,
        level: usize,
        running: Running,
        dropped: &mut Dropped,
        closed: &Cell<bool>,
        emit: &mut Sink<'_>,
    ) -> Reading {
        let (cmd, stages) = &self.program.pipes[level];
        let terminator = self.program.terminator;
        let Running {
            child,
            stdout,
            stderr,
        } = running;
        let mut reader = BufReader::with_capacity(1 << 16, stdout);
        let mut record = Vec::new();
        let mut stopped = Stop::No;
        let mut stage = None;
        loop {
            record.clear();
            match reader.read_until(terminator, &mut record) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    stage = Some(StageError::new(format!(
                        "pipe \"{cmd}\": reading its output: {}",
                        crate::error::io_message(&e)
                    )));
                    stopped = Stop::Failed;
                    break;
                }
            }
            let mut body = record.strip_suffix(&[terminator]).unwrap_or(&record);
            if terminator == b'\n' {
                body = body.strip_suffix(b"\r").unwrap_or(body);
            }
            if let Err(e) = stages.run(Item::Text(Cow::Borrowed(body)), dropped, emit) {
                if closed.get() {
                    stopped = Stop::Downstream;
                } else {
                    stage = Some(e);
                    stopped = Stop::Failed;
                }
                break;
            }
        }
        // Closing our end: a command still writing gets SIGPIPE.
        drop(reader);
        if stopped == Stop::Failed {
            // Nothing it writes now would be used.
            self.commands.end(vec![child.id()]);
        }
        Reading {
            level,
            child,
            stderr,
            stopped,
            stage,
        }
    }

    /// Read command `level`, sending the records that come out of the
    /// stages after it to the next command, which starts at the first of
    /// them and goes to its reader through `handoff`.
    fn relay(&self, level: usize, running: Running, handoff: SyncSender<Option<Running>>) -> Level {
        let mut dropped = Dropped::default();
        let closed = Cell::new(false);
        let mut next: Option<BufWriter<ChildStdin>> = None;
        let mut handoff = Some(handoff);
        let mut line = Vec::new();
        let reading = self.read(level, running, &mut dropped, &closed, &mut |item| {
            if next.is_none() {
                let start = self.start(level + 1)?;
                next = Some(BufWriter::with_capacity(1 << 16, start.stdin));
                if let Some(handoff) = handoff.take() {
                    let _ = handoff.send(Some(start.running));
                }
            }
            line.clear();
            self.program.write_for_command(&item, &mut line);
            let writer = next.as_mut().expect("started above");
            if writer.write_all(&line).is_err() {
                // The next command stopped reading (`head`), or ended.
                closed.set(true);
                return Err(StageError::new(String::new()));
            }
            Ok(())
        });
        if let Some(mut writer) = next {
            // The next command reads to its end now; one that already
            // stopped reading is no error of ours.
            let _ = writer.flush();
        }
        if let Some(handoff) = handoff {
            // No record came out: the next command never runs.
            let _ = handoff.send(None);
        }
        Level {
            dropped,
            ..self.finish(reading)
        }
    }

    /// Wait for a command that was read, and say how it went.
    fn finish(&self, reading: Reading) -> Level {
        let Reading {
            level,
            mut child,
            stderr,
            stopped,
            stage,
        } = reading;
        let cmd = self.command(level);
        let status = child.wait();
        self.commands.finished(child.id());
        // What the command left running in its group (a background job)
        // ends with it.
        signal_group(child.id(), rustix::process::Signal::TERM);
        let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        let command = match status {
            Ok(status) if status.success() => None,
            // We ended it.
            Ok(_) if stopped == Stop::Failed => None,
            // Whoever read its output stopped (`head`): as in a shell
            // pipeline, how it then ended (SIGPIPE, or an error of its own
            // on the closed pipe) is no failure.
            Ok(_) if stopped == Stop::Downstream => None,
            Ok(status) => Some(failed(cmd, status, &stderr)),
            Err(e) => Some(StageError::new(format!(
                "pipe \"{cmd}\": {}",
                crate::error::io_message(&e)
            ))),
        };
        Level {
            command,
            stage,
            dropped: Dropped::default(),
        }
    }
}

/// The name of a signal that commonly ends a command, for messages.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// The message of a command that failed, quoting the end of what it said.
fn failed(cmd: &str, status: ExitStatus, stderr: &[u8]) -> StageError {
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}{}", signal_name(signal)),
        (None, None) => "was killed by a signal".to_owned(),
    };
    let stderr = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(STDERR_LINES).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let said = if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join(" / "))
    };
    StageError::new(format!("pipe \"{cmd}\" {status}{said}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ast::InputKind;
    use crate::pipeline::parse::parse;

    fn run(pipeline: &str, records: &[&str]) -> Result<Vec<String>, String> {
        run_with(pipeline, records, b'\n', &Commands::default(), 0)
    }

    fn run_with(
        pipeline: &str,
        records: &[&str],
        terminator: u8,
        commands: &Commands,
        block: u64,
    ) -> Result<Vec<String>, String> {
        let program = Program::new(parse(pipeline, InputKind::Text).unwrap().stages, terminator);
        let mut dropped = Dropped::default();
        let mut input = Vec::new();
        for record in records {
            program
                .first()
                .run(
                    Item::Text(Cow::Borrowed(record.as_bytes())),
                    &mut dropped,
                    &mut |item| {
                        program.write_for_command(&item, &mut input);
                        Ok(())
                    },
                )
                .map_err(|e| e.message)?;
        }
        let mut out = Vec::new();
        program
            .run_pipes(input, block, commands, &mut dropped, &mut |item| {
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

    #[test]
    fn no_command_runs_without_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let touch = format!("pipe \"touch {}; cat\"", mark.display());
        assert!(run(&touch, &[]).unwrap().is_empty());
        assert!(
            run(&format!("filter /x/ | {touch}"), &["a", "b"])
                .unwrap()
                .is_empty()
        );
        assert!(!mark.exists(), "a command ran on a block with no record");
        // Nor a later command when the one before it printed nothing.
        let later = format!("pipe \"sed -n /x/p\" | {touch}");
        assert!(run(&later, &["a"]).unwrap().is_empty());
        assert!(!mark.exists());
        assert_eq!(run(&later, &["x"]).unwrap(), ["x"]);
        assert!(mark.exists());
    }

    #[test]
    fn under_nul_records_keep_their_newlines() {
        assert_eq!(
            run_with("pipe \"cat\"", &["a\nb", "c\r"], 0, &Commands::default(), 0).unwrap(),
            ["a\nb", "c\r"]
        );
        assert_eq!(
            run_with(
                "pipe \"sort -z -r\"",
                &["a\nb", "c"],
                0,
                &Commands::default(),
                0
            )
            .unwrap(),
            ["c", "a\nb"]
        );
    }

    #[test]
    fn a_chain_streams_and_a_reader_that_stops_is_no_failure() {
        // `yes` never ends by itself: `head` stopping must end it.
        assert_eq!(
            run("pipe \"yes\" | pipe \"head -2\"", &["a"]).unwrap(),
            ["y", "y"]
        );
        // Three commands, the middle one starting at its first record.
        assert_eq!(
            run(
                "pipe \"seq 3\" | filter /[13]/ | pipe \"tac\" | pipe \"paste -sd+\"",
                &["a"]
            )
            .unwrap(),
            ["3+1"]
        );
        // A failure later in the chain is reported, naming its command.
        let err = run("pipe \"seq 3\" | pipe \"exit 5\"", &["a"]).unwrap_err();
        assert_eq!(err, "pipe \"exit 5\" exited with status 5");
    }

    #[test]
    fn a_stage_failing_on_a_commands_output_ends_it() {
        let err = run("pipe \"yes x\" | json", &["a"]).unwrap_err();
        assert!(err.contains("JSON"), "{err}");
    }

    #[test]
    fn commands_of_unwanted_blocks_end_at_once_with_their_children() {
        let commands = Commands::default();
        let dir = tempfile::tempdir().unwrap();
        let child_pid = dir.path().join("pid");
        let cmd = format!(
            "pipe \"sleep 30 & echo $! > {}; wait\"",
            child_pid.display()
        );
        std::thread::scope(|scope| {
            let run = scope.spawn(|| run_with(&cmd, &["a"], b'\n', &commands, 1));
            while std::fs::read_to_string(&child_pid).is_err() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let started = std::time::Instant::now();
            // Block 1 is still wanted: its command runs on.
            commands.end_after(1);
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!run.is_finished());
            // It is not any more: `sh` and `sleep`, its child, end now.
            commands.end_after(0);
            let err = run.join().unwrap().unwrap_err();
            assert!(err.contains("killed by signal 15 (SIGTERM)"), "{err}");
            assert!(started.elapsed().as_secs() < 20);
        });
        let sleep = std::fs::read_to_string(&child_pid).unwrap();
        let stat = format!("/proc/{}/stat", sleep.trim());
        let alive = || {
            // A process that ended but is not yet reaped counts as ended.
            std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z "))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!alive(), "the command's child outlived it");
        // Once its block is unwanted, a command never starts.
        let err = run_with("pipe \"cat\"", &["a"], b'\n', &commands, 2).unwrap_err();
        assert!(err.contains("no longer wanted"), "{err}");
        assert_eq!(
            run_with("pipe \"cat\"", &["a"], b'\n', &commands, 0).unwrap(),
            ["a"]
        );
    }

    #[test]
    fn a_commands_records_flow_on_while_it_runs() {
        // The command prints its second line only once the first has come
        // out of the stages: a runner that waited for the command's end
        // would see "late" instead.
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        let cmd = format!(
            "pipe \"echo a; for i in $(seq 1000); do [ -e {go} ] && break; sleep 0.01; done; [ -e {go} ] && echo b || echo late\"",
            go = go.display()
        );
        let program = Program::new(parse(&cmd, InputKind::Text).unwrap().stages, b'\n');
        let mut out = Vec::new();
        program
            .run_pipes(
                b"x\n".to_vec(),
                0,
                &Commands::default(),
                &mut Dropped::default(),
                &mut |item| {
                    std::fs::write(&go, b"").unwrap();
                    out.push(String::from_utf8(item.text().into_owned()).unwrap());
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(out, ["a", "b"]);
    }

    #[test]
    fn a_writer_that_fails_on_a_closed_pipe_is_no_failure() {
        // Like a program that handles EPIPE itself and exits 1: `head`
        // stopping must not fail the chain.
        assert_eq!(
            run(
                "pipe \"trap '' PIPE; while echo 1; do :; done; exit 1\" | pipe \"head -1\"",
                &["a"]
            )
            .unwrap(),
            ["1"]
        );
    }

    #[test]
    fn a_signal_is_named() {
        let err = run("pipe \"kill -9 $$\"", &["a"]).unwrap_err();
        assert_eq!(err, "pipe \"kill -9 $$\" was killed by signal 9 (SIGKILL)");
    }
}
