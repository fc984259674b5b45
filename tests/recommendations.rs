//! Recommendations on a generated month against the generator's ground truth.
//!
//! The generator plants one pattern per endpoint (idle, low GPU, off hours, bursty,
//! steady on demand, plus healthy, gappy and CPU-only endpoints that must get nothing)
//! and writes each resource's expected recommendation into `truth.json`. Costs go through
//! the product's pipeline (`burnrate ingest` into a store), metrics through the parsers;
//! the findings must match the truth exactly: precision and recall 1.0.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::{CostDay, batch, match_key};
use burnrate_ingest::generate::{Config, generate};
use burnrate_ingest::{Collected, Options, expand_paths, ingest_path};
use burnrate_schemas::Finding;
use burnrate_sink::EmbeddedStore;
use rust_decimal::Decimal;
use serde_json::Value;

fn burnrate(data_dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run burnrate");
    assert!(
        out.status.success(),
        "burnrate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Month {
    _dir: tempfile::TempDir,
    truth: Value,
    costs: Vec<(CostDay, Decimal)>,
    metrics: Collected,
}

fn month(seed: u64) -> Month {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("gen");
    generate(&Config::new(&out, 30, 1, seed)).expect("generate");
    let store = dir.path().join("store");
    burnrate(
        &store,
        &["ingest", out.join("data").to_str().expect("utf8")],
    );
    let costs = EmbeddedStore::open_read_only(&store)
        .expect("store")
        .daily_cost(|_| true)
        .expect("rows")
        .into_iter()
        .filter_map(|r| CostDay::of(&r.key).map(|d| (d, r.totals.effective_cost)))
        .collect();
    let mut metrics = Collected::default();
    let files = expand_paths(&[out.join("data").join("metrics")]).expect("metrics");
    for f in &files.files {
        let report = ingest_path(f, &Options::default(), &mut metrics).expect("metrics file");
        assert_eq!(report.rejected_count, 0);
    }
    let truth =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).expect("truth"))
            .expect("json");
    Month {
        _dir: dir,
        truth,
        costs,
        metrics,
    }
}

/// Resource match key → expected recommendation type, for every endpoint with metrics.
fn expected(truth: &Value) -> BTreeMap<String, Option<String>> {
    truth["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| !r["pattern"].is_null())
        .map(|r| {
            let id = r["resource_id"]
                .as_str()
                .or(r["metrics_id"].as_str())
                .expect("id");
            (
                match_key(id),
                r["expected_recommendation"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Precision and recall of findings against the truth, and the mismatches.
fn score(findings: &[Finding], truth: &Value) -> (f64, f64, Vec<String>) {
    let want = expected(truth);
    let got: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| (match_key(&f.resource_id), f.kind.code().to_string()))
        .collect();
    let wanted: BTreeSet<(String, String)> = want
        .iter()
        .filter_map(|(k, t)| t.clone().map(|t| (k.clone(), t)))
        .collect();
    let hits = got.intersection(&wanted).count();
    let mut wrong: Vec<String> = got
        .difference(&wanted)
        .map(|(k, t)| format!("unexpected {t} on {k}"))
        .collect();
    wrong.extend(
        wanted
            .difference(&got)
            .map(|(k, t)| format!("missed {t} on {k}")),
    );
    let precision = if got.is_empty() {
        1.0
    } else {
        hits as f64 / got.len() as f64
    };
    let recall = if wanted.is_empty() {
        1.0
    } else {
        hits as f64 / wanted.len() as f64
    };
    (precision, recall, wrong)
}

#[test]
fn planted_patterns_are_found_and_nothing_else() {
    let m = month(7);
    let findings = batch::findings(
        &m.metrics.metrics,
        &m.costs,
        &RecommendationConfig::default(),
    );
    let (precision, recall, wrong) = score(&findings, &m.truth);
    eprintln!(
        "precision {precision:.3} recall {recall:.3} over {} findings",
        findings.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}\n{findings:#?}");
    assert_eq!((precision, recall), (1.0, 1.0));
    // Every planted type appears at least once.
    let kinds: BTreeSet<&str> = findings.iter().map(|f| f.kind.code()).collect();
    for k in [
        "decommission",
        "rightsize",
        "schedule",
        "autoscale",
        "purchase_commitment",
    ] {
        assert!(kinds.contains(k), "no {k} finding");
    }
}
