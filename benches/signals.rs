//! Issue 5's performance target: one new minute of metrics for every endpoint → updated
//! signals and recommendations, against recomputing the 30-day window from scratch,
//! measured in the same run.
//!
//! For each fleet size N (default 1,000 and 10,000 endpoints):
//! 1. **Setup.** Seven days of usage cost per endpoint (one delivery), then a full 30-day
//!    (720-hour) window. Pushing 43.2 M minutes per 1,000 endpoints through the window
//!    would take most of the run, so the window is prefilled as the store restores it:
//!    `MetricsWindow::restore` with full 60-minute masks gives the hours and clock, and
//!    the buckets (each the sum of one endpoint's 60 minutes, from the same generator the
//!    ticks use) go in one day of hours per epoch. Peak RSS (`VmHWM`) is read after it.
//! 2. **Ticks.** Each tick is one new minute for every endpoint: `MetricsWindow::push`
//!    plus `Job::epoch` until its outputs are back, timed together into an HDR histogram
//!    (p50, p99, max). The first tick and every 60th cross an hour, so they also expire
//!    the oldest hour of every endpoint; they are included, and their worst is shown.
//!    Finding changes per tick (each `Output::Finding`, +1 or -1) are counted.
//! 3. **Baseline.** `signals::batch::findings` over every sample of the final 30-day
//!    window. At 1,000 endpoints that is 43.2 M samples (~15 GB as `MetricSample`), so it
//!    runs on the first 25 and 50 endpoints (same generator, same window), the median of
//!    a few rounds each; the cost is linear in samples (the two sizes show how close), so
//!    the 50-endpoint time × N/50 is the baseline, printed as extrapolated. The same runs
//!    check the benchmark itself: the batch findings for those endpoints must equal what
//!    the job holds after the ticks (or the run stops), so the prefill really is the
//!    window the ticks extend.
//!
//! Targets: tick p99 ≤ 50 ms at 1,000 endpoints, and p99 ≤ 1/100 of the baseline.
//!
//! `cargo bench --bench signals` runs both sizes; `BURNRATE_BENCH_ENDPOINTS=1000` (a
//! comma list) and `BURNRATE_BENCH_TICKS` override. Without `--bench` (as `cargo test
//! --benches` runs it) everything is tiny and the lookback is two days.

#[path = "signals/load.rs"]
mod load;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::{MetricsWindow, batch};
use burnrate_dataflow::{Config, Input, Job, Output};
use burnrate_schemas::Finding;
use chrono::{DateTime, NaiveDate, Utc};
use hdrhistogram::Histogram;

/// The allocator the `burnrate` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Size {
    endpoints: Vec<usize>,
    ticks: usize,
    lookback_hours: u32,
    /// Endpoint counts the from-scratch baseline runs on.
    subsets: [usize; 2],
    rounds: usize,
}

fn size(benching: bool) -> Size {
    fn env(k: &str) -> Option<String> {
        std::env::var(k).ok()
    }
    let endpoints = env("BURNRATE_BENCH_ENDPOINTS").map(|v| {
        v.split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("BURNRATE_BENCH_ENDPOINTS={v}: {e}"))
    });
    let ticks = env("BURNRATE_BENCH_TICKS").map(|v| {
        v.parse::<usize>()
            .unwrap_or_else(|e| panic!("BURNRATE_BENCH_TICKS={v}: {e}"))
    });
    if benching {
        Size {
            endpoints: endpoints.unwrap_or_else(|| vec![1_000, 10_000]),
            ticks: ticks.unwrap_or(240),
            lookback_hours: 720,
            subsets: [25, 50],
            rounds: 3,
        }
    } else {
        Size {
            endpoints: endpoints.unwrap_or_else(|| vec![40]),
            ticks: ticks.unwrap_or(70),
            lookback_hours: 48,
            subsets: [5, 10],
            rounds: 1,
        }
    }
}

#[path = "common/rss.rs"]
mod rss;
use rss::{reset_peak, status_kb};

fn mb(kb: Option<u64>) -> String {
    kb.map_or("?".into(), |k| format!("{:.0} MB", k as f64 / 1024.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The first minute the ticks add: Monday 2024-04-01 00:00 UTC. The prefill is the
/// lookback's whole hours before it; the cost days are the week before.
fn start() -> DateTime<Utc> {
    "2024-04-01T00:00:00Z".parse().expect("a valid time")
}

fn last_cost_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 31).expect("a valid day")
}

/// The findings the job holds: its outputs summed.
#[derive(Default)]
struct Held(BTreeMap<Finding, isize>);

impl Held {
    /// Applies an epoch's outputs; returns how many finding outputs it reported and how
    /// many findings changed once those are summed (a finding out and back in the same
    /// epoch is no change).
    fn apply(&mut self, outputs: Vec<Output>) -> (usize, usize) {
        let mut net: BTreeMap<Finding, isize> = BTreeMap::new();
        let mut reported = 0;
        for o in outputs {
            if let Output::Finding { finding, diff, .. } = o {
                reported += 1;
                *net.entry(finding).or_default() += diff;
            }
        }
        net.retain(|_, n| *n != 0);
        for (finding, diff) in &net {
            let n = self.0.entry(finding.clone()).or_default();
            *n += diff;
            if *n == 0 {
                self.0.remove(finding);
            }
        }
        (reported, net.len())
    }

    fn by_kind(&self) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for f in self.0.keys() {
            *kinds.entry(f.kind.code()).or_default() += 1;
        }
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What one fleet size measured.
struct Run {
    endpoints: usize,
    lookback_hours: u32,
    prefill: Duration,
    buckets: usize,
    peak_kb: Option<u64>,
    rss_kb: Option<u64>,
    ticks: Histogram<u64>,
    hour_ticks_max: Duration,
    /// Per tick: finding outputs reported, and net finding changes.
    changes: Vec<(usize, usize)>,
    held: Held,
    /// The window after the ticks, minutes `[start, end)`.
    window: (i64, i64),
}

fn fleet(n: usize, size: &Size, cfg: &RecommendationConfig) -> Run {
    let reset = reset_peak();
    let mut job = Job::start(Config {
        workers: 1,
        recommendations: cfg.clone(),
    })
    .unwrap_or_else(|e| panic!("job: {e}"));
    let mut held = Held::default();
    let parts = load::costs(n, last_cost_day())
        .into_iter()
        .map(|(k, a)| (load::scope(), k, a))
        .collect();
    held.apply(
        job.epoch(vec![
            Input::Parts { delivery: 1, parts },
            Input::Complete { delivery: 1 },
        ])
        .unwrap_or_else(|e| panic!("costs: {e}")),
    );

    // The prefill: the window as a store would restore it, then the buckets a day of
    // hours at a time (one day of a 10,000-endpoint fleet is 240,000 buckets in flight).
    let t = Instant::now();
    let first_tick = start().timestamp().div_euclid(60);
    let first_hour = first_tick.div_euclid(60) - i64::from(size.lookback_hours);
    let hours = first_hour..first_tick.div_euclid(60);
    let mut window = MetricsWindow::new(size.lookback_hours);
    let restored = window.restore(
        Some(first_hour * 60),
        (0..n).flat_map(|ep| {
            hours
                .clone()
                .map(move |h| ((load::key(ep), h), load::FULL_HOUR))
        }),
    );
    held.apply(
        job.epoch(vec![Input::Metrics {
            buckets: Vec::new(),
            hours: restored.hours,
            clock: restored.clock,
        }])
        .unwrap_or_else(|e| panic!("window: {e}")),
    );
    let mut templates: Vec<_> = (0..n).map(load::template).collect();
    let mut buckets = 0;
    for day in hours.clone().step_by(24) {
        let mut batch = Vec::with_capacity(n * 24);
        for (ep, s) in templates.iter_mut().enumerate() {
            let key = load::key(ep);
            for h in day..(day + 24).min(hours.end) {
                batch.push(((key.clone(), h), load::hour_bucket(s, ep, h)));
            }
        }
        buckets += batch.len();
        held.apply(
            job.epoch(vec![Input::Metrics {
                buckets: batch,
                hours: Vec::new(),
                clock: Vec::new(),
            }])
            .unwrap_or_else(|e| panic!("prefill: {e}")),
        );
    }
    let prefill = t.elapsed();
    let peak_kb = if reset { status_kb("VmHWM:") } else { None };
    let rss_kb = status_kb("VmRSS:");
    println!(
        "  N={n}: prefilled {buckets} hour buckets in {:.1} s; findings held: {} ({})",
        prefill.as_secs_f64(),
        held.0.len(),
        held.by_kind()
    );

    let mut ticks = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)
        .unwrap_or_else(|e| panic!("histogram: {e}"));
    let mut hour_ticks_max = Duration::ZERO;
    let mut changes = Vec::with_capacity(size.ticks);
    for i in 0..size.ticks {
        let minute = first_tick + i as i64;
        let samples: Vec<_> = templates
            .iter_mut()
            .enumerate()
            .map(|(ep, s)| {
                load::fill(s, ep, minute);
                s.clone()
            })
            .collect();
        let t = Instant::now();
        let updates = window.push(&samples);
        let outputs = job
            .epoch(vec![Input::metrics(&updates)])
            .unwrap_or_else(|e| panic!("tick {i}: {e}"));
        let took = t.elapsed();
        assert!(
            updates.refused.is_empty(),
            "tick {i}: {:?}",
            updates.refused
        );
        ticks.saturating_record(took.as_micros() as u64);
        if minute.rem_euclid(60) == 0 {
            hour_ticks_max = hour_ticks_max.max(took);
        }
        changes.push(held.apply(outputs));
    }
    let w = window.window().expect("the window has minutes");
    drop(job);
    Run {
        endpoints: n,
        lookback_hours: size.lookback_hours,
        prefill,
        buckets,
        peak_kb,
        rss_kb,
        ticks,
        hour_ticks_max,
        changes,
        held,
        window: (w.start, w.end),
    }
}

/// The from-scratch recomputation over the window's samples of the first `endpoints`
/// endpoints: the median time of `rounds`, after checking it agrees with the job.
fn baseline(endpoints: usize, run: &Run, cfg: &RecommendationConfig, rounds: usize) -> Duration {
    let samples = load::samples(endpoints, run.window.0, run.window.1);
    let costs = load::cost_days(endpoints, last_cost_day());
    let mut times = Vec::with_capacity(rounds);
    let mut found = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        found = std::hint::black_box(batch::findings(&samples, &costs, cfg));
        times.push(t.elapsed());
    }
    // A finding names the billing resource (the cost side's id), not the metric's key.
    let ids: std::collections::BTreeSet<String> = (0..endpoints).map(load::billing_id).collect();
    let held: Vec<&Finding> = run
        .held
        .0
        .keys()
        .filter(|f| ids.contains(&f.resource_id))
        .collect();
    assert!(
        held.iter().copied().eq(found.iter()),
        "the job's findings for endpoints 0..{endpoints} differ from the recomputation: \
         {} held, {} recomputed",
        held.len(),
        found.len()
    );
    println!(
        "  from scratch, {endpoints} endpoints ({} samples): {:.1} ms ({:.2} ms per endpoint), \
         {} findings, equal to the job's",
        samples.len(),
        ms(median(times.clone())),
        ms(median(times.clone())) / endpoints as f64,
        found.len()
    );
    median(times)
}

fn report(run: &Run, small: (usize, Duration), large: (usize, Duration)) {
    let n = run.endpoints;
    let q = |p: f64| run.ticks.value_at_quantile(p) as f64 / 1e3;
    let (p50, p99, max) = (q(0.5), q(0.99), run.ticks.max() as f64 / 1e3);
    let ticks = run.changes.len().max(1) as f64;
    let reported_mean = run.changes.iter().map(|c| c.0).sum::<usize>() as f64 / ticks;
    let reported_max = run.changes.iter().map(|c| c.0).max().unwrap_or(0);
    let net_mean = run.changes.iter().map(|c| c.1).sum::<usize>() as f64 / ticks;
    let net_max = run.changes.iter().map(|c| c.1).max().unwrap_or(0);
    let per_small = ms(small.1) / small.0 as f64;
    let per_large = ms(large.1) / large.0 as f64;
    let baseline = per_large * n as f64;
    println!("N = {n} endpoints");
    println!(
        "  prefill: {} buckets in {:.1} s; peak RSS after prefill {} (RSS {})",
        run.buckets,
        run.prefill.as_secs_f64(),
        mb(run.peak_kb),
        mb(run.rss_kb)
    );
    println!(
        "  one minute for every endpoint → updated findings ({} ticks): p50 {p50:.2} ms, \
         p99 {p99:.2} ms, max {max:.2} ms (hour-crossing ticks: max {:.2} ms)",
        run.ticks.len(),
        ms(run.hour_ticks_max)
    );
    println!(
        "  finding changes per tick: mean {net_mean:.1}, max {net_max} (outputs reported: \
         mean {reported_mean:.1}, max {reported_max}); findings held after: {} ({})",
        run.held.0.len(),
        run.held.by_kind()
    );
    println!(
        "  from-scratch recompute of the {}-hour window, EXTRAPOLATED from {} endpoints \
         ×{:.0}: {:.0} ms ({:.2} ms/endpoint; {:.2} at {} endpoints, linearity {:.2})",
        run.lookback_hours,
        large.0,
        n as f64 / large.0 as f64,
        baseline,
        per_large,
        per_small,
        small.0,
        per_large / per_small
    );
    println!(
        "  tick p99 / recompute = {:.5} (target ≤ 0.01: {}); p99 vs 50 ms: {}",
        p99 / baseline,
        if p99 / baseline <= 0.01 {
            "met"
        } else {
            "NOT met"
        },
        if p99 <= 50.0 { "met" } else { "NOT met" }
    );
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let size = size(benching);
    let cfg = RecommendationConfig {
        lookback_hours: size.lookback_hours,
        ..RecommendationConfig::default()
    };
    println!(
        "signals benchmark: lookback {} h, {} ticks, fleets {:?} (release: cargo bench --bench signals)",
        size.lookback_hours, size.ticks, size.endpoints
    );
    for &n in &size.endpoints {
        let run = fleet(n, &size, &cfg);
        let [a, b] = size.subsets.map(|s| s.min(n));
        let small = (a, baseline(a, &run, &cfg, size.rounds));
        let large = (b, baseline(b, &run, &cfg, size.rounds));
        report(&run, small, large);
    }
}
