//! The recommendation endpoints over real TCP on loopback, reading and writing a real
//! redb store in a temp directory through the root's `EmbeddedReader`: what the lifecycle
//! stored is what a client reads, a verdict survives a recompute, and a read-only server
//! (`burnrate serve`'s kind of store) refuses verdicts.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use burnrate::stores::EmbeddedReader;
use burnrate_api::{AppState, router};
use burnrate_schemas::{Action, Effort, Finding, Priority, Provider, RecommendationType};
use burnrate_sink::EmbeddedStore;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

fn finding(resource: &str, savings: &str) -> Finding {
    Finding {
        provider: Provider::Gcp,
        resource_id: resource.into(),
        kind: RecommendationType::Schedule,
        title: format!("Stop {resource} at night"),
        description: "No requests between 22:00 and 06:00 UTC".into(),
        currency: "USD".into(),
        current_monthly_cost: Decimal::from(1000),
        estimated_monthly_savings: Decimal::from_str(savings).expect("decimal"),
        confidence: Decimal::from_str("0.7").expect("decimal"),
        priority: Priority::Medium,
        effort: Effort::Medium,
        action: Action::ScaleToZero,
        supporting_data: BTreeMap::new(),
    }
}

/// Serves the router over `store` on a free loopback port, on a runtime of its own.
fn serve(store: Arc<EmbeddedStore>) -> (SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = router(AppState::new(Arc::new(EmbeddedReader(store))));
    runtime.spawn(async move { axum::serve(listener, app).await });
    (addr, runtime)
}

/// One HTTP/1.1 request per connection; returns the status and the JSON body.
fn http(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    (status, json)
}

#[test]
fn what_the_lifecycle_stores_is_served_and_verdicts_survive_a_recompute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let t0 = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    let (a, b) = (finding("ep-a", "120"), finding("ep-b", "300"));
    let events = store
        .apply_findings(&[(a.clone(), 1), (b.clone(), 1)], t0, None)
        .expect("apply");
    assert_eq!(events.len(), 2);
    let (addr, _runtime) = serve(store.clone());

    let (status, list) = http(addr, "GET", "/api/v1/recommendations", "");
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["recommendations"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["resource_id"].as_str().expect("resource"))
        .collect();
    assert_eq!(ids, ["ep-b", "ep-a"], "largest savings first");
    assert_eq!(list["total_monthly_savings_by_currency"]["USD"], "420.00");

    let reject = format!("/api/v1/recommendations/{}/reject", a.id());
    assert_eq!(http(addr, "POST", &reject, "").0, 400);
    let (status, rec) = http(addr, "POST", &reject, r#"{"reason":"batch job"}"#);
    assert_eq!(status, 200, "{rec}");
    assert_eq!(
        (rec["status"].as_str(), rec["revision"].as_u64()),
        (Some("rejected"), Some(2))
    );

    // The job recomputes: a new version of the finding. The person's verdict stays.
    let t1 = t0 + chrono::Duration::hours(1);
    let newer = finding("ep-a", "150");
    store
        .apply_findings(&[(a.clone(), -1), (newer, 1)], t1, None)
        .expect("update");
    let (status, rec) = http(
        addr,
        "GET",
        &format!("/api/v1/recommendations/{}", a.id()),
        "",
    );
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["estimated_monthly_savings"], "150.00");
    assert_eq!(rec["status"], "rejected");
    assert_eq!(rec["status_reason"], "batch job");
    let history: Vec<&str> = rec["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["event"].as_str().expect("event"))
        .collect();
    assert_eq!(history, ["created", "status:rejected", "updated"]);
    assert_eq!(
        http(addr, "GET", "/api/v1/recommendations/rec_0", "").0,
        404
    );
}

#[test]
fn a_read_only_server_lists_but_refuses_verdicts_and_pushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = finding("ep-a", "120");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let t0 = Utc
            .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
            .single()
            .expect("time");
        store
            .apply_findings(&[(a.clone(), 1)], t0, None)
            .expect("apply");
    }
    let reader = Arc::new(EmbeddedStore::open_read_only(dir.path()).expect("read-only"));
    let (addr, _runtime) = serve(reader);
    let (status, list) = http(addr, "GET", "/api/v1/recommendations", "");
    assert_eq!((status, list["total_count"].as_u64()), (200, Some(1)));
    let (status, p) = http(
        addr,
        "POST",
        &format!("/api/v1/recommendations/{}/accept", a.id()),
        "",
    );
    assert_eq!(status, 503, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("burnrate run")),
        "{p}"
    );
    let (status, dead) = http(addr, "GET", "/api/v1/webhooks/dead-letters", "");
    assert_eq!((status, dead["total_count"].as_u64()), (200, Some(0)));
    let (status, p) = http(
        addr,
        "POST",
        "/api/v1/webhooks/dead-letters/evt_x/redeliver",
        "",
    );
    assert_eq!(status, 503, "{p}");
    let sample = r#"[{"resource_id":"ep-a","timestamp":"2024-03-05T00:00:00Z","requests":1}]"#;
    assert_eq!(http(addr, "POST", "/api/v1/metrics", sample).0, 503);
}

/// A receiver on loopback answering each request with the next status of `script`, then
/// 200; returns its URL and the `webhook-id` of each request.
fn scripted_receiver(script: &[u16]) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let mut script: std::collections::VecDeque<u16> = script.iter().copied().collect();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
            let (mut id, mut len, mut line) = (String::new(), 0usize, String::new());
            loop {
                line.clear();
                if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("webhook-id:") {
                    id = v.trim().to_string();
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            record.lock().expect("lock").push(id);
            let status = script.pop_front().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

/// A dead letter is listed, queued again over HTTP, sent by the writer's notifier at its
/// next run, and then no longer listed.
#[test]
fn a_dead_letter_is_redelivered_through_the_api() {
    use burnrate_sink::webhooks::{EndpointConfig, Format};
    use burnrate_sink::{Notifier, WebhookConfig};

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let t0 = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    let events = store
        .apply_findings(&[(finding("ep-a", "120"), 1)], t0, None)
        .expect("apply");
    let event_id = events[0].id.clone();
    let (url, seen) = scripted_receiver(&[410]);
    let config = WebhookConfig {
        endpoints: vec![EndpointConfig {
            url: url.clone(),
            secret: "s".into(),
            format: Format::Json,
            events: Vec::new(),
        }],
        ..WebhookConfig::default()
    };
    let mut notifier = Notifier::new(store.clone(), config).expect("notifier");
    notifier.run_once(Utc::now()).expect("run");
    let (addr, _runtime) = serve(store.clone());
    let (_, dead) = http(addr, "GET", "/api/v1/webhooks/dead-letters", "");
    assert_eq!(dead["total_count"], 1, "{dead}");
    assert_eq!(dead["dead_letters"][0]["last_error"], "HTTP 410: ");

    let target = format!("/api/v1/webhooks/dead-letters/{event_id}/redeliver");
    let (status, queued) = http(addr, "POST", &target, "");
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["dead_letters"][0]["url"], url.as_str());
    assert!(queued["dead_letters"][0]["redelivery_requested_at"].is_string());
    notifier.run_once(Utc::now()).expect("run");

    let (_, dead) = http(addr, "GET", "/api/v1/webhooks/dead-letters", "");
    assert_eq!(dead["total_count"], 0, "{dead}");
    assert_eq!(*seen.lock().expect("lock"), [event_id.clone(), event_id]);
    assert_eq!(
        http(addr, "POST", &target, "").0,
        404,
        "nothing left to send"
    );
}

/// `burnrate recommendations` prints the list endpoint's document for the same parameters,
/// as a table too, and refuses bad values in its own flags' words.
#[test]
fn the_recommendations_command_prints_the_endpoints_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
    let t0 = Utc
        .with_ymd_and_hms(2024, 3, 5, 0, 0, 0)
        .single()
        .expect("time");
    let (a, b) = (finding("ep-a", "120"), finding("ep-b", "300"));
    store
        .apply_findings(&[(a.clone(), 1), (b.clone(), 1)], t0, None)
        .expect("apply");
    let (addr, _runtime) = serve(store.clone());

    let (status, endpoint) = http(
        addr,
        "GET",
        "/api/v1/recommendations?cloud_provider=gcp&limit=1",
        "",
    );
    assert_eq!(status, 200, "{endpoint}");
    let printed = common::burnrate_ok(
        dir.path(),
        &["recommendations", "--provider", "gcp", "--limit", "1"],
    );
    let cli: Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(cli, endpoint);
    // By hand: ep-b (300) first, one of two, the next page at 1, 420 in all.
    assert_eq!(cli["recommendations"][0]["resource_id"], "ep-b");
    assert_eq!(
        (cli["total_count"].as_u64(), cli["next_offset"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(cli["total_monthly_savings_by_currency"]["USD"], "420.00");

    let table = common::burnrate_ok(dir.path(), &["recommendations", "--format", "table"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[1].starts_with(&b.id()) && lines[1].ends_with("ep-b"),
        "{table}"
    );
    assert!(lines[1].contains("300.00 USD"), "{table}");
    assert!(lines[2].starts_with(&a.id()), "{table}");
    assert!(table.contains("2 of 2\n"), "{table}");
    assert!(
        table.contains("savings/month, all selected: 420.00 USD"),
        "{table}"
    );

    let none = common::burnrate_ok(dir.path(), &["recommendations", "--provider", "aws"]);
    let none: Value = serde_json::from_str(&none).expect("JSON");
    assert_eq!(none["total_count"], 0);

    let out = common::burnrate(dir.path(), &["recommendations", "--provider", "ibm"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--provider") && stderr.contains("azure"),
        "{stderr}"
    );
    let out = common::burnrate(dir.path(), &["recommendations", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
