//! # burnrate-api
//!
//! What readers are told, and the HTTP surface that tells them. [`router`] builds the axum
//! `Router` (no server inside: the binary binds and serves it) over an [`AppState`] that
//! holds the [`Store`], the metrics registry and, in a process that runs the job, the
//! [`MetricsIngest`] that pushed samples go to.
//!
//! | route | handler | module |
//! |---|---|---|
//! | `GET /api/v1/ai-costs/summary` | `summary_get` | [`summary`] |
//! | `GET /api/v1/ai-costs/trends` | `trends_get` | [`trends`] |
//! | `GET /api/v1/ai-costs/resources/{resource_id}/costs` | `resource_costs_get` | [`resources`] |
//! | `GET /api/v1/recommendations` | `recommendations_get` | [`recommendations`] |
//! | `GET /api/v1/recommendations/{id}` | `recommendation_get` | [`recommendations`] |
//! | `POST /api/v1/recommendations/{id}/accept` (`reject`, `implemented`, `dismiss`) | `recommendation_accept_post`, ... | [`recommendations`] |
//! | `GET /api/v1/webhooks/dead-letters` | `dead_letters_get` | [`recommendations`] |
//! | `POST /api/v1/webhooks/dead-letters/{event_id}/redeliver` | `redeliver_post` | [`recommendations`] |
//! | `POST /api/v1/metrics` | `metrics_post` | [`metrics_push`] |
//! | `GET /livez`, `GET /readyz` | `livez_get`, `readyz_get` | [`health`] |
//! | `GET /metrics` | `metrics_get` | [`metrics`] |
//! | `GET /api/v1/openapi.json` | `openapi_get` | [`openapi`] |
//!
//! Design choices:
//! - **Computation is separate from transport.** Each resource module has a pure function
//!   over rollup rows (`summarize`, `trends::compute`, `resources::compute`) and a thin
//!   handler. The CLI's `burnrate summary` calls [`summary::summary_from_store`], the very
//!   function the summary handler calls, so the two cannot drift.
//! - **Query parameters are parsed by hand** ([`params`]) from the raw query string, because
//!   list filters are repeated keys (`cloud_provider=aws&cloud_provider=gcp`), and because
//!   every bad value must become a 400 that names the parameter and the value, never a 500
//!   or a generic rejection.
//! - **One error type**, [`AppError`], renders RFC 9457 `application/problem+json`.
//! - **The store is synchronous** (the embedded store is redb; a ClickHouse client can
//!   block on its own runtime), so handlers run store calls on tokio's blocking pool.
//! - **Money is exact**: `rust_decimal` serialized as decimal strings; currencies are
//!   never added together.
//!
//! It depends on `schemas` only (never on sink, ingest or dataflow): stores are adapted to
//! [`Store`] by whoever composes them (the root package).

pub mod error;
pub mod health;
pub mod metrics;
pub mod metrics_push;
pub mod openapi;
pub mod params;
pub mod recommendations;
pub mod resources;
pub mod summary;
pub mod trends;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use burnrate_schemas::{DailyCostRow, DeadLetter, MetricSample, Recommendation, Status};

pub use error::AppError;
pub use summary::{Breakdown, CostQuery, CostType, Scope, Summary, summarize};

/// Where rollup rows are read from. Object-safe: the API holds an `Arc<dyn Store>`.
pub trait Store: Send + Sync {
    /// The daily cost rows of the UTC days `[start, end]`.
    fn daily_cost(
        &self,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    ) -> Result<Vec<DailyCostRow>, StoreFailure>;

    /// Every daily cost row of one resource, on any day. A resource has few rows (one per
    /// day, service, category and currency), so the API filters the range itself and can
    /// tell "no rows in this range" from "no such resource".
    fn resource_daily_cost(&self, resource_id: &str) -> Result<Vec<DailyCostRow>, StoreFailure>;

    /// Answers a trivial query (for `/readyz`).
    fn ping(&self) -> Result<(), StoreFailure>;

    /// Every recommendation, in any state.
    fn recommendations(&self) -> Result<Vec<Recommendation>, StoreFailure>;

    /// One recommendation, `None` when the id is unknown.
    fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreFailure>;

    /// Records a person's verdict and returns the recommendation as it now is (`None` when
    /// the id is unknown). Setting the status and reason it already has changes nothing.
    fn set_status(
        &self,
        id: &str,
        status: Status,
        reason: Option<String>,
    ) -> Result<Option<Recommendation>, StatusChangeError>;

    /// Webhook events that could not be delivered after every retry.
    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreFailure>;

    /// Queues the dead letters of `event_id` (only the one to `url`, when given) to be
    /// sent again, and returns them as now marked; none when nothing matches.
    fn redeliver(
        &self,
        event_id: &str,
        url: Option<&str>,
    ) -> Result<Vec<DeadLetter>, StatusChangeError>;
}

/// Where pushed metric samples go: the running job's metrics input. Object-safe; the API
/// holds an `Option<Arc<dyn MetricsIngest>>`, `None` in a process that only reads.
pub trait MetricsIngest: Send + Sync {
    /// Takes a whole request's validated samples; returns once the counted ones are
    /// durable, with those it skipped (a minute already counted, one older than the
    /// lookback) by their index in the request.
    fn push(&self, samples: Vec<MetricSample>) -> Result<PushOutcome, StoreFailure>;
}

/// What the job made of a push (the 202 body of `POST /api/v1/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct PushOutcome {
    /// Samples counted.
    pub accepted: usize,
    /// Valid samples that were not counted, and why.
    pub skipped: Vec<Skipped>,
}

/// A valid sample the job did not count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Skipped {
    /// Its 0-based position in the request.
    pub index: usize,
    pub reason: String,
}

/// A store that could not answer.
#[derive(Debug, thiserror::Error)]
#[error("the store could not be read: {0}")]
pub struct StoreFailure(pub String);

/// Why a status change was not made.
#[derive(Debug, thiserror::Error)]
pub enum StatusChangeError {
    /// This process only reads the store; another process (`burnrate run`) writes it.
    #[error(
        "this server only reads the store; changes need `burnrate run` (or `demo`), \
         which serves the API over the store it writes"
    )]
    ReadOnly,
    #[error(transparent)]
    Store(#[from] StoreFailure),
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<metrics::Registry>,
    /// Where `POST /api/v1/metrics` sends samples; `None` answers 503.
    pub metrics_ingest: Option<Arc<dyn MetricsIngest>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over `store` with a fresh metrics registry and no metrics input.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            metrics: Arc::new(metrics::Registry::default()),
            metrics_ingest: None,
        }
    }

    /// The same state, sending pushed samples to `ingest`.
    pub fn with_metrics_ingest(mut self, ingest: Arc<dyn MetricsIngest>) -> AppState {
        self.metrics_ingest = Some(ingest);
        self
    }
}

/// Every route of the API, with request metrics around them.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/ai-costs/summary", get(summary::summary_get))
        .route("/api/v1/ai-costs/trends", get(trends::trends_get))
        .route(
            "/api/v1/ai-costs/resources/{resource_id}/costs",
            get(resources::resource_costs_get),
        )
        .route(
            "/api/v1/recommendations",
            get(recommendations::recommendations_get),
        )
        .route(
            "/api/v1/recommendations/{id}",
            get(recommendations::recommendation_get),
        )
        .route(
            "/api/v1/recommendations/{id}/accept",
            post(recommendations::recommendation_accept_post),
        )
        .route(
            "/api/v1/recommendations/{id}/reject",
            post(recommendations::recommendation_reject_post),
        )
        .route(
            "/api/v1/recommendations/{id}/implemented",
            post(recommendations::recommendation_implemented_post),
        )
        .route(
            "/api/v1/recommendations/{id}/dismiss",
            post(recommendations::recommendation_dismiss_post),
        )
        .route(
            "/api/v1/webhooks/dead-letters",
            get(recommendations::dead_letters_get),
        )
        .route(
            "/api/v1/webhooks/dead-letters/{event_id}/redeliver",
            post(recommendations::redeliver_post),
        )
        .route(
            "/api/v1/metrics",
            post(metrics_push::metrics_post).layer(axum::extract::DefaultBodyLimit::max(
                metrics_push::MAX_BODY_BYTES,
            )),
        )
        .route("/api/v1/openapi.json", get(openapi::openapi_get))
        .route("/livez", get(health::livez_get))
        .route("/readyz", get(health::readyz_get))
        .route("/metrics", get(metrics::metrics_get))
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Runs a store call on the blocking pool, so a slow store never stalls the async workers.
pub(crate) async fn blocking<T: Send + 'static, E: Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, AppError>
where
    AppError: From<E>,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(AppError::from(e)),
        Err(e) => Err(AppError::internal(format!("the store call failed: {e}"))),
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod recommendations_tests;

#[cfg(test)]
mod metrics_push_tests;
