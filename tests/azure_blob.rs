//! `burnrate ingest az://...` against an HTTP fake of the Blob service's REST API on
//! loopback: `List Blobs` in pages (markers), blob downloads, and a SAS that must come with
//! every request (a wrong one is answered as the service answers it).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use common::{csv_rows, data, dec};
use rust_decimal::{Decimal, RoundingStrategy};

const SAS: &str = "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D";
/// Blobs per page of the listing.
const PAGE: usize = 1;

#[derive(Default)]
struct Fake {
    /// Token requests seen (their client ids).
    tokens: Mutex<Vec<String>>,
    /// Blob name → (bytes, Last-Modified as the service writes it).
    blobs: Mutex<BTreeMap<String, (Vec<u8>, String)>>,
    /// Listing requests seen (their markers).
    markers: Mutex<Vec<String>>,
    /// When set, every page of the listing names this marker as the next one (a service
    /// answering in circles).
    stuck_marker: Mutex<Option<String>>,
}

/// The blob's ETag as the service makes one: it changes with the content (FNV-1a here).
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("0x{hash:016X}")
}

fn query_map(q: &Option<String>) -> BTreeMap<String, String> {
    q.as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let v = url_decode(v);
            (k.to_string(), v)
        })
        .collect()
}

fn url_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The SAS's own parameters arrived as they were given (not re-encoded), or the token the
/// fake's token endpoint hands out did.
fn authorized(q: &Option<String>, headers: &HeaderMap) -> bool {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    q.as_deref().is_some_and(|q| q.ends_with(SAS)) || bearer == Some("Bearer tok-1")
}

/// The Microsoft Entra token endpoint, client credentials flow.
async fn token(
    State(fake): State<Arc<Fake>>,
    Path(tenant): Path<String>,
    body: String,
) -> axum::response::Response {
    let form = query_map(&Some(body));
    let get = |k: &str| form.get(k).map(String::as_str);
    assert_eq!(tenant, "tenant-1");
    assert_eq!(get("grant_type"), Some("client_credentials"));
    assert_eq!(get("scope"), Some("https://storage.azure.com/.default"));
    fake.tokens
        .lock()
        .expect("lock")
        .push(get("client_id").unwrap_or_default().to_string());
    if get("client_secret") != Some("s3cret+/=") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided."})),
        )
            .into_response();
    }
    axum::Json(
        serde_json::json!({"token_type": "Bearer", "expires_in": 3599,
        "access_token": "tok-1"}),
    )
    .into_response()
}

fn refused() -> axum::response::Response {
    (
        StatusCode::FORBIDDEN,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>",
    )
        .into_response()
}

async fn container(
    State(fake): State<Arc<Fake>>,
    Path(container): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> axum::response::Response {
    if !authorized(&q, &headers) {
        return refused();
    }
    assert!(headers.get("x-ms-version").is_some());
    let params = query_map(&q);
    assert_eq!(container, "exports");
    assert_eq!(params.get("restype").map(String::as_str), Some("container"));
    assert_eq!(params.get("comp").map(String::as_str), Some("list"));
    let prefix = params.get("prefix").cloned().unwrap_or_default();
    let marker = params.get("marker").cloned().unwrap_or_default();
    fake.markers.lock().expect("lock").push(marker.clone());
    let blobs = fake.blobs.lock().expect("lock");
    let names: Vec<&String> = blobs
        .keys()
        .filter(|n| n.starts_with(&prefix) && n.as_str() > marker.as_str())
        .collect();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://x/\" ContainerName=\"{container}\"><Prefix>{prefix}</Prefix><Blobs>"
    );
    for name in names.iter().take(PAGE) {
        let (bytes, modified) = &blobs[*name];
        xml += &format!(
            "<Blob><Name>{name}</Name><Properties><Last-Modified>{modified}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>",
            etag(bytes),
            bytes.len()
        );
    }
    xml += "</Blobs>";
    if let Some(stuck) = fake.stuck_marker.lock().expect("lock").as_ref() {
        xml += &format!("<NextMarker>{stuck}</NextMarker>");
    } else if names.len() > PAGE {
        xml += &format!("<NextMarker>{}</NextMarker>", names[PAGE - 1]);
    } else {
        xml += "<NextMarker />";
    }
    xml += "</EnumerationResults>";
    (StatusCode::OK, xml).into_response()
}

async fn blob(
    State(fake): State<Arc<Fake>>,
    Path((_, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> axum::response::Response {
    if !authorized(&q, &headers) {
        return refused();
    }
    match fake.blobs.lock().expect("lock").get(&name) {
        Some((bytes, _)) => (StatusCode::OK, bytes.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "<Error><Code>BlobNotFound</Code></Error>",
        )
            .into_response(),
    }
}

fn serve(fake: Arc<Fake>) -> String {
    let app = axum::Router::new()
        .route("/devstoreaccount1/{container}", get(container))
        .route("/devstoreaccount1/{container}/{*name}", get(blob))
        .route("/{tenant}/oauth2/v2.0/token", axum::routing::post(token))
        .with_state(fake);
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
    format!("http://{addr}/devstoreaccount1")
}

/// The plain sum of the `Cost` column, each cell rounded to 15 places (half away from
/// zero), as the pipeline keeps money (README: amounts past 15 places are rounded).
fn cost_sum(file: &std::path::Path) -> Decimal {
    csv_rows(file)
        .iter()
        .map(|r| dec(&r["Cost"]).round_dp_with_strategy(15, RoundingStrategy::MidpointAwayFromZero))
        .sum()
}

fn burnrate(
    endpoint: &str,
    sas: &str,
    data_dir: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    burnrate_env(
        endpoint,
        &[("AZURE_STORAGE_SAS_TOKEN", sas)],
        data_dir,
        args,
    )
}

/// `burnrate` with the Blob endpoint and `vars` set, and no other Azure credentials.
fn burnrate_env(
    endpoint: &str,
    vars: &[(&str, &str)],
    data_dir: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("AZURE_STORAGE_BLOB_ENDPOINT", endpoint);
    for name in [
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_TOKEN",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ] {
        cmd.env_remove(name);
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().expect("run burnrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_azure_export_in_blob_storage_is_mirrored_and_read() {
    // A real EA actual-cost export (the FinOps toolkit's sample), delivered as a scheduled
    // export writes it: <export>/<period>/<run id>/part_0_0001.csv, beside another export.
    let file = data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let bytes = std::fs::read(&file).expect("read");
    let fake = Arc::new(Fake::default());
    {
        let mut blobs = fake.blobs.lock().expect("lock");
        let t = "Tue, 05 Mar 2024 10:00:00 GMT".to_string();
        blobs.insert(
            "cost/daily-actual/20230901-20230930/run-1/part_0_0001.csv".into(),
            (bytes.clone(), t.clone()),
        );
        blobs.insert("other/readme.txt".into(), (b"not this".to_vec(), t));
    }
    let endpoint = serve(fake.clone());
    let store = tempfile::tempdir().expect("tempdir");
    let address = "az://devstoreaccount1/exports/cost/";
    let (code, out, err) = burnrate(
        &endpoint,
        &format!("?{SAS}"),
        store.path(),
        &["ingest", address],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!("{address}: 1 objects, 1 downloaded")),
        "{err}"
    );
    let mirrored = store.path().join(
        "azure/devstoreaccount1/exports/cost/daily-actual/20230901-20230930/run-1/part_0_0001.csv",
    );
    assert_eq!(std::fs::read(mirrored).expect("mirror"), bytes);

    let total = || {
        let (code, out, err) = burnrate(
            &endpoint,
            SAS,
            store.path(),
            &[
                "summary",
                "--from",
                "2000-01-01",
                "--to",
                "2030-12-31",
                "--scope",
                "all",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).expect("summary");
        assert_eq!(doc["currency"], "USD", "{doc}");
        dec(doc["total_cost"].as_str().expect("one currency"))
    };
    assert_eq!(total(), cost_sum(&file));

    // A second export's blob under the prefix: the listing takes two pages now.
    fake.blobs.lock().expect("lock").insert(
        "cost/daily-actual/20230901-20230930/run-1/part_0_0002.csv".into(),
        (
            std::fs::read_to_string(&file)
                .expect("read")
                .lines()
                .next()
                .map(|h| format!("{h}\n"))
                .unwrap_or_default()
                .into_bytes(),
            "Tue, 05 Mar 2024 10:00:00 GMT".into(),
        ),
    );
    fake.markers.lock().expect("lock").clear();
    let (code, _, err) = burnrate(&endpoint, SAS, store.path(), &["ingest", address]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 objects, 1 downloaded"), "{err}");
    assert_eq!(
        *fake.markers.lock().expect("lock"),
        [
            "",
            "cost/daily-actual/20230901-20230930/run-1/part_0_0001.csv"
        ]
    );
    assert_eq!(total(), cost_sum(&file), "a header-only part adds nothing");

    // A wrong SAS: the service's own words, exit status 1.
    let (code, out, _) = burnrate(&endpoint, "sig=wrong", store.path(), &["ingest", address]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("HTTP 403: AuthenticationFailed: Server failed to authenticate"),
        "{out}"
    );
}

/// A service principal's secret is exchanged for a token once per run (the listing and the
/// download share it); a wrong secret is refused in the token endpoint's words.
#[test]
fn a_service_principal_reads_the_container() {
    let file = data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let fake = Arc::new(Fake::default());
    fake.blobs.lock().expect("lock").insert(
        "cost/run-1/part_0_0001.csv".into(),
        (
            std::fs::read(&file).expect("read"),
            "Tue, 05 Mar 2024 10:00:00 GMT".into(),
        ),
    );
    let endpoint = serve(fake.clone());
    let authority = endpoint.trim_end_matches("/devstoreaccount1").to_string();
    let store = tempfile::tempdir().expect("tempdir");
    let principal = |secret: &'static str| {
        [
            ("AZURE_TENANT_ID", "tenant-1"),
            ("AZURE_CLIENT_ID", "app-1"),
            ("AZURE_CLIENT_SECRET", secret),
        ]
    };
    let mut vars = principal("s3cret+/=").to_vec();
    vars.push(("AZURE_AUTHORITY_HOST", &authority));
    let address = "az://devstoreaccount1/exports/cost/";
    let (code, out, err) = burnrate_env(&endpoint, &vars, store.path(), &["ingest", address]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        *fake.tokens.lock().expect("lock"),
        ["app-1"],
        "one token per run"
    );
    let (code, out, _) = burnrate_env(
        &endpoint,
        &vars,
        store.path(),
        &[
            "summary",
            "--from",
            "2000-01-01",
            "--to",
            "2030-12-31",
            "--scope",
            "all",
        ],
    );
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("summary");
    assert_eq!(
        dec(doc["total_cost"].as_str().expect("total")),
        cost_sum(&file)
    );

    let mut wrong = principal("nope").to_vec();
    wrong.push(("AZURE_AUTHORITY_HOST", &authority));
    let (code, out, _) = burnrate_env(&endpoint, &wrong, store.path(), &["ingest", address]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("AADSTS7000215: Invalid client secret provided."),
        "{out}"
    );
    assert!(
        out.contains("no access token for client app-1 in tenant tenant-1"),
        "{out}"
    );
}

/// An export rewritten with the same size within the second it was first written (its
/// Last-Modified, whole seconds, unchanged): the ETag tells the new content from the old,
/// and the mirror downloads it; the period's total becomes the new file's.
#[test]
fn a_same_sized_rewrite_within_the_second_is_downloaded() {
    let file = data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let bytes = std::fs::read(&file).expect("read");
    let key = "cost/daily-actual/20230901-20230930/run-1/part_0_0001.csv";
    let t = "Tue, 05 Mar 2024 10:00:00 GMT".to_string();
    let fake = Arc::new(Fake::default());
    fake.blobs
        .lock()
        .expect("lock")
        .insert(key.into(), (bytes.clone(), t.clone()));
    let endpoint = serve(fake.clone());
    let store = tempfile::tempdir().expect("tempdir");
    let address = "az://devstoreaccount1/exports/cost/";
    let (code, out, err) = burnrate(&endpoint, SAS, store.path(), &["ingest", address]);
    assert_eq!(code, 0, "{out}\n{err}");

    // The same file with one digit of the first row's Cost changed: same length.
    let text = String::from_utf8(bytes.clone()).expect("utf8");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let cost = header
        .iter()
        .position(|h| *h == "Cost")
        .expect("Cost column");
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let digit = cells[cost]
        .char_indices()
        .rfind(|(_, c)| c.is_ascii_digit())
        .expect("a digit");
    let bumped =
        char::from_digit((digit.1.to_digit(10).expect("digit") + 1) % 10, 10).expect("digit");
    cells[cost].replace_range(digit.0..digit.0 + 1, &bumped.to_string());
    lines[1] = cells.join(",");
    let mut rewritten = lines.join("\n");
    if text.ends_with('\n') {
        rewritten.push('\n');
    }
    let rewritten = rewritten.replace('\n', if text.contains("\r\n") { "\r\n" } else { "\n" });
    assert_eq!(rewritten.len(), bytes.len(), "same size");
    assert_ne!(rewritten.as_bytes(), bytes.as_slice());
    let local = tempfile::tempdir().expect("tempdir");
    let rewritten_file = local.path().join("rewritten.csv");
    std::fs::write(&rewritten_file, &rewritten).expect("write");
    assert_ne!(cost_sum(&rewritten_file), cost_sum(&file));
    fake.blobs
        .lock()
        .expect("lock")
        .insert(key.into(), (rewritten.clone().into_bytes(), t));

    let (code, out, err) = burnrate(&endpoint, SAS, store.path(), &["ingest", address]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("1 objects, 1 downloaded"), "{err}");
    let mirrored = store
        .path()
        .join("azure/devstoreaccount1/exports")
        .join(key);
    assert_eq!(
        std::fs::read(mirrored).expect("mirror"),
        rewritten.as_bytes()
    );
    let (code, out, err) = burnrate(
        &endpoint,
        SAS,
        store.path(),
        &[
            "summary",
            "--from",
            "2000-01-01",
            "--to",
            "2030-12-31",
            "--scope",
            "all",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("summary");
    assert_eq!(
        dec(doc["total_cost"].as_str().expect("total")),
        cost_sum(&rewritten_file)
    );

    // Unchanged since: nothing is downloaded again.
    let (code, _, err) = burnrate(&endpoint, SAS, store.path(), &["ingest", address]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 downloaded"), "{err}");
}

/// A listing whose next-page marker repeats is a failure named as such, not a loop.
#[test]
fn a_listing_that_repeats_its_marker_fails_instead_of_looping() {
    let fake = Arc::new(Fake::default());
    fake.blobs.lock().expect("lock").insert(
        "cost/x/20230901-20230930/run-1/part_0_0001.csv".into(),
        (b"a,b\n".to_vec(), "Tue, 05 Mar 2024 10:00:00 GMT".into()),
    );
    *fake.stuck_marker.lock().expect("lock") = Some("2!96!same".into());
    let endpoint = serve(fake.clone());
    let store = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(store.path())
        .args(["ingest", "az://devstoreaccount1/exports/cost/"])
        .env("AZURE_STORAGE_BLOB_ENDPOINT", &endpoint)
        .env("AZURE_STORAGE_SAS_TOKEN", SAS)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the listing loops: {} requests",
                fake.markers.lock().expect("lock").len()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("\"2!96!same\" a second time"), "{text}");
    // The first page, and the second that gave the marker again.
    assert_eq!(*fake.markers.lock().expect("lock"), ["", "2!96!same"]);
}
