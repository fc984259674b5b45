//! [`HourStats`] as a difference type: a minute's summary rides in the difference of the
//! (resource, hour) collection, so a bucket's sum is differential's own consolidation and
//! a retraction (an hour leaving the window) takes back exactly what was added.

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
