//! Numbers, exactly: integers of any size, floats as the correctly rounded
//! IEEE double of what was written, printed back as integers in full and
//! floats as their shortest round-trip text, and one order of values. Sums
//! of them, exact too, are in `sum`.

mod sum;

pub(crate) use sum::{ExactSum, FloatSum, IntSum, Squares, SumError};

use std::cmp::Ordering;
use std::fmt;

use num_bigint::BigInt;
use num_traits::ToPrimitive;

/// A number from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// An integer that fits 64 bits.
    Int(i64),
    /// A larger integer: its decimal digits, with a leading `-` when
    /// negative, no leading zeros; always outside the range of `Int`.
    Big(Box<str>),
    /// A number written with a fraction or an exponent: the correctly
    /// rounded double, always finite.
    Float(f64),
}

/// A number that does not fit a double (`1e400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

impl Number {
    /// The number written as `text`, which must be in JSON number syntax
    /// (the JSON parser has checked it).
    ///
    /// # Errors
    /// A float beyond the range of doubles.
    pub fn from_json_text(text: &str) -> Result<Number, OutOfRange> {
        let is_float = text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if !is_float {
            return Ok(integer_from_digits(text));
        }
        // Rust's parser is correctly rounded (round half to even).
        let value: f64 = text.parse().map_err(|_| OutOfRange)?;
        if value.is_finite() {
            Ok(Number::Float(value))
        } else {
            Err(OutOfRange)
        }
    }

    /// Text that is one number in JSON syntax, with white space around it
    /// allowed (for `sum` over text records). `None` for anything else,
    /// including numbers out of range.
    pub fn parse_text(text: &[u8]) -> Option<Number> {
        let text = text.trim_ascii();
        if json_number_len(text) != Some(text.len()) {
            return None;
        }
        let text = std::str::from_utf8(text).ok()?;
        Number::from_json_text(text).ok()
    }

    /// An exact integer.
    pub fn from_bigint(value: &BigInt) -> Number {
        match value.to_i64() {
            Some(small) => Number::Int(small),
            None => Number::Big(value.to_string().into_boxed_str()),
        }
    }

    /// A count, exactly: above `i64::MAX` it is a big integer, never a
    /// wrapped negative one.
    pub fn count(n: u64) -> Number {
        i64::try_from(n).map_or_else(|_| Number::Big(n.to_string().into_boxed_str()), Number::Int)
    }

    /// The integer's exact value; `None` for a float.
    fn to_bigint(&self) -> Option<BigInt> {
        match self {
            Number::Int(i) => Some(BigInt::from(*i)),
            Number::Big(digits) => parse_integer(digits),
            Number::Float(_) => None,
        }
    }

    /// The exact value times 2^1074 (an integer for every number rbag
    /// reads: doubles are whole multiples of 2^-1074), to compare numbers
    /// with exact sums.
    pub fn scaled(&self) -> BigInt {
        match self {
            Number::Float(f) => {
                let (mantissa, exponent, negative) = decode(*f);
                let magnitude = BigInt::from(mantissa) << (exponent + 1074) as usize;
                if negative { -magnitude } else { magnitude }
            }
            _ => self.to_bigint().unwrap_or_default() << 1074usize,
        }
    }

    /// The nearest double (for messages and the like, never for sums).
    pub fn approx_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Big(digits) => digits.parse().unwrap_or(f64::NAN),
            Number::Float(f) => *f,
        }
    }

    /// Append the canonical text: an integer in full, a float as the
    /// shortest text that reads back as the same double (`0.1`, `1e300`,
    /// `2.0`).
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Number::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Number::Big(digits) => out.extend_from_slice(digits.as_bytes()),
            Number::Float(f) => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes())
            }
        }
    }

    /// Append the number as a key of a table: one form for every number
    /// equal by value (as `==` compares), so `3`, `3.0` and `3e0` count as
    /// one key, printed `3`. A whole float is written as the whole number
    /// it exactly is (`-0.0` as `0`, `1e20` as 100000000000000000000);
    /// any other float as its shortest round-trip text.
    pub fn write_key(&self, out: &mut Vec<u8>) {
        match self {
            Number::Float(f) if f.fract() == 0.0 => {
                if f.abs() < 9.2e18 {
                    out.extend_from_slice(itoa::Buffer::new().format(*f as i64).as_bytes());
                } else {
                    out.extend_from_slice(float_to_bigint(*f).to_string().as_bytes());
                }
            }
            _ => self.write(out),
        }
    }

    /// Compare by value only: `1` equals `1.0`, `-0.0` equals `0.0`.
    pub fn value_cmp(&self, other: &Number) -> Ordering {
        use Number::{Big, Float, Int};
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Big(a), Big(b)) => cmp_big(a, b),
            // A big integer lies beyond every 64-bit one.
            (Int(_), Big(b)) => big_sign(b).reverse(),
            (Big(a), Int(_)) => big_sign(a),
            (Int(a), Float(b)) => cmp_int_float(i128::from(*a), *b),
            (Float(a), Int(b)) => cmp_int_float(i128::from(*b), *a).reverse(),
            (Big(a), Float(b)) => cmp_big_float(a, *b),
            (Float(a), Big(b)) => cmp_big_float(b, *a).reverse(),
        }
    }

    /// The total order: by value, then an integer before an equal float,
    /// and `-0.0` before `0.0`. Distinct numbers never compare equal.
    pub fn total_cmp(&self, other: &Number) -> Ordering {
        self.value_cmp(other).then_with(|| match (self, other) {
            (Number::Float(a), Number::Float(b)) => a.total_cmp(b),
            (Number::Float(_), _) => Ordering::Greater,
            (_, Number::Float(_)) => Ordering::Less,
            _ => Ordering::Equal,
        })
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Vec::new();
        self.write(&mut text);
        f.write_str(&String::from_utf8_lossy(&text))
    }
}

/// The length of the JSON number at the start of `text`, if one is there.
pub fn json_number_len(text: &[u8]) -> Option<usize> {
    json_number_end(text).map(|(len, _)| len)
}

/// The length of the JSON number at the start of `text`, and whether it
/// has an exponent.
pub fn json_number_end(text: &[u8]) -> Option<(usize, bool)> {
    let digits = |from: usize| leading_digits(&text[from..]);
    let mut at = usize::from(text.first() == Some(&b'-'));
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at += digits(at),
        _ => return None,
    }
    if text.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return None;
        }
        at += 1 + fraction;
    }
    let exponent = matches!(text.get(at), Some(b'e' | b'E'));
    if exponent {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return None;
        }
        at += exponent;
    }
    Some((at, exponent))
}

/// How many ASCII digits `text` starts with, eight bytes at a time (ids
/// and timestamps are long runs of digits, and every JSON number is
/// scanned for its end).
fn leading_digits(text: &[u8]) -> usize {
    const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const SIXES: u64 = 0x0606_0606_0606_0606;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut count = 0;
    for chunk in text.chunks_exact(8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        // A byte is a digit when it is 0x3_ and adding 6 keeps it 0x3_
        // (which rules out `:` to `?`). Adding 6 can carry out of a byte
        // only from one that is no digit, into the bytes after it, which
        // do not count.
        let not_digit =
            ((x & HIGH_NIBBLES) ^ ZEROS) | ((x.wrapping_add(SIXES) & HIGH_NIBBLES) ^ ZEROS);
        // The high bit of each byte that is not zero, with no carries
        // between bytes.
        let flags = ((not_digit & LOW7).wrapping_add(LOW7) | not_digit) & !LOW7;
        if flags != 0 {
            return count + (flags.trailing_zeros() / 8) as usize;
        }
        count += 8;
    }
    count
        + text[count..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
}

/// An integer from JSON integer syntax (`-?(0|[1-9][0-9]*)`).
fn integer_from_digits(text: &str) -> Number {
    match text.parse::<i64>() {
        Ok(small) => Number::Int(small),
        // `-0` is zero; any other text that does not fit is big.
        Err(_) if text.trim_start_matches('-').bytes().all(|b| b == b'0') => Number::Int(0),
        Err(_) => Number::Big(text.into()),
    }
}

fn big_sign(digits: &str) -> Ordering {
    if digits.starts_with('-') {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// Compare two big integers by their digits: sign, then length, then
/// the digits themselves.
fn cmp_big(a: &str, b: &str) -> Ordering {
    match (a.strip_prefix('-'), b.strip_prefix('-')) {
        (None, None) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)).reverse(),
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
    }
}

/// Compare an integer with a float exactly.
fn cmp_int_float(int: i128, float: f64) -> Ordering {
    // i128 spans about ±1.7e38; any float beyond is larger or smaller.
    if float >= 1.7e38 {
        return Ordering::Less;
    }
    if float <= -1.7e38 {
        return Ordering::Greater;
    }
    let whole = float.trunc();
    match int.cmp(&(whole as i128)) {
        Ordering::Equal => 0f64
            .partial_cmp(&(float - whole))
            .unwrap_or(Ordering::Equal),
        other => other,
    }
}

/// Compare a big integer (beyond 64 bits) with a float exactly.
fn cmp_big_float(big: &str, float: f64) -> Ordering {
    // A float below 2^63 in magnitude is nearer zero than any big integer.
    if float.abs() < 9.2e18 {
        return big_sign(big);
    }
    // Larger floats are whole numbers: compare as integers.
    let exact = float_to_bigint(float);
    let big: BigInt = big.parse().unwrap_or_default();
    big.cmp(&exact)
}

/// A whole float as an exact integer.
/// Decimal digits (a `-` first for a negative number) as an integer, in
/// time about that of multiplying numbers of that size: the halves are
/// read apart and joined by a power of ten. (Reading digit by digit, as a
/// big-integer type does, is quadratic: two million digits took 5 s.)
/// `None` for anything that is not digits.
pub fn parse_integer(text: &str) -> Option<BigInt> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = BigInt::from(parse_digits(digits.as_bytes()));
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_digits(digits: &[u8]) -> num_bigint::BigUint {
    const PLAIN: usize = 2048;
    if digits.len() <= PLAIN {
        return num_bigint::BigUint::parse_bytes(digits, 10).unwrap_or_default();
    }
    let (high, low) = digits.split_at(digits.len() / 2);
    let scale = num_bigint::BigUint::from(10u8).pow(low.len() as u32);
    parse_digits(high) * scale + parse_digits(low)
}

/// Whether `text` is an integer as rbag writes one: `0`, or digits without
/// a leading zero, `-` before a negative one (never `+`, `-0` or `007`).
pub fn is_canonical_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let negative = digits.len() < text.len();
    match digits {
        [] => false,
        [b'0'] => !negative,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn float_to_bigint(float: f64) -> BigInt {
    let (mantissa, exponent, negative) = decode(float);
    let magnitude = if exponent >= 0 {
        BigInt::from(mantissa) << exponent
    } else {
        BigInt::from(mantissa) >> -exponent
    };
    if negative { -magnitude } else { magnitude }
}

/// A finite double as `mantissa * 2^exponent`, and its sign; the mantissa
/// is below 2^53 and the exponent at least -1074.
pub(crate) fn decode(x: f64) -> (u64, i64, bool) {
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0 {
        (fraction, -1074, negative)
    } else {
        (fraction | (1 << 52), biased - 1075, negative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn num(text: &str) -> Number {
        Number::from_json_text(text).unwrap()
    }

    fn shown(n: &Number) -> String {
        n.to_string()
    }

    #[test]
    fn long_integers_read_fast_and_exactly() {
        let digits: String = (0..200_000)
            .map(|i| char::from(b'0' + (i * 7 % 10) as u8))
            .collect();
        let digits = format!("9{digits}");
        let started = std::time::Instant::now();
        let value = parse_integer(&digits).unwrap();
        assert_eq!(value.to_string(), digits);
        assert_eq!(parse_integer(&format!("-{digits}")).unwrap(), -value);
        // Generous: the quadratic reading took seconds at this size.
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(parse_integer("12"), Some(BigInt::from(12)));
        assert_eq!(parse_integer("-0"), Some(BigInt::from(0)));
        for bad in ["", "-", "+1", "1.0", "1e3", " 1", "x"] {
            assert_eq!(parse_integer(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_integers_are_the_ones_rbag_writes() {
        for good in ["0", "7", "10", "-3", "18446744073709551616"] {
            assert!(is_canonical_integer(good.as_bytes()), "{good}");
        }
        for bad in ["", "-", "-0", "+1", "01", "007", "-01", "1 ", "1_0"] {
            assert!(!is_canonical_integer(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn scaled_values_are_exact() {
        assert_eq!(num("3").scaled(), BigInt::from(3) << 1074usize);
        assert_eq!(num("0.5").scaled(), BigInt::from(1) << 1073usize);
        assert_eq!(num("-0.0").scaled(), BigInt::from(0));
        assert_eq!(Number::Float(f64::from_bits(1)).scaled(), BigInt::from(1));
    }

    #[test]
    fn numbers_equal_by_value_are_one_key() {
        let key = |text: &str| {
            let mut out = Vec::new();
            num(text).write_key(&mut out);
            String::from_utf8(out).unwrap()
        };
        for (text, want) in [
            ("3", "3"),
            ("3.0", "3"),
            ("3e0", "3"),
            ("-0.0", "0"),
            ("0.0", "0"),
            ("0.5", "0.5"),
            ("1e20", "100000000000000000000"),
            ("100000000000000000000", "100000000000000000000"),
            ("-9.2e18", "-9200000000000000000"),
            ("1e300", &float_to_bigint(1e300).to_string()),
        ] {
            assert_eq!(key(text), want, "{text}");
        }
        // Equal by value exactly when equal as keys.
        let values = [
            "0",
            "-0.0",
            "3",
            "3.0",
            "0.1",
            "1e20",
            "100000000000000000000",
            "100000000000000000001",
        ];
        for a in values {
            for b in values {
                assert_eq!(
                    num(a).value_cmp(&num(b)).is_eq(),
                    key(a) == key(b),
                    "{a} and {b}"
                );
            }
        }
    }

    #[test]
    fn counts_are_exact_past_i64() {
        assert_eq!(shown(&Number::count(7)), "7");
        assert_eq!(
            shown(&Number::count(9_223_372_036_854_775_808)),
            "9223372036854775808"
        );
        assert_eq!(shown(&Number::count(u64::MAX)), "18446744073709551615");
        // Equal to the same number read from JSON: one value, one key.
        assert_eq!(Number::count(u64::MAX), num("18446744073709551615"));
    }

    #[test]
    fn numbers_print_as_their_value() {
        for (text, printed) in [
            ("0", "0"),
            ("-0", "0"),
            ("42", "42"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("9223372036854775808", "9223372036854775808"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("0.12122899456902703", "0.12122899456902703"),
            ("1e2", "100.0"),
            ("1.50", "1.5"),
            ("-0.0", "-0.0"),
            ("1e-400", "0.0"),
            ("1.7976931348623157e308", "1.7976931348623157e308"),
            ("5e-324", "5e-324"),
        ] {
            assert_eq!(shown(&num(text)), printed, "{text}");
        }
        assert_eq!(Number::from_json_text("1e400"), Err(OutOfRange));
        assert_eq!(Number::from_json_text("-1e309"), Err(OutOfRange));
    }

    #[test]
    fn big_integers_compare_exactly() {
        let a = num("18446744073709551616");
        let b = num("18446744073709551617");
        assert_eq!(a.value_cmp(&b), Ordering::Less);
        assert_ne!(a, b);
        assert_eq!(
            num("-18446744073709551617").value_cmp(&num("-18446744073709551616")),
            Ordering::Less
        );
        assert_eq!(
            num("18446744073709551616").value_cmp(&num("1.8446744073709552e19")),
            Ordering::Equal
        );
        assert_eq!(
            num("18446744073709551617").value_cmp(&num("1.8446744073709552e19")),
            Ordering::Greater
        );
        assert_eq!(
            num("-99999999999999999999").value_cmp(&num("-1.5")),
            Ordering::Less
        );
        assert_eq!(
            num("99999999999999999999").value_cmp(&num("1e300")),
            Ordering::Less
        );
        assert_eq!(num("1").value_cmp(&num("1.0")), Ordering::Equal);
        assert_eq!(num("1").total_cmp(&num("1.0")), Ordering::Less);
        assert_eq!(num("-0.0").total_cmp(&num("0.0")), Ordering::Less);
    }

    #[test]
    fn text_parses_as_json_numbers_only() {
        assert_eq!(Number::parse_text(b" 42 "), Some(Number::Int(42)));
        assert_eq!(Number::parse_text(b"-2.5e1"), Some(Number::Float(-25.0)));
        for bad in [
            &b"0x10"[..],
            b"nan",
            b"",
            b"01",
            b"1.",
            b".5",
            b"+1",
            b"1e",
            b"1e400",
        ] {
            assert_eq!(
                Number::parse_text(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
            (-1e3f64..1e3),
            (-1e-300f64..1e-300),
        ]
    }

    proptest! {
        #[test]
        fn leading_digits_counts_as_a_byte_by_byte_scan(
            text in proptest::collection::vec(prop_oneof![
                4 => b'0'..=b'9',
                1 => any::<u8>(),
                1 => prop::sample::select(vec![b'/', b':', b'?', b'@', 0xff, 0xfa, 0x39, 0x2a]),
            ], 0..40),
        ) {
            let naive = text.iter().take_while(|b| b.is_ascii_digit()).count();
            prop_assert_eq!(leading_digits(&text), naive, "{:?}", text);
        }

        #[test]
        fn floats_print_and_parse_back_exactly(x in finite()) {
            let text = Number::Float(x).to_string();
            prop_assert_eq!(num(&text), Number::Float(x));
        }

        #[test]
        fn integers_of_any_size_round_trip(digits in "-?[1-9][0-9]{0,39}") {
            prop_assert_eq!(num(&digits).to_string(), digits);
        }

        #[test]
        fn value_order_matches_exact_arithmetic(i in any::<i64>(), f in finite()) {
            let exact = BigInt::from(i).cmp(&float_to_bigint(f.trunc()))
                .then(0f64.partial_cmp(&(f - f.trunc())).unwrap());
            prop_assert_eq!(Number::Int(i).value_cmp(&Number::Float(f)), exact);
        }
    }
}
