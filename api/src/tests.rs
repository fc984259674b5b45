//! Handler tests over an in-memory store: status codes, problem documents, parameters,
//! currencies, metrics and the OpenAPI document.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;
use utoipa::OpenApi;

use crate::testing::{MemStore, get, get_with, resource_row, row};
use crate::{AppState, params};

fn store() -> MemStore {
    MemStore {
        rows: vec![
            row("2024-03-04", "aws", "USD", "10.10", true),
            row("2024-03-05", "aws", "USD", "2.02", true),
            row("2024-03-05", "aws", "USD", "1000", false),
            row("2024-03-05", "azure", "EUR", "3.5", true),
            row("2024-04-01", "gcp", "USD", "7", true),
            resource_row("2024-03-05", "/subscriptions/s1/vm/a b", "USD", "4", "3"),
        ],
        ..MemStore::default()
    }
}

fn assert_problem(r: &crate::testing::Reply, status: u16, parameter: Option<&str>) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json", "{}", r.body);
    let p = r.json();
    assert_eq!(p["status"], status);
    assert!(
        p["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("https://"))
    );
    assert!(p["title"].is_string() && p["detail"].is_string(), "{p}");
    assert_eq!(p["parameter"].as_str(), parameter, "{p}");
    p
}

#[tokio::test]
async fn summary_separates_currencies_and_applies_filters() {
    let r = get(
        store(),
        "/api/v1/ai-costs/summary?start_date=2024-03-01&end_date=2024-03-31",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = r.json();
    // AI rows of March: USD 10.10 + 2.02 + 4 (the resource row) = 16.12; EUR 3.5.
    assert_eq!(s["total_cost"], Value::Null);
    assert_eq!(s["totals_by_currency"]["USD"], "16.12");
    assert_eq!(s["totals_by_currency"]["EUR"], "3.5");

    let r = get(
        store(),
        "/api/v1/ai-costs/summary?start_date=2024-03-01&end_date=2024-03-31\
         &cloud_provider=aws&scope=all",
    )
    .await;
    let s = r.json();
    // All AWS rows of March: 10.10 + 2.02 + 1000 + 4.
    assert_eq!(s["total_cost"], "1016.12");
    assert_eq!(s["currency"], "USD");
    assert!(s.get("totals_by_currency").is_none());

    let r = get(
        store(),
        "/api/v1/ai-costs/summary?start_date=2024-03-05&end_date=2024-03-05&cost_type=effective",
    )
    .await;
    // Effective of the AI rows on March 5: USD 2.02 + 3 (resource row), EUR 3.5.
    assert_eq!(r.json()["totals_by_currency"]["USD"], "5.02");
}

#[tokio::test]
async fn bad_parameters_are_400_problems_naming_the_parameter() {
    for (q, param) in [
        ("start_date=2024-02-30", "start_date"),
        ("start_date=yesterday", "start_date"),
        ("start_date=2024-03-10&end_date=2024-03-01", "end_date"),
        ("scope=everything", "scope"),
        ("cloud_provider=alibaba", "cloud_provider"),
        ("limit=10", "limit"),
    ] {
        let r = get(store(), &format!("/api/v1/ai-costs/summary?{q}")).await;
        let p = assert_problem(&r, 400, Some(param));
        assert!(
            !p["value"].as_str().unwrap_or("").is_empty() || q.ends_with('='),
            "{p}"
        );
        let r = get(store(), &format!("/api/v1/ai-costs/trends?{q}")).await;
        assert_problem(&r, 400, Some(param));
    }
    let r = get(store(), "/api/v1/ai-costs/trends?granularity=hourly").await;
    assert_problem(&r, 400, Some("granularity"));
    let r = get(
        store(),
        "/api/v1/ai-costs/trends?granularity=daily&start_date=1990-01-01&end_date=2024-01-01",
    )
    .await;
    assert_problem(&r, 400, Some("granularity"));
    let r = get(store(), "/api/v1/ai-costs/resources/i-1/costs?scope=ai").await;
    assert_problem(&r, 400, Some("scope"));
}

#[tokio::test]
async fn a_failing_store_is_503_and_not_ready() {
    let failing = || MemStore {
        fail: true,
        ..MemStore::default()
    };
    for uri in [
        "/api/v1/ai-costs/summary",
        "/api/v1/ai-costs/trends",
        "/api/v1/ai-costs/resources/x/costs",
        "/readyz",
    ] {
        let r = get(failing(), uri).await;
        let p = assert_problem(&r, 503, None);
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or("")
                .contains("connection refused")
        );
    }
    let r = get(failing(), "/livez").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(get(store(), "/readyz").await.json()["status"], "ready");
}

#[tokio::test]
async fn trends_add_up_to_the_summary_per_currency() {
    let range = "start_date=2024-03-01&end_date=2024-04-30&scope=all";
    let s = get(store(), &format!("/api/v1/ai-costs/summary?{range}"))
        .await
        .json();
    for g in ["daily", "weekly", "monthly"] {
        let t = get(
            store(),
            &format!("/api/v1/ai-costs/trends?{range}&granularity={g}"),
        )
        .await
        .json();
        assert_eq!(t["granularity"], g);
        for cur in ["USD", "EUR"] {
            let sum: rust_decimal::Decimal = t["points"]
                .as_array()
                .expect("points")
                .iter()
                .filter(|p| p["currency"] == cur)
                .map(|p| crate::testing::dec(p["cost"].as_str().expect("cost")))
                .sum();
            let want = crate::testing::dec(s["totals_by_currency"][cur].as_str().expect("total"));
            assert_eq!(sum, want, "{g} {cur}");
        }
    }
    // Monthly: March and April, two currencies each.
    let t = get(
        store(),
        &format!("/api/v1/ai-costs/trends?{range}&granularity=monthly"),
    )
    .await
    .json();
    assert_eq!(t["points"].as_array().map(Vec::len), Some(4));
    assert_eq!(t["points"][3]["period_start"], "2024-04-01");
    assert_eq!(t["points"][3]["currency"], "USD");
    assert_eq!(t["points"][3]["cost"], "7");
}

#[tokio::test]
async fn resource_ids_with_slashes_arrive_decoded_and_unknown_ones_are_404() {
    let r = get(
        store(),
        "/api/v1/ai-costs/resources/%2Fsubscriptions%2Fs1%2Fvm%2Fa%20b/costs\
         ?start_date=2024-03-04&end_date=2024-03-06",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["resource_id"], "/subscriptions/s1/vm/a b");
    assert_eq!(doc["totals_by_currency"]["USD"], "4");
    assert_eq!(doc["daily"].as_array().map(Vec::len), Some(3));
    // Basis March 4..6 (all complete: today is years later): 4 / 3 * 30.4375.
    assert_eq!(doc["monthly_run_rate"][0]["monthly_cost"], "40.5833333333");

    let r = get(store(), "/api/v1/ai-costs/resources/i-unknown/costs").await;
    assert_problem(&r, 404, None);
    let r = get(store(), "/api/v1/nothing-here").await;
    assert_problem(&r, 404, None);
}

/// A path segment that is not UTF-8 once percent-decoded (`%FF`) is a 400 problem
/// document naming the segment, on every route that takes one, never axum's plain-text
/// rejection.
#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_400_problem() {
    let state = AppState::new(Arc::new(store()));
    for (method, uri, segment) in [
        (
            "GET",
            "/api/v1/ai-costs/resources/%FF%FE/costs",
            "resource_id",
        ),
        ("GET", "/api/v1/recommendations/rec_%FF", "id"),
        ("POST", "/api/v1/recommendations/%C3/accept", "id"),
        ("POST", "/api/v1/recommendations/%C3/reject", "id"),
        ("POST", "/api/v1/recommendations/%C3/implemented", "id"),
        ("POST", "/api/v1/recommendations/%C3/dismiss", "id"),
        (
            "POST",
            "/api/v1/webhooks/dead-letters/evt_%FF/redeliver",
            "event_id",
        ),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .expect("request");
        let r = crate::testing::send(&state, request).await;
        assert_problem(&r, 400, Some(segment));
    }
}

#[tokio::test]
async fn other_methods_are_405_problems() {
    let state = AppState::new(Arc::new(store()));
    let request = axum::http::Request::post("/api/v1/ai-costs/summary")
        .body(axum::body::Body::empty())
        .expect("request");
    let r = crate::testing::send(&state, request).await;
    let p = assert_problem(&r, 405, None);
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("GET only")),
        "{p}"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let state = AppState::new(Arc::new(store()));
    get_with(
        &state,
        "/api/v1/ai-costs/summary?start_date=2024-03-01&end_date=2024-03-31",
    )
    .await;
    get_with(&state, "/api/v1/ai-costs/summary?start_date=bad").await;
    get_with(&state, "/api/v1/ai-costs/resources/i-unknown/costs").await;
    get_with(&state, "/random/path").await;
    let r = get_with(&state, "/metrics").await;
    assert!(r.content_type.starts_with("text/plain; version=0.0.4"));
    let text = r.body;
    for line in [
        r#"burnrate_http_requests_total{route="/api/v1/ai-costs/summary",method="GET",status="200"} 1"#,
        r#"burnrate_http_requests_total{route="/api/v1/ai-costs/summary",method="GET",status="400"} 1"#,
        r#"burnrate_http_requests_total{route="/api/v1/ai-costs/resources/{resource_id}/costs",method="GET",status="404"} 1"#,
        r#"burnrate_http_requests_total{route="unmatched",method="GET",status="404"} 1"#,
        r#"burnrate_http_request_duration_seconds_count{route="/api/v1/ai-costs/summary"} 2"#,
        r#"burnrate_http_request_duration_seconds_bucket{route="/api/v1/ai-costs/summary",le="+Inf"} 2"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_the_parameters_the_parser_accepts() {
    let r = get(store(), "/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/api/v1/ai-costs/summary",
        "/api/v1/ai-costs/trends",
        "/api/v1/ai-costs/resources/{resource_id}/costs",
        "/livez",
        "/readyz",
        "/metrics",
        "/api/v1/openapi.json",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    let names = |path: &str| -> Vec<String> {
        let mut v: Vec<String> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut want: Vec<String> = params::COST_QUERY_PARAMS
        .iter()
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(names("/api/v1/ai-costs/summary"), want);
    want.push("granularity".into());
    want.sort();
    assert_eq!(names("/api/v1/ai-costs/trends"), want);
    assert_eq!(
        names("/api/v1/ai-costs/resources/{resource_id}/costs"),
        vec!["cost_type", "end_date", "start_date"]
    );
    for schema in ["Summary", "Trends", "ResourceCosts", "Problem"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Money is documented as a string, as it is sent.
    assert_eq!(
        doc["components"]["schemas"]["TrendPoint"]["properties"]["cost"]["type"],
        "string"
    );
    let mut list_params: Vec<String> = crate::recommendations::LIST_PARAMS
        .iter()
        .map(|s| s.to_string())
        .collect();
    list_params.sort();
    assert_eq!(names("/api/v1/recommendations"), list_params);
    assert!(doc["paths"]["/api/v1/webhooks/dead-letters/{event_id}/redeliver"]["post"].is_object());
    // The dead-letter list is paged like the recommendations: the same parameters and
    // the same paging fields; a redelivery's answer is not paged.
    assert_eq!(
        names("/api/v1/webhooks/dead-letters"),
        vec!["limit", "offset"]
    );
    let fields = |schema: &str| -> Vec<String> {
        let mut v: Vec<String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let paging = ["limit", "next_offset", "offset", "total_count"];
    for f in paging {
        assert!(fields("RecommendationList").contains(&f.to_string()), "{f}");
    }
    let mut want = vec!["dead_letters".to_string()];
    want.extend(paging.iter().map(|s| s.to_string()));
    assert_eq!(fields("DeadLetters"), want);
    assert_eq!(fields("Redelivered"), vec!["dead_letters", "total_count"]);
    assert_eq!(
        doc["paths"]["/api/v1/webhooks/dead-letters/{event_id}/redeliver"]["post"]["responses"]["202"]
            ["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Redelivered"
    );
    assert_eq!(crate::openapi::ApiDoc::openapi().paths.paths.len(), 16);
}
