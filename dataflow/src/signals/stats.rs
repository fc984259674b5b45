//! [`HourStats`] as a difference type: a minute's summary rides in the difference of the
//! (resource, hour) collection, so a bucket's sum is differential's own consolidation and
//! a retraction (an hour leaving the window) takes back exactly what was added.
//!
//! [`SlotStats`] is the same idea for the hour-of-week profile, which reads only present
//! minutes and requests: carrying the whole `HourStats` (a few hundred bytes) through the
//! profile's count and its arrangement was copying and comparing what nothing reads.

use burnrate_schemas::HourStats;
use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stats(pub HourStats);

impl IsZero for Stats {
    fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl Semigroup for Stats {
    fn plus_equals(&mut self, rhs: &Self) {
        self.0.add(&rhs.0, 1);
    }
}

impl Monoid for Stats {
    fn zero() -> Self {
        Stats::default()
    }
}

impl Abelian for Stats {
    fn negate(&mut self) {
        let copy = self.0;
        self.0 = HourStats::default();
        self.0.add(&copy, -1);
    }
}

/// Scaling by a multiplicity (a semijoin against a set multiplies by its count).
impl Multiply<isize> for Stats {
    type Output = Stats;
    fn multiply(self, rhs: &isize) -> Stats {
        let mut out = HourStats::default();
        out.add(&self.0, i32::try_from(*rhs).unwrap_or(i32::MAX));
        Stats(out)
    }
}

/// Present minutes and requests (thousandths) of one hour-of-week slot, as a difference.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SlotStats {
    pub minutes: i64,
    pub requests_milli: i64,
}

impl SlotStats {
    /// The profile's part of an hour's stats.
    pub fn of(h: &HourStats) -> SlotStats {
        SlotStats {
            minutes: i64::from(h.minutes),
            requests_milli: h.requests_milli,
        }
    }
}

impl IsZero for SlotStats {
    fn is_zero(&self) -> bool {
        self.minutes == 0 && self.requests_milli == 0
    }
}

impl Semigroup for SlotStats {
    fn plus_equals(&mut self, rhs: &Self) {
        self.minutes += rhs.minutes;
        self.requests_milli += rhs.requests_milli;
    }
}

impl Monoid for SlotStats {
    fn zero() -> Self {
        SlotStats::default()
    }
}

impl Abelian for SlotStats {
    fn negate(&mut self) {
        self.minutes = -self.minutes;
        self.requests_milli = -self.requests_milli;
    }
}

impl Multiply<isize> for SlotStats {
    type Output = SlotStats;
    fn multiply(self, rhs: &isize) -> SlotStats {
        let n = *rhs as i64;
        SlotStats {
            minutes: self.minutes * n,
            requests_milli: self.requests_milli * n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_stats_add_and_retract_exactly() {
        let a = SlotStats {
            minutes: 60,
            requests_milli: 90_000,
        };
        let mut sum = a;
        sum.plus_equals(&SlotStats {
            minutes: 1,
            requests_milli: 500,
        });
        assert_eq!((sum.minutes, sum.requests_milli), (61, 90_500));
        let mut back = a;
        back.negate();
        sum.plus_equals(&back);
        assert_eq!((sum.minutes, sum.requests_milli), (1, 500));
        assert!(!sum.is_zero());
        let mut zero = a.multiply(&-1);
        zero.plus_equals(&a);
        assert!(zero.is_zero());
    }
}
