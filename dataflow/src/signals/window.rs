//! The rolling window: which minutes the signals cover right now.
//!
//! Times are minutes since the Unix epoch (UTC). The watermark is the latest minute any
//! metric arrived for, plus one; the window ends there and reaches back `lookback_hours`
//! whole UTC hours (the watermark's own hour included), but never before the first minute
//! collection saw: minutes before that were never expected, so they do not lower coverage.
//! Hours are whole so that the job can keep one bucket per resource and hour and expire a
//! bucket at once.

use chrono::{DateTime, Utc};

/// Minutes `[start, end)` of the window.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// Minutes since the epoch of a sample's minute.
pub fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

impl Window {
    /// The window for a stream that began at minute `first` and has reached minute
    /// `last` (both included).
    pub fn at(first: i64, last: i64, lookback_hours: u32) -> Window {
        let end = last + 1;
        let hour_start = last.div_euclid(60) * 60;
        let reach = hour_start - (i64::from(lookback_hours.max(1)) - 1) * 60;
        Window {
            start: reach.max(first.min(last)),
            end,
        }
    }

    pub fn minutes(&self) -> i64 {
        self.end - self.start
    }

    /// UTC hour numbers the window touches, first to last.
    pub fn hours(&self) -> std::ops::Range<i64> {
        if self.end <= self.start {
            return 0..0;
        }
        self.start.div_euclid(60)..(self.end - 1).div_euclid(60) + 1
    }

    pub fn contains(&self, minute: i64) -> bool {
        (self.start..self.end).contains(&minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b17_window_is_the_ten_minutes_seen() {
        // Case B17: metrics from 10:00 to 10:09 → [10:00, 10:10), 10 minutes, one hour.
        let t0: DateTime<Utc> = "2024-03-05T10:00:00Z".parse().expect("t");
        let first = minute_of(t0);
        let w = Window::at(first, first + 9, 720);
        assert_eq!(w.minutes(), 10);
        assert_eq!(w.hours().count(), 1);
    }

    #[test]
    fn the_lookback_counts_whole_hours_back_from_the_watermarks_hour() {
        // Collection began long ago; the last minute is 10:30 of hour h. A 2-hour lookback
        // covers hour h-1 from its start to 10:30 included: 60 + 31 minutes.
        let last = 1_000 * 60 + 30;
        let w = Window::at(0, last, 2);
        assert_eq!((w.start, w.end), (999 * 60, last + 1));
        assert_eq!(w.minutes(), 91);
        assert_eq!(w.hours(), 999..1001);
        assert!(w.contains(999 * 60) && !w.contains(999 * 60 - 1) && !w.contains(last + 1));
    }
}
