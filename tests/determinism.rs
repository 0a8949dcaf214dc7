//! The determinism contract (SPEC section 6), proven by a matrix: every
//! golden case that reads input (wordcount, run with and without a
//! reduction, freq, text and JSON lines) is run again with `-j 1, 2, 8` x
//! `--blocksize 1, 7, 64KiB, default` x the input as a file and as a pipe,
//! and must give exactly the golden bytes and exit code; once more under
//! `--memory 1`, so that every table spills. Cases with one
//! input file run again from that file compressed (gzip, gzip in two
//! members, zstd, bzip2, xz), as a file and through a pipe.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use clap::Parser;
use rbag::cli::{Cli, Command};

use crate::util::{cases, fixtures, rbag};

const THREADS: [&str; 3] = ["1", "2", "8"];
const COMPRESSED_THREADS: [&str; 2] = ["1", "8"];
const COMPRESSED_BLOCK_SIZES: [Option<&str>; 2] = [Some("7"), None];

/// A compression format: its name, its suffix and how to compress.
type Compressor = (&'static str, &'static str, fn(&[u8]) -> Vec<u8>);

fn compressors() -> [Compressor; 5] {
    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn gz_two_members(data: &[u8]) -> Vec<u8> {
        // Cut anywhere, even inside a record: the members' contents join.
        let (a, b) = data.split_at(data.len() / 2);
        [gz(a), gz(b)].concat()
    }
    fn zst(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 1).unwrap()
    }
    fn bz2(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    fn xz(data: &[u8]) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    [
        ("gzip", ".gz", gz),
        ("gzip-2", ".gz", gz_two_members),
        ("zstd", ".zst", zst),
        ("bzip2", ".bz2", bz2),
        ("xz", ".xz", xz),
    ]
}
const BLOCK_SIZES: [Option<&str>; 4] = [Some("1"), Some("7"), Some("64KiB"), None];

struct Case {
    name: String,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn load_cases() -> Vec<Case> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(cases()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let spec: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let args: Vec<String> = spec["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let code = spec
            .get("status")
            .and_then(|s| s.get("code"))
            .and_then(toml::Value::as_integer)
            .unwrap_or(0) as i32;
        let sibling = |ext: &str| std::fs::read(path.with_extension(ext)).ok();
        found.push(Case {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            args,
            stdin: sibling("stdin"),
            code,
            stdout: sibling("stdout").expect("every case has a .stdout file"),
            stderr: sibling("stderr").expect("every case has a .stderr file"),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut child = rbag()
        .args(args)
        .current_dir(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        // The run may fail before reading its input; that is not our error.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// The case's single input file, if it has exactly one (so that it can be
/// piped instead).
fn single_input(case: &Case) -> Option<String> {
    let argv = std::iter::once("rbag".to_owned()).chain(case.args.iter().cloned());
    let files = match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Some(Command::Wordcount(args)),
            ..
        }) => args.files,
        Ok(Cli {
            command: Some(Command::Run(args)),
            ..
        }) => args.job.files,
        Ok(Cli {
            command: Some(Command::Freq(args)),
            ..
        }) => args.job.files,
        _ => return None,
    };
    // A byte range needs the file itself.
    if case.args.iter().any(|a| a == "--byte-range") {
        return None;
    }
    match files.as_slice() {
        [only] if fixtures().join(only).is_file() && case.stdin.is_none() => {
            Some(only.to_string_lossy().into_owned())
        }
        _ => None,
    }
}

fn with_engine_flags(args: &[String], threads: &str, block_size: Option<&str>) -> Vec<String> {
    // Flags go right after the subcommand so that a trailing `--` in a case
    // could never swallow them.
    let mut out = vec![args[0].clone(), "-j".into(), threads.into()];
    if let Some(size) = block_size {
        out.extend(["--blocksize".into(), size.into()]);
    }
    out.extend(args[1..].iter().cloned());
    out
}

fn check(case: &Case, label: &str, output: &Output, stderr: &[u8], failures: &mut Vec<String>) {
    let code = output.status.code().unwrap_or(-1);
    if output.stdout != case.stdout || code != case.code || output.stderr != stderr {
        failures.push(format!(
            "{} [{label}]: exit {code} (want {}), stdout {} (want {} bytes), stderr:\n{}",
            case.name,
            case.code,
            if output.stdout == case.stdout {
                "same".to_owned()
            } else {
                format!("{} bytes, different", output.stdout.len())
            },
            case.stdout.len(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
}

#[test]
fn every_case_is_identical_across_threads_block_sizes_and_routes() {
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in load_cases() {
        // Usage errors stop before any input is read; the matrix is about
        // reading, and extra flags could only change the usage message.
        if case.code == 2 || case.args.first().is_none_or(|a| a.starts_with('-')) {
            continue;
        }
        // A command that fails on a block is reported with the block's
        // lines, which the block size decides: that message, by design,
        // is not the same across block sizes (the output is).
        if case.name.ends_with("-names-its-block") {
            continue;
        }
        // A plan names its threads and block size: it is the one output
        // that must change with them.
        if case.args.iter().any(|a| a.starts_with("--explain")) {
            continue;
        }
        let piped = single_input(&case);
        // A merge reads partials, not blocks: only its threads vary.
        let block_sizes: &[Option<&str>] = if case.args[0] == "merge" {
            &[None]
        } else {
            &BLOCK_SIZES
        };
        for threads in THREADS {
            for &block_size in block_sizes {
                let args = with_engine_flags(&case.args, threads, block_size);
                let label = format!(
                    "-j {threads} --blocksize {}",
                    block_size.unwrap_or("default")
                );
                let output = run(&args, case.stdin.as_deref());
                check(
                    &case,
                    &format!("{label}, file"),
                    &output,
                    &case.stderr,
                    &mut failures,
                );
                runs += 1;

                // A budget of 1 byte: every table spills after every
                // block, and the output must not change.
                if threads == "2" && block_size == Some("7") && case.args[0] != "merge" {
                    let mut spilling = args.clone();
                    spilling.splice(1..1, ["--memory".to_owned(), "1".to_owned()]);
                    let output = run(&spilling, case.stdin.as_deref());
                    check(
                        &case,
                        &format!("{label} --memory 1, file"),
                        &output,
                        &case.stderr,
                        &mut failures,
                    );
                    runs += 1;
                }

                if let Some(file) = &piped {
                    let mut args: Vec<String> = args
                        .iter()
                        .map(|a| if a == file { "-".to_owned() } else { a.clone() })
                        .collect();
                    // A pipe has no name to tell JSON lines by.
                    let json_name = file.ends_with(".jsonl") || file.ends_with(".ndjson");
                    if json_name && !args.iter().any(|a| a == "--jsonl") {
                        args.insert(1, "--jsonl".into());
                    }
                    let content = std::fs::read(fixtures().join(file)).unwrap();
                    let stderr = String::from_utf8_lossy(&case.stderr)
                        .replace(&format!("{file}:"), "<stdin>:")
                        .into_bytes();
                    let output = run(&args, Some(&content));
                    check(
                        &case,
                        &format!("{label}, pipe"),
                        &output,
                        &stderr,
                        &mut failures,
                    );
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 2000, "the matrix ran only {runs} commands");
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn compressed_input_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in load_cases() {
        if case.code == 2 || case.args.first().is_none_or(|a| a.starts_with('-')) {
            continue;
        }
        let Some(file) = single_input(&case) else {
            continue;
        };
        if case.name.ends_with("-names-its-block")
            || case.args.iter().any(|a| a.starts_with("--explain"))
        {
            continue;
        }
        let content = std::fs::read(fixtures().join(&file)).unwrap();
        for (format, suffix, compress) in compressors() {
            let name = format!("{}{suffix}", file.replace('/', "_"));
            std::fs::create_dir_all(dir.path().join(format)).unwrap();
            let path = dir.path().join(format).join(&name);
            std::fs::write(&path, compress(&content)).unwrap();
            let shown = path.to_string_lossy().into_owned();
            for threads in COMPRESSED_THREADS {
                for block_size in COMPRESSED_BLOCK_SIZES {
                    let args = with_engine_flags(&case.args, threads, block_size);
                    let label = format!(
                        "{format} -j {threads} --blocksize {}",
                        block_size.unwrap_or("default")
                    );
                    let json_name = file.ends_with(".jsonl") || file.ends_with(".ndjson");
                    // As a file: the name keeps .jsonl before the suffix.
                    let as_file: Vec<String> = args
                        .iter()
                        .map(|a| if *a == file { shown.clone() } else { a.clone() })
                        .collect();
                    let stderr = String::from_utf8_lossy(&case.stderr)
                        .replace(&format!("{file}:"), &format!("{shown}:"))
                        .into_bytes();
                    let output = run(&as_file, None);
                    check(
                        &case,
                        &format!("{label}, file"),
                        &output,
                        &stderr,
                        &mut failures,
                    );
                    // Through a pipe: found by its magic bytes.
                    let mut piped: Vec<String> = args
                        .iter()
                        .map(|a| {
                            if *a == file {
                                "-".to_owned()
                            } else {
                                a.clone()
                            }
                        })
                        .collect();
                    if json_name && !piped.iter().any(|a| a == "--jsonl") {
                        piped.insert(1, "--jsonl".into());
                    }
                    let stderr = String::from_utf8_lossy(&case.stderr)
                        .replace(&format!("{file}:"), "<stdin>:")
                        .into_bytes();
                    let output = run(&piped, Some(&compress(&content)));
                    check(
                        &case,
                        &format!("{label}, pipe"),
                        &output,
                        &stderr,
                        &mut failures,
                    );
                    runs += 2;
                }
            }
        }
    }
    assert!(
        runs > 1000,
        "the compressed matrix ran only {runs} commands"
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_matrix_sees_the_input_route() {
    // Guard against a matrix that silently stops piping: the stdin route
    // must exist for the plain text cases.
    let cases = load_cases();
    let genesis = cases
        .iter()
        .find(|c| c.name == "wordcount-genesis")
        .unwrap();
    assert_eq!(single_input(genesis).as_deref(), Some("genesis.txt"));
    assert!(Path::new(&fixtures().join("genesis.txt")).is_file());
}

#[test]
fn large_vocabularies_count_the_same_at_every_thread_count_and_block_size() {
    // More distinct keys than a count table holds before it splits into
    // parts (65,536), short and long, so that the parts, the waiting queue
    // and the parallel merge of parts all run; compared with a model.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.txt");
    let mut model = std::collections::BTreeMap::new();
    let mut lines = Vec::new();
    for i in 0..100_000u64 {
        let key = match i % 3 {
            0 => format!("k{i}"),
            1 => format!("user{i:012}"),
            _ => format!("a-rather-longer-key-number-{i}"),
        };
        let times = i % 4 + 1;
        model.insert(key.clone(), times);
        for _ in 0..times {
            lines.push(key.clone());
        }
    }
    // A fixed shuffle, so that every block sees keys of every part.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..lines.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lines.swap(i, (state % (i as u64 + 1)) as usize);
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let mut rows: Vec<(&String, &u64)> = model.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let expected: String = rows.iter().map(|(k, c)| format!("{k}\t{c}\n")).collect();
    let path = path.to_str().unwrap();
    for threads in ["1", "2", "8"] {
        for block_size in ["64KiB", "1MiB"] {
            for command in [
                vec!["freq", path],
                vec!["wordcount", "--split", "whitespace", path],
            ] {
                let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
                args.extend(["-j", threads, "--blocksize", block_size].map(String::from));
                let out = run(&args, None);
                assert_eq!(out.status.code(), Some(0), "{args:?}");
                assert!(out.stdout == expected.as_bytes(), "{args:?}: wrong counts");
            }
            let args: Vec<String> = [
                "run",
                "distinct | count",
                path,
                "-j",
                threads,
                "--blocksize",
                block_size,
            ]
            .map(String::from)
            .to_vec();
            let out = run(&args, None);
            assert_eq!(String::from_utf8_lossy(&out.stdout), "100000\n", "{args:?}");
        }
    }
}
