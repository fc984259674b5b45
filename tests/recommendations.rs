//! Recommendations on a generated month against the generator's ground truth.
//!
//! The generator plants one pattern per endpoint (idle, low GPU, off hours, bursty,
//! steady on demand, plus healthy, gappy and CPU-only endpoints that must get nothing)
//! and writes each resource's expected recommendation into `truth.json`. Costs go through
//! the product's pipeline (`burnrate ingest` into a store), metrics through the parsers;
//! the findings must match the truth exactly: precision and recall 1.0.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::{CostDay, Gpu, batch, match_key};
use burnrate_ingest::generate::{Config, generate};
use burnrate_ingest::{Collected, Options, expand_paths, ingest_path};
use burnrate_schemas::Finding;
use burnrate_sink::EmbeddedStore;
use rust_decimal::Decimal;
use serde_json::Value;

struct Month {
    dir: tempfile::TempDir,
    truth: Value,
    costs: Vec<(CostDay, Decimal)>,
    metrics: Collected,
}

fn month(seed: u64) -> Month {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("gen");
    generate(&Config::new(&out, 30, 1, seed)).expect("generate");
    let store = dir.path().join("store");
    common::burnrate_ok(
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
        dir,
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

    // The product path: `burnrate ingest` fed the metrics through the incremental job, day
    // file by day file, interleaved with the billing deliveries. Its active recommendations
    // are exactly the from-scratch findings, each announced by a `created` event once.
    let store = EmbeddedStore::open_read_only(&m.dir.path().join("store")).expect("store");
    let recs = store.recommendations().expect("recommendations");
    let mut active: Vec<Finding> = recs
        .iter()
        .filter(|r| r.state == burnrate_schemas::State::Active)
        .map(|r| r.finding.clone())
        .collect();
    active.sort();
    assert_eq!(active, findings);
    let (precision, recall, wrong) = score(&active, &m.truth);
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!((precision, recall), (1.0, 1.0));
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for e in store.outbox().expect("outbox") {
        if e.kind == burnrate_schemas::EventKind::Created {
            *created.entry(e.recommendation.id.clone()).or_default() += 1;
        }
    }
    for r in &recs {
        assert_eq!(created.get(&r.id), Some(&1), "{}", r.id);
    }
}

/// The case's settings as our config: its window comes from the data (10:00–10:09).
fn b17_config(case: &Value) -> RecommendationConfig {
    let c = &case["config"];
    let mut cfg = RecommendationConfig {
        min_coverage: c["min_coverage"].as_f64().expect("min_coverage"),
        hours_per_month: c["hours_per_month"].as_u64().expect("hours") as u32,
        ..RecommendationConfig::default()
    };
    cfg.idle.requests_per_minute_max = c["idle"]["requests_max"].as_f64().expect("requests_max");
    cfg.idle.gpu_util_below_pct = c["idle"]["gpu_util_below_pct"].as_f64().expect("gpu");
    cfg
}

/// Case B17 through the parsers and the from-scratch signals: missing minutes are missing,
/// an unmeasured GPU is absent, and only the two idle endpoints get a recommendation.
#[test]
fn case_b17_signals_and_recommendations() {
    let case = common::expected("B17");
    let dir = common::case_dir("B17").join("input");
    let (metrics, _) = common::read_clean(&dir.join("inference-metrics-2024-03-05T10.csv"));
    let (costs, _) = common::read_clean(&dir.join("focus-endpoint-costs-2024-03-05.csv"));
    let cost_days: Vec<(CostDay, Decimal)> = burnrate_dataflow::prepare(&costs.costs)
        .parts
        .into_iter()
        .filter_map(|(_, key, a)| CostDay::of(&key).map(|d| (d, a.effective_decimal())))
        .collect();
    let cfg = b17_config(&case);
    let signals = batch::signals(&metrics.metrics, &cost_days, &cfg);
    let tol = 1e-6;
    for e in case["expected"]["endpoints"].as_array().expect("endpoints") {
        let id = e["endpoint_id"].as_str().expect("id");
        let s = &signals[id];
        let num = |k: &str| e[k].as_str().map(|v| v.parse::<f64>().expect("number"));
        assert!(
            (s.coverage.ratio() - num("coverage").expect("coverage")).abs() < tol,
            "{id}"
        );
        let rpm = s.throughput.per_minute_avg.expect("requests measured");
        assert!(
            (rpm - num("requests_per_minute_avg").expect("rpm")).abs() < tol,
            "{id}"
        );
        match (num("gpu_utilization_avg_pct"), s.utilization.gpu) {
            (Some(want), Gpu::Measured { avg, .. }) => assert!((avg - want).abs() < tol, "{id}"),
            (None, Gpu::NotApplicable) => {
                assert_eq!(e["gpu_metrics"], "not_applicable");
            }
            (want, got) => panic!("{id}: gpu {want:?} vs {got:?}"),
        }
        if let Some(total) = e["requests_total_observed"].as_f64() {
            assert_eq!(s.throughput.requests_total, total, "{id}");
        }
        if let Some(tokens) = e["output_tokens_total_observed"].as_i64() {
            assert_eq!(s.activity.output_tokens, tokens, "{id}");
        }
        if let Some(missing) = e["missing_minutes"].as_array() {
            assert_eq!(
                s.coverage.expected - s.coverage.present,
                missing.len() as i64
            );
        }
    }
    let findings = batch::findings(&metrics.metrics, &cost_days, &cfg);
    let got: BTreeMap<String, (String, Decimal)> = findings
        .iter()
        .map(|f| {
            (
                f.resource_id.clone(),
                (f.kind.code().to_string(), f.estimated_monthly_savings),
            )
        })
        .collect();
    let recs = case["expected"]["recommendations"]
        .as_array()
        .expect("recs");
    assert_eq!(got.len(), recs.len(), "{findings:#?}");
    for r in recs {
        let id = r["resource_id"].as_str().expect("id");
        let (kind, savings) = &got[id];
        assert_eq!(kind, r["type"].as_str().expect("type"));
        assert_eq!(*savings, common::jdec(r, "estimated_monthly_savings"));
    }
    for id in case["expected"]["no_recommendation_for"]
        .as_array()
        .expect("none")
    {
        assert!(!got.contains_key(id.as_str().expect("id")));
    }
}

/// A sample dated in the future would move the watermark past every real minute: it is
/// refused, and the real minutes still count.
#[test]
fn a_future_sample_cannot_expire_the_window() {
    let case = common::expected("B17");
    let input = common::case_dir("B17").join("input");
    let (costs, _) = common::read_clean(&input.join("focus-endpoint-costs-2024-03-05.csv"));
    let (metrics, _) = common::read_clean(&input.join("inference-metrics-2024-03-05T10.csv"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut engine =
        burnrate::engine::Engine::start_with(dir.path(), 1, b17_config(&case)).expect("engine");
    engine
        .deliver(
            vec!["costs".into()],
            costs.costs.len() as u64,
            burnrate_dataflow::prepare(&costs.costs),
        )
        .expect("deliver");
    let mut future = metrics.metrics[0].clone();
    future.minute = "2999-01-01T00:00:00Z".parse().expect("time");
    let m = engine.push_metrics(&[future]).expect("push");
    assert_eq!(m.accepted, 0);
    assert!(m.refused[0].1.contains("in the future"), "{:?}", m.refused);
    let m = engine.push_metrics(&metrics.metrics).expect("push");
    assert_eq!(m.accepted, metrics.metrics.len());
    assert_eq!(m.recommendation_events, 2);
    engine.close().expect("close");
}
