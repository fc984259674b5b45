//! # burnrate-api
//!
//! What readers are told, and the HTTP surface that tells them. [`router`] builds the axum
//! `Router` (no server inside: the binary binds and serves it) over an [`AppState`] that
//! holds the [`Store`] and the metrics registry.
//!
//! | route | handler | module |
//! |---|---|---|
//! | `GET /api/v1/ai-costs/summary` | `summary_get` | [`summary`] |
//! | `GET /api/v1/ai-costs/trends` | `trends_get` | [`trends`] |
//! | `GET /api/v1/ai-costs/resources/{resource_id}/costs` | `resource_costs_get` | [`resources`] |
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
pub mod openapi;
pub mod params;
pub mod resources;
pub mod summary;
pub mod trends;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use burnrate_schemas::DailyCostRow;

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
}

/// A store that could not answer.
#[derive(Debug, thiserror::Error)]
#[error("the store could not be read: {0}")]
pub struct StoreFailure(pub String);

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<metrics::Registry>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// A state over `store` with a fresh metrics registry.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            metrics: Arc::new(metrics::Registry::default()),
        }
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
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreFailure> + Send + 'static,
) -> Result<T, AppError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(AppError::store(e)),
        Err(e) => Err(AppError::internal(format!("the store call failed: {e}"))),
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
