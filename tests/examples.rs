//! Every example of `--help` and the man pages, run in a directory that
//! holds files of the names they use: each must succeed and print (or
//! write) something. A bare `rbag` prints a short usage and exits 2.

use std::path::Path;
use std::process::Command;

use crate::util::{fixtures, rbag};

fn sandbox(dir: &Path) {
    let copy = |from: &str, to: &str| {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join(from), to).unwrap();
    };
    copy("genesis.txt", "book.txt");
    copy("events.jsonl", "tweets.jsonl");
    copy("requests.jsonl", "requests.jsonl");
    copy("app.log", "app.log");
    copy("app.log", "access.log");
    copy("multi/a.txt", "logs/a.txt");
    copy("multi/b.txt", "logs/b.txt");
    copy("stopwords.txt", "stop.txt");
    copy("genesis.txt.gz", "big.txt.gz");
    let people: String = [("Ada", 36), ("Bob", 29), ("Cy", 41), ("Di", 30)]
        .iter()
        .map(|(name, age)| format!("{{\"name\": \"{name}\", \"age\": {age}}}\n"))
        .collect();
    std::fs::write(dir.join("people.jsonl"), people).unwrap();
    let golden = rbag()
        .args(["wordcount", "logs/*.txt"])
        .current_dir(dir)
        .output()
        .unwrap();
    std::fs::write(dir.join("golden.tsv"), golden.stdout).unwrap();
}

#[test]
fn every_example_runs() {
    let dir = tempfile::tempdir().unwrap();
    sandbox(dir.path());
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rbag"), bin.path().join("rbag")).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for example in rbag::examples::EXAMPLES {
        let out = Command::new("sh")
            .args(["-c", example.line])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: exit {:?}: {}",
            example.line,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        // Output, or a file written by -o or >; --expect is silent.
        let wrote = example
            .line
            .split_whitespace()
            .skip_while(|w| *w != "-o" && *w != ">")
            .nth(1);
        match wrote {
            Some(file) => assert!(
                std::fs::metadata(dir.path().join(file)).unwrap().len() > 0,
                "{}",
                example.line
            ),
            None if example.line.contains("--expect") => {
                assert!(out.stdout.is_empty() && out.stderr.is_empty())
            }
            None => assert!(!out.stdout.is_empty(), "{} printed nothing", example.line),
        }
        ran += 1;
    }
    assert!(ran >= 10);
    // The merge examples give what they promise.
    let merged = rbag()
        .args(["merge", "a.partial", "b.partial", "--top", "10"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let whole = rbag()
        .args(["wordcount", "book.txt", "--top", "10"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(merged.stdout, whole.stdout);
}

#[test]
fn help_shows_the_examples() {
    for command in ["wordcount", "run", "freq", "merge"] {
        let out = rbag().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for example in rbag::examples::of(command) {
            assert!(
                help.contains(example.line),
                "{command} --help lacks {}",
                example.line
            );
        }
    }
}

#[test]
fn a_bare_rbag_prints_a_short_usage() {
    let out = rbag().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let usage = String::from_utf8(out.stderr).unwrap();
    assert!(
        usage.contains("Commands: wordcount, freq, run, merge"),
        "{usage}"
    );
    assert!(usage.contains("--help"));
    assert_eq!(
        usage.matches("\n  rbag ").count(),
        2,
        "two examples: {usage}"
    );
}
