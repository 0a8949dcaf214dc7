//! Numbers from random JSON, through the real binary: they print as text
//! that reads back as exactly the input's value, compare exactly, and sum
//! exactly. The oracles are independent of rbag's arithmetic: big integers
//! for integers, and for floats the exact sum written out in decimal and
//! rounded by Rust's own (correctly rounding) float parser.

use std::cmp::Ordering;

use num_bigint::BigInt;
use proptest::prelude::*;

use crate::util::rbag;

/// A number as written, and its exact value as `mantissa * 2^exponent`
/// (integers have exponent 0).
#[derive(Debug, Clone)]
struct Written {
    text: String,
    mantissa: BigInt,
    exponent: i64,
    is_float: bool,
}

fn float(x: f64, text: String) -> Written {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let m = BigInt::from(m);
    Written {
        text,
        mantissa: if x.is_sign_negative() { -m } else { m },
        exponent: e,
        is_float: true,
    }
}

fn numbers() -> impl Strategy<Value = Written> {
    prop_oneof![
        // Floats written with 17 significant digits.
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| {
                let text = format!("{x:.16e}");
                float(text.parse().unwrap(), text)
            }),
        // Subnormals.
        (1u64..(1 << 52), any::<bool>()).prop_map(|(bits, negative)| {
            let x = f64::from_bits(bits) * if negative { -1.0 } else { 1.0 };
            float(x, format!("{x:e}"))
        }),
        // Integers of 1 to 40 digits.
        ("-?[1-9][0-9]{0,39}").prop_map(|text| Written {
            mantissa: text.parse().unwrap(),
            text,
            exponent: 0,
            is_float: false,
        }),
    ]
}

/// The exact value times 2^1074, an integer.
fn scaled(n: &Written) -> BigInt {
    &n.mantissa << (n.exponent + 1074) as usize
}

fn run(dir: &std::path::Path, pipeline: &str) -> String {
    let output = rbag()
        .args(["run", pipeline, "numbers.jsonl"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{pipeline}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Parse rbag's text back as the exact value it claims, times 2^1074.
fn read_back(text: &str) -> BigInt {
    if text.contains(['.', 'e', 'E']) {
        let x: f64 = text.parse().unwrap();
        scaled(&float(x, text.to_owned()))
    } else {
        text.parse::<BigInt>().unwrap() << 1074usize
    }
}

/// `value / 2^1074` rounded to a double by Rust's parser: the exact value
/// written out in decimal (times 5^1074 over 10^1074).
fn round_exactly(value: &BigInt) -> f64 {
    let digits = value * BigInt::from(5).pow(1074);
    format!("{digits}e-1074").parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn numbers_print_compare_and_sum_exactly(values in proptest::collection::vec(numbers(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = values.iter().map(|n| format!("{{\"n\": {}}}\n", n.text)).collect();
        std::fs::write(dir.path().join("numbers.jsonl"), lines).unwrap();

        // Each prints as text that reads back as exactly its value.
        let printed = run(dir.path(), "pluck .n");
        let printed: Vec<&str> = printed.lines().collect();
        prop_assert_eq!(printed.len(), values.len());
        for (text, n) in printed.iter().zip(&values) {
            prop_assert_eq!(read_back(text), scaled(n), "{} printed as {}", n.text, text);
        }

        // min and max by exact comparison (an integer before an equal float).
        let order = |a: &Written, b: &Written| scaled(a).cmp(&scaled(b)).then(a.is_float.cmp(&b.is_float));
        let min = values.iter().min_by(|a, b| order(a, b)).unwrap();
        let max = values.iter().max_by(|a, b| order(a, b)).unwrap();
        prop_assert_eq!(read_back(run(dir.path(), "pluck .n | min").trim()), scaled(min));
        prop_assert_eq!(read_back(run(dir.path(), "pluck .n | max").trim()), scaled(max));

        // The sum: exact digits for integers, the correctly rounded double
        // of the exact sum when a float is among them.
        let exact: BigInt = values.iter().map(scaled).sum();
        let sum = run(dir.path(), "pluck .n | sum");
        let sum = sum.trim();
        if values.iter().any(|n| n.is_float) {
            let expected = round_exactly(&exact);
            if expected.is_finite() {
                prop_assert_eq!(sum.parse::<f64>().unwrap(), expected, "sum {}", sum);
            }
        } else {
            let expected: BigInt = values.iter().map(|n| n.mantissa.clone()).sum();
            prop_assert_eq!(sum, expected.to_string());
        }

        // Comparisons in filters agree with exact comparison.
        let pivot = &values[0];
        let below = run(dir.path(), &format!("filter .n < {} | count", pivot.text));
        let expected = values
            .iter()
            .filter(|n| scaled(n).cmp(&scaled(pivot)) == Ordering::Less)
            .count();
        prop_assert_eq!(below.trim(), expected.to_string());
    }
}

#[test]
fn the_oracle_rounds_as_the_parser_does() {
    // 2^-1074 is the smallest subnormal.
    assert_eq!(round_exactly(&BigInt::from(1)), 5e-324);
    assert_eq!(round_exactly(&(BigInt::from(1) << 1074usize)), 1.0);
    assert_eq!(round_exactly(&(BigInt::from(3) << 1072usize)), 0.75);
}
