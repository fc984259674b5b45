//! The HTTP API as a client sees it: real files ingested with the real binary into a temp
//! data directory, `burnrate serve` on a free loopback port, requests over real TCP.
//! Expected values come from plain sums over the raw files (bare `csv` crate), and the
//! summary endpoint is compared with `burnrate summary --format json`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

const FOCUS_SAMPLE: &str = "focus/sample-data/FOCUS-Sample-Data__FOCUS-1.0__focus_sample.csv";
const AZURE_CAD: &str = "azure/ea-actual/focus_converters__sample-anonymous-ea-export-dataset.csv";

fn burnrate(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run burnrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ingest(dir: &Path, files: &[&str]) {
    let paths: Vec<String> = files
        .iter()
        .map(|f| data(f).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["ingest"];
    args.extend(paths.iter().map(String::as_str));
    let (code, out, err) = burnrate(dir, &args);
    assert_eq!(code, 0, "ingest failed:\n{out}\n{err}");
}

/// A running `burnrate serve`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_burnrate"))
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.kill();
            panic!("serve did not start: {line:?} {err}");
        };
        let addr = addr.parse().expect("bound address");
        Server { child, addr }
    }

    fn get(&self, target: &str) -> Response {
        http_get(self.addr, target)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 GET: one request per connection, the body sized by Content-Length.
fn http_get(addr: SocketAddr, target: &str) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    assert_eq!(body.len(), len, "body length");
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The FOCUS sample's plain sum of `column` over rows whose charge starts on a day in
/// `[from, to]` (every charge period in this file lies within one UTC day: 946 hourly and
/// 51 daily rows starting at midnight, checked when the test was written) and that `keep`.
fn focus_sum(
    column: &str,
    from: &str,
    to: &str,
    keep: impl Fn(&BTreeMap<String, String>) -> bool,
) -> Decimal {
    csv_column_sum_where(&data(FOCUS_SAMPLE), column, |row| {
        let day = &row["ChargePeriodStart"][..10];
        day >= from && day <= to && keep(row)
    })
}

fn cli_summary_json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["summary", "--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = burnrate(dir, &all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("summary JSON")
}

#[test]
fn summary_endpoint_equals_the_cli_and_a_plain_sum_over_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    // The server opens the store read-only, so the CLI reads beside it.
    let server = Server::start(dir.path());
    let cases: [(&str, &[&str]); 4] = [
        (
            "start_date=2024-09-05&end_date=2024-09-20&scope=all",
            &[
                "--from",
                "2024-09-05",
                "--to",
                "2024-09-20",
                "--scope",
                "all",
            ],
        ),
        (
            "start_date=2024-09-05&end_date=2024-09-20&scope=all&cost_type=effective",
            &[
                "--start-date",
                "2024-09-05",
                "--end-date",
                "2024-09-20",
                "--scope",
                "all",
                "--cost-type",
                "effective",
            ],
        ),
        (
            "start_date=2024-09-01&end_date=2024-09-30&scope=all&cloud_provider=azure&cloud_provider=oci",
            &[
                "--from",
                "2024-09-01",
                "--to",
                "2024-09-30",
                "--scope",
                "all",
                "--provider",
                "azure",
                "--cloud-provider",
                "oci",
            ],
        ),
        (
            "start_date=2024-09-01&end_date=2024-09-30",
            &["--from", "2024-09-01", "--to", "2024-09-30"],
        ),
    ];
    let cli: Vec<Value> = cases
        .iter()
        .map(|(_, args)| cli_summary_json(dir.path(), args))
        .collect();
    for ((query, _), cli) in cases.iter().zip(&cli) {
        let r = server.get(&format!("/api/v1/ai-costs/summary?{query}"));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(&r.json(), cli, "{query}");
    }

    let billed = focus_sum("BilledCost", "2024-09-05", "2024-09-20", |_| true);
    assert_eq!(jdec(&cli[0], "total_cost"), billed);
    assert_eq!(cli[0]["currency"], "USD");
    let effective = focus_sum("EffectiveCost", "2024-09-05", "2024-09-20", |_| true);
    assert_eq!(jdec(&cli[1], "total_cost"), effective);
    let azure_oci = focus_sum("BilledCost", "2024-09-01", "2024-09-30", |r| {
        r["ProviderName"] == "Microsoft" || r["ProviderName"] == "Oracle"
    });
    assert_eq!(jdec(&cli[2], "total_cost"), azure_oci);
    assert_eq!(
        cli[2]["breakdown_by_provider"].as_array().map(Vec::len),
        Some(2)
    );
    // The AI scope is a strict part of the month's spend in this file (9 Azure ML rows).
    let ai = jdec(&cli[3], "total_cost");
    let all = focus_sum("BilledCost", "2024-09-01", "2024-09-30", |_| true);
    assert!(ai != Decimal::ZERO && ai != all, "ai {ai} vs all {all}");
}

#[test]
fn trends_add_up_to_the_summary_and_each_day_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    let server = Server::start(dir.path());
    let range = "start_date=2024-09-01&end_date=2024-09-30&scope=all";
    let summary = server
        .get(&format!("/api/v1/ai-costs/summary?{range}"))
        .json();
    let total = jdec(&summary, "total_cost");

    let daily = server.get(&format!(
        "/api/v1/ai-costs/trends?{range}&granularity=daily"
    ));
    assert_eq!(daily.status, 200, "{}", daily.body);
    let daily = daily.json();
    let points = daily["points"].as_array().expect("points");
    assert_eq!(points.len(), 30, "one point per day, one currency");
    let sum: Decimal = points.iter().map(|p| jdec(p, "cost")).sum();
    assert_eq!(sum, total);
    for p in points {
        let day = p["period_start"].as_str().expect("day");
        assert_eq!(p["period_end"], day);
        assert_eq!(
            jdec(p, "cost"),
            focus_sum("BilledCost", day, day, |_| true),
            "{day}"
        );
    }

    // 2024-09-01 is a Sunday: the first week is that day alone, then Monday-to-Sunday weeks.
    let weekly = server
        .get(&format!(
            "/api/v1/ai-costs/trends?{range}&granularity=weekly"
        ))
        .json();
    let weeks = weekly["points"].as_array().expect("points");
    let bounds: Vec<(&str, &str)> = weeks
        .iter()
        .map(|p| {
            (
                p["period_start"].as_str().unwrap_or(""),
                p["period_end"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        bounds,
        [
            ("2024-09-01", "2024-09-01"),
            ("2024-09-02", "2024-09-08"),
            ("2024-09-09", "2024-09-15"),
            ("2024-09-16", "2024-09-22"),
            ("2024-09-23", "2024-09-29"),
            ("2024-09-30", "2024-09-30"),
        ]
    );
    for p in weeks {
        let (from, to) = (
            p["period_start"].as_str().unwrap_or(""),
            p["period_end"].as_str().unwrap_or(""),
        );
        assert_eq!(
            jdec(p, "cost"),
            focus_sum("BilledCost", from, to, |_| true),
            "{from}"
        );
    }
}

#[test]
fn currencies_are_totalled_apart_and_an_ingest_beside_the_server_shows_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    let server = Server::start(dir.path());
    let before = server
        .get("/api/v1/ai-costs/summary?start_date=2023-09-01&end_date=2024-09-30&scope=all")
        .json();
    assert_eq!(before["currency"], "USD");
    // A second process writes while the server runs; the next answer sees its commit.
    ingest(dir.path(), &[AZURE_CAD]);
    let s = server
        .get("/api/v1/ai-costs/summary?start_date=2023-09-01&end_date=2024-09-30&scope=all")
        .json();
    assert_eq!(s["total_cost"], Value::Null);
    assert_eq!(s["currency"], Value::Null);
    let by = &s["totals_by_currency"];
    assert_eq!(
        jdec(by, "USD"),
        csv_column_sum(&data(FOCUS_SAMPLE), "BilledCost")
    );
    // Every row of the Azure file is dated 9/2/2023, in CAD.
    assert_eq!(
        jdec(by, "CAD"),
        csv_column_sum(&data(AZURE_CAD), "CostInBillingCurrency")
    );

    let t = server
        .get("/api/v1/ai-costs/trends?start_date=2023-09-01&end_date=2024-09-30&scope=all&granularity=monthly")
        .json();
    let points = t["points"].as_array().expect("points");
    assert_eq!(points.len(), 13 * 2, "13 months, a point per currency each");
    let cad: Vec<&Value> = points
        .iter()
        .filter(|p| p["currency"] == "CAD" && jdec(p, "cost") != Decimal::ZERO)
        .collect();
    assert_eq!(cad.len(), 1);
    assert_eq!(cad[0]["period_start"], "2023-09-01");
    assert_eq!(jdec(cad[0], "cost"), jdec(by, "CAD"));
}

#[test]
fn resource_costs_are_the_resources_rows_by_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    let server = Server::start(dir.path());
    let rows = csv_rows(&data(FOCUS_SAMPLE));
    // The Azure ML workspace: an id with slashes, 9 rows, some negative.
    let id = "/subscriptions/64e355d7-997c-491d-b0c1-8414dccfcf42/resourcegroups/devtestlab/providers/microsoft.machinelearningservices/workspaces/zmltestplayground";
    let mut by_day: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in rows.iter().filter(|r| r["ResourceId"] == id) {
        *by_day
            .entry(r["ChargePeriodStart"][..10].to_string())
            .or_default() += dec(&r["BilledCost"]);
    }
    assert!(!by_day.is_empty());
    let encoded = id.replace('/', "%2F");
    let r = server.get(&format!(
        "/api/v1/ai-costs/resources/{encoded}/costs?start_date=2024-09-01&end_date=2024-09-30"
    ));
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.json();
    assert_eq!(doc["resource_id"], id);
    let daily = doc["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 30);
    for p in daily {
        let day = p["date"].as_str().expect("date");
        let want = by_day.get(day).copied().unwrap_or_default();
        assert_eq!(jdec(p, "cost"), want, "{day}");
    }
    let total: Decimal = by_day.values().copied().sum();
    assert_eq!(jdec(&doc["totals_by_currency"], "USD"), total);
    // September 2024 lies wholly in the past: the basis is the whole month (30 days).
    let rate = &doc["monthly_run_rate"][0];
    assert_eq!(rate["basis_days"], 30);
    let want = (total * dec("30.4375") / Decimal::from(30))
        .round_dp_with_strategy(10, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(jdec(rate, "monthly_cost"), want);

    let r = server.get("/api/v1/ai-costs/resources/i-does-not-exist/costs");
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "application/problem+json");
}

#[test]
fn errors_health_metrics_and_openapi_over_tcp() {
    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    let server = Server::start(dir.path());

    let r = server.get("/api/v1/ai-costs/summary?start_date=2024-09-31&end_date=2024-10-01");
    assert_eq!(r.status, 400);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let p = r.json();
    assert_eq!(p["status"], 400);
    assert_eq!(p["parameter"], "start_date");
    assert_eq!(p["value"], "2024-09-31");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("YYYY-MM-DD"),
        "{p}"
    );
    let r = server.get("/api/v1/ai-costs/trends?start_date=2024-09-10&end_date=2024-09-01");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["parameter"], "end_date");

    assert_eq!(server.get("/livez").status, 200);
    let r = server.get("/readyz");
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, Value::from("ready"))
    );

    let r = server.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].starts_with("text/plain; version=0.0.4"));
    for want in [
        r#"burnrate_http_requests_total{route="/api/v1/ai-costs/summary",method="GET",status="400"} 1"#,
        r#"burnrate_http_requests_total{route="/readyz",method="GET",status="200"} 1"#,
        r#"burnrate_http_request_duration_seconds_count{route="/livez"} 1"#,
    ] {
        assert!(
            r.body.lines().any(|l| l == want),
            "no {want} in\n{}",
            r.body
        );
    }

    let doc = server.get("/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    // 7 cost and health paths, 6 recommendation paths (list, one, accept, reject,
    // implemented, dismiss), dead letters and their redelivery, and the metrics push.
    assert_eq!(doc["paths"].as_object().map(|m| m.len()), Some(16));
}

#[test]
fn serve_fails_clearly_without_a_store_or_a_free_address_and_stops_on_sigterm() {
    let empty = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = burnrate(empty.path(), &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, 2);
    assert!(err.contains("no store at"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    ingest(dir.path(), &[FOCUS_SAMPLE]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (code, _, err) = burnrate(dir.path(), &["serve", "--listen", &addr]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    // As `run` and `demo` do, it says the way out.
    assert!(err.contains("port 0 lets the OS choose one"), "{err}");
    drop(taken);

    let mut server = Server::start(dir.path());
    assert_eq!(server.get("/livez").status, 200);
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = server.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
}
