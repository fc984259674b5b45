//! # throughput
//!
//! ```sql
//! -- Requests per minute over present minutes, and their shape over active minutes
//! -- (minutes with at least one request), so idle hours do not read as "bursts".
//! SELECT resource,
//!        SUM(requests)                                         AS requests_total,
//!        AVG(requests)                                         AS requests_per_minute_avg,
//!        AVG((requests > 0)::int)                              AS active_share,
//!        AVG(requests) FILTER (WHERE requests > 0)             AS active_mean,
//!        PERCENTILE_CONT(0.50) FILTER (WHERE requests > 0)     AS active_p50,
//!        PERCENTILE_CONT(0.95) FILTER (WHERE requests > 0)     AS active_p95,
//!        PERCENTILE_CONT(0.99) FILTER (WHERE requests > 0)     AS active_p99,
//!        active_p99 / active_mean                              AS peak_to_mean
//! FROM metric_minutes WHERE minute IN window GROUP BY resource
//! ```
//!
//! Percentiles come from the half-octave histogram in `HourStats` and are reported as the
//! upper bound of their bucket: within a factor √2 of the true value, and never below it.

use burnrate_schemas::{HourStats, throughput_bucket_upper};

use super::utilization::avg_milli;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub requests_total: f64,
    pub per_minute_avg: Option<f64>,
    pub active_share: Option<f64>,
    pub active_mean: Option<f64>,
    pub active_p50: Option<f64>,
    pub active_p95: Option<f64>,
    pub active_p99: Option<f64>,
    pub peak_to_mean: Option<f64>,
}

/// The upper bound of the bucket holding the `q` quantile of active minutes.
fn active_quantile(s: &HourStats, q: f64) -> Option<f64> {
    let active: i64 = s.throughput[1..].iter().map(|&n| i64::from(n)).sum();
    if active <= 0 {
        return None;
    }
    // The smallest bucket whose cumulative count reaches q of the minutes.
    let rank = (q * active as f64).ceil().max(1.0) as i64;
    let mut seen = 0i64;
    for (k, &n) in s.throughput.iter().enumerate().skip(1) {
        seen += i64::from(n);
        if seen >= rank {
            return Some(throughput_bucket_upper(k));
        }
    }
    None
}

impl Throughput {
    pub fn of(s: &HourStats) -> Throughput {
        let active_mean = avg_milli(s.requests_milli, s.active_minutes);
        let p99 = active_quantile(s, 0.99);
        Throughput {
            requests_total: s.requests_milli as f64 / 1000.0,
            per_minute_avg: avg_milli(s.requests_milli, s.request_minutes),
            active_share: (s.request_minutes > 0)
                .then(|| f64::from(s.active_minutes) / f64::from(s.request_minutes)),
            active_mean,
            active_p50: active_quantile(s, 0.50),
            active_p95: active_quantile(s, 0.95),
            active_p99: p99,
            peak_to_mean: match (p99, active_mean) {
                (Some(p), Some(m)) if m > 0.0 => Some(p / m),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burnrate_schemas::{MetricSample, RowRef};
    use chrono::{DateTime, Utc};

    fn minutes(requests: &[f64]) -> HourStats {
        let mut acc = HourStats::default();
        for &r in requests {
            let mut s = MetricSample::empty(
                "ep".into(),
                DateTime::<Utc>::MIN_UTC,
                RowRef {
                    file: "t".into(),
                    row: 1,
                },
            );
            s.requests = Some(r);
            acc.add(&HourStats::of(&s), 1);
        }
        acc
    }

    #[test]
    fn b17_averages_over_present_minutes() {
        // ep-gpu-busy: 30 + 28 + 31 + 29 = 118 requests in 4 present minutes → 29.5 a minute
        // (filling the 6 missing minutes with zeros would wrongly give 11.8).
        let t = Throughput::of(&minutes(&[30.0, 28.0, 31.0, 29.0]));
        assert_eq!(t.requests_total, 118.0);
        assert_eq!(t.per_minute_avg, Some(29.5));
        assert_eq!(t.active_share, Some(1.0));
    }

    #[test]
    fn percentiles_are_bucket_upper_bounds_over_active_minutes() {
        // 90 minutes of 3 requests, 10 of 200, 50 idle minutes.
        let mut r = vec![3.0; 90];
        r.extend([200.0; 10]);
        r.extend([0.0; 50]);
        let t = Throughput::of(&minutes(&r));
        // 3 lies in bucket floor(2·log2 3)+1 = 4, upper 2^2 = 4; 200 in bucket 16, upper 256.
        assert_eq!(t.active_p50, Some(4.0));
        assert_eq!(t.active_p95, Some(256.0));
        assert_eq!(t.active_p99, Some(256.0));
        // Active mean: (270 + 2000) / 100 = 22.7; peak/mean = 256 / 22.7.
        assert_eq!(t.active_mean, Some(22.7));
        assert!((t.peak_to_mean.unwrap_or(0.0) - 256.0 / 22.7).abs() < 1e-9);
        assert_eq!(t.active_share, Some(100.0 / 150.0));
        assert_eq!(Throughput::of(&minutes(&[0.0, 0.0])).active_p99, None);
    }
}
