//! The benchmark's endpoints: their costs and a per-minute value generator that is a pure
//! function of (endpoint, minute), so the hour buckets the prefill sums, the minutes the
//! ticks push and the samples the from-scratch baseline reads all describe the same data.
//!
//! One endpoint in twenty is each of idle, bursty, low GPU, off-hours and steady (the
//! patterns the rules look for); the other fifteen are healthy (diurnal traffic, busy
//! GPUs, one replica), so most endpoints have no finding, as in a real fleet.

use std::f64::consts::TAU;

use burnrate_dataflow::Amounts;
use burnrate_dataflow::signals::{CostDay, hour_of_week, match_key};
use burnrate_schemas::{
    ChargeCategory, CostCategory, DailyCostKey, DeliveryScope, HourStats, MetricSample,
    PricingModel, Provider, RowRef,
};
use chrono::{DateTime, NaiveDate, TimeDelta};
use rust_decimal::Decimal;

/// A whole hour of minutes in a counted-minute mask.
pub const FULL_HOUR: u64 = (1 << 60) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pattern {
    Idle,
    Bursty,
    LowGpu,
    OffHours,
    Steady,
    Healthy,
}

pub fn pattern(ep: usize) -> Pattern {
    match ep % 20 {
        0 => Pattern::Idle,
        1 => Pattern::Bursty,
        2 => Pattern::LowGpu,
        3 => Pattern::OffHours,
        4 => Pattern::Steady,
        _ => Pattern::Healthy,
    }
}

/// The id the metrics carry.
pub fn metric_id(ep: usize) -> String {
    format!("ep-{ep:05}")
}

/// The id the bill carries (an ARN whose last segment is the metric id).
pub fn billing_id(ep: usize) -> String {
    format!(
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/{}",
        metric_id(ep)
    )
}

/// The key the job groups an endpoint's buckets by.
pub fn key(ep: usize) -> String {
    match_key(&metric_id(ep))
}

/// A uniform value in `[0, 1)` for (endpoint, minute, stream): splitmix64 of the three.
fn unit(ep: usize, minute: i64, stream: u64) -> f64 {
    let mut z = (ep as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((minute as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(stream.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// A sample of endpoint `ep` with every measurement still absent.
pub fn template(ep: usize) -> MetricSample {
    MetricSample::empty(
        metric_id(ep),
        DateTime::UNIX_EPOCH,
        RowRef {
            file: "bench".into(),
            row: ep as u64,
        },
    )
}

/// Sets `s` (a [`template`] of `ep`) to the endpoint's values at `minute` (minutes since
/// the epoch).
pub fn fill(s: &mut MetricSample, ep: usize, minute: i64) {
    let (u, v) = (unit(ep, minute, 1), unit(ep, minute, 2));
    let hour = minute.div_euclid(60);
    // Between 20 and 60 requests a minute over the UTC day: never flat enough for a
    // commitment, never idle, peaks far below 4× the mean.
    let diurnal = 40.0 + 20.0 * (hour.rem_euclid(24) as f64 / 24.0 * TAU).sin() + 4.0 * v;
    let (requests, gpu, replicas) = match pattern(ep) {
        Pattern::Idle => (0.0, 1.0 + 2.0 * u, 1.0),
        // 3% of minutes at 300 requests over a base of ~10: p99 is 300, the mean ~19.
        Pattern::Bursty => (
            if u < 0.03 { 300.0 } else { 8.0 + 4.0 * v },
            50.0 + 10.0 * v,
            4.0,
        ),
        Pattern::LowGpu => (diurnal, 12.0 + 5.0 * u, 1.0),
        Pattern::OffHours => {
            let how = hour_of_week(hour);
            // Weekdays 08:00–20:00 UTC only: 108 idle hours a week.
            if how / 24 < 5 && (8..20).contains(&(how % 24)) {
                (30.0 + 10.0 * v, 60.0 + 10.0 * u, 1.0)
            } else {
                (0.0, 0.0, 1.0)
            }
        }
        Pattern::Steady => (40.0 + 2.0 * v, 60.0 + 10.0 * u, 1.0),
        Pattern::Healthy => (diurnal, 50.0 + 20.0 * u, 1.0),
    };
    s.minute = DateTime::from_timestamp(minute * 60, 0).unwrap_or(DateTime::UNIX_EPOCH);
    s.replicas = Some(replicas);
    s.requests = Some(requests);
    s.errors = Some(if u < 0.01 { 1.0 } else { 0.0 });
    s.input_tokens = Some((requests * 500.0).round());
    s.output_tokens = Some((requests * 200.0).round());
    s.latency_p95_ms = (requests > 0.0).then_some(120.0 + 60.0 * u);
    s.gpu_utilization_pct = Some(gpu);
    s.gpu_memory_utilization_pct = Some(70.0 + 5.0 * v);
    s.cpu_utilization_pct = Some(20.0 + 10.0 * u);
    s.memory_utilization_pct = Some(50.0 + 5.0 * v);
}

/// The bucket of endpoint `ep` for a whole UTC hour: its 60 minutes summed, exactly as
/// the window sums pushed minutes.
pub fn hour_bucket(s: &mut MetricSample, ep: usize, hour: i64) -> HourStats {
    let mut stats = HourStats::default();
    for m in 0..60 {
        fill(s, ep, hour * 60 + m);
        stats.add(&HourStats::of(s), 1);
    }
    stats
}

/// Every sample of endpoints `0..endpoints` in minutes `[start, end)`.
pub fn samples(endpoints: usize, start: i64, end: i64) -> Vec<MetricSample> {
    let mut out = Vec::with_capacity(endpoints * (end - start).max(0) as usize);
    for ep in 0..endpoints {
        let mut s = template(ep);
        for minute in start..end {
            fill(&mut s, ep, minute);
            out.push(s.clone());
        }
    }
    out
}

pub fn scope() -> DeliveryScope {
    DeliveryScope {
        provider: Provider::Aws,
        billing_account_id: "111122223333".into(),
        billing_period_start: "2024-03-01T00:00:00Z"
            .parse()
            .unwrap_or(DateTime::UNIX_EPOCH),
        view: String::new(),
        additive_source: None,
    }
}

/// Seven days of steady on-demand usage cost per endpoint, the last on `last_day`
/// (between 24 and 33 dollars a day, the same every day).
pub fn costs(endpoints: usize, last_day: NaiveDate) -> Vec<(DailyCostKey, Amounts)> {
    let mut out = Vec::with_capacity(endpoints * 7);
    for ep in 0..endpoints {
        let cost = Decimal::new(2400 + (ep % 10) as i64 * 100, 2);
        let amounts = Amounts::of(cost, cost, None).expect("a small cost fits");
        for d in 0..7i64 {
            out.push((
                DailyCostKey {
                    day: last_day - TimeDelta::days(6 - d),
                    provider: Provider::Aws,
                    service_code: "AmazonSageMaker".into(),
                    service_name: "Amazon SageMaker".into(),
                    account: "111122223333".into(),
                    resource_id: Some(billing_id(ep)),
                    charge_category: ChargeCategory::Usage,
                    cost_category: CostCategory::Inference,
                    pricing_model: Some(PricingModel::OnDemand),
                    is_ai: true,
                    currency: "USD".into(),
                },
                amounts,
            ));
        }
    }
    out
}

/// The cost days the from-scratch recomputation reads, for endpoints `0..endpoints`.
pub fn cost_days(endpoints: usize, last_day: NaiveDate) -> Vec<(CostDay, Decimal)> {
    costs(endpoints, last_day)
        .iter()
        .filter_map(|(k, a)| CostDay::of(k).map(|d| (d, a.effective_decimal())))
        .collect()
}
