//! Per-minute inference metrics for one resource.
//!
//! Every measurement is an `Option`: a minute with no sample is absent from the stream, and
//! a value that was not measured (a GPU metric on a CPU endpoint, a latency with no
//! requests) is `None`, never 0. Metrics are measurements, not money, so they are `f64`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cost::{Provider, RowRef};

/// One resource's measurements over the minute that starts at `minute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    /// The provider resource id the sample belongs to; joined with `CostRecord::resource_id`
    /// (or its last path segment, see `resource_matches`).
    pub resource_id: String,
    /// Start of the minute, UTC, truncated to the minute.
    pub minute: DateTime<Utc>,
    pub provider: Option<Provider>,
    pub model: Option<String>,
    /// Accelerator name (`nvidia-l4`, `none`, ...); `none` means GPU metrics do not apply.
    pub accelerator: Option<String>,
    pub replicas: Option<f64>,
    pub requests: Option<f64>,
    pub errors: Option<f64>,
    pub input_tokens: Option<f64>,
    pub output_tokens: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub gpu_utilization_pct: Option<f64>,
    pub gpu_memory_utilization_pct: Option<f64>,
    pub cpu_utilization_pct: Option<f64>,
    pub memory_utilization_pct: Option<f64>,
    pub row_ref: RowRef,
}

impl MetricSample {
    /// A sample with every measurement absent.
    pub fn empty(resource_id: String, minute: DateTime<Utc>, row_ref: RowRef) -> Self {
        MetricSample {
            resource_id,
            minute,
            provider: None,
            model: None,
            accelerator: None,
            replicas: None,
            requests: None,
            errors: None,
            input_tokens: None,
            output_tokens: None,
            latency_p50_ms: None,
            latency_p95_ms: None,
            gpu_utilization_pct: None,
            gpu_memory_utilization_pct: None,
            cpu_utilization_pct: None,
            memory_utilization_pct: None,
            row_ref,
        }
    }

    /// What makes the sample unusable, as (field, why), every problem listed; empty when
    /// it is fine. Every source's samples are held to this (file readers reject the row,
    /// the push endpoint answers 422), so nothing is accepted that the signals would then
    /// have to drop: a measurement beyond [`MAX_MEASURE`] accepted and ignored would still
    /// claim its minute, and the corrected sample sent next would be refused as a
    /// duplicate.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let labels = [
            ("resource_id", Some(self.resource_id.as_str())),
            ("model", self.model.as_deref()),
            ("accelerator", self.accelerator.as_deref()),
        ];
        for (field, text) in labels {
            if let Some(why) = text.and_then(label_problem) {
                out.push((field, format!("{field} {why}")));
            }
        }
        let measures = MEASUREMENT_FIELDS.into_iter().zip(self.measurements());
        for (field, v) in measures {
            let utilization = field.ends_with("_utilization_pct");
            match v {
                Some(v) if !v.is_finite() => {
                    out.push((field, format!("{field} must be a finite number, got {v}")));
                }
                Some(v) if v < 0.0 => {
                    out.push((field, format!("{field} must be at least 0, got {v}")));
                }
                Some(v) if utilization && v > MAX_UTILIZATION_PCT => out.push((
                    field,
                    format!(
                        "{field} must be a percentage from 0 to {MAX_UTILIZATION_PCT} (100 per \
                         core or device, summed), got {v}"
                    ),
                )),
                Some(v) if v > MAX_MEASURE => out.push((
                    field,
                    format!("{field} must be at most {MAX_MEASURE:e} per minute, got {v:e}"),
                )),
                _ => {}
            }
        }
        out
    }

    /// The measurements, in the order of [`MEASUREMENT_FIELDS`].
    pub fn measurements(&self) -> [Option<f64>; 11] {
        [
            self.replicas,
            self.requests,
            self.errors,
            self.input_tokens,
            self.output_tokens,
            self.latency_p50_ms,
            self.latency_p95_ms,
            self.gpu_utilization_pct,
            self.gpu_memory_utilization_pct,
            self.cpu_utilization_pct,
            self.memory_utilization_pct,
        ]
    }

    /// True when the resource has no accelerator, so GPU findings never apply to it.
    pub fn is_cpu_only(&self) -> bool {
        self.accelerator
            .as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case("none") || a.eq_ignore_ascii_case("cpu"))
    }
}

/// Whether a metric's resource id names the same resource as a billing resource id.
///
/// Metrics often carry a short name (`ep-gpu-busy`) where the bill has an ARN or Azure path
/// (`arn:aws:sagemaker:...:endpoint/ep-gpu-busy`); the match is exact, or on the last `/`
/// segment of the billing id, case-insensitively (AWS lowercases endpoint names in ARNs).
pub fn resource_matches(metric_id: &str, billing_id: &str) -> bool {
    if metric_id.eq_ignore_ascii_case(billing_id) {
        return true;
    }
    let tail = billing_id.rsplit('/').next().unwrap_or(billing_id);
    tail.eq_ignore_ascii_case(metric_id)
}

/// Buckets of the requests-per-minute histogram in [`HourStats`]: bucket 0 holds minutes
/// with no requests; bucket `k ≥ 1` holds `[2^((k-1)/2), 2^(k/2))` (half-octaves), and the
/// last bucket everything above. Half-octaves keep a percentile within a factor √2, which
/// is plenty to tell a burst (10×) from noise, and keep the summary small.
pub const THROUGHPUT_BUCKETS: usize = 28;

/// The histogram bucket of one minute's request count.
pub fn throughput_bucket(requests: f64) -> usize {
    if requests.is_nan() || requests <= 0.0 {
        return 0;
    }
    let k = (2.0 * requests.log2()).floor() + 1.0;
    if k < 1.0 {
        1
    } else {
        (k as usize).min(THROUGHPUT_BUCKETS - 1)
    }
}

/// The upper bound of a throughput bucket (requests per minute).
pub fn throughput_bucket_upper(k: usize) -> f64 {
    if k == 0 {
        0.0
    } else {
        2f64.powf(k as f64 / 2.0)
    }
}

/// What the signals need of one resource's minutes in one UTC hour, as sums and counts
/// that add and subtract exactly: measurements in thousandths (`*_milli`), counts of the
/// minutes each one was measured in (`*_minutes`), so an average uses present minutes
/// only and a retraction takes back exactly what was added.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct HourStats {
    /// Minutes with a sample.
    pub minutes: i32,
    /// Minutes whose accelerator was `none`: GPU findings never apply.
    pub cpu_only_minutes: i32,
    /// Minutes with a request count, and those with at least one request.
    pub request_minutes: i32,
    pub active_minutes: i32,
    pub requests_milli: i64,
    pub errors_milli: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub gpu_minutes: i32,
    pub gpu_milli: i64,
    /// GPU utilization over active minutes only (what serving needs).
    pub gpu_active_minutes: i32,
    pub gpu_active_milli: i64,
    pub gpu_memory_minutes: i32,
    pub gpu_memory_milli: i64,
    pub cpu_minutes: i32,
    pub cpu_milli: i64,
    pub memory_minutes: i32,
    pub memory_milli: i64,
    pub latency_minutes: i32,
    pub latency_p95_milli: i64,
    pub replicas_minutes: i32,
    pub replicas_milli: i64,
    /// Requests-per-minute histogram (see [`throughput_bucket`]).
    pub throughput: [i32; THROUGHPUT_BUCKETS],
}

/// The largest measurement a minute may carry (a billion requests or tokens a minute);
/// anything larger is a broken exporter. Readers refuse such samples
/// ([`MetricSample::problems`]); [`HourStats::of`] also treats them as not measured, so
/// that sums over a month of minutes stay far inside `i64` whatever reaches it.
pub const MAX_MEASURE: f64 = 1e9;

/// The names of a sample's measurements, as the metrics CSV and the push endpoint spell
/// them, in the order of [`MetricSample::measurements`].
pub const MEASUREMENT_FIELDS: [&str; 11] = [
    "replicas",
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "latency_p50_ms",
    "latency_p95_ms",
    "gpu_utilization_pct",
    "gpu_memory_utilization_pct",
    "cpu_utilization_pct",
    "memory_utilization_pct",
];

/// The largest utilization a sample may carry, in percent: 100 per core or device, summed
/// over up to 256 of them. SageMaker reports `CPUUtilization` and `GPUUtilization` as the
/// sum over an instance's cores and GPUs (0–400% on four vCPUs; an ml.p5.48xlarge has 192
/// vCPUs), so one limit for every source (files, CloudWatch, the push endpoint) has to
/// allow sums; past 256 fully busy units it is a broken exporter.
pub const MAX_UTILIZATION_PCT: f64 = 25_600.0;

/// The longest resource id, model or accelerator name a sample may carry, in bytes: an
/// AWS ARN is at most 2,048 characters and an Azure resource id far less. A longer one is
/// no resource's name, and would be stored, keyed and sent in every webhook as it is.
pub const MAX_LABEL_BYTES: usize = 2048;

/// Why a resource id, model or accelerator name is refused, if it is.
fn label_problem(text: &str) -> Option<String> {
    if text.len() > MAX_LABEL_BYTES {
        return Some(format!(
            "is {} bytes long; at most {MAX_LABEL_BYTES} are taken",
            text.len()
        ));
    }
    text.chars().find(|c| c.is_control()).map(|c| {
        format!(
            "contains the control character U+{:04X}; names are printable text",
            u32::from(c)
        )
    })
}

fn milli(x: f64) -> i64 {
    (x * 1000.0).round() as i64
}

impl HourStats {
    /// One minute's contribution. Non-finite values, and values beyond [`MAX_MEASURE`],
    /// count as not measured.
    pub fn of(s: &MetricSample) -> HourStats {
        let ok = |v: Option<f64>| v.filter(|x| x.is_finite() && x.abs() <= MAX_MEASURE);
        let mut h = HourStats {
            minutes: 1,
            cpu_only_minutes: i32::from(s.is_cpu_only()),
            ..HourStats::default()
        };
        if let Some(r) = ok(s.requests) {
            h.request_minutes = 1;
            h.active_minutes = i32::from(r > 0.0);
            h.requests_milli = milli(r);
            h.throughput[throughput_bucket(r)] = 1;
        }
        h.errors_milli = ok(s.errors).map(milli).unwrap_or(0);
        h.input_tokens = ok(s.input_tokens).map(|t| t.round() as i64).unwrap_or(0);
        h.output_tokens = ok(s.output_tokens).map(|t| t.round() as i64).unwrap_or(0);
        let pairs: [(Option<f64>, &mut i32, &mut i64); 6] = [
            (
                ok(s.gpu_utilization_pct),
                &mut h.gpu_minutes,
                &mut h.gpu_milli,
            ),
            (
                ok(s.gpu_memory_utilization_pct),
                &mut h.gpu_memory_minutes,
                &mut h.gpu_memory_milli,
            ),
            (
                ok(s.cpu_utilization_pct),
                &mut h.cpu_minutes,
                &mut h.cpu_milli,
            ),
            (
                ok(s.memory_utilization_pct),
                &mut h.memory_minutes,
                &mut h.memory_milli,
            ),
            (
                ok(s.latency_p95_ms),
                &mut h.latency_minutes,
                &mut h.latency_p95_milli,
            ),
            (
                ok(s.replicas),
                &mut h.replicas_minutes,
                &mut h.replicas_milli,
            ),
        ];
        for (v, n, sum) in pairs {
            if let Some(v) = v {
                *n = 1;
                *sum = milli(v);
            }
        }
        if h.active_minutes == 1 && h.gpu_minutes == 1 {
            h.gpu_active_minutes = 1;
            h.gpu_active_milli = h.gpu_milli;
        }
        h
    }

    /// Adds `other` times `sign` (1 or -1).
    pub fn add(&mut self, other: &HourStats, sign: i32) {
        let s64 = i64::from(sign);
        macro_rules! each {
            ($($i:ident),*; $($l:ident),*) => {
                $(self.$i += other.$i * sign;)*
                $(self.$l += other.$l * s64;)*
            };
        }
        each!(minutes, cpu_only_minutes, request_minutes, active_minutes, gpu_minutes,
              gpu_active_minutes, gpu_memory_minutes, cpu_minutes, memory_minutes,
              latency_minutes, replicas_minutes;
              requests_milli, errors_milli, input_tokens, output_tokens, gpu_milli,
              gpu_active_milli, gpu_memory_milli, cpu_milli, memory_milli,
              latency_p95_milli, replicas_milli);
        for (a, b) in self.throughput.iter_mut().zip(other.throughput.iter()) {
            *a += b * sign;
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == HourStats::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_buckets_are_half_octaves() {
        // Worked by hand: k = floor(2·log2 r) + 1.
        assert_eq!(throughput_bucket(0.0), 0);
        assert_eq!(throughput_bucket(-1.0), 0);
        assert_eq!(throughput_bucket(f64::NAN), 0);
        assert_eq!(throughput_bucket(0.3), 1);
        assert_eq!(throughput_bucket(1.0), 1);
        assert_eq!(throughput_bucket(1.5), 2); // 2·0.585 = 1.17 → 1 + 1
        assert_eq!(throughput_bucket(2.0), 3);
        assert_eq!(throughput_bucket(100.0), 14); // 2·6.64 = 13.29 → 13 + 1
        assert_eq!(throughput_bucket(1e12), THROUGHPUT_BUCKETS - 1);
        assert!((throughput_bucket_upper(3) - 2f64.powf(1.5)).abs() < 1e-12);
        assert!(100.0 < throughput_bucket_upper(14) && throughput_bucket_upper(13) <= 100.0);
    }

    #[test]
    fn a_minute_adds_and_retracts_exactly() {
        let mut s = MetricSample::empty(
            "ep".into(),
            DateTime::<Utc>::MIN_UTC,
            RowRef {
                file: "t".into(),
                row: 1,
            },
        );
        s.requests = Some(30.0);
        s.gpu_utilization_pct = Some(65.0);
        s.cpu_utilization_pct = Some(0.1);
        let one = HourStats::of(&s);
        assert_eq!(
            (one.minutes, one.active_minutes, one.gpu_active_milli),
            (1, 1, 65_000)
        );
        assert_eq!((one.cpu_milli, one.memory_minutes), (100, 0));
        let mut acc = HourStats::default();
        acc.add(&one, 1);
        acc.add(&one, 1);
        assert_eq!(acc.requests_milli, 60_000);
        acc.add(&one, -1);
        acc.add(&one, -1);
        assert!(acc.is_zero());
        // An absurd count is not measured (a month of them could not be summed).
        s.requests = Some(1e16);
        assert_eq!(HourStats::of(&s).request_minutes, 0);
        s.requests = Some(30.0);
        // A CPU endpoint's empty GPU cell is not measured, not zero.
        s.accelerator = Some("none".into());
        s.gpu_utilization_pct = None;
        let cpu = HourStats::of(&s);
        assert_eq!((cpu.cpu_only_minutes, cpu.gpu_minutes), (1, 0));
    }
}
