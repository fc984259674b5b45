//! The driver's side of the metric window: turns arriving samples into the job's input
//! updates, and moves the window as the watermark advances.
//!
//! For each batch of samples it yields (see [`WindowUpdates`]):
//! - bucket additions `((resource, hour), stats)`: each accepted minute's summary;
//! - hour changes: hours entering the window (+1) and leaving it (-1). The job keeps only
//!   buckets whose hour is in this set, so an hour leaving retracts every resource's
//!   bucket of it at once;
//! - clock changes: the old window out, the new one in (coverage is measured against it).
//!
//! A sample is refused (with its row) when its minute is already counted for the resource
//! (the first one counts; a retried push is not double-counted), when it is older than
//! the lookback, or when its key shares the job's 64-bit name with another key (see
//! `key`; never merged). Even a refused sample marks when the stream began (the window's first
//! minute), so what is counted never depends on the order samples arrive in beyond that. Which minutes were counted is one 60-bit mask per resource and hour, so the
//! bookkeeping is small next to the buckets, and forgotten when the hour leaves.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use burnrate_schemas::{HourStats, MetricSample, RowRef};

use super::cost::match_key;
use super::key::{KeyNames, key_hash};
use super::window::{Window, minute_of};

/// The input updates one batch of samples causes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowUpdates {
    pub buckets: Vec<((String, i64), HourStats)>,
    pub hours: Vec<(i64, isize)>,
    pub clock: Vec<(Window, isize)>,
    /// Minutes counted per (resource, hour) by this batch, as bits (for the store).
    pub masks: Vec<((String, i64), u64)>,
    pub refused: Vec<(RowRef, String)>,
}

/// The window's state between batches.
#[derive(Debug, Clone)]
pub struct MetricsWindow {
    lookback_hours: u32,
    first: Option<i64>,
    last: Option<i64>,
    window: Option<Window>,
    /// The oldest minute the lookback reaches at the current watermark.
    horizon: Option<i64>,
    counted: HashMap<(String, i64), u64>,
    /// Which key holds each of the job's integer names (see `key`).
    names: KeyNames,
}

impl MetricsWindow {
    pub fn new(lookback_hours: u32) -> MetricsWindow {
        MetricsWindow::with_hash(lookback_hours, key_hash)
    }

    /// A window whose keys are named by another hash (tests use one that collides).
    pub fn with_hash(lookback_hours: u32, hash: fn(&str) -> u64) -> MetricsWindow {
        MetricsWindow {
            lookback_hours,
            first: None,
            last: None,
            window: None,
            horizon: None,
            counted: HashMap::new(),
            names: KeyNames::with_hash(hash),
        }
    }

    /// The current window, once any sample arrived.
    pub fn window(&self) -> Option<Window> {
        self.window
    }

    /// The first minute any sample (counted or not) was for: where the window may start.
    /// A store keeps it beside the buckets, since pruned buckets no longer tell it.
    pub fn first(&self) -> Option<i64> {
        self.first
    }

    /// Restores what a store kept: the first minute and the buckets' counted minutes (which
    /// give the last minute). Returns the updates that rebuild the job's metric state: the
    /// buckets must be fed separately, with their stored sums.
    pub fn restore(
        &mut self,
        first: Option<i64>,
        masks: impl IntoIterator<Item = ((String, i64), u64)>,
    ) -> WindowUpdates {
        self.first = first;
        for ((key, hour), mask) in masks {
            if mask == 0 {
                continue;
            }
            let lo = hour * 60 + i64::from(mask.trailing_zeros());
            let hi = hour * 60 + 63 - i64::from(mask.leading_zeros());
            self.first = Some(self.first.map_or(lo, |f| f.min(lo)));
            self.last = Some(self.last.map_or(hi, |l| l.max(hi)));
            // What was stored was admitted once, so it holds its name again.
            let _ = self.names.admit(&key);
            *self.counted.entry((key, hour)).or_default() |= mask;
        }
        let mut out = WindowUpdates::default();
        self.advance(&mut out);
        out
    }

    /// Takes a batch of samples.
    pub fn push(&mut self, samples: &[MetricSample]) -> WindowUpdates {
        let mut out = WindowUpdates::default();
        let mut buckets: BTreeMap<(String, i64), HourStats> = BTreeMap::new();
        let mut masks: BTreeMap<(String, i64), u64> = BTreeMap::new();
        for s in samples {
            let minute = minute_of(s.minute);
            self.first = Some(self.first.map_or(minute, |f| f.min(minute)));
            if let Some(h) = self.horizon
                && minute < h
            {
                out.refused.push((
                    s.row_ref.clone(),
                    format!(
                        "minute {} is older than the {}-hour metric window",
                        s.minute, self.lookback_hours
                    ),
                ));
                continue;
            }
            let key = (match_key(&s.resource_id), minute.div_euclid(60));
            if let Err(other) = self.names.admit(&key.0) {
                out.refused.push((
                    s.row_ref.clone(),
                    format!(
                        "{} cannot be told apart from {other} inside the job (their keys \
                         share a 64-bit hash); its samples are refused rather than merged",
                        s.resource_id
                    ),
                ));
                continue;
            }
            let bit = 1u64 << minute.rem_euclid(60);
            let mask = self.counted.entry(key.clone()).or_default();
            if *mask & bit != 0 {
                out.refused.push((
                    s.row_ref.clone(),
                    format!(
                        "{} already has a sample for {}; the first one counts",
                        s.resource_id, s.minute
                    ),
                ));
                continue;
            }
            *mask |= bit;
            *masks.entry(key.clone()).or_default() |= bit;
            buckets.entry(key).or_default().add(&HourStats::of(s), 1);
            self.last = Some(self.last.map_or(minute, |l| l.max(minute)));
        }
        out.buckets = buckets.into_iter().collect();
        out.masks = masks.into_iter().collect();
        self.advance(&mut out);
        out
    }

    /// Moves the window to the current first and last minute.
    fn advance(&mut self, out: &mut WindowUpdates) {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return;
        };
        let new = Window::at(first, last, self.lookback_hours);
        self.horizon = Some(Window::at(i64::MIN, last, self.lookback_hours).start);
        if self.window == Some(new) {
            return;
        }
        let old_hours: BTreeSet<i64> = self.window.map(|w| w.hours().collect()).unwrap_or_default();
        let new_hours: BTreeSet<i64> = new.hours().collect();
        out.hours
            .extend(new_hours.difference(&old_hours).map(|h| (*h, 1)));
        out.hours
            .extend(old_hours.difference(&new_hours).map(|h| (*h, -1)));
        if let Some(old) = self.window {
            out.clock.push((old, -1));
        }
        out.clock.push((new, 1));
        // The window moves every minute but its first hour only hourly: scanning every
        // (resource, hour) mask on each move was a tenth of a minute-tick's cost.
        let start_hour = new.start.div_euclid(60);
        if self
            .window
            .is_none_or(|w| w.start.div_euclid(60) < start_hour)
        {
            self.counted.retain(|(_, hour), _| *hour >= start_hour);
        }
        self.window = Some(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn sample(id: &str, at: &str, requests: f64) -> MetricSample {
        let mut s = MetricSample::empty(
            id.into(),
            at.parse::<DateTime<Utc>>().expect("time"),
            RowRef {
                file: "t".into(),
                row: 1,
            },
        );
        s.requests = Some(requests);
        s
    }

    #[test]
    fn a_duplicate_minute_counts_once_and_old_minutes_are_refused() {
        let mut w = MetricsWindow::new(2);
        let u = w.push(&[
            sample("ep", "2024-03-05T10:00:00Z", 1.0),
            sample("EP", "2024-03-05T10:00:00Z", 5.0),
            sample("ep", "2024-03-05T10:01:00Z", 2.0),
        ]);
        assert_eq!(u.refused.len(), 1);
        assert_eq!(u.buckets.len(), 1);
        assert_eq!(u.buckets[0].1.requests_milli, 3_000);
        assert_eq!(u.masks[0].1, 0b11);
        assert_eq!(u.hours.len(), 1);
        assert_eq!(u.clock.len(), 1);
        // Two hours later the lookback of 2 hours starts at 11:00: 10:xx leaves, and a
        // sample for 10:30 is refused as too old.
        let u = w.push(&[sample("ep", "2024-03-05T12:00:00Z", 1.0)]);
        let ten = minute_of("2024-03-05T10:00:00Z".parse().expect("t")).div_euclid(60);
        assert!(u.hours.contains(&(ten, -1)) && u.hours.contains(&(ten + 2, 1)));
        assert_eq!(u.clock.len(), 2);
        let u = w.push(&[sample("ep", "2024-03-05T10:30:00Z", 1.0)]);
        assert_eq!(u.refused.len(), 1);
        assert!(u.buckets.is_empty() && u.hours.is_empty() && u.clock.is_empty());
    }

    #[test]
    fn a_key_sharing_another_keys_hash_is_refused() {
        // A hash by length makes "ep-a" and "ep-b" collide; the first keeps its name.
        let mut w = MetricsWindow::with_hash(2, |k| k.len() as u64);
        let u = w.push(&[
            sample("ep-a", "2024-03-05T10:00:00Z", 1.0),
            sample("EP-B", "2024-03-05T10:00:00Z", 1.0),
            sample("ep-cc", "2024-03-05T10:00:00Z", 1.0),
        ]);
        let keys: Vec<&str> = u.buckets.iter().map(|((k, _), _)| k.as_str()).collect();
        assert_eq!(keys, vec!["ep-a", "ep-cc"]);
        assert_eq!(u.refused.len(), 1);
        assert!(u.refused[0].1.contains("EP-B") && u.refused[0].1.contains("ep-a"));
    }

    #[test]
    fn restore_rebuilds_the_window_and_the_counted_minutes() {
        let mut a = MetricsWindow::new(720);
        let u = a.push(&[
            sample("ep", "2024-03-05T10:00:00Z", 1.0),
            sample("ep", "2024-03-05T11:59:00Z", 1.0),
        ]);
        let mut b = MetricsWindow::new(720);
        let r = b.restore(a.first(), u.masks.clone());
        assert_eq!(b.window(), a.window());
        assert_eq!(r.hours, u.hours);
        // The restored window still refuses a minute already counted.
        assert_eq!(
            b.push(&[sample("ep", "2024-03-05T11:59:00Z", 1.0)])
                .refused
                .len(),
            1
        );
    }
}
