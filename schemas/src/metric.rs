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
