//! Amounts as differential-dataflow differences.
//!
//! Quantities use their own, coarser scale (`QUANTITY_SCALE`): byte counts reach 1e24.
//!
//! A rollup is a sum by key, and differential sums differences for free: the amounts ride
//! in the diff, and a retraction is the same amounts negated. Diffs must form an exact
//! group, so money is a scaled integer here (`i128` in units of 10^-15), never a float.
//! Converting a `Decimal` rounds beyond 15 places, which is far below what any bill
//! states per line (the longest real rates carry 28 places, but only as rates, and a sum
//! of 10 million lines drifts at most 5e-9).

use burnrate_schemas::{CostRecord, Totals};
use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Decimal places of a scaled amount.
pub const SCALE: u32 = 15;

/// Decimal places of a scaled quantity: quantities reach 1e24 (bytes), money does not,
/// and nobody reads a quantity to its 15th place.
pub const QUANTITY_SCALE: u32 = 9;

/// `Decimal` → units of 10^-SCALE, rounding half away from zero past SCALE places.
/// `None` only past ±1.7e23, which no bill reaches.
pub fn to_units(d: Decimal) -> Option<i128> {
    to_scaled(d, SCALE)
}

/// Units of 10^-SCALE → `Decimal`, exactly (trailing zeros dropped).
pub fn from_units(units: i128) -> Decimal {
    from_scaled(units, SCALE)
}

fn to_scaled(d: Decimal, places: u32) -> Option<i128> {
    let d = burnrate_schemas::days::round_half_away(d, places);
    let shift = places - d.scale();
    d.mantissa().checked_mul(10i128.checked_pow(shift)?)
}

/// `units` × 10^-`places` with the trailing zeros of `units` dropped (down to scale 0).
/// A step of eight, four, two and one places, and in 64 bits when the value fits: 128-bit
/// division is a library call, and dividing by ten place by place was a tenth of storing
/// a delivery's rollup changes.
fn strip_zeros(units: i128, places: u32) -> (i128, u32) {
    const STEPS: [(u32, u64); 4] = [(8, 100_000_000), (4, 10_000), (2, 100), (1, 10)];
    let mut scale = places;
    if let Ok(mut m) = i64::try_from(units) {
        for (n, pow) in STEPS {
            let pow = pow.cast_signed();
            while scale >= n && m % pow == 0 {
                m /= pow;
                scale -= n;
            }
        }
        return (i128::from(m), scale);
    }
    let mut m = units;
    for (n, pow) in STEPS {
        let pow = i128::from(pow);
        while scale >= n && m % pow == 0 {
            m /= pow;
            scale -= n;
        }
    }
    (m, scale)
}

fn from_scaled(units: i128, places: u32) -> Decimal {
    // Drop trailing zeros first: a large whole amount (2^64 bytes) has far more digits at
    // scale 15 than a Decimal mantissa holds (7.9e28), but not once they are gone.
    let (mut mantissa, mut scale) = strip_zeros(units, places);
    // A total past 7.9e13 with all 15 places in use still does not fit: give up the
    // smallest places, rounding half away from zero, until it does. A Decimal holds 28
    // digits, so a total of 1e20 keeps 8 places; nothing saturates below 7.9e28.
    loop {
        if let Ok(d) = Decimal::try_from_i128_with_scale(mantissa, scale) {
            return d;
        }
        if scale == 0 {
            return if units < 0 {
                Decimal::MIN
            } else {
                Decimal::MAX
            };
        }
        let rem = mantissa % 10;
        mantissa /= 10;
        if rem.abs() >= 5 {
            mantissa += rem.signum();
        }
        scale -= 1;
    }
}

/// What a rollup row sums: billed and effective cost, usage quantity, and the number of
/// record parts that went into it (so a key whose amounts net to zero stays visible
/// while it has rows).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Amounts {
    pub billed: i128,
    pub effective: i128,
    pub quantity: i128,
    pub rows: i128,
}

impl Amounts {
    /// One record's share: `billed`, `effective` and `quantity` already split to a day.
    pub fn of(billed: Decimal, effective: Decimal, quantity: Option<Decimal>) -> Option<Amounts> {
        Some(Amounts {
            billed: to_units(billed)?,
            effective: to_units(effective)?,
            quantity: match quantity {
                Some(q) => to_scaled(q, QUANTITY_SCALE)?,
                None => 0,
            },
            rows: 1,
        })
    }

    /// The whole of a record, unsplit.
    pub fn of_record(r: &CostRecord) -> Option<Amounts> {
        Amounts::of(r.billed_cost, r.effective_cost, r.consumed_quantity)
    }

    /// `self - other`, component by component.
    pub fn minus(self, other: Amounts) -> Amounts {
        Amounts {
            billed: self.billed - other.billed,
            effective: self.effective - other.effective,
            quantity: self.quantity - other.quantity,
            rows: self.rows - other.rows,
        }
    }

    /// Whether every component is zero (the amounts change nothing).
    pub fn is_nothing(&self) -> bool {
        IsZero::is_zero(self)
    }

    /// The amounts as exact decimals, for stores and readers.
    pub fn totals(&self) -> Totals {
        Totals {
            billed_cost: from_units(self.billed),
            effective_cost: from_units(self.effective),
            quantity: from_scaled(self.quantity, QUANTITY_SCALE),
            rows: i64::try_from(self.rows).unwrap_or(i64::MAX),
        }
    }

    pub fn billed_decimal(&self) -> Decimal {
        from_units(self.billed)
    }

    pub fn effective_decimal(&self) -> Decimal {
        from_units(self.effective)
    }

    pub fn quantity_decimal(&self) -> Decimal {
        from_scaled(self.quantity, QUANTITY_SCALE)
    }
}

impl IsZero for Amounts {
    fn is_zero(&self) -> bool {
        self.billed == 0 && self.effective == 0 && self.quantity == 0 && self.rows == 0
    }
}

impl Semigroup for Amounts {
    fn plus_equals(&mut self, rhs: &Self) {
        self.billed += rhs.billed;
        self.effective += rhs.effective;
        self.quantity += rhs.quantity;
        self.rows += rhs.rows;
    }
}

impl Monoid for Amounts {
    fn zero() -> Self {
        Amounts::default()
    }
}

impl Abelian for Amounts {
    fn negate(&mut self) {
        self.billed = -self.billed;
        self.effective = -self.effective;
        self.quantity = -self.quantity;
        self.rows = -self.rows;
    }
}

/// Scaling by an integer multiplicity (a semijoin against a set multiplies by its count).
impl Multiply<isize> for Amounts {
    type Output = Amounts;
    fn multiply(self, rhs: &isize) -> Amounts {
        self.multiply(&(*rhs as i128))
    }
}

/// Scaling by an integer multiplicity (a semijoin against a set multiplies by its count).
impl Multiply<i128> for Amounts {
    type Output = Amounts;
    fn multiply(self, rhs: &i128) -> Amounts {
        Amounts {
            billed: self.billed * rhs,
            effective: self.effective * rhs,
            quantity: self.quantity * rhs,
            rows: self.rows * rhs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    proptest::proptest! {
        /// The stepped strip gives what dropping one zero at a time gives, for values in
        /// and past 64 bits, any sign, and zero.
        #[test]
        fn stripping_zeros_in_steps_is_stripping_them_one_by_one(
            digits in -99_999i128..99_999, zeros in 0u32..30, places in 0u32..25, wide: bool,
        ) {
            let wide_factor: i128 = if wide { 1 << 70 } else { 1 };
            let units = digits.checked_mul(wide_factor).and_then(|v| v.checked_mul(10i128.pow(zeros)));
            proptest::prop_assume!(units.is_some());
            let units = units.unwrap_or_default();
            let (mut m, mut scale) = (units, places);
            while scale > 0 && m % 10 == 0 {
                m /= 10;
                scale -= 1;
            }
            proptest::prop_assert_eq!(strip_zeros(units, places), (m, scale));
        }
    }

    #[test]
    fn units_round_trip_exactly_to_fifteen_places() {
        for s in [
            "0",
            "0.392",
            "-2.40",
            "114961.468965322154294",
            "18446744073709551616",
            "0.000000000000001",
        ] {
            let u = to_units(d(s)).expect("fits");
            let back = from_units(u);
            assert_eq!(back, d(s).round_dp(SCALE), "{s}");
        }
        // 28 places round at the 15th.
        assert_eq!(
            from_units(to_units(d("0.0000000072922557592391990000")).expect("fits")),
            d("0.000000007292256")
        );
    }

    #[test]
    fn a_half_unit_past_fifteen_places_rounds_away_from_zero() {
        // Not to the even neighbour (banker's rounding would keep ...002 and -...000).
        assert_eq!(
            from_units(to_units(d("1.0000000000000025")).expect("fits")),
            d("1.000000000000003")
        );
        assert_eq!(
            from_units(to_units(d("-0.0000000000000005")).expect("fits")),
            d("-0.000000000000001")
        );
    }

    #[test]
    fn quantities_reach_far_past_money() {
        let a = Amounts::of(d("5"), d("5"), Some(d("1000000000000000000000000"))).expect("fits");
        assert_eq!(a.quantity_decimal(), d("1000000000000000000000000"));
        assert_eq!(a.totals().billed_cost, d("5"));
    }

    #[test]
    fn huge_totals_round_their_smallest_places_instead_of_saturating() {
        // 1e20 + 1e-9 has 30 significant digits: a Decimal keeps 28, so 1e-9 rounds away.
        let u = to_units(d("100000000000000000000")).expect("fits")
            + to_units(d("0.000000001")).expect("fits");
        assert_eq!(from_units(u), d("100000000000000000000.00000000"));
        // 1e20 + 0.5 keeps the half.
        let u =
            to_units(d("100000000000000000000")).expect("fits") + to_units(d("0.5")).expect("fits");
        assert_eq!(from_units(u), d("100000000000000000000.5"));
        assert_eq!(from_units(-u), d("-100000000000000000000.5"));
    }

    #[test]
    fn amounts_form_a_group() {
        let a = Amounts::of(d("1.5"), d("1.25"), Some(d("2"))).expect("fits");
        let mut sum = a;
        let mut neg = a;
        neg.negate();
        sum.plus_equals(&neg);
        assert!(sum.is_zero());
        assert_eq!(a.multiply(&2i128).billed_decimal(), d("3"));
    }
}
