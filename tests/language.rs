//! The pipeline language against a naive model, through the binary:
//! `group` with each reduction, and chained reductions, on random records,
//! with random thread counts and block sizes. The model is written here
//! from the documentation: plain maps, exact rational arithmetic with big
//! integers, and Rust's float parser for the one rounding.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use num_bigint::BigInt;
use proptest::prelude::*;

use crate::util::rbag;

/// A record: a group key and a value (an integer, or a string).
#[derive(Debug, Clone)]
struct Record {
    key: Option<&'static str>,
    value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Int(i64),
    Text(&'static str),
}

fn record() -> impl Strategy<Value = Record> {
    let key = prop_oneof![
        4 => prop_oneof![Just("a"), Just("b"), Just("c d")].prop_map(Some),
        1 => Just(None),
    ];
    let value = prop_oneof![
        5 => (-20i64..20).prop_map(Value::Int),
        1 => prop_oneof![Just("x"), Just("y")].prop_map(Value::Text),
    ];
    (key, value).prop_map(|(key, value)| Record { key, value })
}

fn line(r: &Record) -> String {
    let value = match &r.value {
        Value::Int(n) => n.to_string(),
        Value::Text(s) => format!("\"{s}\""),
    };
    match r.key {
        Some(k) => format!("{{\"k\": \"{k}\", \"v\": {value}}}"),
        None => format!("{{\"v\": {value}}}"),
    }
}

/// `num / den` correctly rounded, as rbag prints a float.
fn float(num: &BigInt, den: &BigInt) -> String {
    // 1200 decimal places hold every dyadic rational of these sizes
    // exactly; a value that does not terminate cannot be a tie.
    let scaled = num * BigInt::from(10).pow(1200) / den;
    let x: f64 = format!("{scaled}e-1200").parse().unwrap();
    shortest(x)
}

/// The shortest text of a double, as rbag (and JSON) write it.
fn shortest(x: f64) -> String {
    let text = format!("{x:?}");
    // Rust's Debug is shortest round-trip; rbag writes exponents as e.g.
    // 1e300 and always keeps a fraction for whole floats.
    text
}

fn ints(records: &[&Record]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| match r.value {
            Value::Int(n) => Some(n),
            Value::Text(_) => None,
        })
        .collect()
}

/// The model's answer for a reduction over the values of `records`, as
/// rbag prints it; `None` when rbag must fail (a string in a sum).
fn reduce(name: &str, records: &[&Record]) -> Option<String> {
    let all_ints = records.iter().all(|r| matches!(r.value, Value::Int(_)));
    let values = ints(records);
    let n = BigInt::from(values.len());
    let sum: BigInt = values.iter().map(|&v| BigInt::from(v)).sum();
    let squares: BigInt = values.iter().map(|&v| BigInt::from(v) * v).sum();
    let text = |v: &Value| match v {
        Value::Int(n) => n.to_string(),
        Value::Text(s) => (*s).to_owned(),
    };
    match name {
        "count" => Some(records.len().to_string()),
        "sum" => all_ints.then(|| sum.to_string()),
        "mean" => (all_ints && !values.is_empty()).then(|| float(&sum, &n)),
        "var" => (all_ints && !values.is_empty())
            .then(|| float(&(&n * &squares - &sum * &sum), &(&n * &n))),
        // jq's order: numbers before strings.
        "min" => records.iter().map(|r| &r.value).min().map(text),
        "max" => records.iter().map(|r| &r.value).max().map(text),
        "distinct" => {
            let mut keys: Vec<String> = records
                .iter()
                .map(|r| match r.value {
                    Value::Int(n) => n.to_string(),
                    Value::Text(s) => format!("\"{s}\""),
                })
                .collect();
            // Keys sort by their bytes: strings by their text.
            keys.sort_by_key(|k| k.trim_matches('"').to_owned());
            keys.dedup();
            Some(format!("[{}]", keys.join(",")))
        }
        "take 2" => {
            let first: Vec<String> = records
                .iter()
                .take(2)
                .map(|r| match r.value {
                    Value::Int(n) => n.to_string(),
                    Value::Text(s) => format!("\"{s}\""),
                })
                .collect();
            Some(format!("[{}]", first.join(",")))
        }
        _ => unreachable!("{name}"),
    }
}

const GROUPED: &[&str] = &[
    "count", "sum", "mean", "var", "min", "max", "distinct", "take 2",
];

/// The model of `group .k | pluck .v | R`: key<TAB>value per group, by key.
fn grouped(records: &[Record], reduction: &str) -> Option<String> {
    let mut groups: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in records {
        if let Some(k) = r.key {
            groups.entry(k).or_default().push(r);
        }
    }
    let mut out = String::new();
    for (key, members) in groups {
        let value = reduce(reduction, &members)?;
        writeln!(out, "{key}\t{value}").unwrap();
    }
    Some(out)
}

/// The model of chained reductions.
fn chained(records: &[Record], pipeline: &str) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in records {
        let key = match r.value {
            Value::Int(n) => n.to_string(),
            Value::Text(s) => s.to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    // Frequency order: count descending, then key bytes.
    let mut rows: Vec<(String, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    match pipeline {
        "pluck .v | frequencies | filter .count >= 2 | count" => {
            format!("{}\n", rows.iter().filter(|r| r.1 >= 2).count())
        }
        "pluck .v | distinct | count" => format!("{}\n", rows.len()),
        "pluck .v | frequencies | take 2" => rows
            .iter()
            .take(2)
            .map(|(k, c)| format!("{k}\t{c}\n"))
            .collect(),
        "group .k | count | filter .value > 1 | count" => {
            let mut groups: BTreeMap<&str, u64> = BTreeMap::new();
            for r in records {
                if let Some(k) = r.key {
                    *groups.entry(k).or_default() += 1;
                }
            }
            format!("{}\n", groups.values().filter(|&&c| c > 1).count())
        }
        _ => unreachable!("{pipeline}"),
    }
}

const CHAINED: &[&str] = &[
    "pluck .v | frequencies | filter .count >= 2 | count",
    "pluck .v | distinct | count",
    "pluck .v | frequencies | take 2",
    "group .k | count | filter .value > 1 | count",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn group_and_chained_reductions_equal_the_model(
        records in proptest::collection::vec(record(), 0..25),
        threads in 1u8..4,
        block in 1u64..60,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let text: String = records.iter().map(|r| line(r) + "\n").collect();
        std::fs::write(dir.path().join("in.jsonl"), text).unwrap();
        let (threads, block) = (threads.to_string(), block.to_string());
        let run = |pipeline: &str| {
            rbag()
                .args(["run", "-j", &threads, "--blocksize", &block, pipeline, "in.jsonl"])
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        for reduction in GROUPED {
            let pipeline = format!("group .k | pluck .v | {reduction}");
            let out = run(&pipeline);
            match grouped(&records, reduction) {
                Some(expected) => prop_assert_eq!(
                    String::from_utf8_lossy(&out.stdout), expected, "{}: {}", pipeline, String::from_utf8_lossy(&out.stderr)
                ),
                None => prop_assert_eq!(out.status.code(), Some(1), "{} should fail", pipeline),
            }
        }
        for pipeline in CHAINED {
            let out = run(pipeline);
            prop_assert_eq!(String::from_utf8_lossy(&out.stdout), chained(&records, pipeline), "{}", pipeline);
        }
    }
}

#[test]
fn the_model_prints_floats_as_rbag_does() {
    assert_eq!(
        float(&BigInt::from(1), &BigInt::from(3)),
        "0.3333333333333333"
    );
    assert_eq!(float(&BigInt::from(4), &BigInt::from(2)), "2.0");
    assert_eq!(shortest(1e300), "1e300");
}
