//! `POST /api/v1/metrics` limits: keys given twice, overlong names, absurd measurements.
//! Each is refused whole with a 422 naming the field, and nothing is handed to the job.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::AppState;
use crate::testing::{Collected, MemStore, Reply, send};

fn pushing(collected: &Arc<Collected>) -> AppState {
    AppState::new(Arc::new(MemStore::default())).with_metrics_ingest(collected.clone())
}

async fn push(state: &AppState, body: &str) -> Reply {
    let request = Request::post("/api/v1/metrics")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(state, request).await
}

/// The (index, field) pairs of a 422 problem.
fn fields(r: &Reply) -> Vec<(u64, String)> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let p: Value = serde_json::from_str(&r.body).expect("problem json");
    p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().expect("index"),
                e["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_key_given_twice_is_a_422_and_nothing_is_taken() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let twice = r#"[{"resource_id": "ep-a", "timestamp": "2024-03-05T10:00:00Z", "requests": 5, "requests": 7}]"#;
    let r = push(&st, twice).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("\\\"requests\\\" appears twice"),
        "{}",
        r.body
    );
    // The wrapper's own key twice: which list was meant is as unknown.
    let wrapper = r#"{"samples": [], "samples": [{"resource_id": "ep-b", "timestamp": "2024-03-05T10:00:00Z", "requests": 1}]}"#;
    let r = push(&st, wrapper).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(collected.samples.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn overlong_or_unprintable_names_and_absurd_measurements_are_422s() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let t = "2024-03-05T10:00:00Z";
    let body = json!([
        {"resource_id": "a".repeat(100_000), "timestamp": t, "requests": 1},
        {"resource_id": "ep\u{0}c", "timestamp": t, "requests": 1},
        {"resource_id": "ep-1", "timestamp": t, "requests": 1.5e308},
        {"resource_id": "ep-2", "timestamp": t, "input_tokens": 2e9, "model": "m".repeat(2049)},
        {"resource_id": "ep-3", "timestamp": t, "latency_p95_ms": 1.7976931348623157e308},
    ]);
    let mut got = fields(&push(&st, &body.to_string()).await);
    got.sort();
    let want: Vec<(u64, String)> = [
        (0, "resource_id"),
        (1, "resource_id"),
        (2, "requests"),
        (3, "input_tokens"),
        (3, "model"),
        (4, "latency_p95_ms"),
    ]
    .iter()
    .map(|(i, f)| (*i, f.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(collected.samples.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn the_limits_themselves_are_accepted() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let id = "r".repeat(2048);
    let body = json!([{"resource_id": id, "timestamp": "2024-03-05T10:00:00Z",
                       "requests": 1e9, "output_tokens": 1000000000}]);
    let r = push(&st, &body.to_string()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let got = collected.samples.lock().expect("lock").clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].resource_id.len(), 2048);
    assert_eq!(got[0].requests, Some(1e9));
    assert_eq!(got[0].output_tokens, Some(1e9));
}

/// A sample with a field that fails its own check (a utilization past 25,600, a negative
/// count) still has its other fields held to the limits: the 422 lists every error at
/// once, as the README promises, so a client fixes them in one round.
#[tokio::test]
async fn limits_are_listed_beside_other_errors_of_the_same_sample() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let body = json!([
        {"resource_id": "ep-1", "timestamp": "2024-03-05T10:00:00Z", "requests": 2e9,
         "errors": -1, "gpu_utilization_pct": 30000, "model": "a\u{1}"},
        {"timestamp": "not a time", "requests": 2e9},
    ]);
    let mut got = fields(&push(&st, &body.to_string()).await);
    got.sort();
    let want: Vec<(u64, String)> = [
        (0, "errors"),
        (0, "gpu_utilization_pct"),
        (0, "model"),
        (0, "requests"),
        (1, "requests"),
        (1, "resource_id"),
        (1, "timestamp"),
    ]
    .iter()
    .map(|(i, f)| (*i, f.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(collected.samples.lock().expect("lock").is_empty());
}

/// Utilization is held to the same limit as in files and CloudWatch: 100 per core or device,
/// summed over up to 256 (SageMaker's CPUUtilization on 96 vCPUs may read 4,000; 350 and
/// 25,600 are accepted, 25,600.5 is not).
#[tokio::test]
async fn utilization_has_the_same_limit_as_every_other_source() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let body = json!([
        {"resource_id": "ep-8gpu", "timestamp": "2024-03-05T10:00:00Z", "gpu_utilization_pct": 350, "cpu_utilization_pct": 25600},
    ]);
    let r = push(&st, &body.to_string()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        collected.samples.lock().expect("lock")[0].gpu_utilization_pct,
        Some(350.0)
    );
    let body = json!([
        {"resource_id": "ep-8gpu", "timestamp": "2024-03-05T10:01:00Z", "cpu_utilization_pct": 25600.5},
    ]);
    assert_eq!(
        fields(&push(&st, &body.to_string()).await),
        [(0, "cpu_utilization_pct".to_string())]
    );
}
