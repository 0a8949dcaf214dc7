//! `--explain`: the plan is what the run executes (its windows are the
//! windows the run reads), it reads no input (a FIFO or stdin with no
//! writer returns at once), and its graph renders with Graphviz.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{fixtures, mknod, rbag};

/// The output of `command` run in `fixtures/`, which must succeed.
fn succeeded(command: &mut std::process::Command) -> std::process::Output {
    let out = command.current_dir(fixtures()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The windows `(input, start, end)` of a JSON plan.
fn planned(args: &[&str]) -> BTreeSet<(u64, u64, u64)> {
    let out = succeeded(rbag().args(args).arg("--explain=json"));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["rbag_plan"], 1);
    let mut windows = BTreeSet::new();
    for (i, input) in plan["inputs"].as_array().unwrap().iter().enumerate() {
        let size = input["size"].as_u64().unwrap();
        let blocks = input["blocks"].as_array().unwrap();
        // The windows tile the range read, in order, without gaps.
        let range = input["range"].as_array().unwrap();
        let mut at = range[0].as_u64().unwrap();
        for block in blocks {
            let (a, b) = (block[0].as_u64().unwrap(), block[1].as_u64().unwrap());
            assert_eq!(a, at, "a gap or an overlap before [{a}, {b})");
            assert!(a < b && b <= size);
            windows.insert((i as u64, a, b));
            at = b;
        }
        assert_eq!(
            at,
            range[1].as_u64().unwrap(),
            "the windows end where the range does"
        );
    }
    windows
}

/// The windows a run reads, from its trace.
fn traced(args: &[&str]) -> BTreeSet<(u64, u64, u64)> {
    let out = succeeded(rbag().args(args).env("RBAG_TRACE_WINDOWS", "1"));
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("rbag: trace: window "))
        .map(|l| {
            let n: Vec<u64> = l.split(' ').map(|x| x.parse().unwrap()).collect();
            (n[0], n[1], n[2])
        })
        .collect()
}

#[test]
fn the_plan_windows_are_the_windows_the_run_reads() {
    for args in [
        &[
            "wordcount",
            "--blocksize",
            "700",
            "genesis.txt",
            "unicode.txt",
        ][..],
        &[
            "run",
            "--blocksize",
            "100",
            "pluck .user.lang | frequencies",
            "events.jsonl",
            "requests.jsonl",
        ],
        &["freq", "--blocksize", "1", "multi/a.txt"],
        &[
            "wordcount",
            "--blocksize",
            "256",
            "--byte-range",
            "1000:2500",
            "genesis.txt",
        ],
        &[
            "run",
            "--blocksize",
            "64KiB",
            "count",
            "genesis.txt",
            "empty.txt",
        ],
    ] {
        let plan = planned(args);
        assert!(!plan.is_empty() || args.contains(&"empty.txt"));
        assert_eq!(traced(args), plan, "{args:?}");
    }
}

/// Run with stdin (or a FIFO) that no one writes: the plan must come back
/// at once, without reading.
fn returns_without_reading(args: &[&str], dir: &std::path::Path) -> String {
    let mut child = rbag()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert!(status.success(), "{args:?}");
            drop(stdin);
            return out;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{args:?} waited for input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_fifo_and_stdin_are_planned_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    mknod(&dir.path().join("fifo"), rustix::fs::FileType::Fifo, 0);
    let plan = returns_without_reading(&["wordcount", "--explain", "fifo"], dir.path());
    assert!(
        plan.contains("fifo: unknown size, read as one stream"),
        "{plan}"
    );
    let plan = returns_without_reading(&["run", "--explain=json", "lower"], dir.path());
    assert!(plan.contains("\"name\":\"<stdin>\""), "{plan}");
}

#[test]
fn the_graph_renders_with_graphviz() {
    let out = rbag()
        .args([
            "run",
            "--explain=dot",
            "--blocksize",
            "50",
            "group .status | pluck .ms | mean",
            "requests.jsonl",
            "events.jsonl",
        ])
        .current_dir(fixtures())
        .output()
        .unwrap();
    assert!(out.status.success());
    let dot = String::from_utf8(out.stdout).unwrap();
    // 16 block tasks are drawn, the rest summed up.
    assert_eq!(dot.matches(" -> queue;").count(), 17, "{dot}");
    assert!(dot.contains("more blocks"));
    let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!(
            "graphviz's dot is not installed: the graph was not rendered (.ci/run installs it)"
        );
        return;
    };
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), dot.as_bytes()).unwrap();
    let rendered = child.wait_with_output().unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("<svg"));
}
