//! Ingest throughput per format, beside a baseline run in the same process: the bare `csv`
//! crate reading the same bytes into `ByteRecord`s (no parsing, no allocation per field).
//! The figure that matters is the ratio; machines here are shared and noisy, so the two
//! runs are interleaved and each figure is the median of several rounds.
//!
//! Inputs are built from the real public files in `../shared/data` (and the cases), each
//! repeated until it is large enough to time (`BURNRATE_BENCH_ROWS`, default 200,000 rows).
//! One thread, so the figures are per core. Run: `cargo bench --bench ingest`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burnrate_ingest::{Emit, Options, ingest_path};
use burnrate_schemas::{CostRecord, MetricSample};

/// Counts what it is given and drops it, so the benchmark measures reading and normalizing.
#[derive(Default)]
struct Count {
    costs: u64,
    metrics: u64,
}

impl Emit for Count {
    fn cost(&mut self, record: CostRecord) {
        self.costs += 1;
        std::hint::black_box(record);
    }
    fn metric(&mut self, sample: MetricSample) {
        self.metrics += 1;
        std::hint::black_box(sample);
    }
}

fn shared() -> PathBuf {
    std::env::var_os("BURNRATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Writes `src`'s header once and its data lines repeated up to `rows` lines.
fn repeat_csv(src: &Path, dst: &Path, rows: usize) -> std::io::Result<usize> {
    let text = std::fs::read_to_string(src)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dst)?);
    writeln!(out, "{header}")?;
    let mut written = 0;
    while written < rows && !body.is_empty() {
        for l in &body {
            writeln!(out, "{l}")?;
            written += 1;
            if written == rows {
                break;
            }
        }
    }
    out.flush()?;
    Ok(written)
}

fn baseline_csv(path: &Path) -> u64 {
    let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(path) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut rec).unwrap_or(false) {
        n += 1;
        std::hint::black_box(&rec);
    }
    n
}

fn burnrate(path: &Path) -> u64 {
    let mut count = Count::default();
    match ingest_path(path, &Options::default(), &mut count) {
        Ok(report) => {
            assert_eq!(report.rejected_count, 0, "{}: rejections", path.display());
            report.rows_read
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Input {
    name: &'static str,
    source: PathBuf,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let benching = std::env::args().any(|a| a == "--bench");
    let rows: usize = std::env::var("BURNRATE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 200_000 } else { 2_000 });
    let rounds = if benching { 7 } else { 1 };
    let data = shared().join("data");
    let inputs = [Input {
        name: "AWS CUR legacy CSV",
        source: data
            .join("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv"),
    }];
    let dir = std::env::temp_dir().join(format!("burnrate-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{}: {e}", dir.display());
    }
    println!(
        "{:<24} {:>9} {:>8} {:>14} {:>14} {:>9} {:>10}",
        "format", "rows", "MB", "csv rows/s", "burnrate rows/s", "ratio", "MB/s"
    );
    for input in &inputs {
        let file = dir.join(format!("{}.csv", input.name.replace(' ', "_")));
        let n = match repeat_csv(&input.source, &file, rows) {
            Ok(n) => n,
            Err(e) => panic!("{}: {e}", input.source.display()),
        };
        let mb = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        let (mut base, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            assert_eq!(baseline_csv(&file) as usize, n);
            base.push(t.elapsed());
            let t = Instant::now();
            assert_eq!(burnrate(&file) as usize, n);
            ours.push(t.elapsed());
        }
        let (b, o) = (median(base).as_secs_f64(), median(ours).as_secs_f64());
        println!(
            "{:<24} {:>9} {:>8.1} {:>14.0} {:>14.0} {:>8.2}x {:>10.1}",
            input.name,
            n,
            mb,
            n as f64 / b,
            n as f64 / o,
            b / o,
            mb / o
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
