//! # The data generator
//!
//! No public bill holds a month of SageMaker endpoints, Bedrock tokens, Azure OpenAI and
//! Vertex AI at once, with per-minute metrics beside them. The demo, the benchmarks and the
//! recommendation tests need exactly that, at any scale, with known right answers. This
//! module writes it: every file in the provider's **native format** (the same files the
//! parsers in this crate read), and a **ground-truth manifest** beside them.
//!
//! ## What is written (`<out>/data/...`, and `<out>/truth.json`)
//!
//! - `aws/<report>/<YYYYMMDD-YYYYMMDD>/<assemblyId>/<report>-<n>.csv.gz` plus
//!   `<report>-Manifest.json` in the assembly folder and at the period level: the legacy
//!   CUR in the real S3 layout (`aws_cur.rs`; the lines of both CUR writers come from
//!   `aws_lines.rs`). The first billing period is **restated**: an
//!   earlier assembly (its first day only, at other prices) sits beside the current one,
//!   and the period-level manifest names the current one.
//! - `aws-cur2/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet` and
//!   `metadata/.../<export>-Manifest.json`: a second payer's CUR 2.0 (Data Exports) Parquet
//!   (`aws_cur2.rs`), costs as DOUBLE and `product` / `resource_tags` as maps.
//! - `azure/<enrollment>/<actual|amortized>/<YYYYMMDD-YYYYMMDD>/part_0_0001.csv`: EA
//!   exports, actual and amortized, month to date (`azure.rs`); one enrollment bills in
//!   **EUR**, the other in USD.
//! - `gcp/<table>/<YYYYMMDD>.jsonl` per usage day plus `late-<YYYYMMDD>.jsonl`: BigQuery
//!   detailed billing export rows as newline-delimited JSON (`gcp.rs`).
//! - `focus/<provider>/focus-<YYYY-MM>.csv`: a FOCUS 1.2 export of a fourth provider
//!   (Oracle Cloud), `focus.rs`.
//! - `metrics/<provider>/inference-metrics-<YYYY-MM-DD>.csv`: one row per endpoint and
//!   minute (`metrics.rs`), the per-minute CSV the metrics parser reads.
//! - `truth.json`: the ground truth (`truth.rs`).
//!
//! ## The catalog
//!
//! `catalog.rs` lists the resources of one *scale unit*: SageMaker real-time endpoints, a
//! training job and a notebook; Bedrock on-demand tokens (first-party and a Marketplace
//! model) and provisioned throughput; GPU EC2 instances (p4d on a reservation, p5 on
//! demand, g5 on spot); Azure ML online endpoints, Azure OpenAI tokens and PTU, an ND GPU
//! VM on a reservation; Vertex AI endpoints and Gemini tokens, A2/A3/G2 GPU VMs (the A3 on
//! a committed use discount); OCI GPU compute and Generative AI; and non-AI services
//! beside them (EC2, S3, RDS, Azure VMs, storage and SQL, Compute Engine, Cloud Storage,
//! BigQuery) so that AI classification matters. Prices are list prices of the real SKUs,
//! rounded. `--scale S` repeats the unit S times with distinct ids (`-0000`, `-0001`, ...),
//! so rows grow linearly with `days × scale`: about 1,000 billing rows and, for its 19
//! endpoints, about 27,000 metric rows per day and scale unit (see
//! [`ROWS_PER_DAY_PER_SCALE`]).
//!
//! Every endpoint carries a planted metrics pattern (`catalog::Pattern`): healthy, idle,
//! low GPU utilization, off-hours, bursty, steady on-demand, metric gaps, or CPU-only
//! (accelerator `none`, GPU cells empty); the manifest states each pattern and the
//! recommendation it should get (or none).
//!
//! ## Billing realism, and how the truth follows it
//!
//! The ground truth is computed as each row is written, by the generator's own arithmetic
//! on the amounts it writes (`Decimal`, never f64), following ARCHITECTURE §4 and the
//! rules at the top of each parser's `mod.rs`:
//! - AWS: billed = unblended, except savings-plan-covered usage (billed 0: its negation
//!   line cancels it) ; effective = unblended for plain lines, the savings plan or
//!   reservation effective cost for covered lines, 0 for commitment fees plus their
//!   unused part. Lines of a superseded assembly count nowhere.
//! - Azure: billed is the sum of the **actual** files, effective the sum of the
//!   **amortized** files (the manifest says which file holds which view); the reservation
//!   purchase is in the actual file only, covered usage is priced in the amortized file
//!   only, and unused reservation rows appear there.
//! - GCP: billed = effective = `cost` + every `credits[].amount`, a row with two credits
//!   counted once; late rows (a later file, later `export_time`, earlier usage day) add.
//! - FOCUS: `BilledCost` and `EffectiveCost` as written.
//! - Days are UTC; a charge spanning days (tax, a monthly reservation fee) is split pro
//!   rata with `burnrate_schemas::days`, one-time purchases land on their start day.
//!   Amounts in different currencies are never added.
//!
//! Amounts carry at most 8 decimal places and 15 significant digits, so the DOUBLE cells
//! of Parquet and the JSON numbers of the GCP export read back as exactly the decimal the
//! truth added.
//!
//! ## Determinism and streaming
//!
//! Each (source, resource) stream draws from its own ChaCha8 generator seeded from the
//! run's seed and the stream's name (`rng`), so output does not depend on the order in
//! which streams are visited, and the same seed writes the same bytes. Rows go straight to
//! buffered (and, for the CUR, gzip) writers, and a legacy CUR assembly starts a new
//! `<report>-<n>.csv.gz` part every `aws_cur::ROWS_PER_FILE` rows; Parquet is built in
//! record batches of `aws_cur2::BATCH_ROWS` rows and row groups of eight batches, so its
//! buffer is bounded too. What stays in memory is the catalog (and one generator per
//! resource), a running sum per commitment, and the truth's aggregates (per provider ×
//! service × day × currency, so they grow with days but not with rows or scale beyond the
//! service list). The manifest lists every resource, so it grows with the catalog.

pub mod catalog;
pub mod truth;

mod aws_cur;
mod aws_cur2;
mod aws_lines;
mod azure;
mod focus;
mod gcp;
mod metrics;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

pub use catalog::{Catalog, Pattern};
pub use truth::Truth;

/// The data files go under `<out>/data`, the manifest is `<out>/truth.json`, so that
/// `burnrate ingest <out>/data` reads exactly the generated exports.
pub const DATA_DIR: &str = "data";

/// Approximate billing and metric rows per generated day and scale unit (documented for
/// choosing `--scale`; the benchmark measures the real figure).
pub const ROWS_PER_DAY_PER_SCALE: (u64, u64) = (1_000, 27_000);

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder to write into (created; existing files of the same names are rewritten).
    pub out: PathBuf,
    /// The first UTC day generated.
    pub start: NaiveDate,
    /// How many days, from `start`.
    pub days: u32,
    /// How many copies of the catalog's scale unit.
    pub scale: u32,
    pub seed: u64,
    /// Whether to write the per-minute metrics (the bulk of the rows).
    pub metrics: bool,
}

impl Config {
    pub fn new(out: impl Into<PathBuf>, days: u32, scale: u32, seed: u64) -> Config {
        Config {
            out: out.into(),
            start: NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default(),
            days,
            scale,
            seed,
            metrics: true,
        }
    }

    /// The generated days, in order.
    pub fn day_list(&self) -> Vec<NaiveDate> {
        (0..self.days)
            .filter_map(|i| self.start.checked_add_days(Days::new(u64::from(i))))
            .collect()
    }

    /// The generated days grouped by calendar month: one billing period each.
    pub fn periods(&self) -> Vec<Period> {
        let mut out: Vec<Period> = Vec::new();
        for day in self.day_list() {
            match out.last_mut() {
                Some(p) if p.start == first_of_month(day) => p.days.push(day),
                _ => out.push(Period {
                    start: first_of_month(day),
                    end: next_month(day),
                    days: vec![day],
                }),
            }
        }
        out
    }
}

/// A billing period (a calendar month) and the generated days in it.
#[derive(Debug, Clone)]
pub struct Period {
    pub start: NaiveDate,
    /// Exclusive.
    pub end: NaiveDate,
    pub days: Vec<NaiveDate>,
}

impl Period {
    pub fn start_time(&self) -> DateTime<Utc> {
        midnight(self.start)
    }
    pub fn end_time(&self) -> DateTime<Utc> {
        midnight(self.end)
    }
    /// `20240301-20240401`, the CUR and Azure export folder name.
    pub fn folder(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%Y%m%d"),
            self.end.format("%Y%m%d")
        )
    }
}

pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

pub fn next_month(d: NaiveDate) -> NaiveDate {
    let first = first_of_month(d);
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
}

pub fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The hour `h` of day `d`.
pub fn hour(d: NaiveDate, h: u32) -> DateTime<Utc> {
    midnight(d) + chrono::TimeDelta::hours(i64::from(h))
}

/// Why generation failed: only I/O can fail.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing Parquet {path}: {reason}")]
    Parquet { path: PathBuf, reason: String },
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> GenerateError + '_ {
    move |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file written: where, what, and how many data rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Relative to `<out>/data`, `/`-separated.
    pub path: String,
    pub provider: &'static str,
    /// The format, as `burnrate ingest` names it.
    pub format: &'static str,
    /// Which cost view the file's amounts count toward: `billed+effective`, `actual`
    /// (billed only), `amortized` (effective only), `superseded` (neither: a restated
    /// assembly), `manifest`, or `metrics`.
    pub view: &'static str,
    pub rows: u64,
}

/// What a run wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub files: Vec<Written>,
    pub billing_rows: u64,
    pub metric_rows: u64,
    pub manifest: PathBuf,
}

/// The run's shared state: the config, the catalog, the truth and the list of files.
pub(crate) struct Run<'a> {
    pub cfg: &'a Config,
    pub catalog: &'a Catalog,
    pub truth: Truth,
    pub files: Vec<Written>,
}

impl Run<'_> {
    /// Creates `rel` under the output folder (and its parents) for buffered writing.
    pub fn create(&self, rel: &str) -> Result<(PathBuf, BufWriter<File>), GenerateError> {
        let path = self.cfg.out.join(DATA_DIR).join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let file = File::create(&path).map_err(io_err(&path))?;
        Ok((path, BufWriter::with_capacity(1 << 20, file)))
    }

    pub fn wrote(&mut self, w: Written) {
        match w.view {
            "metrics" => self.truth.metric_rows += w.rows,
            "manifest" => {}
            _ => self.truth.billing_rows += w.rows,
        }
        self.files.push(w);
    }

    /// The generator of one named stream (see the module docs).
    pub fn rng(&self, stream: &str) -> ChaCha8Rng {
        rng(self.cfg.seed, stream)
    }
}

/// A ChaCha8 generator for `stream` under `seed`: FNV-1a of the name, mixed with the seed.
/// FNV is written out (not `DefaultHasher`) so seeds stay stable across Rust versions.
pub fn rng(seed: u64, stream: &str) -> ChaCha8Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stream.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(h ^ seed.rotate_left(17) ^ seed)
}

/// Money as written: 8 decimal places at most (see the module docs on DOUBLE cells).
pub fn money(x: Decimal) -> Decimal {
    x.round_dp(8).normalize()
}

/// A decimal with `scale` places from an integer count: exact, no float involved.
pub fn dec(n: i64, scale: u32) -> Decimal {
    Decimal::new(n, scale)
}

/// Writes everything for `cfg` and the manifest; returns what was written.
pub fn generate(cfg: &Config) -> Result<Summary, GenerateError> {
    let data = cfg.out.join(DATA_DIR);
    std::fs::create_dir_all(&data).map_err(io_err(&data))?;
    let catalog = Catalog::build(cfg.scale);
    let mut run = Run {
        cfg,
        catalog: &catalog,
        truth: Truth::default(),
        files: Vec::new(),
    };
    aws_cur::write(&mut run)?;
    aws_cur2::write(&mut run)?;
    azure::write(&mut run)?;
    gcp::write(&mut run)?;
    focus::write(&mut run)?;
    if cfg.metrics {
        metrics::write(&mut run)?;
    }
    let manifest = cfg.out.join("truth.json");
    let doc = run.truth.manifest(cfg, &catalog, &run.files);
    let file = File::create(&manifest).map_err(io_err(&manifest))?;
    let mut w = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut w, &doc)
        .map_err(std::io::Error::other)
        .and_then(|()| w.write_all(b"\n"))
        .and_then(|()| w.flush())
        .map_err(io_err(&manifest))?;
    Ok(Summary {
        billing_rows: run.truth.billing_rows,
        metric_rows: run.truth.metric_rows,
        files: run.files,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_independent_of_each_other_and_stable() {
        let a1: u64 = rng(7, "aws/ep-chat-0000").random();
        let a2: u64 = rng(7, "aws/ep-chat-0000").random();
        let b: u64 = rng(7, "aws/ep-chat-0001").random();
        let c: u64 = rng(8, "aws/ep-chat-0000").random();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }

    #[test]
    fn periods_follow_calendar_months() {
        let mut cfg = Config::new("/tmp/x", 3, 1, 1);
        cfg.start = NaiveDate::from_ymd_opt(2024, 2, 28).expect("date");
        let p = cfg.periods();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].folder(), "20240201-20240301");
        assert_eq!(p[0].days.len(), 2, "Feb 28 and 29 (leap year)");
        assert_eq!(
            p[1].days,
            vec![NaiveDate::from_ymd_opt(2024, 3, 1).expect("d")]
        );
    }

    #[test]
    fn money_survives_a_double() {
        // The property the Parquet and JSON writers rely on: 8 places, under 10^7.
        for (n, s) in [
            (123_456_789_012_345i64, 8u32),
            (1, 8),
            (-98_765_432, 8),
            (15, 1),
        ] {
            let d = money(dec(n, s));
            let f: f64 = d.to_string().parse().expect("float");
            assert_eq!(f.to_string().parse::<Decimal>().expect("dec"), d, "{d}");
        }
    }
}
