//! The pipeline's three figures, each beside a baseline measured in the same run:
//!
//! 1. **Files to store.** The generator's month of billing files (every format) read,
//!    normalized, prepared and delivered folder by folder into a fresh embedded store, as
//!    `burnrate ingest` does, against reading and normalizing the same files into a
//!    counting sink (the ingest-only baseline). Target: ≥ 0.5× the baseline's rows/s.
//! 2. **One new row to an updated rollup.** A job already holding that month takes single
//!    late rows (each a one-record additive delivery that changes an existing rollup row);
//!    the latency is from handing the record over to the rollup change being reported
//!    (job only: `dataflow::Job` with one worker, stepped in place as the engine does) or
//!    stored (`Engine::deliver`, durable). p50/p99 from an HDR histogram. Target (in
//!    process): p99 ≤ 200 µs. Rows sent back to back, and 300 after a 30 ms idle gap each, are
//!    reported apart; so is the same job on its own thread fed by a channel (`run`, the
//!    path a remote feed takes), to show what the two thread hand-offs cost.
//! 3. **Restatement.** A month's CUR file delivered once; then the same scope again with
//!    1% of its lines re-priced. Baseline: a full re-ingest of that month from its file
//!    (read and normalize, prepare, deliver into a fresh store). Two ratios: the engine's
//!    work on the restatement (`Engine::deliver`: difference, job, durable commit of the
//!    log entry and rollup changes) over the baseline, and end to end (re-reading the
//!    restated file, preparing it, delivering) over the baseline. The restated file is
//!    made in memory from the records, so its re-read is timed as reading the original
//!    file (same size and format). Target: ≤ 5%.
//!
//! Machines here are shared and noisy, so baseline and pipeline runs are interleaved and
//! each figure is the median of several rounds. `cargo bench --bench pipeline` runs the
//! full size (override with `BURNRATE_BENCH_SCALE` and `BURNRATE_BENCH_LATE_ROWS`; run
//! some figures only with e.g. `BURNRATE_BENCH_FIGURES=3`);
//! without `--bench` (`cargo test --bench pipeline`) everything is tiny.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burnrate::engine::Engine;
use burnrate_dataflow::{Prepared, Preparer, prepare};
use burnrate_ingest::{Collected, Emit, Options, expand_paths, ingest_path};
use burnrate_schemas::{CostRecord, MetricSample, Provider};
use hdrhistogram::Histogram;
use rust_decimal::Decimal;

#[path = "pipeline/job.rs"]
mod job;
use job::Bench;

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
            idle_rows: 300,
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
        "   {name:<50} n={:<6} p50 {:>7} µs  p99 {:>7} µs  max {:>7} µs",
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

    // Job only: in place (as the engine runs it), then on its own thread.
    for (name, mut job) in [
        ("in place", Bench::in_place()),
        ("on a thread (run + channels)", Bench::on_a_thread()),
    ] {
        for p in month.clone() {
            job.deliver(p);
        }
        let (mut h, mut h_idle, mut h_empty) = (histogram(), histogram(), histogram());
        let (mut h_rollup, mut h_idle_rollup) = (histogram(), histogram());
        for i in 0..s.late_rows {
            let r = late_row(&pool, i);
            let t = Instant::now();
            let changed = job.deliver(prepare(std::slice::from_ref(&r)));
            let _ = h.record(t.elapsed().as_micros() as u64);
            if let Some(d) = job.rollup_time() {
                let _ = h_rollup.record(d.as_micros() as u64);
            }
            assert!(changed > 0, "a late row changes its rollup row");
        }
        for i in 0..s.idle_rows {
            // Longer than the threaded feed's 20 ms wait, so that job has gone idle.
            std::thread::sleep(Duration::from_millis(30));
            let r = late_row(&pool, s.late_rows + i);
            let t = Instant::now();
            job.deliver(prepare(std::slice::from_ref(&r)));
            let _ = h_idle.record(t.elapsed().as_micros() as u64);
            if let Some(d) = job.rollup_time() {
                let _ = h_idle_rollup.record(d.as_micros() as u64);
            }
        }
        for _ in 0..s.late_rows.min(500) {
            let t = Instant::now();
            job.deliver(Prepared::default());
            let _ = h_empty.record(t.elapsed().as_micros() as u64);
        }
        job.close();
        if !h_rollup.is_empty() {
            report(
                &format!("job {name}, back to back, to the rollup"),
                &h_rollup,
            );
        }
        report(&format!("job {name}, back to back"), &h);
        if !h_idle_rollup.is_empty() {
            report(
                &format!("job {name}, after an idle gap, to the rollup"),
                &h_idle_rollup,
            );
        }
        report(&format!("job {name}, after an idle gap"), &h_idle);
        report(&format!("job {name}, empty epoch"), &h_empty);
    }
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

/// The month's CUR (the current assembly): its files and their records.
fn cur_month(groups: &[Vec<PathBuf>]) -> (Vec<PathBuf>, Vec<CostRecord>) {
    let mut best: (Vec<PathBuf>, Vec<CostRecord>) = (Vec::new(), Vec::new());
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
            && g.costs.len() > best.1.len()
        {
            best = (files.clone(), g.costs);
        }
    }
    assert!(!best.1.is_empty(), "the generator wrote a CUR");
    best
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

/// What skipping unchanged lines could not skip: decompressing the file, splitting it
/// into lines and hashing each (to know which changed). Returns the lines seen.
fn lines_hashed(files: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    use std::io::BufRead;
    let mut lines = 0;
    // A manifest is read through the data files beside it (the assembly's folder).
    let mut data = Vec::new();
    for f in files {
        if f.extension().is_some_and(|x| x == "json") {
            let folder = f.parent().unwrap_or(Path::new("."));
            let entries = std::fs::read_dir(folder).unwrap_or_else(|e| panic!("{e}"));
            data.extend(entries.flatten().map(|e| e.path()).filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".csv.gz") || name.ends_with(".csv")
            }));
        } else {
            data.push(f.clone());
        }
    }
    for f in &data {
        let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let reader: Box<dyn std::io::Read> = if f.extension().is_some_and(|x| x == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        for line in std::io::BufReader::with_capacity(1 << 16, reader).split(b'\n') {
            let line = line.unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let mut h = rustc_hash::FxHasher::default();
            line.hash(&mut h);
            std::hint::black_box(h.finish());
            lines += 1;
        }
    }
    lines
}

/// The size of the last logged delivery's entry.
fn last_entry_bytes(engine: &Engine) -> usize {
    match engine.store().logged_deliveries() {
        Ok(log) => log.last().map(|(_, blob)| blob.len()).unwrap_or(0),
        Err(e) => panic!("log: {e}"),
    }
}

fn figure_3(groups: &[Vec<PathBuf>], scratch: &Path, rounds: usize) {
    let (files, month) = cur_month(groups);
    let again = restated(&month);
    let (mut read, mut prep_full, mut full, mut prep_re, mut re) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut job_full, mut job_re) = (Vec::new(), Vec::new());
    let (mut parts, mut changed_full, mut changed_re) = (0, 0, 0);
    let (mut bytes_full, mut bytes_re) = (0, 0);
    let mut floor = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        let n = lines_hashed(&files) as usize;
        assert!(
            n >= month.len(),
            "{files:?}: {n} lines, {} records",
            month.len()
        );
        floor.push(t.elapsed());
        let dir = scratch.join(format!("restate-{round}"));
        let mut engine = Engine::start(&dir, 1).unwrap_or_else(|e| panic!("start: {e:#}"));
        // The baseline: the month re-ingested from its file into a fresh store.
        let t = Instant::now();
        let mut c = Collected::default();
        for f in &files {
            read_into(f, &mut c);
        }
        read.push(t.elapsed());
        assert_eq!(c.costs.len(), month.len());
        let t = Instant::now();
        let p = prepare(&c.costs);
        prep_full.push(t.elapsed());
        parts = p.parts.len();
        let t = Instant::now();
        changed_full = engine
            .deliver(vec!["month".into()], month.len() as u64, p)
            .unwrap_or_else(|e| panic!("deliver: {e:#}"))
            .1;
        full.push(t.elapsed());
        job_full.push(engine.last_job_time());
        bytes_full = last_entry_bytes(&engine);
        // The restatement, into the store holding the month.
        let t = Instant::now();
        let p = prepare(&again);
        prep_re.push(t.elapsed());
        let t = Instant::now();
        changed_re = engine
            .deliver(vec!["restated".into()], again.len() as u64, p)
            .unwrap_or_else(|e| panic!("deliver: {e:#}"))
            .1;
        re.push(t.elapsed());
        job_re.push(engine.last_job_time());
        bytes_re = last_entry_bytes(&engine);
        if let Err(e) = engine.close() {
            panic!("close: {e:#}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (rd, pf, f, pr, r) = (
        median(read),
        median(prep_full),
        median(full),
        median(prep_re),
        median(re),
    );
    let (jf, jr) = (median(job_full), median(job_re));
    let baseline = rd + pf + f;
    println!(
        "\n3. restatement ({} CUR records, {parts} parts; 1% of lines re-priced)",
        month.len()
    );
    println!(
        "   full re-ingest    read {:>8.1} ms  prepare {:>7.1} ms  deliver {:>7.1} ms (job {:.1} ms)  = {:.1} ms  ({changed_full} rollup rows written, log entry {bytes_full} B)",
        ms(rd),
        ms(pf),
        ms(f),
        ms(jf),
        ms(baseline)
    );
    println!(
        "   restatement       read {:>8.1} ms* prepare {:>7.1} ms  deliver {:>7.1} ms (job {:.1} ms)  ({changed_re} rollup rows changed, log entry {bytes_re} B)",
        ms(rd),
        ms(pr),
        ms(r),
        ms(jr)
    );
    println!(
        "   (* the restated file's re-read, timed as reading the original: same size and format)"
    );
    println!(
        "   ratio, engine work (deliver: difference + job + commit) / full re-ingest  {:>6.1}%  (target ≤ 5%)",
        100.0 * r.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "   ratio, end to end (re-read + prepare + deliver) / full re-ingest          {:>6.1}%",
        100.0 * (rd + pr + r).as_secs_f64() / baseline.as_secs_f64()
    );
    let fl = median(floor);
    println!(
        "   floor of reusing unchanged lines (decompress, split, hash every line: {:.1} ms) {:>6.1}%",
        ms(fl),
        100.0 * fl.as_secs_f64() / baseline.as_secs_f64()
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
    let figures = std::env::var("BURNRATE_BENCH_FIGURES").unwrap_or_else(|_| "123".into());
    if figures.contains('1') {
        figure_1(&groups, &scratch, s.rounds);
    }
    if figures.contains('2') {
        figure_2(&groups, &scratch, &s);
    }
    if figures.contains('3') {
        figure_3(&groups, &scratch, s.rounds);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
