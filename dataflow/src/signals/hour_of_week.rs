//! # hour_of_week
//!
//! ```sql
//! -- Requests per minute by hour of the week (0 = Monday 00:00 UTC), over every week in
//! -- the window; an hour of the week is observed once enough of its minutes are present.
//! SELECT resource, hour_of_week(minute) AS how,
//!        COUNT(*)                       AS present_minutes,
//!        SUM(requests) / COUNT(*)       AS requests_per_minute
//! FROM metric_minutes WHERE minute IN window
//! GROUP BY resource, how
//! ```
//!
//! From it: which hours of the week are idle (observed, and below the idle rate), and how
//! flat demand is (the lowest observed hour's rate over the mean of observed hours).

use burnrate_schemas::HourWindow;

/// Hours in a week.
pub const HOURS_PER_WEEK: usize = 168;

/// The hour of the week of a UTC hour number (hours since the Unix epoch, a Thursday).
pub fn hour_of_week(hour: i64) -> usize {
    // 1970-01-01 was a Thursday: hour 0 is Thursday 00:00, i.e. Monday-based hour 72.
    ((hour + 72).rem_euclid(HOURS_PER_WEEK as i64)) as usize
}

/// Minutes present and requests (thousandths) in one hour of the week.
pub type Slot = (i64, i64);

/// The profile of one resource.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Profile {
    /// Per hour of the week: (present minutes, requests in thousandths).
    pub slots: Vec<Slot>,
}

impl Profile {
    pub fn new(slots: Vec<Slot>) -> Profile {
        let mut slots = slots;
        slots.resize(HOURS_PER_WEEK, (0, 0));
        Profile { slots }
    }

    fn rate(&self, how: usize, min_minutes: i64) -> Option<f64> {
        let (m, r) = self.slots.get(how).copied()?;
        (m >= min_minutes && m > 0).then(|| r as f64 / 1000.0 / m as f64)
    }

    /// Hours of the week with at least `min_minutes` present.
    pub fn observed(&self, min_minutes: i64) -> usize {
        (0..HOURS_PER_WEEK)
            .filter(|&h| self.rate(h, min_minutes).is_some())
            .count()
    }

    /// Observed hours whose request rate is at most `idle_rate` per minute.
    pub fn idle_hours(&self, min_minutes: i64, idle_rate: f64) -> Vec<usize> {
        (0..HOURS_PER_WEEK)
            .filter(|&h| self.rate(h, min_minutes).is_some_and(|r| r <= idle_rate))
            .collect()
    }

    /// Lowest observed hourly rate over the mean observed rate; `None` without traffic.
    pub fn flatness(&self, min_minutes: i64) -> Option<f64> {
        let rates: Vec<f64> = (0..HOURS_PER_WEEK)
            .filter_map(|h| self.rate(h, min_minutes))
            .collect();
        let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        (mean > 0.0 && !rates.is_empty()).then(|| min / mean)
    }
}

/// Idle hours of the week as windows, one run of consecutive hours per day.
pub fn windows(idle: &[usize]) -> Vec<HourWindow> {
    let mut out: Vec<HourWindow> = Vec::new();
    for &h in idle {
        let (day, hour) = ((h / 24) as u8, (h % 24) as u8);
        match out.last_mut() {
            Some(w) if w.day == day && w.end_hour == hour => w.end_hour = hour + 1,
            _ => out.push(HourWindow {
                day,
                start_hour: hour,
                end_hour: hour + 1,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Timelike, Utc};

    #[test]
    fn hour_of_week_starts_monday() {
        // 2024-03-04 was a Monday.
        let monday: DateTime<Utc> = "2024-03-04T00:00:00Z".parse().expect("t");
        let hour = monday.timestamp() / 3600;
        assert_eq!(hour_of_week(hour), 0);
        let sunday_23: DateTime<Utc> = "2024-03-10T23:30:00Z".parse().expect("t");
        assert_eq!(sunday_23.hour(), 23);
        assert_eq!(hour_of_week(sunday_23.timestamp() / 3600), 167);
        assert_eq!(hour_of_week(-1), 71); // Wednesday 23:00, 1969-12-31
    }

    #[test]
    fn idle_hours_flatness_and_windows() {
        let mut slots = vec![(60, 60_000); HOURS_PER_WEEK]; // 1 request a minute
        slots[0] = (60, 0); // Monday 00–01 idle
        slots[1] = (60, 0); // Monday 01–02 idle
        slots[30] = (10, 0); // Tuesday 06: too few minutes to judge
        slots[100] = (60, 30_000); // half the rate
        let p = Profile::new(slots);
        assert_eq!(p.observed(30), 167);
        assert_eq!(p.idle_hours(30, 0.0), vec![0, 1]);
        assert_eq!(
            windows(&p.idle_hours(30, 0.0)),
            vec![HourWindow {
                day: 0,
                start_hour: 0,
                end_hour: 2
            }]
        );
        // Observed rates: 164 hours at 1, one at 0.5, two at 0 → mean 164.5/167, min 0.
        assert_eq!(p.flatness(30), Some(0.0));
        // Windows break at midnight: Monday 23 and Tuesday 00 are two windows.
        assert_eq!(windows(&[23, 24]).len(), 2);
    }
}
