//! The pipeline's three figures, each beside a baseline measured in the same run:
//!
//! 1. **Files to store.** The generator's month of billing files (every format) read,
//!    normalized, prepared and delivered folder by folder into a fresh embedded store, as
//!    `burnrate ingest` does, against reading and normalizing the same files into a
//!    counting sink (the ingest-only baseline). Target: ≥ 0.5× the baseline's rows/s.
//! 2. **One new row to an updated rollup.** A job already holding that month takes single
//!    late rows (each a one-record additive delivery that changes an existing rollup row);
//!    the latency is from handing the record over to the rollup change being reported
//!    (job only, driven as the engine drives it) or stored (`Engine::deliver`, durable).
//!    p50/p99 from an HDR histogram. Target (in process): p99 ≤ 200 µs. Rows sent back to
//!    back, and a few sent after an idle gap (the feed's idle path), are reported apart.
//! 3. **Restatement.** A month of CUR records delivered once; then the same scope again
//!    with 1% of its lines re-priced. Its cost as a share of the full month's delivery.
//!    Target: ≤ 5%.
//!
//! Machines here are shared and noisy, so baseline and pipeline runs are interleaved and
//! each figure is the median of several rounds. `cargo bench --bench pipeline` runs the
//! full size (override with `BURNRATE_BENCH_SCALE` and `BURNRATE_BENCH_LATE_ROWS`);
//! without `--bench` (`cargo test --bench pipeline`) everything is tiny.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use burnrate::engine::Engine;
use burnrate_dataflow::{Config, Feed, FeedEvent, Input, Output, Prepared, Preparer, prepare};
use burnrate_ingest::{Collected, Emit, Options, expand_paths, ingest_path};
use burnrate_schemas::{CostRecord, MetricSample, Provider};
use hdrhistogram::Histogram;
use rust_decimal::Decimal;

/// The allocator the `burnrate` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Size {
    /// Generator days and scale for the month.
    days: u32,
    scale: u32,
    rounds: usize,
    late_rows: usize,
    idle_rows: usize,
}

fn size(benching: bool) -> Size {
    fn env<T: std::str::FromStr>(k: &str) -> Option<T> {
        std::env::var(k).ok().and_then(|v| v.parse().ok())
    }
    if benching {
        Size {
            days: 31,
            scale: env("BURNRATE_BENCH_SCALE").unwrap_or(4),
            rounds: 5,
            late_rows: env("BURNRATE_BENCH_LATE_ROWS").unwrap_or(2_000),
            idle_rows: 40,
        }
    } else {
        Size {
            days: 3,
            scale: 1,
            rounds: 1,
            late_rows: 30,
            idle_rows: 2,
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Counts what it is given and drops it: reading and normalizing only.
#[derive(Default)]
struct Count(u64);

impl Emit for Count {
    fn cost(&mut self, record: CostRecord) {
        self.0 += 1;
        std::hint::black_box(record);
    }
    fn metric(&mut self, sample: MetricSample) {
        std::hint::black_box(sample);
    }
}

/// What `burnrate ingest` does with each record before the store: prepare its parts.
#[derive(Default)]
struct Prepare(Preparer);

impl Emit for Prepare {
    fn cost(&mut self, record: CostRecord) {
        self.0.add(&record);
    }
    fn metric(&mut self, _: MetricSample) {}
}

/// The files to read, grouped by folder: one folder is one delivery (as the CLI does).
fn deliveries(root: &Path) -> Vec<Vec<PathBuf>> {
    let files = match expand_paths(&[root.to_path_buf()]) {
        Ok(e) => e.files,
        Err(e) => panic!("{}: {e}", root.display()),
    };
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for f in files {
        let folder = f.parent().map(Path::to_path_buf).unwrap_or_default();
        match groups.iter_mut().find(|(d, _)| *d == folder) {
            Some((_, v)) => v.push(f),
            None => groups.push((folder, vec![f])),
        }
    }
    groups.into_iter().map(|(_, v)| v).collect()
}

fn read_into(file: &Path, emit: &mut dyn Emit) -> u64 {
    match ingest_path(file, &Options::default(), emit) {
        Ok(r) => r.rows_read,
        Err(e) => panic!("{}: {e}", file.display()),
    }
}

/// Ingest only: rows read.
fn ingest_only(groups: &[Vec<PathBuf>]) -> u64 {
    let mut count = Count::default();
    groups
        .iter()
        .flatten()
        .map(|f| read_into(f, &mut count))
        .sum()
}

/// Files to store, as `burnrate ingest` does it, into a fresh data directory. Returns rows
/// read, the time spent in `Engine::deliver` and the parts delivered.
fn files_to_store(groups: &[Vec<PathBuf>], data_dir: &Path) -> (u64, Duration, usize) {
    let mut engine = Engine::start(data_dir, 1).unwrap_or_else(|e| panic!("start: {e:#}"));
    let (mut rows, mut in_deliver, mut parts) = (0, Duration::ZERO, 0);
    for files in groups {
        let mut emit = Prepare::default();
        for f in files {
            rows += read_into(f, &mut emit);
        }
        let records = emit.0.records();
        let prepared = emit.0.finish();
        parts += prepared.parts.len();
        let names = files.iter().map(|f| f.display().to_string()).collect();
        let t = Instant::now();
        if let Err(e) = engine.deliver(names, records, prepared) {
            panic!("deliver: {e:#}");
        }
        in_deliver += t.elapsed();
    }
    if let Err(e) = engine.close() {
        panic!("close: {e:#}");
    }
    (rows, in_deliver, parts)
}

fn figure_1(groups: &[Vec<PathBuf>], scratch: &Path, rounds: usize) {
    let (mut base, mut full, mut deliver) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rows, mut parts) = (0, 0);
    for round in 0..rounds {
        let t = Instant::now();
        rows = ingest_only(groups);
        base.push(t.elapsed());
        let dir = scratch.join(format!("store-{round}"));
        let t = Instant::now();
        let (n, d, p) = files_to_store(groups, &dir);
        full.push(t.elapsed());
        deliver.push(d);
        assert_eq!(n, rows, "both paths read the same rows");
        parts = p;
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (b, f, d) = (median(base), median(full), median(deliver));
    let rate = |t: Duration| rows as f64 / t.as_secs_f64();
    println!(
        "\n1. files to store ({rows} rows, {} deliveries, {parts} parts)",
        groups.len()
    );
    println!(
        "   ingest only       {:>12.0} rows/s  ({:.1} ms)",
        rate(b),
        ms(b)
    );
    println!(
        "   files to store    {:>12.0} rows/s  ({:.1} ms: read+normalize+prepare {:.1} ms, deliver {:.1} ms)",
        rate(f),
        ms(f),
        ms(f.saturating_sub(d)),
        ms(d)
    );
    println!(
        "   ratio             {:>12.2}x  (target ≥ 0.50x)",
        b.as_secs_f64() / f.as_secs_f64()
    );
}

/// The engine's transport, with the engine's timings: a batch is taken as soon as it is
/// sent; after 20 ms without one the job is told it is idle (and parks up to 5 ms).
struct ChannelFeed(Receiver<Vec<Input>>);

impl Feed for ChannelFeed {
    fn next(&mut self) -> FeedEvent {
        match self.0.recv_timeout(Duration::from_millis(20)) {
            Ok(batch) => FeedEvent::Batch(batch),
            Err(RecvTimeoutError::Timeout) => FeedEvent::Idle,
            Err(RecvTimeoutError::Disconnected) => FeedEvent::Closed,
        }
    }
}

/// The job alone on its thread, driven one epoch at a time.
struct Job {
    feed: Option<Sender<Vec<Input>>>,
    out: Receiver<Output>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
    next_delivery: u64,
}

impl Job {
    fn start() -> Job {
        let (feed_tx, feed_rx) = channel();
        let (out_tx, out_rx) = channel();
        let thread = std::thread::spawn(move || {
            burnrate_dataflow::run(Config { workers: 1 }, ChannelFeed(feed_rx), out_tx)
        });
        Job {
            feed: Some(feed_tx),
            out: out_rx,
            thread: Some(thread),
            next_delivery: 1,
        }
    }

    /// Sends one delivery as one epoch and waits for its `Complete`; returns the number of
    /// rollup rows that changed.
    fn deliver(&mut self, prepared: Prepared) -> usize {
        let delivery = self.next_delivery;
        self.next_delivery += 1;
        let batch = vec![
            Input::Parts {
                delivery,
                parts: prepared.parts,
            },
            Input::Complete { delivery },
        ];
        if self
            .feed
            .as_ref()
            .map(|f| f.send(batch))
            .is_none_or(|r| r.is_err())
        {
            panic!("the job stopped");
        }
        let mut changed = 0;
        loop {
            match self.out.recv() {
                Ok(Output::DailyCost { diff, .. }) => changed += usize::from(diff > 0),
                Ok(Output::Complete { .. }) => return changed,
                Err(_) => panic!("the job stopped"),
            }
        }
    }

    fn close(mut self) {
        self.feed = None;
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("job: {e}"),
                Err(_) => panic!("job panicked"),
            }
        }
    }
}

/// The month's deliveries, prepared once.
fn prepared_month(groups: &[Vec<PathBuf>]) -> (Vec<Prepared>, Vec<CostRecord>) {
    let mut out = Vec::new();
    let mut late = Vec::new();
    for files in groups {
        let mut c = Collected::default();
        for f in files {
            read_into(f, &mut c);
        }
        out.push(prepare(&c.costs));
        // Late rows are copies of the month's own records (so they land on existing rollup
        // rows), spread over every delivery.
        late.extend(
            c.costs
                .into_iter()
                .filter(|r| !r.billed_cost.is_zero())
                .step_by(97),
        );
    }
    (out, late)
}

/// Late row `i`: a copy of a month's record, as its own additive delivery.
fn late_row(pool: &[CostRecord], i: usize) -> CostRecord {
    let mut r = pool[i % pool.len()].clone();
    r.source = format!("bench-late-row-{i}");
    r.restates_period = false;
    r
}

fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 60_000_000, 3) {
        Ok(h) => h,
        Err(e) => panic!("histogram: {e}"),
    }
}

fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "   {name:<34} n={:<6} p50 {:>9} µs  p99 {:>9} µs  max {:>9} µs",
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.max()
    );
}

fn figure_2(groups: &[Vec<PathBuf>], scratch: &Path, s: &Size) {
    let (month, pool) = prepared_month(groups);
    assert!(!pool.is_empty(), "the month has priced records");
    println!(
        "\n2. one new row to an updated rollup (after a month of {} deliveries)",
        month.len()
    );

    // Job only.
    let mut job = Job::start();
    for p in month.clone() {
        job.deliver(p);
    }
    let (mut h, mut h_idle) = (histogram(), histogram());
    for i in 0..s.late_rows {
        let r = late_row(&pool, i);
        let t = Instant::now();
        let changed = job.deliver(prepare(std::slice::from_ref(&r)));
        let _ = h.record(t.elapsed().as_micros() as u64);
        assert!(changed > 0, "a late row changes its rollup row");
    }
    for i in 0..s.idle_rows {
        // Longer than the feed's 20 ms wait, so the job has gone idle when the row comes.
        std::thread::sleep(Duration::from_millis(30));
        let r = late_row(&pool, s.late_rows + i);
        let t = Instant::now();
        job.deliver(prepare(std::slice::from_ref(&r)));
        let _ = h_idle.record(t.elapsed().as_micros() as u64);
    }
    job.close();
    report("job only, back to back", &h);
    report("job only, after an idle gap", &h_idle);
    println!("   target (in process): p99 ≤ 200 µs");

    // With the durable store.
    let dir = scratch.join("latency-store");
    let mut engine = Engine::start(&dir, 1).unwrap_or_else(|e| panic!("start: {e:#}"));
    for p in month {
        if let Err(e) = engine.deliver(vec!["month".into()], 0, p) {
            panic!("deliver: {e:#}");
        }
    }
    let mut h = histogram();
    for i in 0..s.late_rows {
        let r = late_row(&pool, i);
        let t = Instant::now();
        match engine.deliver(vec![r.source.clone()], 1, prepare(std::slice::from_ref(&r))) {
            Ok(_) => {}
            Err(e) => panic!("deliver: {e:#}"),
        }
        let _ = h.record(t.elapsed().as_micros() as u64);
    }
    report("Engine::deliver (logged, stored)", &h);
    // What any delivery costs before its contents: the store's commits and one epoch.
    let mut h = histogram();
    for _ in 0..s.late_rows.min(200) {
        let t = Instant::now();
        if let Err(e) = engine.deliver(Vec::new(), 0, Prepared::default()) {
            panic!("deliver: {e:#}");
        }
        let _ = h.record(t.elapsed().as_micros() as u64);
    }
    if let Err(e) = engine.close() {
        panic!("close: {e:#}");
    }
    report("Engine::deliver of nothing", &h);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The month's CUR records (the current assembly), read once.
fn cur_month(groups: &[Vec<PathBuf>]) -> Vec<CostRecord> {
    let mut c = Collected::default();
    for files in groups {
        let mut g = Collected::default();
        for f in files {
            read_into(f, &mut g);
        }
        let one_scope = g.costs.first().map(|r| r.delivery_scope());
        if g.costs
            .first()
            .is_some_and(|r| r.provider == Provider::Aws && r.restates_period)
            && g.costs
                .iter()
                .all(|r| Some(r.delivery_scope()) == one_scope)
            && g.costs.len() > c.costs.len()
        {
            c = g;
        }
    }
    assert!(!c.costs.is_empty(), "the generator wrote a CUR");
    c.costs
}

/// The same month with every 100th line re-priced by +10%.
fn restated(month: &[CostRecord]) -> Vec<CostRecord> {
    let tenth = Decimal::new(11, 1);
    month
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            if i % 100 == 0 {
                r.billed_cost *= tenth;
                r.effective_cost *= tenth;
            }
            r
        })
        .collect()
}

fn figure_3(groups: &[Vec<PathBuf>], scratch: &Path, rounds: usize) {
    let month = cur_month(groups);
    let again = restated(&month);
    let (mut prep_full, mut prep_re, mut full, mut re, mut encode) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut job_full, mut job_re) = (Vec::new(), Vec::new());
    let (mut engine_job_full, mut engine_job_re) = (Vec::new(), Vec::new());
    let (mut parts, mut changed_full, mut changed_re) = (0, 0, 0);
    for round in 0..rounds {
        let dir = scratch.join(format!("restate-{round}"));
        let mut engine = Engine::start(&dir, 1).unwrap_or_else(|e| panic!("start: {e:#}"));
        let t = Instant::now();
        let p = prepare(&month);
        prep_full.push(t.elapsed());
        parts = p.parts.len();
        let t = Instant::now();
        let blob = serde_json::to_vec(&p.parts).map(|b| b.len());
        encode.push(t.elapsed());
        std::hint::black_box(blob.ok());
        let t = Instant::now();
        changed_full = engine
            .deliver(vec!["month".into()], month.len() as u64, p)
            .unwrap_or_else(|e| panic!("deliver: {e:#}"))
            .1;
        full.push(t.elapsed());
        engine_job_full.push(engine.last_job_time());
        let t = Instant::now();
        let p = prepare(&again);
        prep_re.push(t.elapsed());
        let t = Instant::now();
        changed_re = engine
            .deliver(vec!["restated".into()], again.len() as u64, p)
            .unwrap_or_else(|e| panic!("deliver: {e:#}"))
            .1;
        re.push(t.elapsed());
        engine_job_re.push(engine.last_job_time());
        if let Err(e) = engine.close() {
            panic!("close: {e:#}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        // The job alone, on the same parts.
        let mut job = Job::start();
        let (p, q) = (prepare(&month), prepare(&again));
        let t = Instant::now();
        job.deliver(p);
        job_full.push(t.elapsed());
        let t = Instant::now();
        job.deliver(q);
        job_re.push(t.elapsed());
        job.close();
    }
    let (jf, jr) = (median(job_full), median(job_re));
    let (pf, pr, f, r, e) = (
        median(prep_full),
        median(prep_re),
        median(full),
        median(re),
        median(encode),
    );
    println!(
        "\n3. restatement ({} CUR records, {parts} parts; 1% of lines re-priced)",
        month.len()
    );
    println!(
        "   full month        prepare {:>8.1} ms  deliver {:>8.1} ms  ({changed_full} rollup rows written; JSON encoding of the log blob {:.1} ms)",
        ms(pf),
        ms(f),
        ms(e)
    );
    println!(
        "   restatement       prepare {:>8.1} ms  deliver {:>8.1} ms  ({changed_re} rollup rows changed)",
        ms(pr),
        ms(r)
    );
    println!(
        "   job only          full {:>8.1} ms  restatement {:>8.1} ms  ({:.1}%)",
        ms(jf),
        ms(jr),
        100.0 * jr.as_secs_f64() / jf.as_secs_f64()
    );
    let (ejf, ejr) = (median(engine_job_full), median(engine_job_re));
    println!(
        "   engine's job      full {:>8.2} ms  restatement {:>8.2} ms  ({:.1}%: only the difference is fed)",
        ms(ejf),
        ms(ejr),
        100.0 * ejr.as_secs_f64() / ejf.as_secs_f64()
    );
    println!(
        "   ratio             deliver {:>8.1}%   prepare+deliver {:.1}%  (target ≤ 5%)",
        100.0 * r.as_secs_f64() / f.as_secs_f64(),
        100.0 * (pr + r).as_secs_f64() / (pf + f).as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --bench pipeline` passes nothing.
    let benching = std::env::args().any(|a| a == "--bench");
    let s = size(benching);
    let scratch = std::env::temp_dir().join(format!("burnrate-pipebench-{}", std::process::id()));
    let mut cfg = burnrate_ingest::generate::Config::new(scratch.join("gen"), s.days, s.scale, 42);
    cfg.metrics = false;
    if let Err(e) = burnrate_ingest::generate::generate(&cfg) {
        panic!("generate: {e}");
    }
    let groups = deliveries(&scratch.join("gen/data"));
    println!(
        "pipeline benchmark: generator month ({} days, scale {}), {} round(s){}",
        s.days,
        s.scale,
        s.rounds,
        if benching {
            ""
        } else {
            " (tiny: run with --bench for figures)"
        }
    );
    figure_1(&groups, &scratch, s.rounds);
    figure_2(&groups, &scratch, &s);
    figure_3(&groups, &scratch, s.rounds);
    let _ = std::fs::remove_dir_all(&scratch);
}
