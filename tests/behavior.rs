//! Behaviour that needs logic rather than a golden file: closed pipes,
//! atomic output files, progress and stats on stderr, completions.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;

use crate::util::{fixtures, rbag};

/// Many distinct words, so the output is far larger than a pipe buffer.
fn many_words(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("many.txt");
    let mut text = String::new();
    for i in 0..200_000 {
        text.push_str(&format!("word{i} "));
        if i % 10 == 9 {
            text.push('\n');
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Run rbag with `args` on many words, read one line of its output, then
/// close the pipe as `head -1` does; the line and how rbag ended.
fn first_line_then_close(args: &[&str]) -> (String, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let input = many_words(dir.path());
    let mut child = rbag()
        .args(args)
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // Dropping the reader closes the pipe.
    (first, child.wait_with_output().unwrap())
}

#[test]
fn a_reader_closing_the_pipe_early_is_a_quiet_success() {
    let (first, output) = first_line_then_close(&["wordcount"]);
    assert!(first.ends_with("\t1\n"), "{first:?}");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn output_file_gets_exactly_what_stdout_would() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("counts.tsv");
    let stdout = Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args(["wordcount", "genesis.txt"])
        .current_dir(fixtures())
        .output()
        .unwrap()
        .stdout;
    Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args(["wordcount", "genesis.txt", "-o"])
        .arg(&target)
        .current_dir(fixtures())
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_eq!(std::fs::read(&target).unwrap(), stdout);
}

#[test]
fn a_failed_run_leaves_the_output_file_untouched_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("golden.tsv");
    std::fs::write(&target, "old\t1\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args(["wordcount", "--strict-utf8", "invalid-utf8.txt", "-o"])
        .arg(&target)
        .current_dir(fixtures())
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "invalid-utf8.txt:1:7: invalid UTF-8",
        ));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\t1\n");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["golden.tsv"]);
}

#[test]
fn an_output_file_in_a_missing_directory_fails_before_reading() {
    let mut child = rbag()
        .args(["wordcount", "-o", "no/such/dir/out.tsv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep stdin open: a run that waited for input would hang here, so a
    // prompt exit shows the check happens first.
    let stdin = child.stdin.take().unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "rbag: no/such/dir/out.tsv: no such file or directory\n"
    );
}

#[test]
fn stats_go_to_stderr_only() {
    Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args(["wordcount", "--stats", "--top", "1", "genesis.txt"])
        .current_dir(fixtures())
        .assert()
        .success()
        .stdout("the\t85\n")
        .stderr(predicate::str::is_match(
            r"^rbag: stats: 1 input\(s\), 3036 bytes in 1 block\(s\), 80 record\(s\) in, 605 out, 0 without the path, 0 bad line\(s\) skipped, 152 distinct, [0-9.]+ s \([0-9.]+ MB/s\)\n$",
        )
        .unwrap());
}

#[test]
fn progress_always_draws_on_stderr_and_never_touches_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let input = many_words(dir.path());
    let quiet = rbag()
        .args(["wordcount", "--top", "3"])
        .arg(&input)
        .output()
        .unwrap();
    let drawn = rbag()
        .args([
            "wordcount",
            "--progress",
            "always",
            "--blocksize",
            "4KiB",
            "--top",
            "3",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(drawn.status.code(), Some(0));
    assert_eq!(drawn.stdout, quiet.stdout);
    assert!(quiet.stderr.is_empty());
    assert!(!drawn.stderr.is_empty(), "--progress always drew nothing");
}

#[test]
fn stdin_and_a_file_give_the_same_bytes() {
    let content = std::fs::read(fixtures().join("unicode.txt")).unwrap();
    let mut child = rbag()
        .args(["wordcount", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&content).unwrap();
    let piped = child.wait_with_output().unwrap();
    let from_file = rbag()
        .args(["wordcount", "unicode.txt"])
        .current_dir(fixtures())
        .output()
        .unwrap();
    assert!(!piped.stdout.is_empty());
    assert_eq!(piped.stdout, from_file.stdout);
}

#[test]
fn completions_mention_every_visible_long_flag() {
    use clap::CommandFactory;
    let mut cmd = rbag::cli::Cli::command();
    cmd.build();
    let wordcount = cmd.find_subcommand("wordcount").unwrap();
    let bash = rbag()
        .args(["--generate", "complete-bash"])
        .output()
        .unwrap();
    assert_eq!(bash.status.code(), Some(0));
    let script = String::from_utf8(bash.stdout).unwrap();
    for arg in wordcount.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(long) = arg.get_long() {
            assert!(
                script.contains(&format!("--{long}")),
                "bash completion lacks --{long}"
            );
        }
    }
    for shell in [
        "complete-zsh",
        "complete-fish",
        "complete-elvish",
        "complete-powershell",
    ] {
        let out = rbag().args(["--generate", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(out.stdout.len() > 100, "{shell} is empty");
    }
}

fn fixture_output(args: &[&str]) -> std::process::Output {
    rbag().args(args).current_dir(fixtures()).output().unwrap()
}

#[test]
fn run_words_lower_frequencies_is_wordcount() {
    for file in [
        "genesis.txt",
        "unicode.txt",
        "apostrophes.txt",
        "invalid-utf8.txt",
        "crlf.txt",
    ] {
        for extra in [
            &[][..],
            &["--format", "jsonl", "--top", "7"],
            &["--sort", "key", "-j", "1"],
        ] {
            let mut wc = vec!["wordcount", file];
            wc.extend(extra);
            let mut run = vec!["run", "words | lower | frequencies", file];
            run.extend(extra);
            let (a, b) = (fixture_output(&wc), fixture_output(&run));
            assert!(!a.stdout.is_empty(), "{file}");
            assert_eq!(a.stdout, b.stdout, "{file} {extra:?}");
        }
        let kept = fixture_output(&["wordcount", "--keep-case", file]);
        let run = fixture_output(&["run", "words | frequencies", file]);
        assert_eq!(kept.stdout, run.stdout, "{file} --keep-case");
    }
}

#[test]
fn rejects_are_written_verbatim_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args(["run", "count", "--skip-bad-lines", "bad.jsonl", "--rejects"])
        .arg(&rejects)
        .current_dir(fixtures())
        .assert()
        .success()
        .stdout("4\n")
        .stderr(predicate::str::starts_with(
            "rbag: skipped 2 bad line(s): bad.jsonl:3:9: invalid JSON",
        ));
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        "{\"a\": 3,}\nnot json at all\n"
    );
}

#[test]
fn stats_count_records_without_the_plucked_path() {
    Command::new(env!("CARGO_BIN_EXE_rbag"))
        .args([
            "run",
            "pluck .user.lang | frequencies",
            "--stats",
            "events.jsonl",
        ])
        .current_dir(fixtures())
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "7 record(s) in, 6 out, 1 without the path, 0 bad line(s) skipped, 3 distinct",
        ));
}

/// Feed `rbag` an endless stdin and return its output, or fail after a
/// timeout: `take` must stop reading by itself.
#[test]
fn take_stops_reading_an_endless_input() {
    let mut child = rbag()
        .args(["run", "--blocksize", "4KiB", "filter /7/ | take 3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut i = 0u64;
        // Stops when rbag closes the pipe; the bound only guards the test.
        while i < 50_000_000 {
            if stdin.write_all(format!("line {i}\n").as_bytes()).is_err() {
                return true;
            }
            i += 1;
        }
        false
    });
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "line 7\nline 17\nline 27\n"
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(feeder.join().unwrap(), "rbag read the whole input");
}

#[test]
fn streamed_output_starts_before_the_input_ends() {
    let mut child = rbag()
        .args(["run", "--blocksize", "64KiB", "filter /^x/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (go_on, wait) = std::sync::mpsc::channel::<()>();
    let feeder = std::thread::spawn(move || {
        let chunk: String = (0..20_000).map(|i| format!("x{i}\n")).collect();
        stdin.write_all(chunk.as_bytes()).unwrap();
        // Hold the input open until the first output line has been seen.
        let _ = wait.recv_timeout(std::time::Duration::from_secs(30));
        drop(stdin);
    });
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let _ = first_tx.send(line);
    });
    let first = first_rx.recv_timeout(std::time::Duration::from_secs(20));
    go_on.send(()).unwrap();
    feeder.join().unwrap();
    child.wait().unwrap();
    assert_eq!(
        first.expect("no output while the input was still open"),
        "x0\n"
    );
}

#[test]
fn a_closed_pipe_ends_a_stream_quietly() {
    let (first, output) = first_line_then_close(&["run", "words | upper"]);
    assert_eq!(first, "WORD0\n");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn an_interrupt_exits_130_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = rbag()
        .args(["wordcount", "-o"])
        .arg(dir.path().join("out.tsv"))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // Endless input, until rbag is gone; the bound only guards the test.
        for _ in 0..10_000_000 {
            if stdin.write_all(b"some words to count\n").is_err() {
                return;
            }
        }
    });
    // Wait until the temporary output exists, so the interrupt finds it.
    for _ in 0..200 {
        if std::fs::read_dir(dir.path()).unwrap().next().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Streaming over more files than the reorder window once hung: the end of
/// each file took a permit that was never given back.
#[test]
fn streaming_over_many_files_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = String::new();
    for i in 0..40 {
        std::fs::write(dir.path().join(format!("f{i:02}.txt")), format!("x {i}\n")).unwrap();
        expected.push_str(&format!("x {i}\n"));
    }
    std::fs::write(dir.path().join("g00.txt"), "").unwrap();
    let mut child = rbag()
        .args(["run", "-j1", "filter /x/"])
        .arg(dir.path().join("*.txt"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut text).unwrap();
        let _ = done_tx.send(text);
    });
    let text = done_rx.recv_timeout(std::time::Duration::from_secs(30));
    if text.is_err() {
        let _ = child.kill();
    }
    assert_eq!(text.expect("rbag run hung on many files"), expected);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// A live pipe (`tail -f log | rbag run 'filter /ERROR/'`): each match is
/// printed while the input stays open, long before a block fills.
#[test]
fn a_live_pipe_prints_each_match_while_the_input_is_open() {
    let mut child = rbag()
        .args(["run", "filter /ERROR/"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = lines_tx.send(line.unwrap());
        }
    });
    let wait = std::time::Duration::from_secs(20);
    stdin.write_all(b"fine\n12:00 ERROR disk full\n").unwrap();
    assert_eq!(
        lines_rx
            .recv_timeout(wait)
            .expect("no output while the pipe was open"),
        "12:00 ERROR disk full"
    );
    stdin
        .write_all(b"fine again\n12:01 ERROR disk still full\n")
        .unwrap();
    assert_eq!(
        lines_rx
            .recv_timeout(wait)
            .expect("the second match did not come"),
        "12:01 ERROR disk still full"
    );
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
