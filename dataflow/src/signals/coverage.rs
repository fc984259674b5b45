//! # coverage
//!
//! ```sql
//! -- How much of the lookback a resource's metrics cover. A missing minute is missing:
//! -- it lowers coverage, it is never a zero.
//! SELECT m.resource,
//!        COUNT(*)                                     AS present_minutes,
//!        w.end_minute - w.start_minute                AS expected_minutes,
//!        COUNT(*) / (w.end_minute - w.start_minute)   AS coverage
//! FROM metric_minutes m, window w
//! WHERE m.minute >= w.start_minute AND m.minute < w.end_minute
//! GROUP BY m.resource
//! ```
//!
//! The window ends at the watermark (the latest minute seen, plus one) and starts a
//! lookback earlier, or at the first minute any metric arrived if that is later: minutes
//! before collection began were never expected.

use burnrate_schemas::HourStats;

/// Present and expected minutes of one resource in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub present: i64,
    pub expected: i64,
}

impl Coverage {
    pub fn of(stats: &HourStats, window_minutes: i64) -> Coverage {
        Coverage {
            present: i64::from(stats.minutes),
            expected: window_minutes.max(0),
        }
    }

    /// `present / expected`, at most 1 (a duplicate minute is dropped before it counts);
    /// 0 for an empty window.
    pub fn ratio(&self) -> f64 {
        if self.expected <= 0 {
            return 0.0;
        }
        (self.present as f64 / self.expected as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_minutes_lower_coverage() {
        let stats = HourStats {
            minutes: 4,
            ..HourStats::default()
        };
        // Case B17: 4 of the 10 minutes 10:00–10:09 → 0.4.
        assert_eq!(Coverage::of(&stats, 10).ratio(), 0.4);
        assert_eq!(Coverage::of(&stats, 0).ratio(), 0.0);
    }
}
