//! Ingest throughput per format, beside a baseline run in the same process: the bare `csv`
//! crate reading the same bytes into `ByteRecord`s (no parsing, no allocation per field).
//! The figure that matters is the ratio; machines here are shared and noisy, so the two
//! runs are interleaved and each figure is the median of several rounds.
//!
//! Inputs are built from the real public files in `../shared/data` (and the cases), each
//! repeated until it is large enough to time (`BURNRATE_BENCH_ROWS`, default 200,000 rows).
//! One thread, so the figures are per core. MB is the size on disk (compressed for gzip).
//! Run: `cargo bench --bench ingest` (`BURNRATE_BENCH_ONLY=CUR` runs only the inputs whose
//! name contains `CUR`, e.g. under a profiler).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burnrate_ingest::{Emit, Options, ingest_path};

/// The allocator the `burnrate` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
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

/// Writes `src`'s header (when it has one) once and its data lines repeated up to `rows`
/// lines, gzipped when asked.
fn repeat_lines(
    src: &Path,
    dst: &Path,
    rows: usize,
    header: bool,
    gzip: bool,
) -> std::io::Result<usize> {
    let text = std::fs::read_to_string(src)?;
    let mut lines = text.lines();
    let head = if header { lines.next() } else { None };
    let body: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let file = std::io::BufWriter::new(std::fs::File::create(dst)?);
    let mut out: Box<dyn Write> = if gzip {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    if let Some(h) = head {
        writeln!(out, "{h}")?;
    }
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

/// The bare `csv` crate over the same bytes (decompressed, for gzip): every record read
/// into one reused `ByteRecord`, nothing parsed.
fn baseline_csv(path: &Path, header: bool, gzip: bool) -> u64 {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let input: Box<dyn std::io::Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(file)
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(header)
        .from_reader(input);
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
    header: bool,
    gzip: bool,
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
    let cases = shared().join("cases");
    let input = |name, source: PathBuf, header, gzip| Input {
        name,
        source,
        header,
        gzip,
    };
    let inputs = [
        input("AWS CUR legacy CSV", data.join("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv"), true, false),
        input("AWS CUR legacy CSV.gz", data.join("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv"), true, true),
        input("Azure EA actual CSV", data.join("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv"), true, false),
        input("FOCUS 1.0 CSV", data.join("focus/sample-data/FOCUS-Sample-Data__FOCUS-1.0__focus_sample.csv"), true, false),
        input("GCP export JSON lines", cases.join("B09/input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"), false, false),
        input("OCI cost report CSV", data.join("focus/focus_converters/oci/focus_converters__oci__reports_cost-csv_0000000030000269.csv"), true, false),
        input("metrics per-minute CSV", cases.join("B17/input/inference-metrics-2024-03-05T10.csv"), true, false),
    ];
    let dir = std::env::temp_dir().join(format!("burnrate-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("{}: {e}", dir.display());
    }
    println!(
        "{:<24} {:>9} {:>8} {:>14} {:>15} {:>9} {:>10}",
        "format", "rows", "MB", "csv rows/s", "burnrate rows/s", "ratio", "MB/s"
    );
    let only = std::env::var("BURNRATE_BENCH_ONLY").unwrap_or_default();
    for input in inputs.iter().filter(|i| i.name.contains(only.as_str())) {
        let file = dir.join(input.name.replace([' ', '.'], "_"));
        let n = match repeat_lines(&input.source, &file, rows, input.header, input.gzip) {
            Ok(n) => n,
            Err(e) => panic!("{}: {e}", input.source.display()),
        };
        let mb = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
        let (mut base, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            assert_eq!(baseline_csv(&file, input.header, input.gzip) as usize, n);
            base.push(t.elapsed());
            let t = Instant::now();
            assert_eq!(burnrate(&file) as usize, n);
            ours.push(t.elapsed());
        }
        let (b, o) = (median(base).as_secs_f64(), median(ours).as_secs_f64());
        println!(
            "{:<24} {:>9} {:>8.1} {:>14.0} {:>15.0} {:>8.2}x {:>10.1}",
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
