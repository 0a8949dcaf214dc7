//! Exact sums of numbers. Float addition depends on the order of
//! operations, and blocks, threads and partial results change that order.
//! So sums never round as they go: floats are added into a fixed-point
//! accumulator wide enough for any sum of doubles (every double is a whole
//! multiple of 2^-1074), integers into integers, and the answer (a sum,
//! mean or variance) is rounded once at the end from the exact value. Any
//! split of the input, merged in any order, gives the same bits.

use std::fmt;

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{ToPrimitive, Zero};

use super::{Number, decode};

/// Limbs of the fixed-point accumulator: bit 0 is worth 2^-1074 (the
/// smallest double), the largest double is below 2^2098 there, and 64 bits
/// of headroom hold the sum of 2^64 of them; one more bit for the sign in
/// two's complement. 34 limbs of 64 bits cover 2176 bits.
const LIMBS: usize = 34;

/// Position of 2^0 in the fixed-point accumulator.
const POINT: i64 = 1074;

/// An exact sum of doubles: a fixed-point number in two's complement
/// (Neal's "superaccumulator"), so adding never rounds and never overflows.
/// Its 272 bytes are allocated at the first float: a sum of integers (and
/// each of millions of groups may hold one) costs a pointer.
#[derive(Clone, Default)]
pub struct FloatSum {
    /// `None` is zero.
    limbs: Option<Box<[u64; LIMBS]>>,
}

const ZERO: [u64; LIMBS] = [0; LIMBS];

/// Equal sums are equal, allocated or not.
impl PartialEq for FloatSum {
    fn eq(&self, other: &FloatSum) -> bool {
        self.view() == other.view()
    }
}

impl Eq for FloatSum {}

impl fmt::Debug for FloatSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FloatSum({})", self.to_bigint())
    }
}

impl FloatSum {
    fn view(&self) -> &[u64; LIMBS] {
        self.limbs.as_deref().unwrap_or(&ZERO)
    }

    fn limbs_mut(&mut self) -> &mut [u64; LIMBS] {
        self.limbs.get_or_insert_with(|| Box::new(ZERO))
    }

    /// Add a finite double exactly.
    pub fn add(&mut self, x: f64) {
        let (mantissa, exponent, negative) = decode(x);
        if mantissa == 0 {
            return;
        }
        let shift = (exponent + POINT) as usize;
        let (limb, bit) = (shift / 64, shift % 64);
        let low = mantissa << bit;
        let high = if bit == 0 { 0 } else { mantissa >> (64 - bit) };
        if negative {
            self.sub_at(limb, low, high);
        } else {
            self.add_at(limb, low, high);
        }
    }

    fn add_at(&mut self, limb: usize, low: u64, high: u64) {
        let limbs = self.limbs_mut();
        let (sum, carry) = limbs[limb].overflowing_add(low);
        limbs[limb] = sum;
        let mut carry = u64::from(carry);
        let mut at = limb + 1;
        let mut add = high;
        while at < LIMBS && (add != 0 || carry != 0) {
            let (s1, c1) = limbs[at].overflowing_add(add);
            let (s2, c2) = s1.overflowing_add(carry);
            limbs[at] = s2;
            carry = u64::from(c1 || c2);
            add = 0;
            at += 1;
        }
    }

    fn sub_at(&mut self, limb: usize, low: u64, high: u64) {
        let limbs = self.limbs_mut();
        let (diff, borrow) = limbs[limb].overflowing_sub(low);
        limbs[limb] = diff;
        let mut borrow = u64::from(borrow);
        let mut at = limb + 1;
        let mut sub = high;
        while at < LIMBS && (sub != 0 || borrow != 0) {
            let (d1, b1) = limbs[at].overflowing_sub(sub);
            let (d2, b2) = d1.overflowing_sub(borrow);
            limbs[at] = d2;
            borrow = u64::from(b1 || b2);
            sub = 0;
            at += 1;
        }
    }

    /// Add another sum exactly.
    pub fn merge(&mut self, other: &FloatSum) {
        let Some(theirs) = other.limbs.as_deref() else {
            return;
        };
        let mut carry = false;
        for (mine, theirs) in self.limbs_mut().iter_mut().zip(theirs.iter().copied()) {
            let (s1, c1) = mine.overflowing_add(theirs);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *mine = s2;
            carry = c1 || c2;
        }
    }

    /// The sum times 2^1074, an integer.
    pub fn to_bigint(&self) -> BigInt {
        let mut limbs = *self.view();
        let negative = limbs[LIMBS - 1] >> 63 == 1;
        if negative {
            // Two's complement: invert and add one.
            let mut carry = true;
            for limb in &mut limbs {
                let (v, c) = (!*limb).overflowing_add(u64::from(carry));
                *limb = v;
                carry = c;
            }
        }
        let digits: Vec<u32> = limbs
            .iter()
            .flat_map(|l| [*l as u32, (*l >> 32) as u32])
            .collect();
        let magnitude = BigUint::new(digits);
        BigInt::from_biguint(if negative { Sign::Minus } else { Sign::Plus }, magnitude)
    }

    /// The sum from its value times 2^1074 (as [`FloatSum::to_bigint`]
    /// gives); `None` if it does not fit.
    pub fn from_bigint(value: &BigInt) -> Option<FloatSum> {
        let (sign, digits) = value.to_u64_digits();
        if digits.len() > LIMBS || (digits.len() == LIMBS && digits[LIMBS - 1] >> 63 == 1) {
            return None;
        }
        let mut sum = FloatSum::default();
        if digits.is_empty() {
            return Some(sum);
        }
        let limbs = sum.limbs_mut();
        limbs[..digits.len()].copy_from_slice(&digits);
        if sign == Sign::Minus {
            let mut carry = true;
            for limb in limbs.iter_mut() {
                let (v, c) = (!*limb).overflowing_add(u64::from(carry));
                *limb = v;
                carry = c;
            }
        }
        Some(sum)
    }
}

/// An exact integer total: 128 bits while it fits, then a big integer.
#[derive(Debug, Clone, Default)]
pub struct IntSum {
    small: i128,
    spill: BigInt,
}

/// Equal totals are equal sums, however they are split.
impl PartialEq for IntSum {
    fn eq(&self, other: &IntSum) -> bool {
        self.total() == other.total()
    }
}

impl Eq for IntSum {}

impl IntSum {
    pub fn add_i128(&mut self, value: i128) {
        match self.small.checked_add(value) {
            Some(sum) => self.small = sum,
            None => {
                self.spill += BigInt::from(self.small);
                self.small = value;
            }
        }
    }

    pub fn add_big(&mut self, value: &BigInt) {
        self.spill += value;
    }

    pub fn merge(&mut self, other: &IntSum) {
        self.add_i128(other.small);
        self.spill += &other.spill;
    }

    pub fn total(&self) -> BigInt {
        &self.spill + BigInt::from(self.small)
    }

    pub fn from_total(total: BigInt) -> IntSum {
        IntSum {
            small: 0,
            spill: total,
        }
    }
}

/// An exact running sum of numbers, and of their squares when asked
/// (for `var` and `std`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExactSum {
    pub count: u64,
    /// Whether any float was added: the total is then a float.
    pub floats: bool,
    pub ints: IntSum,
    pub fsum: FloatSum,
    /// Kept only when squares are wanted.
    pub squares: Option<Squares>,
}

/// The exact sum of squares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Squares {
    pub ints: IntSum,
    /// Squares of floats in the usual range, split exactly into two doubles.
    pub fsum: FloatSum,
    /// Squares of very small or very large floats, times 2^2148.
    pub rare: BigInt,
}

/// Doubles whose squares split exactly into two doubles: large enough
/// that the square's last bit is at least 2^-1074, small enough that the
/// square does not overflow.
const SQUARE_MIN: f64 = f64::from_bits((1023 - 485) << 52); // 2^-485
const SQUARE_MAX: f64 = f64::from_bits((1023 + 511) << 52); // 2^511

/// A failure to produce an answer from exact sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumError {
    /// The answer is beyond the range of doubles.
    Overflow,
    /// Not enough numbers (a mean of none, a sample variance of one).
    TooFew,
}

impl ExactSum {
    /// A sum that also keeps the sum of squares.
    pub fn with_squares() -> ExactSum {
        ExactSum {
            squares: Some(Squares::default()),
            ..ExactSum::default()
        }
    }

    /// Add one number.
    pub fn add(&mut self, n: &Number) {
        self.count += 1;
        match n {
            Number::Int(i) => {
                self.ints.add_i128(i128::from(*i));
                if let Some(sq) = &mut self.squares {
                    sq.ints.add_i128(i128::from(*i) * i128::from(*i));
                }
            }
            Number::Big(_) => {
                let value = n.to_bigint().unwrap_or_default();
                if let Some(sq) = &mut self.squares {
                    sq.ints.add_big(&(&value * &value));
                }
                self.ints.add_big(&value);
            }
            Number::Float(f) => {
                self.floats = true;
                self.fsum.add(*f);
                if let Some(sq) = &mut self.squares {
                    sq.add_float(*f);
                }
            }
        }
    }

    /// Add everything `other` holds.
    pub fn merge(&mut self, other: &ExactSum) {
        self.count += other.count;
        self.floats |= other.floats;
        self.ints.merge(&other.ints);
        self.fsum.merge(&other.fsum);
        if let (Some(mine), Some(theirs)) = (&mut self.squares, &other.squares) {
            mine.ints.merge(&theirs.ints);
            mine.fsum.merge(&theirs.fsum);
            mine.rare += &theirs.rare;
        }
    }

    /// Whether any run could have made this state (a partial read from a
    /// file may be edited or forged): no numbers and yet a sum, a float
    /// part without floats, squares that sum below zero or below what the
    /// sum itself implies (so that a variance would be negative) are not.
    pub fn is_possible(&self) -> bool {
        let zero = BigInt::from(0);
        if !self.floats && self.fsum.to_bigint() != zero {
            return false;
        }
        if self.count == 0 && (self.floats || self.ints.total() != zero) {
            return false;
        }
        let Some(squares) = &self.squares else {
            return true;
        };
        if !self.floats && (squares.fsum.to_bigint() != zero || squares.rare != zero) {
            return false;
        }
        let sum_sq = self.squares_scaled(squares);
        if sum_sq < zero {
            return false;
        }
        // Cauchy-Schwarz: n Q >= S^2, with equality when all are equal.
        BigInt::from(self.count) * sum_sq >= self.scaled() * self.scaled()
    }

    /// Whether `min` and `max` can be the extremes of the numbers summed:
    /// present exactly when there are numbers, in order, floats only if a
    /// float was summed, and bounding the mean.
    pub fn bounds_possible(&self, min: Option<&Number>, max: Option<&Number>) -> bool {
        let (min, max) = match (self.count, min, max) {
            (0, None, None) => return true,
            (0, _, _) | (_, None, _) | (_, _, None) => return false,
            (_, Some(min), Some(max)) => (min, max),
        };
        let float = |n: &Number| matches!(n, Number::Float(_));
        if !self.floats && (float(min) || float(max)) {
            return false;
        }
        let n = BigInt::from(self.count);
        let sum = self.scaled();
        min.value_cmp(max).is_le() && &n * min.scaled() <= sum && sum <= n * max.scaled()
    }

    /// The sum of squares times 2^2148, exactly.
    fn squares_scaled(&self, squares: &Squares) -> BigInt {
        (squares.ints.total() << (2 * POINT) as usize)
            + (squares.fsum.to_bigint() << POINT as usize)
            + &squares.rare
    }

    /// The sum times 2^1074, exactly.
    fn scaled(&self) -> BigInt {
        (self.ints.total() << POINT as usize) + self.fsum.to_bigint()
    }

    /// The total: an integer if every number was one, else the correctly
    /// rounded float.
    ///
    /// # Errors
    /// A float total beyond the range of doubles.
    pub fn total(&self) -> Result<Number, SumError> {
        if !self.floats {
            return Ok(Number::from_bigint(&self.ints.total()));
        }
        let denominator = BigUint::from(1u8) << POINT as usize;
        ratio_to_f64(&self.scaled(), &denominator)
            .map(Number::Float)
            .ok_or(SumError::Overflow)
    }

    /// The mean, correctly rounded.
    ///
    /// # Errors
    /// No numbers, or a mean beyond the range of doubles.
    pub fn mean(&self) -> Result<f64, SumError> {
        if self.count == 0 {
            return Err(SumError::TooFew);
        }
        let denominator = BigUint::from(self.count) << POINT as usize;
        ratio_to_f64(&self.scaled(), &denominator).ok_or(SumError::Overflow)
    }

    /// The variance with `ddof` delta degrees of freedom (0: population,
    /// 1: sample), correctly rounded from the exact sums.
    ///
    /// # Errors
    /// No more numbers than `ddof`, or a variance beyond doubles.
    pub fn variance(&self, ddof: u64) -> Result<f64, SumError> {
        let squares = self.squares.as_ref().ok_or(SumError::TooFew)?;
        if self.count == 0 || self.count <= ddof {
            return Err(SumError::TooFew);
        }
        let n = BigInt::from(self.count);
        let sum = self.scaled(); // S * 2^1074
        let sum_sq = self.squares_scaled(squares); // Q * 2^2148
        // var = (n Q - S^2) / (n (n - ddof)), all scaled by 2^2148.
        let numerator = &n * sum_sq - &sum * &sum;
        let denominator =
            (BigUint::from(self.count) * BigUint::from(self.count - ddof)) << (2 * POINT) as usize;
        ratio_to_f64(&numerator, &denominator).ok_or(SumError::Overflow)
    }
}

impl Squares {
    fn add_float(&mut self, x: f64) {
        let magnitude = x.abs();
        if (SQUARE_MIN..SQUARE_MAX).contains(&magnitude) {
            let (high, low) = two_square(x);
            self.fsum.add(high);
            self.fsum.add(low);
        } else if magnitude != 0.0 {
            // m^2 * 2^(2e) times 2^2148; 2e + 2148 >= 0 since e >= -1074.
            let (mantissa, exponent, _) = decode(x);
            let square = BigInt::from(mantissa) * BigInt::from(mantissa);
            self.rare += square << (2 * exponent + 2 * POINT) as usize;
        }
    }
}

/// `x * x` as `high + low` exactly (Dekker's product with Veltkamp's
/// split), for `x` in the range where neither part underflows or
/// overflows.
fn two_square(x: f64) -> (f64, f64) {
    const SPLIT: f64 = 134_217_729.0; // 2^27 + 1
    let high = x * x;
    let t = SPLIT * x;
    let x_high = t - (t - x);
    let x_low = x - x_high;
    let low = ((x_high * x_high - high) + 2.0 * x_high * x_low) + x_low * x_low;
    (high, low)
}

/// `numerator / denominator` correctly rounded to a double (ties to
/// even); `None` beyond the range of doubles.
pub fn ratio_to_f64(numerator: &BigInt, denominator: &BigUint) -> Option<f64> {
    let negative = numerator.sign() == Sign::Minus;
    let n = numerator.magnitude();
    if n.is_zero() {
        return Some(0.0);
    }
    // Find `shift` so that q = floor(n * 2^shift / d) has exactly 54 bits:
    // 53 for the mantissa and one to round with; the remainder is sticky.
    let divide = |shift: i64| -> (BigUint, bool) {
        let (q, r) = if shift >= 0 {
            let scaled = n << shift as usize;
            (&scaled / denominator, !(&scaled % denominator).is_zero())
        } else {
            let scaled = denominator << (-shift) as usize;
            (n / &scaled, !(n % &scaled).is_zero())
        };
        (q, r)
    };
    let mut shift = 54 + denominator.bits() as i64 - n.bits() as i64;
    let (mut q, mut sticky) = divide(shift);
    while q.bits() > 54 {
        shift -= 1;
        (q, sticky) = divide(shift);
    }
    while q.bits() < 54 {
        shift += 1;
        (q, sticky) = divide(shift);
    }
    // value ~ q * 2^-shift = (q / 2) * 2^(1 - shift)
    let mut exponent = 1 - shift;
    if exponent < -1074 {
        // Below the normal range: fewer bits are representable.
        shift = 1075;
        exponent = -1074;
        (q, sticky) = divide(shift);
    }
    let q = q.to_u64()?;
    let round_bit = q & 1;
    let mut mantissa = q >> 1;
    if round_bit == 1 && (sticky || mantissa & 1 == 1) {
        mantissa += 1;
    }
    if mantissa == 1 << 53 {
        mantissa >>= 1;
        exponent += 1;
    }
    if exponent > 971 {
        return None;
    }
    let bits = if mantissa < 1 << 52 {
        // Subnormal (exponent is -1074 here); a mantissa that rounded up
        // to 2^52 reads correctly as the smallest normal.
        mantissa
    } else {
        (((exponent + 1075) as u64) << 52) | (mantissa & ((1 << 52) - 1))
    };
    let value = f64::from_bits(bits);
    Some(if negative { -value } else { value })
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

    fn sum_of(values: &[Number]) -> Result<Number, SumError> {
        let mut s = ExactSum::default();
        values.iter().for_each(|v| s.add(v));
        s.total()
    }

    #[test]
    fn states_no_run_makes_are_not_possible() {
        let mut real = ExactSum::with_squares();
        for n in ["1", "2.5", "-3"] {
            real.add(&num(n));
        }
        assert!(real.is_possible());
        assert!(ExactSum::with_squares().is_possible());
        let mut few_squares = real.clone();
        few_squares.squares = Some(Squares::default());
        assert!(!few_squares.is_possible(), "a negative variance");
        let mut nothing_counted = real.clone();
        nothing_counted.count = 0;
        assert!(!nothing_counted.is_possible());
        let mut no_floats = real.clone();
        no_floats.floats = false;
        assert!(!no_floats.is_possible());
        assert!(real.bounds_possible(Some(&num("-3")), Some(&num("2.5"))));
        assert!(
            !real.bounds_possible(Some(&num("1")), Some(&num("2.5"))),
            "mean below min"
        );
        assert!(!real.bounds_possible(Some(&num("2.5")), Some(&num("-3"))));
        assert!(!real.bounds_possible(None, Some(&num("2.5"))));
        assert!(ExactSum::default().bounds_possible(None, None));
        let mut ints = ExactSum::default();
        ints.add(&num("4"));
        assert!(
            !ints.bounds_possible(Some(&num("4.0")), Some(&num("4"))),
            "a float, never summed"
        );
    }

    #[test]
    fn float_sums_are_exact() {
        let values = [num("1e100"), num("1.0"), num("-1e100"), num("0.1")];
        assert_eq!(sum_of(&values), Ok(Number::Float(1.1)));
        assert_eq!(sum_of(&vec![num("0.1"); 10]), Ok(Number::Float(1.0)));
        // No intermediate overflow: the exact total is representable.
        let values = [num("1e308"), num("1e308"), num("-1e308")];
        assert_eq!(sum_of(&values), Ok(Number::Float(1e308)));
        assert_eq!(
            sum_of(&[num("1e308"), num("1e308")]),
            Err(SumError::Overflow)
        );
    }

    #[test]
    fn integer_sums_are_exact_at_any_size() {
        let max = num("9223372036854775807");
        assert_eq!(
            shown(&sum_of(&[max.clone(), max.clone(), max]).unwrap()),
            "27670116110564327421"
        );
        let big = num("123456789012345678901234567890");
        assert_eq!(
            shown(&sum_of(&[big.clone(), big, num("-1")]).unwrap()),
            "246913578024691357802469135779"
        );
        assert_eq!(sum_of(&[]), Ok(Number::Int(0)));
    }

    #[test]
    fn mixed_sums_round_once() {
        let values = [
            num("1152921504606846977"),
            num("0.5"),
            num("-1152921504606846976"),
        ];
        assert_eq!(sum_of(&values), Ok(Number::Float(1.5)));
        assert_eq!(sum_of(&[num("-3"), num("0.25")]), Ok(Number::Float(-2.75)));
    }

    #[test]
    fn means_and_variances_are_exact_then_rounded() {
        let mut s = ExactSum::with_squares();
        for v in ["1", "2", "3", "4"] {
            s.add(&num(v));
        }
        assert_eq!(s.mean(), Ok(2.5));
        assert_eq!(s.variance(0), Ok(1.25));
        assert_eq!(s.variance(1), Ok(5.0 / 3.0));
        // A large offset does not cancel the small spread.
        let mut s = ExactSum::with_squares();
        for v in ["1e9", "1000000001.0", "1000000002.0"] {
            s.add(&num(v));
        }
        assert_eq!(s.variance(0), Ok(2.0 / 3.0));
        let mut one = ExactSum::with_squares();
        one.add(&num("5"));
        assert_eq!(one.variance(1), Err(SumError::TooFew));
        assert_eq!(ExactSum::default().mean(), Err(SumError::TooFew));
        // Squares outside the split range still count exactly: with a
        // mean of zero the variance is the one square, rounded once.
        for x in [1e-160, 1e154] {
            let mut s = ExactSum::with_squares();
            s.add(&Number::Float(x));
            s.add(&Number::Float(-x));
            assert_eq!(s.variance(0), Ok(x * x), "{x}");
        }
    }

    #[test]
    fn ratios_round_to_nearest_even() {
        let r = |n: i64, d: u64| ratio_to_f64(&BigInt::from(n), &BigUint::from(d));
        assert_eq!(r(1, 3), Some(1.0 / 3.0));
        assert_eq!(r(-2, 3), Some(-2.0 / 3.0));
        assert_eq!(r(10, 4), Some(2.5));
        assert_eq!(r(0, 7), Some(0.0));
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins.
        assert_eq!(r((1 << 53) + 1, 1), Some(9007199254740992.0));
        assert_eq!(r((1 << 53) + 3, 1), Some(9007199254740996.0));
        let tiny = ratio_to_f64(&BigInt::from(1), &(BigUint::from(1u8) << 1074usize));
        assert_eq!(tiny, Some(5e-324));
        let below = ratio_to_f64(&BigInt::from(1), &(BigUint::from(1u8) << 1076usize));
        assert_eq!(below, Some(0.0));
        let huge = ratio_to_f64(&(BigInt::from(1) << 1024usize), &BigUint::from(1u8));
        assert_eq!(huge, None);
    }

    #[test]
    fn float_sums_survive_their_integer_form() {
        let mut s = FloatSum::default();
        for x in [1e300, -3.5, 5e-324, -1e-300] {
            s.add(x);
        }
        assert_eq!(FloatSum::from_bigint(&s.to_bigint()), Some(s));
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
        fn any_split_of_the_input_gives_the_same_answers(
            values in proptest::collection::vec(prop_oneof![
                any::<i64>().prop_map(Number::Int),
                finite().prop_map(Number::Float),
                Just(num("-123456789012345678901234567890")),
            ], 0..40),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut whole = ExactSum::with_squares();
            values.iter().for_each(|v| whole.add(v));
            let at = cut.index(values.len() + 1);
            let mut left = ExactSum::with_squares();
            values[..at].iter().for_each(|v| left.add(v));
            let mut right = ExactSum::with_squares();
            values[at..].iter().rev().for_each(|v| right.add(v));
            right.merge(&left);
            prop_assert_eq!(&right, &whole);
            prop_assert_eq!(right.total(), whole.total());
            prop_assert_eq!(right.mean().map(f64::to_bits), whole.mean().map(f64::to_bits));
            prop_assert_eq!(right.variance(0).map(f64::to_bits), whole.variance(0).map(f64::to_bits));
        }

        #[test]
        fn sums_of_floats_are_correctly_rounded(a in finite(), b in finite()) {
            // Two doubles: the exact sum is a + b with one rounding.
            let mut s = ExactSum::default();
            s.add(&Number::Float(a));
            s.add(&Number::Float(b));
            let expected = a + b;
            if expected.is_finite() {
                prop_assert_eq!(s.total(), Ok(Number::Float(expected)));
            }
        }
    }
}
