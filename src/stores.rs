//! The stores the API reads, adapted to [`burnrate_api::Store`].
//!
//! The API crate depends on `schemas` only, so the adapters live here, where the binary
//! composes crates. `burnrate serve` and `burnrate summary` both read through
//! [`EmbeddedReader`], so the CLI and the endpoint see the same rows.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use burnrate_api::{StatusChangeError, Store, StoreFailure};
use burnrate_schemas::{DailyCostRow, DeadLetter, Recommendation, Status};
use burnrate_sink::EmbeddedStore;
use chrono::NaiveDate;

/// The embedded store as an API [`Store`]. Shares the store by `Arc`, so a process that
/// also writes (the pipeline) can serve from the same open database.
#[derive(Debug, Clone)]
pub struct EmbeddedReader(pub Arc<EmbeddedStore>);

impl EmbeddedReader {
    /// Opens the store of an existing data directory read-only, beside a writer (`ingest`,
    /// `run`) in another process. A missing store is an error: serving or summarizing an
    /// empty directory is a mistake (usually a wrong `--data-dir`), not a request for an
    /// empty store.
    pub fn open_existing(data_dir: &Path) -> Result<EmbeddedReader> {
        let store = EmbeddedStore::open_read_only(data_dir)?;
        Ok(EmbeddedReader(Arc::new(store)))
    }

    /// The first and last UTC day holding a cost row, and whether any day from `start` to
    /// `end` (inclusive) holds one; `None` when the store holds none. Reads every key (no
    /// totals), so it is for hints, not for each request.
    pub fn day_span(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Option<(NaiveDate, NaiveDate, bool)>> {
        let mut span: Option<(NaiveDate, NaiveDate, bool)> = None;
        self.0.daily_cost(|k| {
            let inside = start <= k.day && k.day <= end;
            span = Some(match span {
                None => (k.day, k.day, inside),
                Some((first, last, any)) => (first.min(k.day), last.max(k.day), any || inside),
            });
            false
        })?;
        Ok(span)
    }
}

fn failure(e: burnrate_sink::StoreError) -> StoreFailure {
    StoreFailure(e.to_string())
}

impl Store for EmbeddedReader {
    fn daily_cost(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<DailyCostRow>, StoreFailure> {
        self.0
            .daily_cost(|k| k.day >= start && k.day <= end)
            .map_err(failure)
    }

    fn resource_daily_cost(&self, resource_id: &str) -> Result<Vec<DailyCostRow>, StoreFailure> {
        self.0
            .daily_cost(|k| k.resource_id.as_deref() == Some(resource_id))
            .map_err(failure)
    }

    fn ping(&self) -> Result<(), StoreFailure> {
        self.0.ping().map_err(failure)
    }

    fn recommendations(&self) -> Result<Vec<Recommendation>, StoreFailure> {
        self.0.recommendations().map_err(failure)
    }

    fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreFailure> {
        self.0.recommendation(id).map_err(failure)
    }

    /// The change's webhook event is already in the store's outbox (same transaction), so
    /// only the recommendation is handed back.
    fn set_status(
        &self,
        id: &str,
        status: Status,
        reason: Option<String>,
    ) -> Result<Option<Recommendation>, StatusChangeError> {
        match self.0.set_status(id, status, reason, chrono::Utc::now()) {
            Ok(changed) => Ok(changed.map(|(rec, _event)| rec)),
            Err(burnrate_sink::StoreError::ReadOnly) => Err(StatusChangeError::ReadOnly),
            Err(e) => Err(StatusChangeError::Store(failure(e))),
        }
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreFailure> {
        self.0.dead_letters().map_err(failure)
    }

    /// The webhook sender of the writing process finds the queued event at its next poll.
    fn redeliver(
        &self,
        event_id: &str,
        url: Option<&str>,
    ) -> Result<Vec<DeadLetter>, StatusChangeError> {
        match self.0.redeliver(event_id, url, chrono::Utc::now()) {
            Ok(marked) => Ok(marked),
            Err(burnrate_sink::StoreError::ReadOnly) => Err(StatusChangeError::ReadOnly),
            Err(e) => Err(StatusChangeError::Store(failure(e))),
        }
    }
}
