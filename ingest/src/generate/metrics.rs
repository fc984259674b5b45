//! Per-minute inference metrics for every endpoint, in the per-minute CSV the metrics
//! parser reads (the columns of case B17 plus `provider`, `errors`, `latency_p50_ms`,
//! `gpu_memory_utilization_pct`, `memory_utilization_pct`):
//! `metrics/<provider>/inference-metrics-<YYYY-MM-DD>.csv`, rows by minute, then endpoint.
//!
//! Each endpoint's values come from its own generator and follow its planted pattern
//! (`catalog::Pattern`). A missing minute has **no row** (the gaps pattern loses whole
//! outages of 20 to 120 minutes); a latency with no requests is an empty cell; the
//! CPU-only endpoint has accelerator `none` and empty GPU cells, never 0.

use std::io::Write;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Pattern, Resource};
use super::{GenerateError, Run, Written, io_err, midnight};

pub const METRIC_COLUMNS: &[&str] = &[
    "timestamp",
    "endpoint_id",
    "provider",
    "model",
    "accelerator",
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

/// What an endpoint carries from one minute to the next.
#[derive(Debug, Clone, Default)]
struct State {
    /// Minutes left in the current outage (gaps) or burst (bursty).
    left: u32,
}

/// One minute of one endpoint, or `None` for a missing minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Minute {
    pub requests: u32,
    pub errors: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: Option<(f64, f64)>,
    pub gpu: Option<(f64, f64)>,
    pub cpu: f64,
    pub memory: f64,
}

/// The daytime curve of a healthy service: 0.6 at night, 1.0 at 14:00 UTC.
fn diurnal(hour: u32) -> f64 {
    let d = (f64::from(hour) - 14.0).abs().min(12.0);
    0.6 + 0.4 * (1.0 - d / 12.0)
}

fn minute(
    pattern: Pattern,
    rng: &mut ChaCha8Rng,
    state: &mut State,
    day: NaiveDate,
    hour: u32,
) -> Option<Minute> {
    let mut noise = |lo: f64, hi: f64| rng.random_range(lo..hi);
    let (requests, gpu): (f64, Option<f64>) = match pattern {
        Pattern::Healthy | Pattern::Gaps => {
            if pattern == Pattern::Gaps {
                if state.left > 0 {
                    state.left -= 1;
                    return None;
                }
                if noise(0.0, 1.0) < 0.004 {
                    state.left = rng.random_range(20..=120);
                    return None;
                }
            }
            let f = diurnal(hour);
            (
                25.0 * f * noise(0.9, 1.1),
                Some(45.0 + 30.0 * f + noise(-3.0, 3.0)),
            )
        }
        Pattern::Idle => {
            let r = if noise(0.0, 1.0) < 0.002 { 1.0 } else { 0.0 };
            (r, Some(noise(0.0, 2.0)))
        }
        Pattern::LowGpu => (noise(6.0, 10.0), Some(noise(5.0, 15.0))),
        Pattern::OffHours => {
            let weekday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            if weekday && (9..18).contains(&hour) {
                (noise(25.0, 35.0), Some(noise(60.0, 75.0)))
            } else {
                (0.0, Some(noise(0.0, 1.5)))
            }
        }
        Pattern::Bursty => {
            if state.left == 0 && noise(0.0, 1.0) < 0.01 {
                state.left = rng.random_range(5..=20);
            }
            if state.left > 0 {
                state.left -= 1;
                (
                    rng.random_range(150.0..250.0),
                    Some(rng.random_range(85.0..95.0)),
                )
            } else {
                (
                    rng.random_range(2.0..5.0),
                    Some(rng.random_range(8.0..15.0)),
                )
            }
        }
        Pattern::SteadyOnDemand => (noise(45.0, 55.0), Some(noise(68.0, 74.0))),
        // A busy CPU endpoint follows the day like a healthy one (no steady demand to commit to).
        Pattern::CpuOnly => (30.0 * diurnal(hour) * noise(0.9, 1.1), None),
    };
    let requests = requests.round() as u32;
    let (latency_ms, errors) = if requests > 0 {
        let p50 = if gpu.is_some() {
            rng.random_range(150.0..300.0)
        } else {
            rng.random_range(20.0..40.0)
        };
        let p95 = p50 * rng.random_range(2.0..3.0);
        let errors = if rng.random_range(0.0..1.0) < 0.02 {
            rng.random_range(1..=3).min(requests)
        } else {
            0
        };
        (Some((p50, p95)), errors)
    } else {
        (None, 0)
    };
    let busy = gpu.unwrap_or_else(|| 25.0 + f64::from(requests));
    Some(Minute {
        requests,
        errors,
        input_tokens: u64::from(requests) * rng.random_range(400..800),
        output_tokens: u64::from(requests) * rng.random_range(80..200),
        latency_ms,
        gpu: gpu.map(|g| (g, rng.random_range(40.0..70.0))),
        cpu: (8.0 + busy / 2.5 + rng.random_range(0.0..4.0)).min(100.0),
        memory: rng.random_range(40.0..60.0),
    })
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    let endpoints: Vec<&Resource> = run
        .catalog
        .resources
        .iter()
        .filter(|r| r.pattern.is_some())
        .collect();
    let mut rngs: Vec<ChaCha8Rng> = endpoints
        .iter()
        .map(|r| run.rng(&format!("metrics/{}", r.metrics_id())))
        .collect();
    let mut states = vec![State::default(); endpoints.len()];
    let ids: Vec<String> = endpoints.iter().map(|r| r.metrics_id()).collect();
    for provider in ["aws", "azure", "gcp"] {
        let mine: Vec<usize> = (0..endpoints.len())
            .filter(|i| endpoints[*i].provider == provider)
            .collect();
        if mine.is_empty() {
            continue;
        }
        for day in run.cfg.day_list() {
            let rel = format!("metrics/{provider}/inference-metrics-{day}.csv");
            let (path, file) = run.create(&rel)?;
            let mut w = csv::Writer::from_writer(file);
            w.write_record(METRIC_COLUMNS)
                .map_err(|e| io_err(&path)(e.into()))?;
            let mut rows = 0u64;
            for m in 0..1440u32 {
                let at = midnight(day) + TimeDelta::minutes(i64::from(m));
                let stamp = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                for &i in &mine {
                    let r = endpoints[i];
                    let Some(pattern) = r.pattern else { continue };
                    let Some(x) = minute(pattern, &mut rngs[i], &mut states[i], day, m / 60) else {
                        continue;
                    };
                    let (p50, p95) = x
                        .latency_ms
                        .map(|(a, b)| (f1(a), f1(b)))
                        .unwrap_or_default();
                    let (gpu, gpu_mem) = x.gpu.map(|(a, b)| (f1(a), f1(b))).unwrap_or_default();
                    w.write_record([
                        stamp.as_str(),
                        ids[i].as_str(),
                        provider,
                        r.tpl.model,
                        r.tpl.accelerator,
                        &r.tpl.replicas.to_string(),
                        &x.requests.to_string(),
                        &x.errors.to_string(),
                        &x.input_tokens.to_string(),
                        &x.output_tokens.to_string(),
                        &p50,
                        &p95,
                        &gpu,
                        &gpu_mem,
                        &f1(x.cpu),
                        &f1(x.memory),
                    ])
                    .map_err(|e| io_err(&path)(e.into()))?;
                    rows += 1;
                    *run.truth.minutes.entry(ids[i].clone()).or_default() += 1;
                }
            }
            w.into_inner()
                .map_err(|e| io_err(&path)(e.into_error()))?
                .flush()
                .map_err(io_err(&path))?;
            run.wrote(Written {
                path: rel,
                provider,
                format: "inference metrics (CSV)",
                view: "metrics",
                rows,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(pattern: Pattern, date: NaiveDate) -> Vec<Option<Minute>> {
        let mut rng = super::super::rng(1, "t");
        let mut state = State::default();
        (0..1440)
            .map(|m| minute(pattern, &mut rng, &mut state, date, m / 60))
            .collect()
    }

    fn weekday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 5).expect("a Tuesday")
    }

    #[test]
    fn idle_is_near_zero_and_cpu_only_has_no_gpu() {
        let idle = day(Pattern::Idle, weekday());
        let requests: u32 = idle.iter().flatten().map(|m| m.requests).sum();
        assert!(requests < 15, "{requests}");
        let cpu = day(Pattern::CpuOnly, weekday());
        assert!(cpu.iter().flatten().all(|m| m.gpu.is_none()));
        assert_eq!(cpu.iter().flatten().count(), 1440);
    }

    #[test]
    fn off_hours_is_busy_only_in_office_hours_on_weekdays() {
        let tue = day(Pattern::OffHours, weekday());
        let busy = |m: &Option<Minute>| m.as_ref().is_some_and(|m| m.requests > 0);
        assert!(tue[10 * 60..17 * 60].iter().all(busy));
        assert!(!tue[..9 * 60].iter().any(busy));
        let sat = day(
            Pattern::OffHours,
            NaiveDate::from_ymd_opt(2024, 3, 9).expect("d"),
        );
        assert!(!sat.iter().any(busy));
    }

    #[test]
    fn gaps_lose_whole_minutes_and_bursts_are_peaky() {
        let gaps = day(Pattern::Gaps, weekday());
        let missing = gaps.iter().filter(|m| m.is_none()).count();
        assert!(missing > 0 && missing < 1440, "{missing}");
        let bursty = day(Pattern::Bursty, weekday());
        let r: Vec<f64> = bursty
            .iter()
            .flatten()
            .map(|m| f64::from(m.requests))
            .collect();
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let peak = r.iter().cloned().fold(0.0, f64::max);
        assert!(peak > 5.0 * mean, "peak {peak} mean {mean}");
    }
}
