//! Numbers for `sum`, `min`, `max` and `mean`: exact integer sums, exact
//! float sums, and a total order.
//!
//! Float addition depends on the order of operations, and blocks and
//! threads change that order. So floats are summed exactly (Shewchuk's
//! non-overlapping partials, as Python's `math.fsum`) and rounded once at
//! the end: the result is the correctly rounded total, whatever the
//! partitioning, and the output stays byte-identical.

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// A number from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// The number in a JSON number.
    pub fn from_json(number: &Number) -> Num {
        if let Some(i) = number.as_i64() {
            Num::Int(i128::from(i))
        } else if let Some(u) = number.as_u64() {
            Num::Int(i128::from(u))
        } else {
            Num::Float(number.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// Parse text in JSON number syntax.
    pub fn parse(text: &[u8]) -> Option<Num> {
        let text = text.trim_ascii();
        if text.is_empty() {
            return None;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(Value::Number(n)) => Some(Num::from_json(&n)),
            _ => None,
        }
    }

    /// As a JSON number (integers beyond 64 bits print as floats).
    pub fn to_json(self) -> Value {
        match self {
            Num::Int(i) => {
                if let Ok(i) = i64::try_from(i) {
                    Value::from(i)
                } else if let Ok(u) = u64::try_from(i) {
                    Value::from(u)
                } else {
                    Value::from(i as f64)
                }
            }
            Num::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }

    /// Compare by value only: `1` equals `1.0`.
    pub fn value_cmp(&self, other: &Num) -> Ordering {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(b),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Num::Int(a), Num::Float(b)) => cmp_int_float(*a, *b),
            (Num::Float(a), Num::Int(b)) => cmp_int_float(*b, *a).reverse(),
        }
    }

    /// A total order: by value; an integer before an equal float; floats by
    /// `total_cmp` (so -0.0 before 0.0).
    pub fn total_cmp(&self, other: &Num) -> Ordering {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(b),
            (Num::Float(a), Num::Float(b)) => a.total_cmp(b),
            (Num::Int(a), Num::Float(b)) => cmp_int_float(*a, *b).then(Ordering::Less),
            (Num::Float(a), Num::Int(b)) => cmp_int_float(*b, *a).reverse().then(Ordering::Greater),
        }
    }
}

/// Compare an integer with a float exactly.
fn cmp_int_float(int: i128, float: f64) -> Ordering {
    if float.is_nan() {
        return Ordering::Less;
    }
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

/// An exact running sum of integers and floats.
#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    int: i128,
    /// Non-overlapping partials whose exact sum is the float total.
    partials: Vec<f64>,
    floats: bool,
    pub count: u64,
    /// Set when a sum left the range of its type; reported at the end.
    overflow: bool,
}

impl ExactSum {
    /// Add one number.
    pub fn add(&mut self, n: Num) {
        self.count += 1;
        match n {
            Num::Int(i) => match self.int.checked_add(i) {
                Some(sum) => self.int = sum,
                None => self.overflow = true,
            },
            Num::Float(f) => {
                self.floats = true;
                self.add_float(f);
            }
        }
    }

    fn add_float(&mut self, mut x: f64) {
        let mut kept = 0;
        for i in 0..self.partials.len() {
            let mut y = self.partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let high = x + y;
            let low = y - (high - x);
            if low != 0.0 {
                self.partials[kept] = low;
                kept += 1;
            }
            x = high;
        }
        if !x.is_finite() {
            self.overflow = true;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Add everything `other` holds.
    pub fn merge(&mut self, other: &ExactSum) {
        self.count += other.count;
        self.floats |= other.floats;
        self.overflow |= other.overflow;
        match self.int.checked_add(other.int) {
            Some(sum) => self.int = sum,
            None => self.overflow = true,
        }
        for &p in &other.partials {
            self.add_float(p);
        }
    }

    /// The total: an integer if every number was one, else the correctly
    /// rounded float. `None` when a sum overflowed.
    pub fn total(&self) -> Option<Num> {
        if self.overflow {
            return None;
        }
        if !self.floats {
            return Some(Num::Int(self.int));
        }
        let mut all = self.clone();
        // Move the integer part in exactly, 48 bits at a time, so every
        // piece is an exact float.
        let mut rest = all.int;
        all.int = 0;
        let mut scale = 1.0f64;
        while rest != 0 {
            // |piece| < 2^48: exact as a float, and so is piece * 2^(48k).
            let piece = rest % (1 << 48);
            all.add_float(piece as f64 * scale);
            rest = (rest - piece) / (1 << 48);
            scale *= 2f64.powi(48);
        }
        if all.overflow {
            return None;
        }
        Some(Num::Float(round_partials(&all.partials)))
    }

    /// The mean, as a float; `None` for no numbers or an overflow.
    pub fn mean(&self) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        match self.total()? {
            Num::Int(i) => Some(i as f64 / self.count as f64),
            Num::Float(f) => Some(f / self.count as f64),
        }
    }
}

/// The correctly rounded sum of non-overlapping partials (the final step of
/// Python's `math.fsum`, which breaks ties to even across partials).
fn round_partials(partials: &[f64]) -> f64 {
    let mut n = partials.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut high = partials[n];
    let mut low = 0.0;
    while n > 0 {
        let x = high;
        n -= 1;
        let y = partials[n];
        high = x + y;
        let y_rounded = high - x;
        low = y - y_rounded;
        if low != 0.0 {
            break;
        }
    }
    if n > 0 && ((low < 0.0 && partials[n - 1] < 0.0) || (low > 0.0 && partials[n - 1] > 0.0)) {
        let y = low * 2.0;
        let x = high + y;
        if y == x - high {
            high = x;
        }
    }
    high
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum_of(values: &[Num]) -> Option<Num> {
        let mut s = ExactSum::default();
        for v in values {
            s.add(*v);
        }
        s.total()
    }

    #[test]
    fn float_sums_are_exact() {
        let values = [
            Num::Float(1e100),
            Num::Float(1.0),
            Num::Float(-1e100),
            Num::Float(0.1),
        ];
        assert_eq!(sum_of(&values), Some(Num::Float(1.1)));
        let tenths = vec![Num::Float(0.1); 10];
        assert_eq!(sum_of(&tenths), Some(Num::Float(1.0)));
    }

    #[test]
    fn integer_sums_are_exact_and_overflow_is_reported() {
        let big = Num::Int(i128::from(u64::MAX));
        assert_eq!(
            sum_of(&[big, big]),
            Some(Num::Int(2 * i128::from(u64::MAX)))
        );
        assert_eq!(sum_of(&[Num::Int(i128::MAX), Num::Int(1)]), None);
        assert_eq!(sum_of(&[]), Some(Num::Int(0)));
    }

    #[test]
    fn mixed_sums_round_once() {
        let values = [
            Num::Int((1 << 60) + 1),
            Num::Float(0.5),
            Num::Int(-(1 << 60)),
        ];
        assert_eq!(sum_of(&values), Some(Num::Float(1.5)));
        let values = [Num::Int(-3), Num::Float(0.25)];
        assert_eq!(sum_of(&values), Some(Num::Float(-2.75)));
    }

    #[test]
    fn the_total_order_puts_ints_before_equal_floats() {
        assert_eq!(Num::Int(1).total_cmp(&Num::Float(1.0)), Ordering::Less);
        assert_eq!(Num::Float(1.5).total_cmp(&Num::Int(1)), Ordering::Greater);
        assert_eq!(Num::Int(-2).total_cmp(&Num::Float(-1.5)), Ordering::Less);
        assert_eq!(Num::Float(-0.0).total_cmp(&Num::Float(0.0)), Ordering::Less);
    }

    #[test]
    fn text_parses_as_json_numbers_only() {
        assert_eq!(Num::parse(b" 42 "), Some(Num::Int(42)));
        assert_eq!(Num::parse(b"-2.5e1"), Some(Num::Float(-25.0)));
        assert_eq!(Num::parse(b"0x10"), None);
        assert_eq!(Num::parse(b"nan"), None);
        assert_eq!(Num::parse(b""), None);
    }

    proptest! {
        #[test]
        fn any_split_of_the_input_gives_the_same_sum(
            values in proptest::collection::vec(prop_oneof![
                any::<i64>().prop_map(|i| Num::Int(i128::from(i))),
                (-1e300f64..1e300).prop_map(Num::Float),
                (-1e3f64..1e3).prop_map(Num::Float),
            ], 0..40),
            cut in any::<prop::sample::Index>(),
        ) {
            let whole = sum_of(&values);
            let at = cut.index(values.len() + 1);
            let mut left = ExactSum::default();
            values[..at].iter().for_each(|v| left.add(*v));
            let mut right = ExactSum::default();
            values[at..].iter().rev().for_each(|v| right.add(*v));
            right.merge(&left);
            let whole = whole.map(|n| format!("{:?}", n.to_json()));
            prop_assert_eq!(right.total().map(|n| format!("{:?}", n.to_json())), whole);
        }

        #[test]
        fn int_float_comparison_matches_exact_arithmetic(i in -1000i64..1000, f in -1000.0f64..1000.0) {
            let expected = (i as f64).partial_cmp(&f).unwrap();
            prop_assert_eq!(cmp_int_float(i128::from(i), f), expected);
        }
    }
}
