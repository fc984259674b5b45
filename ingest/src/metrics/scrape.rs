//! From Prometheus scrapes to per-minute samples.
//!
//! A scrape is a snapshot: gauges say how things are now, counters say how much happened
//! since the process started. [`build`] turns one parsed exposition into a [`Scrape`] (per
//! resource: gauges and cumulative counters, through the exporter mappings in `vllm.rs`,
//! `tgi.rs`, `triton.rs` and `dcgm.rs`). [`Scrapes`] takes the successive scrapes of one
//! target and yields one `MetricSample` per resource and minute:
//!
//! - **Gauges**: the mean of the scrapes that fall in the minute.
//! - **Counters**: the increase over the scrape intervals that *end* in the minute. An
//!   interval longer than [`MAX_SCRAPE_GAP_SECS`] is not attributed to any minute (how much
//!   of it fell in this minute is unknown, and spreading it would invent data), and neither
//!   is the interval before a resource's first scrape. A counter that went down was reset
//!   (the process restarted): the increase is the new value, counted from zero, never a
//!   negative delta.
//! - A minute whose resource has no measured field produces no sample.

use std::collections::BTreeMap;

use burnrate_schemas::{MetricSample, RowRef};
use chrono::{DateTime, Utc};

use super::normalize::truncate_to_minute;
use super::prometheus::{Exposition, Sample};
use super::{dcgm, tgi, triton, vllm};

/// The longest scrape interval whose counter increase is still attributed to one minute.
pub const MAX_SCRAPE_GAP_SECS: i64 = 90;

/// What one scrape says about one resource. Counters are cumulative.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub model: Option<String>,
    pub accelerator: Option<String>,
    pub gpu_utilization_pct: Option<f64>,
    pub gpu_memory_utilization_pct: Option<f64>,
    pub cpu_utilization_pct: Option<f64>,
    pub memory_utilization_pct: Option<f64>,
    /// Requests in flight and queued (vLLM, TGI, Triton). `MetricSample` has no field for
    /// them yet, so they are read and kept here but not emitted.
    pub requests_running: Option<f64>,
    pub requests_waiting: Option<f64>,
    pub requests_total: Option<f64>,
    pub errors_total: Option<f64>,
    pub input_tokens_total: Option<f64>,
    pub output_tokens_total: Option<f64>,
    /// Memory parts the percentages are computed from (bytes or MiB; only ratios matter).
    pub gpu_memory_used: Option<f64>,
    pub gpu_memory_free: Option<f64>,
    pub gpu_memory_total: Option<f64>,
    pub memory_used: Option<f64>,
    pub memory_total: Option<f64>,
    /// The first line of the exposition that mentions the resource.
    pub line: u64,
}

/// Adds to a cumulative slot: series that differ only in a label we do not key on
/// (`finished_reason`, `err`, `version`, `engine`) are parts of one total.
pub(crate) fn add(slot: &mut Option<f64>, v: f64) {
    *slot = Some(slot.unwrap_or(0.0) + v);
}

/// Sets a device gauge once: several pods sharing one GPU each report the same device
/// value, and summing them would count the GPU several times.
pub(crate) fn first(slot: &mut Option<f64>, v: f64) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

fn percent(used: Option<f64>, total: Option<f64>) -> Option<f64> {
    match (used, total) {
        (Some(u), Some(t)) if t > 0.0 => Some(u / t * 100.0),
        _ => None,
    }
}

impl Observation {
    /// Derives the memory percentages from their parts, where not given directly.
    fn settle(&mut self) {
        let gpu_total =
            self.gpu_memory_total
                .or(match (self.gpu_memory_used, self.gpu_memory_free) {
                    (Some(u), Some(f)) => Some(u + f),
                    _ => None,
                });
        if self.gpu_memory_utilization_pct.is_none() {
            self.gpu_memory_utilization_pct = percent(self.gpu_memory_used, gpu_total);
        }
        if self.memory_utilization_pct.is_none() {
            self.memory_utilization_pct = percent(self.memory_used, self.memory_total);
        }
    }
}

/// One parsed scrape of one target.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// When it was taken (not truncated).
    pub at: DateTime<Utc>,
    /// The file the scrape came from, for `row_ref`.
    pub file: String,
    pub resources: BTreeMap<String, Observation>,
}

impl Scrape {
    pub fn new(at: DateTime<Utc>, file: &str) -> Scrape {
        Scrape {
            at,
            file: file.to_string(),
            resources: BTreeMap::new(),
        }
    }

    /// The observation of a resource, created at `line` when first seen.
    pub fn entry(&mut self, resource: &str, line: u64) -> &mut Observation {
        self.resources
            .entry(resource.to_string())
            .or_insert_with(|| Observation {
                line,
                ..Observation::default()
            })
    }
}

/// How an exporter used one sample line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A gauge that becomes a `MetricSample` field.
    Gauge,
    /// A cumulative counter: a per-minute count needs a second scrape.
    Counter,
    /// Read, but `MetricSample` has no field for it (requests running/waiting).
    NoField,
    /// A family no mapping uses (process, python, histogram buckets, ...).
    Ignored,
    /// A "no data" value (DCGM blank sentinels, NaN, infinities): dropped.
    Blank,
}

/// One sample line an exporter rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: u64,
    pub series: String,
    pub reason: String,
}

/// A scrape and how every sample line of the exposition was used.
#[derive(Debug, Clone)]
pub struct Built {
    pub scrape: Scrape,
    /// Per sample line, in file order: its line number and use.
    pub uses: Vec<(u64, Use)>,
    pub rejected: Vec<Rejected>,
}

/// Maps a parsed exposition through the exporter tables. `target` names series that carry
/// no resource label (TGI's, Triton's server-wide CPU); an `instance` label wins over it.
pub fn build(expo: &Exposition, target: &str, at: DateTime<Utc>, file: &str) -> Built {
    let mut scrape = Scrape::new(at, file);
    let mut uses = Vec::with_capacity(expo.samples.len());
    let mut rejected = Vec::new();
    for (line, sample) in &expo.samples {
        let own_target = sample.label("instance").unwrap_or(target);
        match map_sample(sample, *line, own_target, &mut scrape) {
            Ok(u) => uses.push((*line, u)),
            Err(reason) => rejected.push(Rejected {
                line: *line,
                series: sample.name.clone(),
                reason,
            }),
        }
    }
    for obs in scrape.resources.values_mut() {
        obs.settle();
    }
    Built {
        scrape,
        uses,
        rejected,
    }
}

fn map_sample(s: &Sample, line: u64, target: &str, scrape: &mut Scrape) -> Result<Use, String> {
    if s.name.starts_with("DCGM_FI_") {
        // Sentinels first: a blank is "no data", whatever family it is in.
        if dcgm::is_blank(s.value) {
            return Ok(Use::Blank);
        }
    }
    if !s.value.is_finite() {
        return Ok(Use::Blank);
    }
    if s.name.starts_with("vllm:") {
        vllm::apply(s, line, target, scrape)
    } else if s.name.starts_with("tgi_") {
        tgi::apply(s, line, target, scrape)
    } else if s.name.starts_with("nv_") {
        triton::apply(s, line, target, scrape)
    } else if s.name.starts_with("DCGM_FI_") {
        dcgm::apply(s, line, target, scrape)
    } else {
        Ok(Use::Ignored)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    n: u32,
}

impl Mean {
    fn push(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.sum += v;
            self.n += 1;
        }
    }
    fn get(self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / f64::from(self.n))
    }
}

/// One resource's minute being assembled.
#[derive(Debug, Clone)]
struct MinuteAcc {
    model: Option<String>,
    accelerator: Option<String>,
    gpu: Mean,
    gpu_memory: Mean,
    cpu: Mean,
    memory: Mean,
    requests: Option<f64>,
    errors: Option<f64>,
    input_tokens: Option<f64>,
    output_tokens: Option<f64>,
    row_ref: RowRef,
}

/// The counters of the previous scrape, by resource.
type Counters = [Option<f64>; 4];

fn counters(o: &Observation) -> Counters {
    [
        o.requests_total,
        o.errors_total,
        o.input_tokens_total,
        o.output_tokens_total,
    ]
}

/// The increase of a cumulative counter between two readings; a drop is a reset.
pub fn increase(before: f64, now: f64) -> f64 {
    if now >= before { now - before } else { now }
}

/// Turns the successive scrapes of one target into per-minute samples. See the module docs.
#[derive(Debug, Default)]
pub struct Scrapes {
    prev: Option<(DateTime<Utc>, BTreeMap<String, Counters>)>,
    minute: Option<DateTime<Utc>>,
    open: BTreeMap<String, MinuteAcc>,
}

impl Scrapes {
    pub fn new() -> Scrapes {
        Scrapes::default()
    }

    /// Adds the next scrape. Returns the samples of minutes this scrape closes. A scrape
    /// not later than the previous one is refused (the state is unchanged).
    pub fn push(&mut self, scrape: Scrape) -> Result<Vec<MetricSample>, String> {
        if let Some((prev_at, _)) = &self.prev
            && scrape.at <= *prev_at
        {
            return Err(format!(
                "scrape at {} is not after the previous one at {prev_at}",
                scrape.at
            ));
        }
        let minute = truncate_to_minute(scrape.at);
        let mut closed = Vec::new();
        if self.minute.is_some_and(|m| m != minute) {
            closed = self.flush();
        }
        self.minute = Some(minute);
        let gap_ok = self
            .prev
            .as_ref()
            .is_some_and(|(at, _)| (scrape.at - *at).num_seconds() <= MAX_SCRAPE_GAP_SECS);
        let mut now = BTreeMap::new();
        for (resource, obs) in &scrape.resources {
            let acc = self
                .open
                .entry(resource.clone())
                .or_insert_with(|| MinuteAcc {
                    model: None,
                    accelerator: None,
                    gpu: Mean::default(),
                    gpu_memory: Mean::default(),
                    cpu: Mean::default(),
                    memory: Mean::default(),
                    requests: None,
                    errors: None,
                    input_tokens: None,
                    output_tokens: None,
                    row_ref: RowRef {
                        file: scrape.file.clone(),
                        row: obs.line,
                    },
                });
            if acc.model.is_none() {
                acc.model.clone_from(&obs.model);
            }
            if acc.accelerator.is_none() {
                acc.accelerator.clone_from(&obs.accelerator);
            }
            acc.gpu.push(obs.gpu_utilization_pct);
            acc.gpu_memory.push(obs.gpu_memory_utilization_pct);
            acc.cpu.push(obs.cpu_utilization_pct);
            acc.memory.push(obs.memory_utilization_pct);
            let current = counters(obs);
            let before = self
                .prev
                .as_ref()
                .and_then(|(_, m)| m.get(resource))
                .filter(|_| gap_ok);
            if let Some(before) = before {
                let slots = [
                    &mut acc.requests,
                    &mut acc.errors,
                    &mut acc.input_tokens,
                    &mut acc.output_tokens,
                ];
                for ((slot, b), c) in slots.into_iter().zip(before).zip(current) {
                    if let (Some(b), Some(c)) = (b, c) {
                        add(slot, increase(*b, c));
                    }
                }
            }
            now.insert(resource.clone(), current);
        }
        self.prev = Some((scrape.at, now));
        Ok(closed)
    }

    /// Closes the open minute.
    pub fn finish(&mut self) -> Vec<MetricSample> {
        self.flush()
    }

    fn flush(&mut self) -> Vec<MetricSample> {
        let Some(minute) = self.minute.take() else {
            return Vec::new();
        };
        std::mem::take(&mut self.open)
            .into_iter()
            .filter_map(|(resource, acc)| {
                let mut s = MetricSample::empty(resource, minute, acc.row_ref);
                s.model = acc.model;
                s.accelerator = acc.accelerator;
                s.gpu_utilization_pct = acc.gpu.get();
                s.gpu_memory_utilization_pct = acc.gpu_memory.get();
                s.cpu_utilization_pct = acc.cpu.get();
                s.memory_utilization_pct = acc.memory.get();
                s.requests = acc.requests;
                s.errors = acc.errors;
                s.input_tokens = acc.input_tokens;
                s.output_tokens = acc.output_tokens;
                super::normalize::has_measurement(&s).then_some(s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn scrape(t: &str, requests: f64, gpu: f64) -> Scrape {
        let mut s = Scrape::new(at(t), "f");
        let o = s.entry("r", 1);
        o.requests_total = Some(requests);
        o.gpu_utilization_pct = Some(gpu);
        s
    }

    #[test]
    fn a_reset_counts_from_zero() {
        assert_eq!(increase(10.0, 25.0), 15.0);
        assert_eq!(increase(100.0, 4.0), 4.0);
        assert_eq!(increase(5.0, 5.0), 0.0);
    }

    #[test]
    fn two_scrapes_in_a_minute_add_their_intervals_and_average_gauges() {
        let mut sc = Scrapes::new();
        assert!(
            sc.push(scrape("2024-03-05T10:00:50Z", 100.0, 10.0))
                .expect("push")
                .is_empty()
        );
        assert!(
            sc.push(scrape("2024-03-05T10:01:20Z", 130.0, 20.0))
                .expect("push")
                .len()
                == 1
        );
        assert!(
            sc.push(scrape("2024-03-05T10:01:50Z", 145.0, 40.0))
                .expect("push")
                .is_empty()
        );
        let out = sc.finish();
        assert_eq!(out.len(), 1);
        // (130 - 100) + (145 - 130) = 45; gauges (20 + 40) / 2 = 30.
        assert_eq!(out[0].requests, Some(45.0));
        assert_eq!(out[0].gpu_utilization_pct, Some(30.0));
    }

    #[test]
    fn a_long_gap_gives_no_count_and_an_old_scrape_is_refused() {
        let mut sc = Scrapes::new();
        sc.push(scrape("2024-03-05T10:00:00Z", 100.0, 10.0))
            .expect("push");
        let first = sc
            .push(scrape("2024-03-05T10:05:00Z", 400.0, 20.0))
            .expect("push");
        assert_eq!(first[0].requests, None, "the first scrape has no interval");
        assert!(sc.push(scrape("2024-03-05T10:04:00Z", 1.0, 1.0)).is_err());
        let out = sc.finish();
        assert_eq!(
            out[0].requests, None,
            "a 5-minute interval is not one minute's count"
        );
        assert_eq!(out[0].gpu_utilization_pct, Some(20.0));
    }
}
