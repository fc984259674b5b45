//! # activity
//!
//! ```sql
//! -- What a resource served over the window, and what each unit of it cost.
//! SELECT m.resource,
//!        SUM(errors) / SUM(requests)                        AS error_rate,
//!        SUM(input_tokens), SUM(output_tokens),
//!        AVG(latency_p95_ms)                                AS latency_p95_avg,
//!        AVG(replicas)                                      AS replicas_avg,
//!        c.daily_mean / (AVG(requests) * 1440) * 1000       AS cost_per_1k_inferences,
//!        c.daily_mean / (AVG(input_tokens + output_tokens) * 1440) * 1e6
//!                                                           AS cost_per_1m_tokens
//! FROM metric_minutes m JOIN cost c USING (resource)
//! WHERE minute IN window GROUP BY m.resource
//! ```
//!
//! Per-minute averages use present minutes, so a day's volume is the average minute times
//! 1,440, not the sum of the minutes that happened to arrive.

use burnrate_schemas::HourStats;
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

use super::utilization::avg_milli;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    pub error_rate: Option<f64>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_p95_avg: Option<f64>,
    pub replicas_avg: Option<f64>,
}

impl Activity {
    pub fn of(s: &HourStats) -> Activity {
        Activity {
            error_rate: (s.requests_milli > 0)
                .then(|| s.errors_milli as f64 / s.requests_milli as f64),
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            latency_p95_avg: avg_milli(s.latency_p95_milli, s.latency_minutes),
            replicas_avg: avg_milli(s.replicas_milli, s.replicas_minutes),
        }
    }
}

/// Cost per 1,000 inferences and per 1,000,000 tokens at a daily cost, from the volumes
/// of the present minutes; `None` where nothing was served.
pub fn unit_costs(daily_cost: Decimal, s: &HourStats) -> (Option<Decimal>, Option<Decimal>) {
    let per_day = |total: f64, minutes: i32| -> Option<Decimal> {
        if minutes <= 0 || total <= 0.0 {
            return None;
        }
        Decimal::from_f64(total / f64::from(minutes) * 1440.0).filter(|d| !d.is_zero())
    };
    let requests = per_day(s.requests_milli as f64 / 1000.0, s.request_minutes);
    let tokens = per_day((s.input_tokens + s.output_tokens) as f64, s.minutes);
    (
        requests.map(|r| (daily_cost * Decimal::from(1000) / r).round_dp(6)),
        tokens.map(|t| (daily_cost * Decimal::from(1_000_000) / t).round_dp(6)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_costs_scale_the_average_minute_to_a_day() {
        // 10 present minutes, 20 requests a minute → 28,800 a day; tokens 500 a minute
        // → 720,000 a day. At 144.00 a day: 5.00 per 1k requests, 200.00 per 1M tokens.
        let s = HourStats {
            minutes: 10,
            request_minutes: 10,
            requests_milli: 200_000,
            input_tokens: 4_000,
            output_tokens: 1_000,
            ..HourStats::default()
        };
        let (per_k, per_m) = unit_costs(Decimal::from(144), &s);
        assert_eq!(per_k, Some(Decimal::from(5)));
        assert_eq!(per_m, Some(Decimal::from(200)));
        assert_eq!(
            unit_costs(Decimal::from(144), &HourStats::default()),
            (None, None)
        );
        let a = Activity::of(&HourStats {
            requests_milli: 200_000,
            errors_milli: 2_000,
            ..s
        });
        assert_eq!(a.error_rate, Some(0.01));
    }
}
