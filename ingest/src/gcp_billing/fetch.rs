//! The I/O of the BigQuery billing export: query a month of the export table through
//! BigQuery's REST API (`jobs.query`, then `jobs.getQueryResults` while the job runs and
//! for every further page) and write its rows as newline-delimited JSON, the form this
//! module's reader takes.
//!
//! Each row is selected as `TO_JSON_STRING(t)`: BigQuery serializes the nested row itself
//! (RECORD as objects, REPEATED as arrays, FLOAT64 with round-trip digits, TIMESTAMP as
//! RFC 3339), so no schema walking happens here and the reader sees exactly what
//! `bq extract` would have written, timestamps aside (which it reads in both forms).
//!
//! One invoice month is one file, `<folder>/<table>-<YYYYMM>.jsonl`, written to a hidden
//! temporary file and moved into place only when every page arrived, and only when its
//! content changed: a re-read of an unchanged month touches nothing, and a changed month
//! replaces its file, which (as every GCP export file) replaces what it gave before.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

/// Rows per page asked for.
const PAGE_ROWS: u32 = 10_000;
/// How long one request waits for a running query, in milliseconds.
const WAIT_MS: u32 = 10_000;
/// How long a query may run in all.
const QUERY_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// `bq://PROJECT.DATASET.TABLE[?from=YYYYMM]`: the export table, and the first invoice
/// month to read (default: the previous month, so the current and the previous one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigQueryTable {
    pub project: String,
    pub dataset: String,
    pub table: String,
    /// `YYYYMM`; `None` is the previous month.
    pub from: Option<String>,
}

impl BigQueryTable {
    /// `None` when `arg` is not a `bq://` address.
    pub fn parse(arg: &str) -> Option<Result<BigQueryTable, FetchError>> {
        let rest = arg.strip_prefix("bq://")?;
        let bad = |why: &str| {
            Some(Err(FetchError::Address(format!(
                "{arg}: {why}; a BigQuery export table is bq://PROJECT.DATASET.TABLE, \
                 optionally ?from=YYYYMM"
            ))))
        };
        let (name, query) = rest.split_once('?').unwrap_or((rest, ""));
        let parts: Vec<&str> = name.split(['.', '/']).collect();
        let [project, dataset, table] = parts[..] else {
            return bad("three names are needed");
        };
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'))
        };
        if ![project, dataset, table].into_iter().all(plain) {
            return bad("names hold letters, digits, `_`, `-` (and `:` in a project)");
        }
        let mut from = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("from", m)) if m.len() == 6 && m.bytes().all(|b| b.is_ascii_digit()) => {
                    from = Some(m.to_string());
                }
                _ => return bad(&format!("{pair:?} is not from=YYYYMM")),
            }
        }
        Some(Ok(BigQueryTable {
            project: project.into(),
            dataset: dataset.into(),
            table: table.into(),
            from,
        }))
    }

    fn sql_name(&self) -> String {
        format!("`{}.{}.{}`", self.project, self.dataset, self.table)
    }
}

impl std::fmt::Display for BigQueryTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bq://{}.{}.{}", self.project, self.dataset, self.table)?;
        match &self.from {
            Some(m) => write!(f, "?from={m}"),
            None => Ok(()),
        }
    }
}

/// Where and as whom to reach BigQuery.
#[derive(Debug, Clone)]
pub struct BigQueryConfig {
    /// `https://bigquery.googleapis.com`, or a server that speaks its REST API.
    pub endpoint: Url,
    /// Where access tokens come from.
    pub auth: Auth,
    /// The project the query jobs run (and are billed) in; default: the table's.
    pub job_project: Option<String>,
    /// The dataset's location (`US`, `EU`, ...), when it is not found by itself.
    pub location: Option<String>,
}

impl BigQueryConfig {
    /// From the environment: the token from `GOOGLE_OAUTH_ACCESS_TOKEN` (as `gcloud auth
    /// print-access-token` prints it), else a service account key file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`; the job project from `BURNRATE_BIGQUERY_PROJECT`,
    /// the location from `BURNRATE_BIGQUERY_LOCATION`, and `BURNRATE_BIGQUERY_ENDPOINT` for
    /// another server.
    pub fn from_env() -> Result<BigQueryConfig, FetchError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let auth = match (
            var("GOOGLE_OAUTH_ACCESS_TOKEN"),
            var("GOOGLE_APPLICATION_CREDENTIALS"),
        ) {
            (Some(token), _) => Auth::Token(token),
            (None, Some(path)) => {
                Auth::ServiceAccount(Arc::new(ServiceAccount::from_file(Path::new(&path))?))
            }
            (None, None) => {
                return Err(FetchError::Address(
                    "reading BigQuery needs an access token in GOOGLE_OAUTH_ACCESS_TOKEN \
                     (export GOOGLE_OAUTH_ACCESS_TOKEN=\"$(gcloud auth print-access-token)\") \
                     or a service account key file in GOOGLE_APPLICATION_CREDENTIALS"
                        .into(),
                ));
            }
        };
        let endpoint = var("BURNRATE_BIGQUERY_ENDPOINT")
            .unwrap_or_else(|| "https://bigquery.googleapis.com".into());
        let endpoint = Url::parse(&endpoint).map_err(|e| {
            FetchError::Address(format!("BURNRATE_BIGQUERY_ENDPOINT={endpoint:?}: {e}"))
        })?;
        if endpoint.scheme() == "https" && !cfg!(feature = "https") {
            return Err(FetchError::Address(format!(
                "{endpoint} is https, and this burnrate was built without TLS: build it with \
                 its default features (or `--features https`)"
            )));
        }
        Ok(BigQueryConfig {
            endpoint,
            auth,
            job_project: var("BURNRATE_BIGQUERY_PROJECT"),
            location: var("BURNRATE_BIGQUERY_LOCATION"),
        })
    }
}

/// Where access tokens come from.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A token as it is (it lasts about an hour).
    Token(String),
    /// A service account key: tokens are made from it as needed.
    ServiceAccount(Arc<ServiceAccount>),
}

/// A service account key file (`"type": "service_account"`), exchanged for access tokens
/// with a signed JWT (RFC 7523, RS256), renewed before they expire.
pub struct ServiceAccount {
    email: String,
    /// The private key, PKCS #8 DER.
    key: Vec<u8>,
    token_uri: String,
    token: crate::oauth::TokenCache,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a key file as the Cloud console writes it.
    pub fn from_file(path: &Path) -> Result<ServiceAccount, FetchError> {
        let bad = |why: String| {
            FetchError::Address(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={}: {why}",
                path.display()
            ))
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if doc["type"] != "service_account" {
            return Err(bad(format!(
                "its type is {}, not service_account (user credentials: use \
                 GOOGLE_OAUTH_ACCESS_TOKEN)",
                doc["type"]
            )));
        }
        let field = |name: &str| {
            doc[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("no {name}")))
        };
        let pem = field("private_key")?;
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| bad(format!("its private_key is not PEM: {e}")))?;
        Ok(ServiceAccount {
            email: field("client_email")?,
            key,
            token_uri: field("token_uri")
                .unwrap_or_else(|_| "https://oauth2.googleapis.com/token".into()),
            token: crate::oauth::TokenCache::default(),
        })
    }

    /// A token: the one held while it has more than five minutes left, else a new one.
    fn token(&self, agent: &ureq::Agent) -> Result<String, String> {
        self.token.get(|| {
            let assertion = self.assertion()?;
            crate::oauth::request(
                agent,
                &self.token_uri,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", &assertion),
                ],
                &self.email,
            )
        })
    }

    /// The signed JWT that asks for a BigQuery token.
    #[cfg(feature = "https")]
    fn assertion(&self) -> Result<String, String> {
        use base64::Engine as _;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = b64(json!({
            "iss": self.email,
            "scope": "https://www.googleapis.com/auth/bigquery",
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        })
        .to_string()
        .as_bytes());
        let message = format!("{header}.{claims}");
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&self.key)
            .map_err(|e| format!("the service account's private key is not an RSA key: {e}"))?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .map_err(|e| format!("signing the token request failed: {e}"))?;
        Ok(format!("{message}.{}", b64(&signature)))
    }

    #[cfg(not(feature = "https"))]
    fn assertion(&self) -> Result<String, String> {
        let _unused = &self.key;
        Err(
            "service account keys need burnrate built with its default features (TLS and \
             RSA signing)"
                .into(),
        )
    }
}

/// Why the table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Address(String),
    #[error("{table}: {reason}")]
    Query { table: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One month written (or found unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFile {
    pub month: String,
    pub path: PathBuf,
    pub rows: u64,
    /// The file was written (new or changed content).
    pub changed: bool,
}

/// Writes each invoice month from `table.from` (default: last month) to today's as a JSON
/// lines file in `folder`, and returns them in month order. `today` is `YYYYMM`.
pub fn export(
    config: &BigQueryConfig,
    table: &BigQueryTable,
    folder: &Path,
    today: &str,
    previous: &str,
) -> Result<Vec<MonthFile>, FetchError> {
    let client = Client::new(config, table);
    let from = table.from.clone().unwrap_or_else(|| previous.to_string());
    let mut months = Vec::new();
    client.rows(
        &format!(
            "SELECT DISTINCT invoice.month AS m FROM {} WHERE invoice.month >= @from \
             AND invoice.month <= @to ORDER BY m",
            table.sql_name()
        ),
        &[("from", &from), ("to", today)],
        |m| months.push(m.to_string()),
    )?;
    let local = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Local { path, source }
    };
    std::fs::create_dir_all(folder).map_err(local(folder))?;
    let mut out = Vec::new();
    for month in months {
        let path = folder.join(format!("{}-{month}.jsonl", table.table));
        let temp = folder.join(format!(".{}-{month}.jsonl.partial", table.table));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&temp).map_err(local(&temp))?);
        let mut write_error = None;
        let rows = client.rows(
            &format!(
                "SELECT TO_JSON_STRING(t) AS row FROM {} AS t WHERE invoice.month = @month",
                table.sql_name()
            ),
            &[("month", &month)],
            |line| {
                if let Err(e) = writeln!(file, "{line}") {
                    write_error.get_or_insert(e);
                }
            },
        );
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(e);
            }
        };
        if let Some(e) = write_error {
            let _ = std::fs::remove_file(&temp);
            return Err(local(&temp)(e));
        }
        file.flush().map_err(local(&temp))?;
        drop(file);
        let changed = !same_bytes(&path, &temp);
        if changed {
            std::fs::rename(&temp, &path).map_err(local(&path))?;
        } else {
            std::fs::remove_file(&temp).map_err(local(&temp))?;
        }
        out.push(MonthFile {
            month,
            path,
            rows,
            changed,
        });
    }
    Ok(out)
}

/// The two files exist and hold the same bytes (read in chunks, not whole).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(fa), Ok(fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    if fa.metadata().map(|m| m.len()).ok() != fb.metadata().map(|m| m.len()).ok() {
        return false;
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let Ok(na) = ra.read(&mut ba) else {
            return false;
        };
        if na == 0 {
            return true;
        }
        if rb.read_exact(&mut bb[..na]).is_err() || ba[..na] != bb[..na] {
            return false;
        }
    }
}

/// Why the job of a 2xx answer failed, when it says so: its `status.errorResult` (or a
/// bare `errorResult`), or `errors` on a finished answer that holds no result (no
/// `schema`, no `rows`). Read as a result, such an answer would be an empty month that
/// replaces the month's rows.
fn job_error(page: &Value) -> Option<String> {
    let describe = |e: &Value| {
        let message = e["message"].as_str().unwrap_or("no message");
        match e["reason"].as_str() {
            Some(reason) => format!("{reason}: {message}"),
            None => message.to_string(),
        }
    };
    for result in [&page["status"]["errorResult"], &page["errorResult"]] {
        if result.is_object() {
            return Some(describe(result));
        }
    }
    let errors = page["errors"].as_array().filter(|e| !e.is_empty())?;
    let finished = page["jobComplete"] != json!(false);
    let no_result = page.get("schema").is_none() && page.get("rows").is_none();
    (finished && no_result).then(|| describe(&errors[0]))
}

/// `YYYYMM` of `date`'s month and of the month before.
pub fn this_and_previous_month(date: chrono::NaiveDate) -> (String, String) {
    use chrono::Datelike;
    let this = format!("{:04}{:02}", date.year(), date.month());
    let (y, m) = if date.month() == 1 {
        (date.year() - 1, 12)
    } else {
        (date.year(), date.month() - 1)
    };
    (this, format!("{y:04}{m:02}"))
}

struct Client<'a> {
    config: &'a BigQueryConfig,
    table: &'a BigQueryTable,
    agent: ureq::Agent,
}

impl<'a> Client<'a> {
    fn new(config: &'a BigQueryConfig, table: &'a BigQueryTable) -> Client<'a> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            config,
            table,
            agent,
        }
    }

    fn error(&self, reason: String) -> FetchError {
        FetchError::Query {
            table: self.table.to_string(),
            reason,
        }
    }

    /// Runs `sql` with named STRING parameters and hands each row's first cell to `each`;
    /// returns how many rows there were.
    fn rows(
        &self,
        sql: &str,
        params: &[(&str, &str)],
        mut each: impl FnMut(&str),
    ) -> Result<u64, FetchError> {
        let project = self
            .config
            .job_project
            .as_deref()
            .unwrap_or(&self.table.project);
        let base = format!(
            "{}/bigquery/v2/projects/{project}/queries",
            self.config.endpoint.as_str().trim_end_matches('/')
        );
        let mut body = json!({
            "query": sql,
            "useLegacySql": false,
            "parameterMode": "NAMED",
            "maxResults": PAGE_ROWS,
            "timeoutMs": WAIT_MS,
            "queryParameters": params.iter().map(|(name, value)| json!({
                "name": name,
                "parameterType": {"type": "STRING"},
                "parameterValue": {"value": value},
            })).collect::<Vec<_>>(),
        });
        if let Some(location) = &self.config.location {
            body["location"] = json!(location);
        }
        let body = serde_json::to_vec(&body).map_err(|e| self.error(e.to_string()))?;
        let mut page = self.call(|auth| {
            self.agent
                .post(&base)
                .header("authorization", auth)
                .header("content-type", "application/json")
                .send(&body[..])
        })?;
        let job = page["jobReference"].clone();
        let job_id = job["jobId"].as_str().unwrap_or_default().to_string();
        let location = job["location"]
            .as_str()
            .map(str::to_string)
            .or_else(|| self.config.location.clone());
        let started = std::time::Instant::now();
        let mut count = 0;
        // The rows the job announced (`totalRows`, a decimal string), once it is done.
        let mut announced: Option<u64> = None;
        let mut polls = 0u32;
        loop {
            if let Some(why) = job_error(&page) {
                return Err(self.error(format!("the query job {job_id} failed: {why}")));
            }
            if page["jobComplete"] == json!(false) {
                if started.elapsed() > QUERY_DEADLINE {
                    return Err(self.error(format!("the query job {job_id} did not finish")));
                }
                // A server that answers at once instead of waiting `timeoutMs` is not
                // asked again at once: 0.5 s, 1 s, 2 s, then every 4 s.
                std::thread::sleep(Duration::from_millis(500 << polls.min(3)));
                polls += 1;
            } else {
                if let Some(n) = page["totalRows"].as_str().and_then(|n| n.parse().ok()) {
                    announced = Some(n);
                }
                for row in page["rows"].as_array().into_iter().flatten() {
                    let cell = row["f"][0]["v"].as_str().ok_or_else(|| {
                        self.error(format!("a row without a text first cell: {row}"))
                    })?;
                    each(cell);
                    count += 1;
                }
            }
            let token = page["pageToken"].as_str().map(str::to_string);
            if page["jobComplete"] != json!(false) && token.is_none() {
                // An answer that ends before the rows it announced would give a month
                // smaller than the table's, which would then replace the month whole.
                if let Some(n) = announced
                    && n != count
                {
                    return Err(self.error(format!(
                        "the query job {job_id} answered {count} of the {n} rows it \
                         announced (the last page came without a page token)"
                    )));
                }
                return Ok(count);
            }
            if job_id.is_empty() {
                return Err(self.error("the answer names no job to read further".into()));
            }
            let url = format!("{base}/{job_id}");
            page = self.call(|auth| {
                let mut request = self
                    .agent
                    .get(&url)
                    .header("authorization", auth)
                    .query("maxResults", PAGE_ROWS.to_string())
                    .query("timeoutMs", WAIT_MS.to_string());
                if let Some(t) = &token {
                    request = request.query("pageToken", t);
                }
                if let Some(l) = &location {
                    request = request.query("location", l);
                }
                request.call()
            })?;
        }
    }

    /// One request (tried again after a network error or a 5xx), with the token; the
    /// JSON answer of a 2xx, or BigQuery's error message.
    fn call(
        &self,
        send: impl Fn(String) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, FetchError> {
        let mut last = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500 << attempt));
            }
            let token = match &self.config.auth {
                Auth::Token(token) => token.clone(),
                Auth::ServiceAccount(account) => {
                    account.token(&self.agent).map_err(|e| self.error(e))?
                }
            };
            let mut response = match send(format!("Bearer {token}")) {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = response.status().as_u16();
            let mut text = String::new();
            if let Err(e) = response
                .body_mut()
                .as_reader()
                .take(1024 * 1024 * 1024)
                .read_to_string(&mut text)
            {
                last = format!("the answer could not be read: {e}");
                continue;
            }
            let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if !(200..300).contains(&status) {
                let message = doc["error"]["message"]
                    .as_str()
                    .map_or_else(|| text.chars().take(300).collect(), str::to_string);
                last = format!("HTTP {status}: {message}");
                if status < 500 {
                    break;
                }
                continue;
            }
            if doc.is_null() {
                return Err(self.error("the answer is not JSON".into()));
            }
            return Ok(doc);
        }
        Err(self.error(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(BigQueryTable::parse("/tmp/x.jsonl").is_none());
        let t = BigQueryTable::parse("bq://my-proj.billing.gcp_billing_export_v1_X?from=202401")
            .and_then(Result::ok)
            .expect("parses");
        assert_eq!(
            (
                t.project.as_str(),
                t.dataset.as_str(),
                t.table.as_str(),
                t.from.as_deref()
            ),
            (
                "my-proj",
                "billing",
                "gcp_billing_export_v1_X",
                Some("202401")
            )
        );
        assert_eq!(t.sql_name(), "`my-proj.billing.gcp_billing_export_v1_X`");
        let slashes = BigQueryTable::parse("bq://p/d/t").and_then(Result::ok);
        assert_eq!(
            slashes.map(|t| t.to_string()),
            Some("bq://p.d.t".to_string())
        );
        for bad in [
            "bq://p.d",
            "bq://p.d.t.x",
            "bq://p.d.t`; DROP",
            "bq://p.d.t?from=2024-01",
            "bq://p.d.t?since=202401",
            "bq://.d.t",
        ] {
            assert!(matches!(BigQueryTable::parse(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn months() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(
            this_and_previous_month(d("2026-12-04")),
            ("202612".into(), "202611".into())
        );
        assert_eq!(
            this_and_previous_month(d("2027-01-01")),
            ("202701".into(), "202612".into())
        );
    }

    #[test]
    fn a_failed_job_in_a_2xx_answer_is_an_error() {
        let failed = json!({"jobComplete": true, "status": {"state": "DONE",
            "errorResult": {"reason": "resourcesExceeded", "message": "too big"}}});
        assert_eq!(
            job_error(&failed).as_deref(),
            Some("resourcesExceeded: too big")
        );
        let bare = json!({"jobComplete": true, "errors": [{"message": "bad"}]});
        assert_eq!(job_error(&bare).as_deref(), Some("bad"));
        // Warnings beside a result, or on a job still running, are no failure.
        let warned = json!({"jobComplete": true, "schema": {}, "rows": [],
            "errors": [{"message": "a warning"}]});
        assert_eq!(job_error(&warned), None);
        let running = json!({"jobComplete": false, "errors": [{"message": "a warning"}]});
        assert_eq!(job_error(&running), None);
        assert_eq!(job_error(&json!({"jobComplete": true, "rows": []})), None);
    }

    #[test]
    fn same_bytes_compares_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a, &big).expect("write");
        std::fs::write(&b, &big).expect("write");
        let mut other = big.clone();
        other[150_000] ^= 1;
        std::fs::write(&c, &other).expect("write");
        assert!(same_bytes(&a, &b));
        assert!(!same_bytes(&a, &c));
        assert!(!same_bytes(&a, &dir.path().join("missing")));
    }
}
