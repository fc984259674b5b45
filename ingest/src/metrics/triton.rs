//! NVIDIA Triton Inference Server (prefix `nv_`).
//!
//! Triton reports three kinds of thing, each its own resource:
//! - **models** (`model` label; versions add up): `nv_inference_request_success` and
//!   `nv_inference_request_failure` (counters). Requests are their sum, errors the
//!   failures. `nv_inference_pending_request_count` is the queue (no `MetricSample` field).
//! - **GPUs** (`gpu_uuid` label): `nv_gpu_utilization` is a ratio in [0, 1] and becomes a
//!   percent; memory percent is `nv_gpu_memory_used_bytes / nv_gpu_memory_total_bytes`.
//! - **the server** (no label; the scrape target): `nv_cpu_utilization` (ratio → percent)
//!   and `nv_cpu_memory_used_bytes / nv_cpu_memory_total_bytes`.
//!
//! A ratio outside [0, 1] is rejected: Triton documents these as ratios, so 1.5 is a broken
//! reading, not 150 %.

use super::prometheus::Sample;
use super::scrape::{Scrape, Use, add, first};

fn ratio(s: &Sample) -> Result<f64, String> {
    if (0.0..=1.0).contains(&s.value) {
        Ok(s.value * 100.0)
    } else {
        Err(format!("{} is a ratio in [0, 1], got {}", s.name, s.value))
    }
}

pub(crate) fn apply(
    s: &Sample,
    line: u64,
    target: &str,
    scrape: &mut Scrape,
) -> Result<Use, String> {
    if s.value < 0.0 && s.name != "nv_gpu_utilization" && s.name != "nv_cpu_utilization" {
        return Err(format!("{} cannot be negative: {}", s.name, s.value));
    }
    let gpu = s.label("gpu_uuid");
    match s.name.as_str() {
        "nv_inference_request_success" | "nv_inference_request_failure" => {
            let model = s.label("model");
            let obs = scrape.entry(model.unwrap_or(target), line);
            if obs.model.is_none() {
                obs.model = model.map(str::to_string);
            }
            add(&mut obs.requests_total, s.value);
            if s.name == "nv_inference_request_failure" {
                add(&mut obs.errors_total, s.value);
            }
            Ok(Use::Counter)
        }
        "nv_inference_pending_request_count" => {
            let model = s.label("model");
            let obs = scrape.entry(model.unwrap_or(target), line);
            if obs.model.is_none() {
                obs.model = model.map(str::to_string);
            }
            add(&mut obs.requests_waiting, s.value);
            Ok(Use::NoField)
        }
        "nv_gpu_utilization" => {
            let pct = ratio(s)?;
            first(
                &mut scrape
                    .entry(gpu.unwrap_or(target), line)
                    .gpu_utilization_pct,
                pct,
            );
            Ok(Use::Gauge)
        }
        "nv_gpu_memory_used_bytes" => {
            first(
                &mut scrape.entry(gpu.unwrap_or(target), line).gpu_memory_used,
                s.value,
            );
            Ok(Use::Gauge)
        }
        "nv_gpu_memory_total_bytes" => {
            first(
                &mut scrape.entry(gpu.unwrap_or(target), line).gpu_memory_total,
                s.value,
            );
            Ok(Use::Gauge)
        }
        "nv_cpu_utilization" => {
            let pct = ratio(s)?;
            first(&mut scrape.entry(target, line).cpu_utilization_pct, pct);
            Ok(Use::Gauge)
        }
        "nv_cpu_memory_used_bytes" => {
            first(&mut scrape.entry(target, line).memory_used, s.value);
            Ok(Use::Gauge)
        }
        "nv_cpu_memory_total_bytes" => {
            first(&mut scrape.entry(target, line).memory_total, s.value);
            Ok(Use::Gauge)
        }
        _ => Ok(Use::Ignored),
    }
}
