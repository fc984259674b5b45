//! Restarts, orders and absurd values through the engine (from an adversarial review):
//! a restart with no new input changes no recommendation and announces nothing; metrics
//! before costs give the same findings; absurd pushed counts do not break the engine.

mod common;

use burnrate::engine::Engine;
use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_schemas::Recommendation;
use burnrate_sink::EmbeddedStore;

fn cfg() -> RecommendationConfig {
    let mut cfg = RecommendationConfig {
        min_coverage: 0.9,
        hours_per_month: 730,
        lookback_hours: 2,
        ..RecommendationConfig::default()
    };
    cfg.idle.requests_per_minute_max = 0.0;
    cfg.idle.gpu_util_below_pct = 5.0;
    cfg
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, String, u64)> {
    let store = EmbeddedStore::open_read_only(dir).expect("store");
    store
        .recommendations()
        .expect("recs")
        .into_iter()
        .map(|r: Recommendation| (r.id, format!("{:?}", r.state), r.revision))
        .collect()
}

/// A late sample from before the lookback is refused but marks the stream's start, which
/// lowers coverage (minutes between it and the data are missing); the store keeps that
/// start, so a restart rebuilds the same window and changes no recommendation.
#[test]
fn a_restart_without_new_input_changes_no_recommendation() {
    let input = common::case_dir("B17").join("input");
    let (costs, _) = common::read_clean(&input.join("focus-endpoint-costs-2024-03-05.csv"));
    let (metrics, _) = common::read_clean(&input.join("inference-metrics-2024-03-05T10.csv"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut engine = Engine::start_with(dir.path(), 1, cfg()).expect("engine");
    engine
        .deliver(
            vec!["costs".into()],
            costs.costs.len() as u64,
            burnrate_dataflow::prepare(&costs.costs),
        )
        .expect("deliver");
    let m = engine.push_metrics(&metrics.metrics).expect("push");
    assert_eq!(m.recommendation_events, 2);
    // A late, too-old sample (07:00, before the 2-hour lookback reaching 09:00).
    let mut old = metrics.metrics[0].clone();
    old.minute = "2024-03-05T07:00:00Z".parse().expect("t");
    let m = engine.push_metrics(&[old]).expect("push");
    assert_eq!(m.accepted, 0, "{m:?}");
    let refused_events = m.recommendation_events;
    engine.close().expect("close");
    let before = snapshot(dir.path());
    let engine = Engine::start_with(dir.path(), 1, cfg()).expect("restart");
    engine.close().expect("close");
    let after = snapshot(dir.path());
    assert_eq!(
        before, after,
        "the refused sample caused {refused_events} events; the restart changed the recommendations"
    );
}

/// Metrics before costs, and the same metrics pushed twice: the same findings, no extra events.
#[test]
fn metrics_before_costs_and_a_repeated_push() {
    let input = common::case_dir("B17").join("input");
    let (costs, _) = common::read_clean(&input.join("focus-endpoint-costs-2024-03-05.csv"));
    let (metrics, _) = common::read_clean(&input.join("inference-metrics-2024-03-05T10.csv"));
    let dir = tempfile::tempdir().expect("tmp");
    let mut engine = Engine::start_with(dir.path(), 1, cfg()).expect("engine");
    let m = engine.push_metrics(&metrics.metrics).expect("push");
    assert_eq!(m.recommendation_events, 0);
    engine
        .deliver(
            vec!["costs".into()],
            costs.costs.len() as u64,
            burnrate_dataflow::prepare(&costs.costs),
        )
        .expect("deliver");
    let m = engine.push_metrics(&metrics.metrics).expect("push");
    assert_eq!((m.accepted, m.recommendation_events), (0, 0));
    engine.close().expect("close");
    let s = snapshot(dir.path());
    assert_eq!(s.len(), 2, "{s:?}");
    let engine = Engine::start_with(dir.path(), 1, cfg()).expect("restart");
    engine.close().expect("close");
    assert_eq!(snapshot(dir.path()), s);
}

/// The push API refuses a count past 10^9 a minute (422); one that reaches the engine by
/// another way (a library caller) is not measured and does not break it; counts at the
/// limit go through.
#[test]
fn a_pushed_huge_count_does_not_break_the_engine() {
    let huge = br#"[
      {"resource_id": "ep-a", "timestamp": "2024-03-05T10:00:00Z", "requests": 1e16},
      {"resource_id": "ep-a", "timestamp": "2024-03-05T10:01:00Z", "requests": 1e16}
    ]"#;
    assert!(burnrate_api::metrics_push::parse_samples(huge).is_err());
    let at_limit = br#"[
      {"resource_id": "ep-a", "timestamp": "2024-03-05T10:00:00Z", "requests": 1e9},
      {"resource_id": "ep-a", "timestamp": "2024-03-05T10:01:00Z", "requests": 1e9}
    ]"#;
    let mut samples =
        burnrate_api::metrics_push::parse_samples(at_limit).expect("the API accepts it");
    let mut beyond = samples.clone();
    for (i, s) in beyond.iter_mut().enumerate() {
        s.resource_id = "ep-b".into();
        s.requests = Some(1e16 * (i as f64 + 1.0));
    }
    samples.extend(beyond);
    let dir = tempfile::tempdir().expect("tmp");
    let mut engine = Engine::start_with(dir.path(), 1, cfg()).expect("engine");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine.push_metrics(&samples)
    }));
    assert!(r.is_ok(), "push_metrics panicked");
}
