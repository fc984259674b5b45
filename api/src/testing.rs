//! An in-memory [`Store`] and row builders for the handler tests.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use burnrate_schemas::{
    ChargeCategory, CostCategory, DailyCostKey, DailyCostRow, DeadLetter, HistoryEntry,
    MetricSample, Provider, Recommendation, Status, Totals,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tower::ServiceExt;

use crate::{AppState, MetricsIngest, PushOutcome, StatusChangeError, Store, StoreFailure, router};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn provider(code: &str) -> Provider {
    match code {
        "aws" => Provider::Aws,
        "azure" => Provider::Azure,
        "gcp" => Provider::Gcp,
        "oci" => Provider::Oci,
        _ => Provider::Other,
    }
}

/// A row whose effective cost equals its billed cost.
pub fn row(
    day: &str,
    provider_code: &str,
    currency: &str,
    cost: &str,
    is_ai: bool,
) -> DailyCostRow {
    DailyCostRow {
        key: DailyCostKey {
            day: d(day),
            provider: provider(provider_code),
            service_code: format!("{provider_code}-svc"),
            service_name: format!("{provider_code} service"),
            account: "111122223333".into(),
            resource_id: None,
            charge_category: ChargeCategory::Usage,
            cost_category: if is_ai {
                CostCategory::Inference
            } else {
                CostCategory::Storage
            },
            pricing_model: None,
            is_ai,
            currency: currency.into(),
        },
        totals: Totals {
            billed_cost: dec(cost),
            effective_cost: dec(cost),
            quantity: Decimal::ONE,
            rows: 1,
        },
    }
}

/// A row of one resource, with separate billed and effective costs.
pub fn resource_row(
    day: &str,
    resource: &str,
    currency: &str,
    billed: &str,
    effective: &str,
) -> DailyCostRow {
    let mut r = row(day, "aws", currency, billed, true);
    r.key.resource_id = Some(resource.into());
    r.totals.effective_cost = dec(effective);
    r
}

/// Rows held in memory; `fail` makes every call fail like an unreachable store, and
/// `read_only` refuses status changes like a store another process writes.
#[derive(Debug, Default)]
pub struct MemStore {
    pub rows: Vec<DailyCostRow>,
    pub fail: bool,
    pub recs: Mutex<Vec<Recommendation>>,
    pub dead_letters: Vec<DeadLetter>,
    pub read_only: bool,
}

/// When [`MemStore`] says a redelivery was requested.
pub const REDELIVERY_AT: chrono::DateTime<chrono::Utc> =
    chrono::DateTime::from_timestamp_nanos(1_709_600_000_000_000_000);

impl MemStore {
    fn check(&self) -> Result<(), StoreFailure> {
        if self.fail {
            Err(StoreFailure("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for MemStore {
    fn daily_cost(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<DailyCostRow>, StoreFailure> {
        self.check()?;
        Ok(self
            .rows
            .iter()
            .filter(|r| r.key.day >= start && r.key.day <= end)
            .cloned()
            .collect())
    }

    fn resource_daily_cost(&self, resource_id: &str) -> Result<Vec<DailyCostRow>, StoreFailure> {
        self.check()?;
        Ok(self
            .rows
            .iter()
            .filter(|r| r.key.resource_id.as_deref() == Some(resource_id))
            .cloned()
            .collect())
    }

    fn ping(&self) -> Result<(), StoreFailure> {
        self.check()
    }

    fn recommendations(&self) -> Result<Vec<Recommendation>, StoreFailure> {
        self.check()?;
        Ok(self.recs.lock().expect("lock").clone())
    }

    fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreFailure> {
        self.check()?;
        Ok(self
            .recs
            .lock()
            .expect("lock")
            .iter()
            .find(|r| r.id == id)
            .cloned())
    }

    /// The lifecycle's status rule in memory: a change records history and a revision,
    /// the same status and reason again changes nothing.
    fn set_status(
        &self,
        id: &str,
        status: Status,
        reason: Option<String>,
    ) -> Result<Option<Recommendation>, StatusChangeError> {
        self.check()?;
        if self.read_only {
            return Err(StatusChangeError::ReadOnly);
        }
        let mut recs = self.recs.lock().expect("lock");
        let Some(r) = recs.iter_mut().find(|r| r.id == id) else {
            return Ok(None);
        };
        if r.status != status || r.status_reason != reason {
            r.status = status;
            r.status_reason = reason.clone();
            r.revision += 1;
            r.history.push(HistoryEntry {
                at: chrono::Utc::now(),
                event: format!("status:{}", status.code()),
                status,
                state: r.state,
                reason,
            });
        }
        Ok(Some(r.clone()))
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreFailure> {
        self.check()?;
        Ok(self.dead_letters.clone())
    }

    /// The matching letters, marked at [`REDELIVERY_AT`] (the store itself is not changed).
    fn redeliver(
        &self,
        event_id: &str,
        url: Option<&str>,
    ) -> Result<Vec<DeadLetter>, StatusChangeError> {
        self.check()?;
        if self.read_only {
            return Err(StatusChangeError::ReadOnly);
        }
        Ok(self
            .dead_letters
            .iter()
            .filter(|d| d.event_id == event_id && url.is_none_or(|u| u == d.url))
            .map(|d| DeadLetter {
                redelivery_requested_at: Some(REDELIVERY_AT),
                ..d.clone()
            })
            .collect())
    }
}

/// A metrics input that keeps what it is given (or refuses it, with `fail`).
#[derive(Debug, Default)]
pub struct Collected {
    pub samples: Mutex<Vec<MetricSample>>,
    pub fail: bool,
}

impl MetricsIngest for Collected {
    fn push(&self, samples: Vec<MetricSample>) -> Result<PushOutcome, StoreFailure> {
        if self.fail {
            return Err(StoreFailure("the job's input is closed".into()));
        }
        let accepted = samples.len();
        self.samples.lock().expect("lock").extend(samples);
        Ok(PushOutcome {
            accepted,
            skipped: Vec::new(),
        })
    }
}

/// A response as status, content type and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("json body")
    }
}

/// Sends `GET uri` through a router over `store` (sharing `state` when given, so metrics
/// accumulate).
pub async fn get_with(state: &AppState, uri: &str) -> Reply {
    send(
        state,
        Request::get(uri).body(Body::empty()).expect("request"),
    )
    .await
}

/// Sends any request through the router.
pub async fn send(state: &AppState, request: Request<Body>) -> Reply {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8"),
    }
}

pub async fn get(store: MemStore, uri: &str) -> Reply {
    get_with(&AppState::new(Arc::new(store)), uri).await
}
