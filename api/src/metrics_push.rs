//! `POST /api/v1/metrics`: per-minute inference metrics pushed over HTTP, for sources
//! that cannot drop files into the watched folder.
//!
//! The body is a JSON array of samples, or `{"samples": [...]}`. A sample has the fields
//! of the per-minute CSV form, under their canonical names (the ingest crate's metrics
//! columns): `resource_id` and `timestamp` (required), `provider`, `model`, `accelerator`
//! and the measurements `replicas`, `requests`, `errors`, `input_tokens`, `output_tokens`,
//! `latency_p50_ms`, `latency_p95_ms`, `gpu_utilization_pct`, `gpu_memory_utilization_pct`,
//! `cpu_utilization_pct`, `memory_utilization_pct`. A missing or `null` measurement is "not
//! measured", never 0.
//!
//! Rules, and why:
//! - **All or nothing.** Every sample is checked, every bad field of every sample is
//!   listed in one 422 problem (`errors`: index, field, detail), and a request with any
//!   error stores nothing: a pusher retrying the fixed request must not double what went
//!   through the first time.
//! - `timestamp` is RFC 3339 and is truncated to its UTC minute, as the CSV reader does
//!   (samples are per minute; a pusher stamping the moment it sends is still in the right
//!   minute).
//! - Counts (`replicas`, `requests`, `errors`, tokens) and latencies are numbers ≥ 0;
//!   percentages are in [0, 100] (one device's or one endpoint's share: unlike the
//!   CloudWatch reader, a pushed sample is expected to be per device, not a node's sum).
//!   `provider`, when given, is a provider code. A sample that measures nothing is an
//!   error (it can only be a mistake). Unknown fields are errors: a misspelled
//!   `gpu_util` silently dropped would read as "not measured". A key given twice in one
//!   object is an error too (422): which of the two was meant cannot be known.
//! - Limits shared with the file readers (`MetricSample::problems`): a measurement is at
//!   most 10^9 a minute, and `resource_id`, `model` and `accelerator` are at most 2,048
//!   bytes of printable text.
//! - At most [`MAX_SAMPLES`] samples per request (413 past that), and a body of at most
//!   [`MAX_BODY_BYTES`].
//! - Accepted samples carry the row reference `http:POST /api/v1/metrics`, row = index + 1,
//!   the way file rows are named. The answer is 202 `{"accepted": n, "skipped": [...]}`
//!   once the job has counted them durably: a valid sample is skipped (with its index and
//!   why) when its resource's minute was already counted (a retried push counts once) or
//!   is older than the lookback.
//! - A server that only reads a store (`burnrate serve`) has no job to hand them to: 503.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use burnrate_schemas::{MetricSample, Provider, RowRef};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Map, Value};

use crate::error::{AppError, InvalidField, Problem};
use crate::{AppState, PushOutcome, blocking};

/// The most samples one request may carry.
pub const MAX_SAMPLES: usize = 10_000;

/// The largest body taken: room for `MAX_SAMPLES` samples with every field written out.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The file name of pushed samples' row references.
pub const ROW_REF_FILE: &str = "http:POST /api/v1/metrics";

/// The measurement fields. Their limits (at least 0; utilization at most
/// `MAX_UTILIZATION_PCT`; nothing past `MAX_MEASURE` a minute) are those every source's
/// samples are held to, checked once by `MetricSample::problems`.
const MEASUREMENTS: [&str; 11] = burnrate_schemas::MEASUREMENT_FIELDS;

const TEXT_FIELDS: [&str; 6] = [
    "resource_id",
    "endpoint_id",
    "timestamp",
    "provider",
    "model",
    "accelerator",
];

/// Collects the errors of one sample.
struct Checker<'a> {
    index: usize,
    errors: &'a mut Vec<InvalidField>,
}

impl Checker<'_> {
    fn fail(&mut self, field: Option<&str>, detail: String) {
        self.errors.push(InvalidField {
            index: self.index,
            field: field.map(str::to_string),
            detail,
        });
    }

    /// A text field: `None` when absent, null or blank.
    fn text(&mut self, obj: &Map<String, Value>, name: &str) -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(other) => {
                self.fail(Some(name), format!("{name} must be a string, got {other}"));
                None
            }
        }
    }

    /// A required text field; absent, null or blank is an error (a wrong type is one
    /// error, not two).
    fn required(&mut self, obj: &Map<String, Value>, name: &str) -> Option<String> {
        let wrong_type = obj
            .get(name)
            .is_some_and(|v| !v.is_null() && !v.is_string());
        let text = self.text(obj, name);
        if text.is_none() && !wrong_type {
            self.fail(
                Some(name),
                format!("{name} is required and must not be empty"),
            );
        }
        text
    }

    fn measurement(&mut self, obj: &Map<String, Value>, name: &str) -> Option<f64> {
        let v = match obj.get(name) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => None,
        };
        let Some(v) = v.filter(|v| v.is_finite()) else {
            let got = obj.get(name).map(Value::to_string).unwrap_or_default();
            self.fail(Some(name), format!("{name} must be a number, got {got}"));
            return None;
        };
        Some(v)
    }
}

fn provider_code(code: &str) -> Option<Provider> {
    [
        Provider::Aws,
        Provider::Azure,
        Provider::Gcp,
        Provider::Oci,
        Provider::Other,
    ]
    .into_iter()
    .find(|p| p.code().eq_ignore_ascii_case(code))
}

/// One sample, or `None` with its errors added to `errors`.
fn sample(index: usize, value: &Value, errors: &mut Vec<InvalidField>) -> Option<MetricSample> {
    let before = errors.len();
    let mut c = Checker { index, errors };
    let Value::Object(obj) = value else {
        c.fail(None, format!("a sample must be a JSON object, got {value}"));
        return None;
    };
    for key in obj.keys() {
        let known = TEXT_FIELDS.contains(&key.as_str()) || MEASUREMENTS.contains(&key.as_str());
        if !known {
            c.fail(
                Some(key),
                format!(
                    "unknown field {key:?}; a sample has {}, {}",
                    TEXT_FIELDS.join(", "),
                    MEASUREMENTS.join(", ")
                ),
            );
        }
    }
    // `endpoint_id` is the metrics CSV's name for the same column.
    let id_field = if obj.contains_key("endpoint_id") && !obj.contains_key("resource_id") {
        "endpoint_id"
    } else {
        "resource_id"
    };
    let resource_id = c.required(obj, id_field);
    let minute = c.required(obj, "timestamp").and_then(|t| {
        let parsed = DateTime::parse_from_rfc3339(&t).map_err(|e| e.to_string());
        match parsed.and_then(|at| {
            at.with_timezone(&Utc)
                .duration_trunc(TimeDelta::minutes(1))
                .map_err(|e| e.to_string())
        }) {
            Ok(minute) => Some(minute),
            Err(e) => {
                c.fail(
                    Some("timestamp"),
                    format!("timestamp must be RFC 3339 (2024-03-05T12:34:00Z), got {t:?}: {e}"),
                );
                None
            }
        }
    });
    let provider = c.text(obj, "provider").and_then(|p| {
        let found = provider_code(&p);
        if found.is_none() {
            c.fail(
                Some("provider"),
                format!("provider must be one of aws, azure, gcp, oci, other, got {p:?}"),
            );
        }
        found
    });
    let model = c.text(obj, "model");
    let accelerator = c.text(obj, "accelerator");
    let values = MEASUREMENTS.map(|name| c.measurement(obj, name));
    let measured = MEASUREMENTS
        .iter()
        .any(|name| obj.get(*name).is_some_and(|v| !v.is_null()));
    if !measured {
        c.fail(
            None,
            "the sample measures nothing: give at least one of the measurement fields".into(),
        );
    }
    let row_ref = RowRef {
        file: ROW_REF_FILE.to_string(),
        row: u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1),
    };
    // The sample is put together even when a field already failed, so that the limits
    // below are checked on every field that parsed and the 422 lists every error at once
    // (a field that failed above is absent here and not reported twice).
    let mut s = MetricSample::empty(
        resource_id.unwrap_or_default(),
        minute.unwrap_or_default(),
        row_ref,
    );
    s.provider = provider;
    s.model = model;
    s.accelerator = accelerator;
    let [
        replicas,
        requests,
        errs,
        input_tokens,
        output_tokens,
        p50,
        p95,
        gpu,
        gpu_mem,
        cpu,
        mem,
    ] = values;
    s.replicas = replicas;
    s.requests = requests;
    s.errors = errs;
    s.input_tokens = input_tokens;
    s.output_tokens = output_tokens;
    s.latency_p50_ms = p50;
    s.latency_p95_ms = p95;
    s.gpu_utilization_pct = gpu;
    s.gpu_memory_utilization_pct = gpu_mem;
    s.cpu_utilization_pct = cpu;
    s.memory_utilization_pct = mem;
    // The limits every source's samples are held to (label lengths, measurements beyond
    // a billion a minute), in the words of this sample's fields.
    for (field, detail) in s.problems() {
        c.fail(Some(field), detail);
    }
    (c.errors.len() == before).then_some(s)
}

/// The samples of a request body, all valid, or the problem listing every error.
pub fn parse_samples(body: &[u8]) -> Result<Vec<MetricSample>, AppError> {
    let doc: Value = burnrate_schemas::json::from_slice_unique(body).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            // JSON, but a key given twice: which of the two was meant cannot be known.
            AppError::invalid_items(format!("{e}; nothing was accepted"), Vec::new())
        } else {
            AppError::invalid_body(format!("the body is not JSON: {e}"))
        }
    })?;
    let items = match doc {
        Value::Array(items) => items,
        Value::Object(mut obj) if obj.len() == 1 && obj.contains_key("samples") => {
            match obj.remove("samples") {
                Some(Value::Array(items)) => items,
                _ => {
                    return Err(AppError::invalid_body(
                        "\"samples\" must be an array of samples".into(),
                    ));
                }
            }
        }
        _ => {
            return Err(AppError::invalid_body(
                "the body must be an array of samples, or {\"samples\": [...]}".into(),
            ));
        }
    };
    if items.len() > MAX_SAMPLES {
        return Err(AppError::too_large(format!(
            "{} samples in one request; send at most {MAX_SAMPLES}",
            items.len()
        )));
    }
    let mut errors = Vec::new();
    let samples: Vec<MetricSample> = items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| sample(i, v, &mut errors))
        .collect();
    if errors.is_empty() {
        Ok(samples)
    } else {
        let bad: std::collections::BTreeSet<usize> = errors.iter().map(|e| e.index).collect();
        Err(AppError::invalid_items(
            format!(
                "{} of {} samples are invalid ({} errors); nothing was accepted",
                bad.len(),
                items.len(),
                errors.len()
            ),
            errors,
        ))
    }
}

/// Hands per-minute metric samples to the running job.
#[utoipa::path(
    post,
    path = "/api/v1/metrics",
    tag = "metrics",
    request_body(content = Object,
        description = "An array of samples, or {\"samples\": [...]}; see the module docs"),
    responses(
        (status = 202, description = "Every sample was accepted", body = PushOutcome),
        (status = 400, description = "The body is not an array of samples", body = Problem,
         content_type = "application/problem+json"),
        (status = 413, description = "More than 10,000 samples, or too large a body",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Some samples are invalid (each listed in `errors`); none was accepted",
         body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "This server only reads a store, or the job did not take them",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics_post(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<PushOutcome>), AppError> {
    let Some(ingest) = state.metrics_ingest.clone() else {
        return Err(AppError::read_only(
            "this server only reads a store; push metrics to `burnrate run`".into(),
        ));
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::too_large(format!("the body is larger than {MAX_BODY_BYTES} bytes"))
        } else {
            AppError::invalid_body(format!("the body could not be read: {e}"))
        }
    })?;
    let samples = parse_samples(&body)?;
    let outcome = if samples.is_empty() {
        PushOutcome::default()
    } else {
        blocking(move || ingest.push(samples)).await?
    };
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}
