//! Helpers shared by the integration tests: where `../shared` is, reading a file through
//! the product, and independent plain computations over raw files to compare against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use burnrate_ingest::{Collected, FileReport, Options, ingest_path};
use burnrate_schemas::CostRecord;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// `../shared` beside the checkout (override with `BURNRATE_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("BURNRATE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

pub fn data(rel: &str) -> PathBuf {
    shared().join("data").join(rel)
}

pub fn case_dir(case: &str) -> PathBuf {
    shared().join("cases").join(case)
}

/// Reads one file through the product's ingest path.
pub fn read(path: &Path) -> (Collected, FileReport) {
    let mut out = Collected::default();
    let report = ingest_path(path, &Options::default(), &mut out)
        .unwrap_or_else(|e| panic!("ingest {}: {e}", path.display()));
    (out, report)
}

/// Reads a file and asserts that no row was rejected.
pub fn read_clean(path: &Path) -> (Collected, FileReport) {
    let (out, report) = read(path);
    assert_eq!(
        report.rejected_count,
        0,
        "{}: unexpected rejections: {:#?}",
        path.display(),
        report.rejected
    );
    (out, report)
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("bad decimal {s:?}: {e}"))
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad date {s:?}: {e}"))
}

/// Asserts `|got - want| <= tol`.
pub fn assert_close(got: Decimal, want: Decimal, tol: Decimal, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol})"
    );
}

/// Total billed and effective cost of records.
pub fn totals(records: &[CostRecord]) -> (Decimal, Decimal) {
    records
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(b, e), r| {
            (b + r.billed_cost, e + r.effective_cost)
        })
}

/// Billed and effective cost per UTC day and key, with multi-day charges split pro rata.
pub fn daily_by<K: Ord + Clone>(
    records: &[CostRecord],
    key: impl Fn(&CostRecord) -> K,
) -> BTreeMap<(NaiveDate, K), (Decimal, Decimal)> {
    let mut out: BTreeMap<(NaiveDate, K), (Decimal, Decimal)> = BTreeMap::new();
    for r in records {
        let k = key(r);
        for (day, b) in r.split_daily(r.billed_cost) {
            out.entry((day, k.clone())).or_default().0 += b;
        }
        for (day, e) in r.split_daily(r.effective_cost) {
            out.entry((day, k.clone())).or_default().1 += e;
        }
    }
    out
}

/// The plain sum of one CSV column, read with the bare `csv` crate and parsed with
/// `Decimal::from_str`/`from_scientific`: the independent computation real-file totals are
/// checked against. Empty and `NULL` cells count as zero. A BOM before the header is dropped.
pub fn csv_column_sum(path: &Path, column: &str) -> Decimal {
    csv_column_sum_where(path, column, |_| true)
}

/// Like `csv_column_sum`, over the rows for which `keep(row_as_map)` holds.
pub fn csv_column_sum_where(
    path: &Path,
    column: &str,
    keep: impl Fn(&BTreeMap<String, String>) -> bool,
) -> Decimal {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    assert!(
        headers.iter().any(|h| h == column),
        "{}: no column {column}",
        path.display()
    );
    let mut sum = Decimal::ZERO;
    for rec in reader.records() {
        let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let row: BTreeMap<String, String> = headers
            .iter()
            .cloned()
            .zip(
                rec.iter()
                    .map(|s| s.trim_start_matches('\u{feff}').to_string()),
            )
            .collect();
        if !keep(&row) {
            continue;
        }
        let cell = row.get(column).map(String::as_str).unwrap_or("");
        if cell.is_empty() || cell == "NULL" {
            continue;
        }
        let v = Decimal::from_str(cell)
            .or_else(|_| Decimal::from_scientific(cell))
            .unwrap_or_else(|e| panic!("{}: {column}={cell:?}: {e}", path.display()));
        sum += v;
    }
    sum
}

/// The rows of a CSV file as maps from header name to cell, with the bare `csv` crate.
pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = reader
        .headers()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    reader
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            headers
                .iter()
                .cloned()
                .zip(
                    rec.iter()
                        .map(|s| s.trim_start_matches('\u{feff}').to_string()),
                )
                .collect()
        })
        .collect()
}

/// The case's `expected.json`.
pub fn expected(case: &str) -> serde_json::Value {
    let path = case_dir(case).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A decimal string field of a JSON value.
pub fn jdec(v: &serde_json::Value, key: &str) -> Decimal {
    let s = v
        .get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_else(|| panic!("no string {key} in {v}"));
    dec(s)
}

/// Runs the `burnrate` binary on a store.
pub fn burnrate(data_dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run burnrate")
}

/// Runs the `burnrate` binary on a store and asserts it succeeded; returns its stdout.
pub fn burnrate_ok(data_dir: &Path, args: &[&str]) -> String {
    let out = burnrate(data_dir, args);
    assert!(
        out.status.success(),
        "burnrate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A child process (a `run` or `serve`) killed and reaped when dropped, so a failing test
/// leaves no process behind.
#[derive(Debug)]
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
