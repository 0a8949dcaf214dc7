//! Partials and `rbag merge`, as properties: for random input cut at random
//! byte offsets, the partials of the ranges merged (in input order) equal
//! one run over the whole file, for every reduction and for a pipeline
//! without one; and merging is associative: any grouping of merges of
//! merges gives the same bytes.

use std::path::Path;
use std::process::Output;

use proptest::prelude::*;

use crate::util::rbag;

/// Pipelines over JSON lines, one per reduction (and chained ones, and
/// one without a reduction).
const JSON_PIPELINES: &[&str] = &[
    "frequencies",
    "pluck .k | frequencies",
    "count",
    "pluck .n | sum",
    "pluck .f | sum",
    "pluck .n | mean",
    "pluck .f | var 1",
    "pluck .f | std",
    "pluck .n | summary",
    "pluck .k | min",
    "pluck .k | max",
    "pluck .k | distinct",
    "topk 2 by .n",
    "bottomk 3 by .f",
    "take 3",
    "filter .n > 0",
    "group .k | pluck .n | sum",
    "group .k | count",
    "group .k | topk 1 by .f",
    "frequencies | take 2",
    "pluck .k | distinct | count",
];

fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("\"a\"".to_owned()),
        Just("\"b\\tc\"".to_owned()),
        Just("1".to_owned()),
        Just("null".to_owned()),
        Just("[1,2]".to_owned()),
    ];
    let int = prop_oneof![
        (-50i64..50).prop_map(|n| n.to_string()),
        Just("123456789012345678901234567890".to_owned()),
    ];
    let float = prop_oneof![
        (-1e3f64..1e3).prop_map(|f| format!("{f:e}")),
        Just("0.1".to_owned()),
        Just("1e300".to_owned()),
    ];
    prop_oneof![
        8 => (key, int, float).prop_map(|(k, n, f)| format!("{{\"k\": {k}, \"n\": {n}, \"f\": {f}}}")),
        1 => Just("{\"k\": \"a\"}".to_owned()),
        1 => Just(String::new()),
    ]
}

fn run(dir: &Path, args: &[&str]) -> Output {
    rbag().args(args).current_dir(dir).output().unwrap()
}

fn same(a: &Output, b: &Output) -> bool {
    a.status.code() == b.status.code() && a.stdout == b.stdout && a.stderr == b.stderr
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}, stdout {:?}, stderr {:?}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Write the partial of each range; their file names.
fn partials(dir: &Path, command: &[&str], input: &str, cuts: &[u64]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for (i, pair) in cuts.windows(2).enumerate() {
        let range = format!("{}:{}", pair[0], pair[1]);
        let mut args: Vec<&str> = command.to_vec();
        args.extend(["--partial", "--byte-range", &range, input]);
        let out = run(dir, &args);
        if !out.status.success() {
            return None;
        }
        let name = format!("part{i}.partial");
        std::fs::write(dir.join(&name), &out.stdout).unwrap();
        names.push(name);
    }
    Some(names)
}

fn check_merges(
    dir: &Path,
    whole: &Output,
    names: &[String],
    label: &str,
) -> Result<(), TestCaseError> {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut args = vec!["merge"];
    args.extend(&refs);
    let merged = run(dir, &args);
    prop_assert!(
        same(&merged, whole),
        "{label}: merged {} but one run {}",
        show(&merged),
        show(whole)
    );
    if names.len() >= 3 {
        // (p0 p1) p2... and p0 (p1 p2 ...): merges of merges.
        let left = run(dir, &["merge", "--partial", refs[0], refs[1]]);
        std::fs::write(dir.join("left.partial"), &left.stdout).unwrap();
        let mut args = vec!["merge", "left.partial"];
        args.extend(&refs[2..]);
        let grouped = run(dir, &args);
        prop_assert!(
            same(&grouped, whole),
            "{label}: ((0 1) 2..) {}",
            show(&grouped)
        );
        let mut args = vec!["merge", "--partial"];
        args.extend(&refs[1..]);
        let right = run(dir, &args);
        std::fs::write(dir.join("right.partial"), &right.stdout).unwrap();
        let grouped = run(dir, &["merge", refs[0], "right.partial"]);
        prop_assert!(
            same(&grouped, whole),
            "{label}: (0 (1 2..)) {}",
            show(&grouped)
        );
    }
    Ok(())
}

fn cut_points(len: usize, cuts: &[prop::sample::Index]) -> Vec<u64> {
    let mut points: Vec<u64> = cuts.iter().map(|c| c.index(len + 1) as u64).collect();
    points.extend([0, len as u64]);
    points.sort_unstable();
    points
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn merged_ranges_of_json_lines_equal_one_run(
        lines in proptest::collection::vec(line(), 0..30),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 1..4),
        block in 1u64..40,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text = lines.join("\n");
        std::fs::write(dir.path().join("in.jsonl"), &text).unwrap();
        let points = cut_points(text.len(), &cuts);
        let block = block.to_string();
        for pipeline in JSON_PIPELINES {
            let whole = run(dir.path(), &["run", pipeline, "in.jsonl"]);
            let command = ["run", "--blocksize", &block, pipeline];
            let Some(names) = partials(dir.path(), &command, "in.jsonl", &points) else {
                // A part may fail only where the whole run fails too.
                prop_assert!(!whole.status.success(), "{pipeline}: a part failed, the whole did not");
                continue;
            };
            check_merges(dir.path(), &whole, &names, pipeline)?;
        }
    }

    #[test]
    fn merged_ranges_of_text_equal_one_wordcount(
        words in proptest::collection::vec(prop_oneof![
            Just("the"), Just("The"), Just("cat"), Just("don't"), Just("\n"), Just(" "), Just("caf\u{e9}"), Just("\r\n"),
        ], 0..80),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text = words.concat();
        std::fs::write(dir.path().join("in.txt"), &text).unwrap();
        let points = cut_points(text.len(), &cuts);
        for command in [&["wordcount"][..], &["wordcount", "--split", "whitespace", "--keep-case"], &["freq"], &["run", "lower | take 2"]] {
            let mut whole_args = command.to_vec();
            whole_args.push("in.txt");
            let whole = run(dir.path(), &whole_args);
            let names = partials(dir.path(), command, "in.txt", &points).expect("text never fails");
            check_merges(dir.path(), &whole, &names, &command.join(" "))?;
        }
    }

    /// `wordcount` and `run 'words | lower | frequencies'` are one job:
    /// the ranges of a file, counted by either command in turn, merge into
    /// the bytes of one `wordcount` (and likewise with `--keep-case` and
    /// `words | frequencies`).
    #[test]
    fn a_wordcount_and_its_pipeline_are_one_job(
        words in proptest::collection::vec(prop_oneof![
            Just("the"), Just("The"), Just("cat"), Just("don't"), Just("\n"), Just(" "), Just("caf\u{e9}"), Just("\r\n"),
        ], 0..80),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text = words.concat();
        std::fs::write(dir.path().join("in.txt"), &text).unwrap();
        let points = cut_points(text.len(), &cuts);
        let pairs: [(&[&str], &[&str]); 2] = [
            (&["wordcount"], &["run", "--keep-cr", "words | lower | frequencies"]),
            (&["wordcount", "--keep-case"], &["run", "words | frequencies"]),
        ];
        for (wordcount, pipeline) in pairs {
            let mut whole_args = wordcount.to_vec();
            whole_args.push("in.txt");
            let whole = run(dir.path(), &whole_args);
            let mut names = Vec::new();
            for (i, pair) in points.windows(2).enumerate() {
                let command = if i % 2 == 0 { wordcount } else { pipeline };
                let part = partials(dir.path(), command, "in.txt", pair).expect("text never fails");
                let name = format!("mixed{i}.partial");
                std::fs::rename(dir.path().join(&part[0]), dir.path().join(&name)).unwrap();
                names.push(name);
            }
            check_merges(dir.path(), &whole, &names, &wordcount.join(" "))?;
        }
    }
}

/// Partials edited one line at a time (a row written twice with the `end`
/// count mended, two rows swapped, a header key changed) are refused, not
/// merged into an answer no run gives. Records whose order and number are
/// the input's own (`take`, a stream, ties of `topk`) cannot be told from
/// another input, so only their headers are checked.
#[test]
fn forged_partials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "{{\"k\": \"{}\", \"n\": {}, \"f\": {}.5}}",
                ["a", "b", "c"][i % 3],
                i * 7 % 5,
                i
            )
        })
        .collect();
    std::fs::write(dir.path().join("in.jsonl"), lines.join("\n")).unwrap();
    let keyed = [
        "frequencies",
        "pluck .k | frequencies",
        "pluck .k | distinct",
        "count",
        "pluck .n | sum",
        "pluck .f | mean",
        "pluck .f | var",
        "pluck .n | summary",
        "pluck .n | min",
        "group .k | pluck .n | sum",
        "group .k | count",
        "topk 3 by .n",
    ];
    let ordered = ["take 3", "filter .n > 1"];
    for pipeline in keyed.iter().chain(&ordered) {
        let out = run(dir.path(), &["run", "--partial", pipeline, "in.jsonl"]);
        assert!(out.status.success(), "{pipeline}: {}", show(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (header, rows) = (lines[0], &lines[1..lines.len() - 1]);
        let partial = |rows: &[&str], header: &str| {
            format!(
                "{header}\n{}end\t{}\n",
                rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
                rows.len()
            )
        };
        let merged = |text: &str| {
            std::fs::write(dir.path().join("forged.partial"), text).unwrap();
            run(dir.path(), &["merge", "forged.partial"])
        };
        let original = merged(&partial(rows, header));
        assert!(original.status.success(), "{pipeline}: {}", show(&original));
        let keyed = keyed.contains(pipeline);
        // A row written twice.
        for i in 0..rows.len() {
            if !keyed || rows[i] == "end-group" {
                continue;
            }
            let mut twice = rows.to_vec();
            twice.insert(i, rows[i]);
            let got = merged(&partial(&twice, header));
            assert_eq!(
                got.status.code(),
                Some(1),
                "{pipeline}: row {i} twice was merged: {}",
                show(&got)
            );
        }
        // Two rows swapped (ranked records of equal rank are a tie, whose
        // order is the input's).
        for i in 1..rows.len() {
            let mut swapped = rows.to_vec();
            swapped.swap(i - 1, i);
            let rank = |row: &str| row.split('\t').next().unwrap_or("").to_owned();
            let tie = pipeline.starts_with("topk") && rank(rows[i - 1]) == rank(rows[i]);
            if !keyed || tie || swapped == rows {
                continue;
            }
            let got = merged(&partial(&swapped, header));
            assert_eq!(
                got.status.code(),
                Some(1),
                "{pipeline}: rows {} and {i} swapped were merged: {}",
                i - 1,
                show(&got)
            );
        }
        // A header edited.
        for (from, to) in [
            ("\t1\t", "\t01\t"),
            ("\"cut\":null", "\"cut\":true"),
            ("\"input\":\"json\"", "\"input\":\"csv\""),
            ("\"terminator\":\"\\n\"", "\"terminator\":\"\\r\""),
            ("{\"cut\"", "{\"x\":1,\"cut\""),
            ("\"pipeline\":\"", "\"pipeline\":\"lower | "),
            ("run --jsonl '", "run '"),
        ] {
            let edited = header.replacen(from, to, 1);
            assert_ne!(edited, header, "{pipeline}: {from}");
            let got = merged(&partial(rows, &edited));
            assert_ne!(
                got.status.code(),
                Some(0),
                "{pipeline}: header {from} -> {to} was merged: {}",
                show(&got)
            );
        }
    }
}

/// A merge opens its inputs one at a time: more partials (compressed ones
/// too) than the process may hold open merge, and their counts add up.
#[test]
fn a_merge_of_more_files_than_may_be_open_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    std::fs::write(&input, "a b b\n").unwrap();
    let one = dir.path().join("one.partial");
    let made = rbag()
        .args(["wordcount", "--partial", "-o"])
        .arg(&one)
        .arg(&input)
        .output()
        .unwrap();
    assert!(made.status.success());
    let partial = std::fs::read(&one).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &partial).unwrap();
    let compressed = gz.finish().unwrap();
    for i in 0..150 {
        let (name, bytes) = if i % 2 == 0 {
            (format!("p{i:03}.partial"), &partial)
        } else {
            (format!("p{i:03}.partial.gz"), &compressed)
        };
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let merged = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 32 && exec \"$RBAG\" merge p*.partial*")
        .current_dir(dir.path())
        .env("RBAG", env!("CARGO_BIN_EXE_rbag"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&merged.stdout),
        "b\t300\na\t150\n",
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
}
