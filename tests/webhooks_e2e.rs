//! Recommendations to webhooks, end to end: case B17's costs and metrics go through the
//! engine, the notifier sends the events to a real HTTP receiver on loopback (an axum
//! server that fails its first request), and the engine and notifier are restarted.
//!
//! Checked: every request verifies with the shared secret; the failed request is retried;
//! each recommendation appearing gives exactly one `recommendation.created` event,
//! delivered once, and neither the restart (replay and reconcile) nor the same metrics
//! pushed again announce anything a second time.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use burnrate::engine::Engine;
use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_sink::webhooks::{EndpointConfig, Format, verify};
use burnrate_sink::{EmbeddedStore, Notifier, WebhookConfig};
use chrono::{TimeDelta, Utc};

const SECRET: &str = "e2e-secret";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes, u16)>>>;

/// A receiver answering 500 to its first request and 200 after; returns its URL.
fn receiver(seen: Seen) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                    let seen = seen.clone();
                    async move {
                        let mut seen = seen.lock().expect("lock");
                        let status = if seen.is_empty() { 500 } else { 200 };
                        seen.push((headers, body, status));
                        StatusCode::from_u16(status).expect("status")
                    }
                }),
            );
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("address");
    format!("http://{addr}/hook")
}

fn b17_config() -> RecommendationConfig {
    let mut cfg = RecommendationConfig::default();
    cfg.idle.requests_per_minute_max = 0.0;
    cfg
}

fn webhooks(url: &str) -> WebhookConfig {
    WebhookConfig {
        endpoints: vec![EndpointConfig {
            url: url.to_string(),
            secret: SECRET.into(),
            format: Format::Json,
            events: Vec::new(),
        }],
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..WebhookConfig::default()
    }
}

/// Sends until nothing is due (the clock moved past each backoff).
fn drain(store: &Arc<EmbeddedStore>, url: &str) {
    let mut notifier = Notifier::new(store.clone(), webhooks(url)).expect("notifier");
    let mut now = Utc::now();
    for _ in 0..10 {
        let stats = notifier.run_once(now).expect("run");
        if stats.next_due.is_none() {
            return;
        }
        now += TimeDelta::seconds(1);
    }
    panic!("the outbox did not drain");
}

#[test]
fn one_created_event_per_recommendation_across_a_restart() {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let url = receiver(seen.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let input = common::case_dir("B17").join("input");
    let (costs, _) = common::read_clean(&input.join("focus-endpoint-costs-2024-03-05.csv"));
    let (metrics, _) = common::read_clean(&input.join("inference-metrics-2024-03-05T10.csv"));
    {
        let mut engine = Engine::start_with(dir.path(), 1, b17_config()).expect("engine");
        engine
            .deliver(
                vec!["b17-costs".into()],
                costs.costs.len() as u64,
                burnrate_dataflow::prepare(&costs.costs),
            )
            .expect("deliver");
        let m = engine.push_metrics(&metrics.metrics).expect("metrics");
        assert_eq!(m.accepted, metrics.metrics.len());
        // Case B17: the two idle endpoints, nothing for the one with gaps.
        assert_eq!(m.recommendation_events, 2);
        drain(&engine.store(), &url);
        engine.close().expect("close");
    }
    // A restart replays costs and metrics; the same samples pushed again count nothing.
    {
        let mut engine = Engine::start_with(dir.path(), 1, b17_config()).expect("restart");
        let m = engine
            .push_metrics(&metrics.metrics)
            .expect("metrics again");
        assert_eq!((m.accepted, m.recommendation_events), (0, 0));
        assert_eq!(m.refused.len(), metrics.metrics.len());
        assert_eq!(engine.maintain().expect("upkeep"), 0);
        drain(&engine.store(), &url);
        assert!(engine.store().outbox().expect("outbox").is_empty());
        engine.close().expect("close");
    }
    let seen = seen.lock().expect("lock").clone();
    // Two events, the first attempt refused with 500 and retried: three requests.
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].2, 500);
    let mut delivered: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for (headers, body, status) in &seen {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        verify(
            SECRET,
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
            body,
            Utc::now(),
            Duration::from_secs(300),
        )
        .expect("signature verifies");
        let event: serde_json::Value = serde_json::from_slice(body).expect("json");
        assert_eq!(event["id"], h("webhook-id"));
        if *status == 200 {
            assert!(
                delivered
                    .insert(h("webhook-id").to_string(), event)
                    .is_none(),
                "an event delivered twice"
            );
        }
    }
    assert_eq!(delivered.len(), 2);
    let mut kinds: Vec<(String, String)> = delivered
        .values()
        .map(|e| {
            (
                e["type"].as_str().expect("type").to_string(),
                e["recommendation"]["resource_id"]
                    .as_str()
                    .expect("resource")
                    .rsplit('/')
                    .next()
                    .expect("tail")
                    .to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            (
                "recommendation.created".to_string(),
                "ep-cpu-idle".to_string()
            ),
            (
                "recommendation.created".to_string(),
                "ep-gpu-idle".to_string()
            ),
        ]
    );
    // The store still lists both, active, pending, at their first revision.
    let store = EmbeddedStore::open_read_only(dir.path()).expect("store");
    let recs = store.recommendations().expect("recs");
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.revision == 1
        && r.state == burnrate_schemas::State::Active
        && r.status == burnrate_schemas::Status::Pending));
}
