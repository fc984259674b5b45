//! `burnrate ingest bq://...` against an HTTP fake of BigQuery's REST API on loopback: it
//! answers `jobs.query` and `jobs.getQueryResults` as BigQuery does (a job that is not done
//! at first, then pages with tokens; rows as `TO_JSON_STRING` writes them), and refuses a
//! wrong token with BigQuery's error document.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use common::{case_dir, dec, expected, jdec};
use serde_json::{Value, json};

const TOKEN: &str = "ya29.test-token";
const TABLE: &str = "bq://acme-billing.billing.gcp_billing_export_v1_012345_6789AB_CDEF01";
/// Rows per page the fake gives.
const PAGE: usize = 2;

#[derive(Default)]
struct Fake {
    /// The service account's public key (PKCS #1 DER), to check the JWTs it signs.
    public_key: Mutex<Vec<u8>>,
    /// Token requests seen.
    tokens: Mutex<usize>,
    /// Rows as TO_JSON_STRING writes them.
    rows: Vec<String>,
    /// What was asked: (method, path, query string).
    seen: Mutex<Vec<String>>,
    /// getQueryResults answers 200 with the job's failure (`status.errorResult`).
    job_fails: AtomicBool,
    /// getQueryResults answers at once that the job is not done, every time.
    never_done: AtomicBool,
    /// The first page of results comes without its `pageToken`: the answer ends early,
    /// while `totalRows` still counts every row.
    truncated: AtomicBool,
}

/// B09's export rows as BigQuery's `TO_JSON_STRING` serializes them: the same nested row,
/// TIMESTAMPs in RFC 3339 (`2024-03-05T10:00:00Z`) instead of `bq extract`'s
/// `2024-03-05 10:00:00 UTC`.
fn b09_rows() -> Vec<String> {
    let text = std::fs::read_to_string(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
    )
    .expect("B09");
    text.lines()
        .map(|line| {
            let mut row: Value = serde_json::from_str(line).expect("json");
            for key in ["usage_start_time", "usage_end_time", "export_time"] {
                if let Some(t) = row[key].as_str() {
                    let bare = t.trim_end_matches(" UTC");
                    let parsed =
                        chrono::NaiveDateTime::parse_from_str(bare, "%Y-%m-%d %H:%M:%S%.f")
                            .expect("a bq extract timestamp");
                    row[key] = json!(parsed.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string());
                }
            }
            row.to_string()
        })
        .collect()
}

/// The token the fake's token endpoint hands a service account.
const SA_TOKEN: &str = "ya29.service-account-token";

fn unauthorized(headers: &HeaderMap) -> Option<(StatusCode, Json<Value>)> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let known = [format!("Bearer {TOKEN}"), format!("Bearer {SA_TOKEN}")];
    (!auth.is_some_and(|a| known.iter().any(|k| k == a))).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"code": 401, "status": "UNAUTHENTICATED",
                "message": "Request had invalid authentication credentials."}})),
        )
    })
}

fn param<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["queryParameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["parameterValue"]["value"]
        .as_str()
}

fn page(fake: &Fake, start: usize) -> Value {
    let end = (start + PAGE).min(fake.rows.len());
    let rows: Vec<Value> = fake.rows[start..end]
        .iter()
        .map(|r| json!({"f": [{"v": r}]}))
        .collect();
    let mut doc = json!({"kind": "bigquery#getQueryResultsResponse", "jobComplete": true,
        "jobReference": {"projectId": "acme-billing", "jobId": "job_b09", "location": "US"},
        "totalRows": fake.rows.len().to_string(), "rows": rows});
    if end < fake.rows.len() {
        doc["pageToken"] = json!(end.to_string());
    }
    doc
}

async fn query(
    State(fake): State<Arc<Fake>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    let sql = body["query"].as_str().unwrap_or_default().to_string();
    fake.seen
        .lock()
        .expect("lock")
        .push(format!("POST {project} {sql}"));
    if sql.contains("SELECT DISTINCT invoice.month") {
        let (from, to) = (
            param(&body, "from").unwrap_or(""),
            param(&body, "to").unwrap_or(""),
        );
        let mut months: Vec<String> = fake
            .rows
            .iter()
            .filter_map(|r| serde_json::from_str::<Value>(r).ok())
            .filter_map(|r| r["invoice"]["month"].as_str().map(str::to_string))
            .filter(|m| m.as_str() >= from && m.as_str() <= to)
            .collect();
        months.sort();
        months.dedup();
        let rows: Vec<Value> = months.iter().map(|m| json!({"f": [{"v": m}]})).collect();
        return (
            StatusCode::OK,
            Json(json!({"jobComplete": true, "rows": rows,
            "jobReference": {"projectId": project, "jobId": "job_months", "location": "US"}})),
        );
    }
    assert_eq!(param(&body, "month"), Some("202403"), "{body}");
    assert!(sql.contains("TO_JSON_STRING(t)"), "{sql}");
    // Not done yet: the client must ask again with the job's id.
    (
        StatusCode::OK,
        Json(json!({"jobComplete": false,
        "jobReference": {"projectId": project, "jobId": "job_b09", "location": "US"}})),
    )
}

async fn results(
    State(fake): State<Arc<Fake>>,
    Path((_, job)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    if let Some(refused) = unauthorized(&headers) {
        return refused;
    }
    assert_eq!(job, "job_b09");
    // Plain values (a location, a row offset): no percent-decoding needed.
    let q: std::collections::BTreeMap<String, String> = q
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(q.get("location").map(String::as_str), Some("US"));
    let token = q.get("pageToken").cloned().unwrap_or_default();
    fake.seen
        .lock()
        .expect("lock")
        .push(format!("GET {job} {token}"));
    let reference = json!({"projectId": "acme-billing", "jobId": "job_b09", "location": "US"});
    if fake.never_done.load(Ordering::SeqCst) {
        return (
            StatusCode::OK,
            Json(json!({"jobComplete": false, "jobReference": reference})),
        );
    }
    if fake.job_fails.load(Ordering::SeqCst) {
        let error = json!({"reason": "resourcesExceeded",
            "message": "Resources exceeded during query execution."});
        return (
            StatusCode::OK,
            Json(json!({"jobComplete": true, "jobReference": reference,
                "status": {"state": "DONE", "errorResult": error}, "errors": [error]})),
        );
    }
    let start = token.parse().unwrap_or(0);
    let mut doc = page(&fake, start);
    if fake.truncated.load(Ordering::SeqCst)
        && let Some(d) = doc.as_object_mut()
    {
        d.remove("pageToken");
    }
    (StatusCode::OK, Json(doc))
}

/// Google's token endpoint for a service account's signed JWT (RFC 7523): the signature
/// is checked with the account's public key, and the claims with what Google requires.
async fn token(State(fake): State<Arc<Fake>>, body: String) -> (StatusCode, Json<Value>) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let form: std::collections::BTreeMap<String, String> = body
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":")))
        .collect();
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    let jwt = form.get("assertion").cloned().unwrap_or_default();
    let (message, signature) = jwt.rsplit_once('.').expect("a signed JWT");
    let key = fake.public_key.lock().expect("lock").clone();
    let verified =
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
            .verify(
                message.as_bytes(),
                &b64.decode(signature).expect("base64url"),
            );
    if verified.is_err() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        );
    }
    let claims: Value = serde_json::from_slice(
        &b64.decode(message.split_once('.').expect("header.claims").1)
            .expect("base64url"),
    )
    .expect("claims JSON");
    assert_eq!(
        claims["iss"],
        "burnrate@acme-billing.iam.gserviceaccount.com"
    );
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/bigquery");
    assert!(
        claims["aud"]
            .as_str()
            .is_some_and(|a| a.ends_with("/token"))
    );
    assert_eq!(
        claims["exp"]
            .as_u64()
            .zip(claims["iat"].as_u64())
            .map(|(e, i)| e - i),
        Some(3600)
    );
    *fake.tokens.lock().expect("lock") += 1;
    (
        StatusCode::OK,
        Json(json!({"access_token": SA_TOKEN, "expires_in": 3599, "token_type": "Bearer"})),
    )
}

/// Serves the fake on a free port; returns its address and the fake.
fn serve() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake {
        rows: b09_rows(),
        ..Fake::default()
    });
    let app = axum::Router::new()
        .route("/bigquery/v2/projects/{project}/queries", post(query))
        .route(
            "/bigquery/v2/projects/{project}/queries/{job}",
            get(results),
        )
        .route("/token", post(token))
        .with_state(fake.clone());
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
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).expect("address");
    (format!("http://{addr}"), fake)
}

fn burnrate(
    endpoint: &str,
    token: Option<&str>,
    data_dir: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    burnrate_with(endpoint, token, None, data_dir, args)
}

fn burnrate_with(
    endpoint: &str,
    token: Option<&str>,
    key_file: Option<&std::path::Path>,
    data_dir: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("BURNRATE_BIGQUERY_ENDPOINT", endpoint)
        .env_remove("BURNRATE_BIGQUERY_PROJECT")
        .env_remove("BURNRATE_BIGQUERY_LOCATION");
    match token {
        Some(t) => cmd.env("GOOGLE_OAUTH_ACCESS_TOKEN", t),
        None => cmd.env_remove("GOOGLE_OAUTH_ACCESS_TOKEN"),
    };
    match key_file {
        Some(f) => cmd.env("GOOGLE_APPLICATION_CREDENTIALS", f),
        None => cmd.env_remove("GOOGLE_APPLICATION_CREDENTIALS"),
    };
    let out = cmd.output().expect("run burnrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_export_table_is_read_month_by_month_through_the_rest_api() {
    let (endpoint, fake) = serve();
    let store = tempfile::tempdir().expect("tempdir");
    let address = format!("{TABLE}?from=202403");
    let (code, out, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 0, "{out}\n{err}");
    let rows = fake.rows.len();
    assert!(
        err.contains(&format!("1 invoice month(s), {rows} rows, 1 changed")),
        "{err}"
    );
    // The job was not done at first: each page was then read with the token of the one
    // before (5 rows, 2 a page: offsets 0, 2, 4).
    let gets: Vec<String> = fake
        .seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.starts_with("GET "))
        .cloned()
        .collect();
    assert_eq!(rows, 5);
    assert_eq!(gets, ["GET job_b09 ", "GET job_b09 2", "GET job_b09 4"]);

    let march = || {
        let (code, out, err) = burnrate(
            &endpoint,
            Some(TOKEN),
            store.path(),
            &[
                "summary",
                "--from",
                "2024-03-01",
                "--to",
                "2024-03-31",
                "--scope",
                "all",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let doc: Value = serde_json::from_str(&out).expect("summary");
        dec(doc["total_cost"].as_str().expect("one currency"))
    };
    let net = jdec(&expected("B09")["expected"]["totals"], "net_cost");
    assert_eq!(march(), net);

    // Again: the month is unchanged, its file untouched, the total the same.
    let (code, _, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 changed"), "{err}");
    assert_eq!(march(), net);
}

#[test]
fn a_bad_token_or_none_is_a_clear_failure() {
    let (endpoint, _) = serve();
    let store = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = burnrate(&endpoint, Some("expired"), store.path(), &["ingest", TABLE]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("HTTP 401: Request had invalid authentication credentials."),
        "{out}"
    );
    assert!(out.contains(TABLE), "{out}");

    let (code, _, err) = burnrate(&endpoint, None, store.path(), &["ingest", TABLE]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("GOOGLE_OAUTH_ACCESS_TOKEN"), "{err}");
    let (code, _, err) = burnrate(
        &endpoint,
        Some(TOKEN),
        store.path(),
        &["ingest", "bq://only.two"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bq://PROJECT.DATASET.TABLE"), "{err}");
}

/// A service account key file (an RSA key made here with openssl): burnrate signs a JWT
/// with it, trades it for a token at the key file's `token_uri`, and reads the table.
#[test]
fn a_service_account_key_reads_the_table() {
    let (endpoint, fake) = serve();
    let keys = tempfile::tempdir().expect("tempdir");
    let pem = keys.path().join("key.pem");
    let der = keys.path().join("public.der");
    let openssl = |args: &[&str]| {
        let ok = std::process::Command::new("openssl")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (Debian package openssl) runs");
        assert!(ok.success(), "openssl {args:?}");
    };
    let pem_s = pem.to_str().expect("path");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pem_s,
    ]);
    openssl(&[
        "rsa",
        "-in",
        pem_s,
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        der.to_str().expect("path"),
    ]);
    *fake.public_key.lock().expect("lock") = std::fs::read(&der).expect("public key");
    let key_file = keys.path().join("sa.json");
    std::fs::write(
        &key_file,
        json!({
            "type": "service_account",
            "project_id": "acme-billing",
            "private_key_id": "k1",
            "private_key": std::fs::read_to_string(&pem).expect("pem"),
            "client_email": "burnrate@acme-billing.iam.gserviceaccount.com",
            "token_uri": format!("{endpoint}/token"),
        })
        .to_string(),
    )
    .expect("write");
    let store = tempfile::tempdir().expect("tempdir");
    let address = format!("{TABLE}?from=202403");
    let (code, out, err) = burnrate_with(
        &endpoint,
        None,
        Some(&key_file),
        store.path(),
        &["ingest", &address],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        *fake.tokens.lock().expect("lock"),
        1,
        "one token serves the whole run"
    );
    assert!(
        err.contains("1 invoice month(s), 5 rows, 1 changed"),
        "{err}"
    );

    // Another key (not the account's): the signature is refused, in Google's words.
    let other = keys.path().join("other.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        other.to_str().expect("path"),
    ]);
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&key_file).expect("read")).expect("json");
    doc["private_key"] = json!(std::fs::read_to_string(&other).expect("pem"));
    std::fs::write(&key_file, doc.to_string()).expect("write");
    let (code, out, _) = burnrate_with(
        &endpoint,
        None,
        Some(&key_file),
        store.path(),
        &["ingest", &address],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Invalid JWT Signature."), "{out}");
}

/// A job that failed, told in a 200 answer (`status.errorResult`), is a failure: the month
/// it was to read keeps its file and what it gave, it is not emptied.
#[test]
fn a_failed_job_keeps_the_month_as_it_was() {
    let (endpoint, fake) = serve();
    let store = tempfile::tempdir().expect("tempdir");
    let address = format!("{TABLE}?from=202403");
    let (code, out, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 0, "{out}\n{err}");
    let file = store
        .path()
        .join("bigquery/acme-billing.billing.gcp_billing_export_v1_012345_6789AB_CDEF01")
        .join("gcp_billing_export_v1_012345_6789AB_CDEF01-202403.jsonl");
    let before = std::fs::read(&file).expect("the month file");
    assert_eq!(
        before.iter().filter(|b| **b == b'\n').count(),
        fake.rows.len()
    );

    fake.job_fails.store(true, Ordering::SeqCst);
    let (code, out, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("resourcesExceeded: Resources exceeded during query execution."),
        "{out}\n{err}"
    );
    assert_eq!(std::fs::read(&file).expect("the month file"), before);
    let (code, out, err) = burnrate(
        &endpoint,
        Some(TOKEN),
        store.path(),
        &[
            "summary",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--scope",
            "all",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("summary");
    let net = jdec(&expected("B09")["expected"]["totals"], "net_cost");
    assert_eq!(dec(doc["total_cost"].as_str().expect("one currency")), net);
}

/// An answer that ends before the rows it announced (`totalRows`) is a failure, not a
/// smaller month: the month keeps its file and the stored total stays B09's net cost.
#[test]
fn an_answer_with_fewer_rows_than_announced_keeps_the_month_as_it_was() {
    let (endpoint, fake) = serve();
    assert!(fake.rows.len() > PAGE, "B09 needs more than one page");
    let store = tempfile::tempdir().expect("tempdir");
    let address = format!("{TABLE}?from=202403");
    let (code, out, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 0, "{out}\n{err}");
    let file = store
        .path()
        .join("bigquery/acme-billing.billing.gcp_billing_export_v1_012345_6789AB_CDEF01")
        .join("gcp_billing_export_v1_012345_6789AB_CDEF01-202403.jsonl");
    let before = std::fs::read(&file).expect("the month file");

    fake.truncated.store(true, Ordering::SeqCst);
    let (code, out, err) = burnrate(&endpoint, Some(TOKEN), store.path(), &["ingest", &address]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains(&format!("of the {}", fake.rows.len())),
        "{out}\n{err}"
    );
    assert_eq!(std::fs::read(&file).expect("the month file"), before);
    let (code, out, err) = burnrate(
        &endpoint,
        Some(TOKEN),
        store.path(),
        &[
            "summary",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--scope",
            "all",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("summary");
    let net = jdec(&expected("B09")["expected"]["totals"], "net_cost");
    assert_eq!(dec(doc["total_cost"].as_str().expect("one currency")), net);
}

/// A server that answers at once that the job is not done is not asked again at once: in
/// 3 s, a handful of polls (0.5 s, 1 s, 2 s apart), not thousands.
#[test]
fn a_job_that_never_finishes_is_polled_with_pauses() {
    let (endpoint, fake) = serve();
    fake.never_done.store(true, Ordering::SeqCst);
    let store = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(store.path())
        .args(["ingest", &format!("{TABLE}?from=202403")])
        .env("BURNRATE_BIGQUERY_ENDPOINT", &endpoint)
        .env("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
        .env_remove("BURNRATE_BIGQUERY_PROJECT")
        .env_remove("BURNRATE_BIGQUERY_LOCATION")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run burnrate");
    std::thread::sleep(Duration::from_secs(3));
    let _ = child.kill();
    let _ = child.wait();
    let gets = fake
        .seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|s| s.starts_with("GET "))
        .count();
    assert!((1..=6).contains(&gets), "{gets} polls in 3 s");
}
