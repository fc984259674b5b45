//! Handler tests of the recommendation endpoints and the metrics push, over an in-memory
//! store: filters (expected lists worked out by hand from the five records below), bad
//! values, 404s, verdicts visible in later reads, and all-or-nothing sample validation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use burnrate_schemas::{
    Action, DeadLetter, Effort, Event, EventKind, Finding, Priority, Provider, Recommendation,
    RecommendationType, State, Status,
};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::AppState;
use crate::testing::{Collected, MemStore, Reply, dec, get_with, send};

#[allow(clippy::too_many_arguments)]
fn rec(
    resource: &str,
    provider: Provider,
    kind: RecommendationType,
    priority: Priority,
    status: Status,
    state: State,
    currency: &str,
    savings: &str,
) -> Recommendation {
    let finding = Finding {
        provider,
        resource_id: resource.into(),
        kind,
        title: format!("{} {resource}", kind.code()),
        description: "test".into(),
        currency: currency.into(),
        current_monthly_cost: dec("1000"),
        estimated_monthly_savings: dec(savings),
        confidence: dec("0.8"),
        priority,
        effort: Effort::Low,
        action: Action::Decommission,
        supporting_data: BTreeMap::new(),
    };
    let at = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    Recommendation {
        id: finding.id(),
        savings_percent: finding.savings_percent(),
        finding,
        status,
        status_reason: None,
        state,
        created_at: at,
        updated_at: at,
        expires_at: None,
        revision: 1,
        history: Vec::new(),
    }
}

/// r1 aws rightsize high pending active USD 400; r2 gcp schedule medium accepted active USD
/// 50; r3 azure decommission low pending withdrawn EUR 300; r4 aws autoscale medium
/// rejected expired EUR 120; r5 aws purchase_commitment high pending active EUR 200.
fn recs() -> Vec<Recommendation> {
    use Priority::*;
    use RecommendationType::*;
    vec![
        rec(
            "r1",
            Provider::Aws,
            Rightsize,
            High,
            Status::Pending,
            State::Active,
            "USD",
            "400",
        ),
        rec(
            "r2",
            Provider::Gcp,
            Schedule,
            Medium,
            Status::Accepted,
            State::Active,
            "USD",
            "50",
        ),
        rec(
            "r3",
            Provider::Azure,
            Decommission,
            Low,
            Status::Pending,
            State::Withdrawn,
            "EUR",
            "300",
        ),
        rec(
            "r4",
            Provider::Aws,
            Autoscale,
            Medium,
            Status::Rejected,
            State::Expired,
            "EUR",
            "120",
        ),
        rec(
            "r5",
            Provider::Aws,
            PurchaseCommitment,
            High,
            Status::Pending,
            State::Active,
            "EUR",
            "200",
        ),
    ]
}

fn state_with(store: MemStore) -> AppState {
    AppState::new(Arc::new(store))
}

fn state() -> AppState {
    state_with(MemStore {
        recs: Mutex::new(recs()),
        ..MemStore::default()
    })
}

fn id_of(resource: &str) -> String {
    recs()
        .into_iter()
        .find(|r| r.finding.resource_id == resource)
        .expect("known resource")
        .id
}

/// The resources listed, in order.
fn listed(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["recommendations"]
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["resource_id"].as_str().expect("resource").to_string())
        .collect()
}

async fn post(state: &AppState, uri: &str, body: &str) -> Reply {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    send(state, request).await
}

fn problem(r: &Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.body);
    r.json()
}

#[tokio::test]
async fn the_default_list_is_active_by_savings_with_totals_per_currency() {
    let r = get_with(&state(), "/api/v1/recommendations").await;
    assert_eq!(listed(&r), ["r1", "r5", "r2"]);
    let doc = r.json();
    assert_eq!(doc["total_count"], 3);
    // USD 400 + 50; EUR 200.
    assert_eq!(
        doc["total_monthly_savings_by_currency"],
        json!({"USD": "450.00", "EUR": "200.00"})
    );
    assert_eq!(doc["recommendations"][0]["id"], id_of("r1"));
    assert_eq!(doc["recommendations"][0]["type"], "rightsize");
    assert_eq!(doc["recommendations"][0]["savings_percent"], "40.00");

    let r = get_with(&state(), "/api/v1/recommendations?state=all").await;
    assert_eq!(listed(&r), ["r1", "r3", "r5", "r4", "r2"]);
    assert_eq!(
        r.json()["total_monthly_savings_by_currency"],
        json!({"USD": "450.00", "EUR": "620.00"})
    );
}

#[tokio::test]
async fn each_filter_selects_what_it_names() {
    let cases: [(&str, &[&str]); 13] = [
        ("cloud_provider=aws", &["r1", "r5"]),
        ("cloud_provider=aws&cloud_provider=GCP", &["r1", "r5", "r2"]),
        ("cloud_provider=azure", &[]),
        ("cloud_provider=azure&state=withdrawn", &["r3"]),
        ("recommendation_type=schedule", &["r2"]),
        ("recommendation_type=autoscale&state=all", &["r4"]),
        ("priority=HIGH", &["r1", "r5"]),
        (
            "priority=low&priority=medium&state=all",
            &["r3", "r4", "r2"],
        ),
        ("status=accepted", &["r2"]),
        ("status=pending&state=all", &["r1", "r3", "r5"]),
        ("state=withdrawn&state=expired", &["r3", "r4"]),
        ("min_savings=200", &["r1", "r5"]),
        ("min_savings=200.01&state=all", &["r1", "r3"]),
    ];
    for (q, want) in cases {
        let r = get_with(&state(), &format!("/api/v1/recommendations?{q}")).await;
        assert_eq!(listed(&r), want, "{q}");
        assert_eq!(r.json()["total_count"], want.len(), "{q}");
    }
}

/// Pages of the `state=all` list (r1, r3, r5, r4, r2 by savings): the totals and the count
/// cover all five on every page; `next_offset` leads to the next page and is null on the
/// last.
#[tokio::test]
async fn pages_cut_the_list_and_keep_the_totals_of_all() {
    let all_totals = json!({"USD": "450.00", "EUR": "620.00"});
    let cases: [(&str, &[&str], Value); 5] = [
        ("limit=2", &["r1", "r3"], json!(2)),
        ("limit=2&offset=2", &["r5", "r4"], json!(4)),
        ("limit=2&offset=4", &["r2"], Value::Null),
        ("offset=3", &["r4", "r2"], Value::Null),
        ("limit=5", &["r1", "r3", "r5", "r4", "r2"], Value::Null),
    ];
    for (q, want, next) in cases {
        let r = get_with(&state(), &format!("/api/v1/recommendations?state=all&{q}")).await;
        assert_eq!(listed(&r), want, "{q}");
        let doc = r.json();
        assert_eq!(doc["total_count"], 5, "{q}");
        assert_eq!(doc["next_offset"], next, "{q}");
        assert_eq!(doc["total_monthly_savings_by_currency"], all_totals, "{q}");
    }
    // Past the end: an empty page, still counting all five.
    let r = get_with(&state(), "/api/v1/recommendations?state=all&offset=9").await;
    assert!(listed(&r).is_empty());
    assert_eq!(r.json()["total_count"], 5);
    // The defaults are echoed.
    let doc = get_with(&state(), "/api/v1/recommendations").await.json();
    assert_eq!(
        (doc["offset"].clone(), doc["limit"].clone()),
        (json!(0), json!(100))
    );
    for (q, param) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("limit=1&limit=2", "limit"),
    ] {
        let r = get_with(&state(), &format!("/api/v1/recommendations?{q}")).await;
        assert_eq!(problem(&r, 400)["parameter"], param, "{q}");
    }
    // An offset has no upper bound worth printing (it was usize::MAX's 20 digits).
    let r = get_with(&state(), "/api/v1/recommendations?offset=-1").await;
    assert_eq!(
        problem(&r, 400)["detail"],
        "offset must be a whole number, 0 or more, got \"-1\""
    );
}

#[tokio::test]
async fn bad_filter_values_are_400s_naming_the_parameter_and_the_choices() {
    let cases = [
        ("cloud_provider=ibm", "cloud_provider", "oci"),
        (
            "recommendation_type=resize",
            "recommendation_type",
            "scale_to_zero",
        ),
        ("priority=urgent", "priority", "medium"),
        ("status=done", "status", "implemented"),
        ("state=gone", "state", "withdrawn"),
        ("min_savings=lots", "min_savings", "decimal"),
        ("min_savings=1&min_savings=2", "min_savings", "once"),
        ("status=", "status", "empty"),
        ("sort=savings", "sort", "min_savings"),
    ];
    for (q, param, hint) in cases {
        let r = get_with(&state(), &format!("/api/v1/recommendations?{q}")).await;
        let p = problem(&r, 400);
        assert_eq!(p["parameter"], param, "{q}");
        let detail = p["detail"].as_str().unwrap_or("");
        assert!(detail.contains(hint), "{q}: {detail}");
    }
}

#[tokio::test]
async fn one_recommendation_by_id_and_unknown_ids_are_404() {
    let st = state();
    let r = get_with(&st, &format!("/api/v1/recommendations/{}", id_of("r3"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["resource_id"], "r3");
    assert_eq!(doc["state"], "withdrawn");
    assert_eq!(doc["estimated_monthly_savings"], "300.00");
    let p = problem(
        &get_with(&st, "/api/v1/recommendations/rec_nope").await,
        404,
    );
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("rec_nope")));
    let p = problem(
        &post(&st, "/api/v1/recommendations/rec_nope/accept", "").await,
        404,
    );
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("rec_nope")));
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_bodies_are_checked() {
    let st = state();
    let uri = format!("/api/v1/recommendations/{}/reject", id_of("r1"));
    for body in ["", "{}", r#"{"reason": "   "}"#, r#"{"reason": null}"#] {
        let p = problem(&post(&st, &uri, body).await, 400);
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains("reason")),
            "{body}: {p}"
        );
    }
    for body in [
        "not json",
        r#"{"reason": "x", "why": "y"}"#,
        r#"{"reason": 5}"#,
    ] {
        problem(&post(&st, &uri, body).await, 400);
    }
    // Nothing changed.
    let r = get_with(&st, &format!("/api/v1/recommendations/{}", id_of("r1"))).await;
    assert_eq!(r.json()["status"], "pending");
    assert_eq!(r.json()["revision"], 1);
}

#[tokio::test]
async fn verdicts_show_in_later_reads() {
    let st = state();
    let id = id_of("r1");
    let r = post(
        &st,
        &format!("/api/v1/recommendations/{id}/reject"),
        r#"{"reason": "  we need the headroom "}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "rejected");
    assert_eq!(r.json()["status_reason"], "we need the headroom");
    let listed_rejected = get_with(&st, "/api/v1/recommendations?status=rejected").await;
    assert_eq!(listed(&listed_rejected), ["r1"]);

    for (action, status) in [
        ("accept", "accepted"),
        ("implemented", "implemented"),
        ("dismiss", "dismissed"),
    ] {
        let r = post(&st, &format!("/api/v1/recommendations/{id}/{action}"), "").await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        let got = get_with(&st, &format!("/api/v1/recommendations/{id}"))
            .await
            .json();
        assert_eq!(got["status"], status, "{action}");
        assert!(got.get("status_reason").is_none(), "{action}: {got}");
    }
    // Dismissing again with the same (absent) reason changes nothing: still revision 5
    // (1 + reject, accept, implemented, dismiss).
    let r = post(&st, &format!("/api/v1/recommendations/{id}/dismiss"), "").await;
    assert_eq!(r.json()["revision"], 5);
    let r = post(
        &st,
        &format!("/api/v1/recommendations/{id}/dismiss"),
        r#"{"reason": "duplicate"}"#,
    )
    .await;
    assert_eq!(
        (
            r.json()["revision"].clone(),
            r.json()["status_reason"].clone()
        ),
        (json!(6), json!("duplicate"))
    );

    // Only POST is answered there.
    let p = problem(
        &get_with(&st, &format!("/api/v1/recommendations/{id}/accept")).await,
        405,
    );
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("POST only")),
        "{p}"
    );
}

#[tokio::test]
async fn a_read_only_store_refuses_verdicts_with_503() {
    let st = state_with(MemStore {
        recs: Mutex::new(recs()),
        read_only: true,
        ..MemStore::default()
    });
    let r = post(
        &st,
        &format!("/api/v1/recommendations/{}/accept", id_of("r1")),
        "",
    )
    .await;
    let p = problem(&r, 503);
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("burnrate run")),
        "{p}"
    );
}

#[tokio::test]
async fn dead_letters_are_listed() {
    let at = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    let event = Event::new(EventKind::Created, at, recs().remove(0));
    let letter = DeadLetter {
        event_id: event.id.clone(),
        kind: EventKind::Created,
        url: "http://127.0.0.1:9/hook".into(),
        attempts: 6,
        last_error: "HTTP 500: boom".into(),
        failed_at: at,
        event,
        redelivery_requested_at: None,
    };
    let st = state_with(MemStore {
        dead_letters: vec![letter.clone()],
        ..MemStore::default()
    });
    let r = get_with(&st, "/api/v1/webhooks/dead-letters").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["total_count"], 1);
    assert_eq!(
        doc["dead_letters"][0]["event_id"],
        format!("evt_{}_1", id_of("r1"))
    );
    assert_eq!(
        doc["dead_letters"][0]["event_type"],
        "recommendation.created"
    );
    assert_eq!(doc["dead_letters"][0]["attempts"], 6);
}

#[tokio::test]
async fn dead_letters_are_paged() {
    let st = state_with(MemStore {
        dead_letters: letters(),
        ..MemStore::default()
    });
    // The paging fields of the recommendation list, with the same names and defaults.
    let paging = |doc: &Value| {
        [
            doc["total_count"].clone(),
            doc["offset"].clone(),
            doc["limit"].clone(),
            doc["next_offset"].clone(),
        ]
    };
    let doc = get_with(&st, "/api/v1/webhooks/dead-letters").await.json();
    assert_eq!(paging(&doc), [json!(3), json!(0), json!(100), Value::Null]);
    assert_eq!(doc["dead_letters"].as_array().map(Vec::len), Some(3));
    let doc = get_with(&st, "/api/v1/webhooks/dead-letters?limit=2")
        .await
        .json();
    assert_eq!(paging(&doc), [json!(3), json!(0), json!(2), json!(2)]);
    assert_eq!(doc["dead_letters"].as_array().map(Vec::len), Some(2));
    let doc = get_with(&st, "/api/v1/webhooks/dead-letters?limit=2&offset=2")
        .await
        .json();
    assert_eq!(paging(&doc), [json!(3), json!(2), json!(2), Value::Null]);
    assert_eq!(doc["dead_letters"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["dead_letters"][0]["url"], "http://a/hook");
    assert_eq!(doc["dead_letters"][0]["event_id"], letters()[2].event_id);
    // Past the end: an empty page that still counts every letter.
    let doc = get_with(&st, "/api/v1/webhooks/dead-letters?offset=5")
        .await
        .json();
    assert_eq!(paging(&doc), [json!(3), json!(5), json!(100), Value::Null]);
    assert_eq!(doc["dead_letters"], json!([]));
    // The recommendation list's parameter rules: limit 1 to 1000, offset a whole number.
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("limit=2&limit=3", "limit"),
        ("page=2", "page"),
    ] {
        let r = get_with(&st, &format!("/api/v1/webhooks/dead-letters?{query}")).await;
        assert_eq!(problem(&r, 400)["parameter"], parameter, "{query}");
    }
    let doc = get_with(&st, "/api/v1/webhooks/dead-letters?limit=1000")
        .await
        .json();
    assert_eq!(paging(&doc), [json!(3), json!(0), json!(1000), Value::Null]);
}

/// Two letters of one event (two endpoints) and one of another.
fn letters() -> Vec<DeadLetter> {
    let at = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    let mut recs = recs();
    let first = Event::new(EventKind::Created, at, recs.remove(0));
    let second = Event::new(EventKind::Created, at, recs.remove(0));
    let letter = |event: &Event, url: &str| DeadLetter {
        event_id: event.id.clone(),
        kind: EventKind::Created,
        url: url.into(),
        attempts: 8,
        last_error: "HTTP 503: busy".into(),
        failed_at: at,
        event: event.clone(),
        redelivery_requested_at: None,
    };
    vec![
        letter(&first, "http://a/hook"),
        letter(&first, "http://b/hook"),
        letter(&second, "http://a/hook"),
    ]
}

#[tokio::test]
async fn dead_letters_are_queued_again_by_event_and_url() {
    let all = letters();
    let event = all[0].event_id.clone();
    let st = state_with(MemStore {
        dead_letters: all.clone(),
        ..MemStore::default()
    });
    let uri = format!("/api/v1/webhooks/dead-letters/{event}/redeliver");
    let r = post(&st, &uri, "").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let doc = r.json();
    // Its own document: the letters queued and their count, no paging fields.
    let mut keys: Vec<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["dead_letters", "total_count"]);
    assert_eq!(doc["total_count"], 2);
    let urls: Vec<&str> = doc["dead_letters"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["url"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(urls, ["http://a/hook", "http://b/hook"]);
    assert_eq!(
        doc["dead_letters"][0]["redelivery_requested_at"],
        "2024-03-05T00:53:20Z"
    );

    let r = post(&st, &format!("{uri}?url=http%3A%2F%2Fb%2Fhook"), "").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json()["total_count"], 1);
    assert_eq!(r.json()["dead_letters"][0]["url"], "http://b/hook");

    let p = problem(
        &post(&st, &format!("{uri}?url=http%3A%2F%2Fc%2Fhook"), "").await,
        404,
    );
    assert!(
        p["detail"].as_str().unwrap_or("").contains("http://c/hook"),
        "{p}"
    );
    problem(
        &post(&st, "/api/v1/webhooks/dead-letters/evt_none/redeliver", "").await,
        404,
    );
    let p = problem(&post(&st, &format!("{uri}?force=1"), "").await, 400);
    assert_eq!(p["parameter"], "force");

    let read_only = state_with(MemStore {
        dead_letters: all,
        read_only: true,
        ..MemStore::default()
    });
    problem(&post(&read_only, &uri, "").await, 503);
}

fn pushing(collected: &Arc<Collected>) -> AppState {
    AppState::new(Arc::new(MemStore::default())).with_metrics_ingest(collected.clone())
}

#[tokio::test]
async fn valid_samples_are_handed_over_with_their_row_refs() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let body = json!([
        {"resource_id": "ep-1", "timestamp": "2024-03-05T12:34:56.789Z", "provider": "AWS",
         "model": "llama-3-8b", "accelerator": "nvidia-l4", "replicas": 2, "requests": 120,
         "errors": 0, "input_tokens": 5000, "output_tokens": 800.5, "latency_p50_ms": 210,
         "latency_p95_ms": 480, "gpu_utilization_pct": 100, "gpu_memory_utilization_pct": 0,
         "cpu_utilization_pct": 12.5, "memory_utilization_pct": 40},
        {"resource_id": "ep-2", "timestamp": "2024-03-05T14:00:00+02:00", "requests": 0,
         "gpu_utilization_pct": null}
    ]);
    let r = post(&st, "/api/v1/metrics", &body.to_string()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json(), json!({"accepted": 2, "skipped": []}));
    let got = collected.samples.lock().expect("lock").clone();
    assert_eq!(got.len(), 2);
    let (a, b) = (&got[0], &got[1]);
    assert_eq!(a.resource_id, "ep-1");
    assert_eq!(
        a.minute,
        Utc.with_ymd_and_hms(2024, 3, 5, 12, 34, 0).unwrap()
    );
    assert_eq!(a.provider, Some(Provider::Aws));
    assert_eq!(
        (a.model.as_deref(), a.accelerator.as_deref()),
        (Some("llama-3-8b"), Some("nvidia-l4"))
    );
    assert_eq!(
        (a.replicas, a.requests, a.errors),
        (Some(2.0), Some(120.0), Some(0.0))
    );
    assert_eq!(
        (a.input_tokens, a.output_tokens),
        (Some(5000.0), Some(800.5))
    );
    assert_eq!(
        (a.latency_p50_ms, a.latency_p95_ms),
        (Some(210.0), Some(480.0))
    );
    assert_eq!(
        (a.gpu_utilization_pct, a.gpu_memory_utilization_pct),
        (Some(100.0), Some(0.0))
    );
    assert_eq!(
        (a.cpu_utilization_pct, a.memory_utilization_pct),
        (Some(12.5), Some(40.0))
    );
    assert_eq!(a.row_ref.to_string(), "http:POST /api/v1/metrics:1");
    // 14:00 at +02:00 is 12:00 UTC; unmeasured stays None, a measured 0 stays 0.
    assert_eq!(
        b.minute,
        Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0).unwrap()
    );
    assert_eq!(
        (b.requests, b.gpu_utilization_pct, b.provider),
        (Some(0.0), None, None)
    );
    assert_eq!(b.row_ref.row, 2);

    let wrapped = json!({"samples": [{"resource_id": "ep-3", "timestamp": "2024-03-05T00:00:00Z", "replicas": 1}]});
    let r = post(&st, "/api/v1/metrics", &wrapped.to_string()).await;
    assert_eq!(r.json(), json!({"accepted": 1, "skipped": []}));
    assert_eq!(collected.samples.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn every_bad_field_is_listed_and_nothing_is_accepted() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let body = json!([
        {"resource_id": "ep-ok", "timestamp": "2024-03-05T12:00:00Z", "requests": 3},
        {"resource_id": "ep-1", "timestamp": "2024-03-05T12:00:00Z",
         "gpu_utilization_pct": 30000, "requests": -1, "cpu_utilization_pct": "12"},
        {"resource_id": "  ", "timestamp": "yesterday", "gpu_util": 5, "replicas": 1},
        {"timestamp": "2024-03-05T12:00:00Z", "provider": "ibm", "latency_p95_ms": -0.5},
        {"resource_id": "ep-4", "timestamp": "2024-03-05T12:00:00Z", "model": "m"},
        "not a sample"
    ]);
    let r = post(&st, "/api/v1/metrics", &body.to_string()).await;
    let p = problem(&r, 422);
    let got: Vec<(u64, Option<String>)> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().expect("index"),
                e["field"].as_str().map(str::to_string),
            )
        })
        .collect();
    let f = |i: u64, s: &str| (i, Some(s.to_string()));
    let mut want = vec![
        f(1, "gpu_utilization_pct"),
        f(1, "requests"),
        f(1, "cpu_utilization_pct"),
        f(2, "gpu_util"),
        f(2, "resource_id"),
        f(2, "timestamp"),
        f(3, "resource_id"),
        f(3, "provider"),
        f(3, "latency_p95_ms"),
        (4, None),
        (5, None),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "{p}");
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("5 of 6")),
        "{p}"
    );
    assert!(collected.samples.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn pushes_that_cannot_be_taken_are_problems() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    for body in ["not json", r#"{"rows": []}"#, r#"{"samples": 5}"#, "7"] {
        problem(&post(&st, "/api/v1/metrics", body).await, 400);
    }
    let one = json!({"resource_id": "e", "timestamp": "2024-03-05T12:00:00Z", "requests": 1});
    let many = Value::Array(vec![one.clone(); crate::metrics_push::MAX_SAMPLES + 1]);
    problem(&post(&st, "/api/v1/metrics", &many.to_string()).await, 413);
    assert!(collected.samples.lock().expect("lock").is_empty());
    let full = Value::Array(vec![one.clone(); crate::metrics_push::MAX_SAMPLES]);
    let r = post(&st, "/api/v1/metrics", &full.to_string()).await;
    assert_eq!(r.json()["accepted"], crate::metrics_push::MAX_SAMPLES);

    let reader = AppState::new(Arc::new(MemStore::default()));
    let p = problem(
        &post(
            &reader,
            "/api/v1/metrics",
            &json!([one.clone()]).to_string(),
        )
        .await,
        503,
    );
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("burnrate run")),
        "{p}"
    );

    let closed = Arc::new(Collected {
        fail: true,
        ..Collected::default()
    });
    let st = pushing(&closed);
    problem(
        &post(&st, "/api/v1/metrics", &json!([one]).to_string()).await,
        503,
    );
}

#[tokio::test]
async fn endpoint_id_is_read_as_the_resource_id() {
    let collected = Arc::new(Collected::default());
    let st = pushing(&collected);
    let body = json!([{"endpoint_id": "ep-9", "timestamp": "2024-03-05T10:00:00Z", "requests": 3}]);
    let r = post(&st, "/api/v1/metrics", &body.to_string()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let got = collected.samples.lock().expect("lock").clone();
    assert_eq!(got[0].resource_id, "ep-9");
    assert_eq!(got[0].requests, Some(3.0));
}
