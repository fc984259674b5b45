//! # burnrate-api
//!
//! What readers are told, and (soon) the HTTP surface that tells them: the cost summary
//! (`summary`), trends and per-resource costs, computed from rollup rows read through the
//! [`Store`] trait, which the embedded store and ClickHouse both implement. The axum
//! `router(state)` (no server inside), health, metrics and the OpenAPI document are being
//! built (issue 4).
//!
//! It depends on `schemas` only. The CLI's `summary` prints exactly what the endpoint
//! returns because both call [`summary::summarize`].

pub mod summary;

pub use summary::{Breakdown, CostQuery, CostType, Scope, Summary, summarize};

use burnrate_schemas::DailyCostRow;

/// Where rollup rows are read from.
pub trait Store: Send + Sync {
    /// The daily cost rows of the UTC days `[start, end]`.
    fn daily_cost(
        &self,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    ) -> Result<Vec<DailyCostRow>, StoreFailure>;
}

/// A store that could not answer.
#[derive(Debug, thiserror::Error)]
#[error("the store could not be read: {0}")]
pub struct StoreFailure(pub String);
