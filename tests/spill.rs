//! Tables beyond the memory budget: whatever the budget (one that spills
//! every table after every block included), the threads and the block
//! size, the output is the bytes of a run that never spilled; and the
//! spill leaves nothing behind, whether it succeeds, fails or is stopped.

use std::path::Path;
use std::process::Output;

use proptest::prelude::*;

use crate::util::rbag;

fn run(dir: &Path, args: &[String]) -> Output {
    rbag()
        .args(args)
        .arg("--tmpdir")
        .arg(dir)
        .output()
        .expect("rbag runs")
}

/// Lines with many repeats, as text or as JSON values (numbers, strings,
/// objects), so that keys of both kinds meet across partitions.
fn lines() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            "[a-c]{0,3}",
            "[a-z ]{20,40}",
            (0u32..50).prop_map(|n| n.to_string()),
            (0u32..9).prop_map(|n| format!("{{\"k\":{n}}}")),
            Just("\"ab\"".to_owned()),
        ],
        0..400,
    )
}

fn in_no_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_spilled_table_prints_as_one_that_fit(
        lines in lines(),
        budget in prop_oneof![Just(1u64), 1u64..4096, Just(1 << 20)],
        threads in 1u8..4,
        block_size in prop_oneof![Just(1u64), 1u64..512],
        job in 0usize..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.jsonl");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&input, text).unwrap();
        let spill = tempfile::tempdir().unwrap();
        let (command, extra): (&[&str], &[&str]) = match job {
            0 => (&["freq"], &["--jsonl", "--skip-bad-lines"]),
            1 => (&["run", "distinct"], &["--jsonl", "--skip-bad-lines"]),
            2 => (&["freq"], &["--sort", "key"]),
            3 => (&["freq"], &["--top", "3", "--min-count", "2", "--format", "json"]),
            4 => (&["run", "split \" \" | frequencies"], &[]),
            6 => (&["wordcount"], &["--min-len", "2", "--keep-case"]),
            7 => (&["run", "words | lower | frequencies"], &["--top", "7"]),
            _ => (&["run", "distinct"], &["--format", "csv", "--top", "5"]),
        };
        let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["-j".into(), threads.to_string(), "--blocksize".into(), block_size.to_string()]);
        args.push(input.display().to_string());
        let whole = run(spill.path(), &args);
        args.extend(["--memory".into(), budget.to_string(), "--stats".into()]);
        let spilled = run(spill.path(), &args);
        prop_assert_eq!(spilled.status.code(), whole.status.code());
        prop_assert_eq!(
            String::from_utf8_lossy(&spilled.stdout),
            String::from_utf8_lossy(&whole.stdout)
        );
        let said = String::from_utf8_lossy(&spilled.stderr);
        // Output means a table with keys: a budget of 1 byte spilled it.
        if budget == 1 && !whole.stdout.is_empty() && job != 5 && whole.status.success() {
            prop_assert!(said.contains("spilled"), "a budget of 1 byte spills: {}", said);
        }
        prop_assert!(in_no_dir(spill.path()), "the spill left files behind");
    }
}

#[test]
fn a_spill_that_cannot_write_fails_naming_its_directory_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.txt");
    let keys: String = (0..20_000).map(|i| format!("key number {i}\n")).collect();
    std::fs::write(&input, keys).unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let out = dir.path().join("out.tsv");
    std::fs::write(&out, "the old output\n").unwrap();
    // A file-size limit stands for a full disk (writes fail with EFBIG once
    // a file reaches it); the signal it would send is ignored, as a shell's
    // `trap '' XFSZ` does, so that the write fails instead.
    let script = format!(
        "trap '' XFSZ; ulimit -f 8; exec \"$RBAG\" freq --memory 1 --blocksize 4KiB --tmpdir '{}' -o '{}' '{}'",
        spill.display(),
        out.display(),
        input.display()
    );
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("RBAG", env!("CARGO_BIN_EXE_rbag"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.starts_with(&format!("rbag: {}/rbag-spill-", spill.display()))
            && said.contains("large"),
        "names the spill directory and the reason: {said}"
    );
    assert!(in_no_dir(&spill), "the spill left files behind");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the old output\n");
}

#[test]
fn a_signal_during_a_spill_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let fifo = dir.path().join("feed");
    crate::util::mknod(&fifo, rustix::fs::FileType::Fifo, 0);
    let mut child = rbag()
        .args(["freq", "--memory", "1", "--blocksize", "1", "--tmpdir"])
        .arg(&spill)
        .arg(&fifo)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Keys go in and spill, then the feed stays open: rbag is mid-run.
    let mut feed = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    use std::io::Write;
    for i in 0..2000 {
        writeln!(feed, "key {i}").unwrap();
    }
    feed.flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while in_no_dir(&spill) {
        assert!(std::time::Instant::now() < deadline, "rbag never spilled");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    drop(feed);
    assert_eq!(status.code(), Some(143));
    assert!(in_no_dir(&spill), "a signal left the spill behind");
}
