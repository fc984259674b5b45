//! The recommendation lifecycle: what the store keeps of each finding over time.
//!
//! The job reports findings as changes per epoch (`+1` a finding or its new version, `-1`
//! a finding or its old version); this module turns them into [`Recommendation`]s that
//! outlive any one computation. Why it is built this way:
//!
//! - **Netting per id, then one target per id.** A changed finding arrives as `-old` and
//!   `+new` with the same id in one epoch, in any order. Each id's changes are summed per
//!   finding; a finding left with a positive count is what the id now holds (if several
//!   are, the greatest by `Finding`'s order wins, so the outcome does not depend on the
//!   order of the slice). An id whose changes net to retractions only is withdrawn. An id
//!   whose changes cancel out is left alone.
//! - **Idempotent by comparison, not by bookkeeping.** A target equal to what is stored
//!   (same finding, still active) changes nothing and announces nothing (a finding whose
//!   signal values drifted without changing the advice, `Finding::materially_differs`,
//!   is stored without an event), so applying the
//!   same changes twice, or again after a restart, gives no second event. The only thing
//!   a confirmation refreshes is `expires_at` (it is a confirmation), without a revision.
//! - **`expires_at` follows the latest computation**: `now + ttl` when it was given a ttl,
//!   none when it was not (no ttl means no expiry, and a reactivated recommendation must
//!   not keep a deadline that already passed).
//! - **Events in the same transaction.** Every change appends to the history, bumps the
//!   revision and puts its [`Event`] in the outbox inside the write transaction that
//!   stores it, so an event exists exactly when its change does (see `enqueue_event`).
//! - **The person's word is never overwritten.** `status` and `status_reason` change only
//!   through [`EmbeddedStore::set_status`]; a recompute, a withdrawal or a reactivation
//!   keeps them.
//! - Nothing is ever deleted: a withdrawn recommendation keeps its last finding and its
//!   history.

use std::collections::BTreeMap;

use burnrate_schemas::{Event, EventKind, Finding, HistoryEntry, Recommendation, State, Status};
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition, TableError};

use super::{EmbeddedStore, StoreError, db_err, enqueue_event, read_all, store_err};

/// Recommendation id → `schemas::Recommendation` as JSON.
pub(crate) const RECOMMENDATIONS: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("recommendations");

/// What one id should hold after a batch of changes: a finding, or `None` for withdrawn.
type Target = Option<Finding>;

/// Sums each id's changes per finding and decides its target (see the module docs).
fn targets(changes: &[(Finding, isize)]) -> BTreeMap<String, Target> {
    let mut net: BTreeMap<String, BTreeMap<&Finding, isize>> = BTreeMap::new();
    for (finding, diff) in changes {
        *net.entry(finding.id())
            .or_default()
            .entry(finding)
            .or_default() += *diff;
    }
    net.into_iter()
        .filter_map(|(id, counts)| {
            // BTreeMap order is Finding's order, so the last positive one is the greatest.
            let held = counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(f, _)| *f)
                .next_back();
            match held {
                Some(f) => Some((id, Some(f.clone()))),
                None if counts.values().any(|n| *n < 0) => Some((id, None)),
                None => None,
            }
        })
        .collect()
}

fn history(
    rec: &Recommendation,
    at: DateTime<Utc>,
    event: &str,
    reason: Option<String>,
) -> HistoryEntry {
    HistoryEntry {
        at,
        event: event.to_string(),
        status: rec.status,
        state: rec.state,
        reason,
    }
}

/// Records a change already made to `rec`: history, revision, time, and its event.
fn record(
    mut rec: Recommendation,
    now: DateTime<Utc>,
    entry: &str,
    reason: Option<String>,
    kind: EventKind,
) -> (Recommendation, Event) {
    rec.revision += 1;
    rec.updated_at = now;
    let h = history(&rec, now, entry, reason);
    rec.history.push(h);
    let event = Event::new(kind, now, rec.clone());
    (rec, event)
}

/// What one target does to the stored recommendation, if anything: the record to store
/// and, when it is a change, the event announcing it.
fn apply_target(
    id: String,
    target: Target,
    stored: Option<Recommendation>,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Option<(Recommendation, Option<Event>)> {
    match (target, stored) {
        (Some(finding), None) => {
            let mut rec = Recommendation {
                id,
                savings_percent: finding.savings_percent(),
                finding,
                status: Status::Pending,
                status_reason: None,
                state: State::Active,
                created_at: now,
                updated_at: now,
                expires_at,
                revision: 1,
                history: Vec::new(),
            };
            rec.history.push(history(&rec, now, "created", None));
            let event = Event::new(EventKind::Created, now, rec.clone());
            Some((rec, Some(event)))
        }
        (Some(finding), Some(mut rec)) => {
            let entry = match rec.state {
                State::Active if rec.finding == finding => {
                    // A confirmation: refresh the expiry only, announce nothing.
                    if rec.expires_at != expires_at {
                        rec.expires_at = expires_at;
                        return Some((rec, None));
                    }
                    return None;
                }
                State::Active if !rec.finding.materially_differs(&finding) => {
                    // The same advice with drifted signal values: keep the latest values,
                    // announce nothing (no revision, no history entry).
                    rec.savings_percent = finding.savings_percent();
                    rec.finding = finding;
                    rec.expires_at = expires_at;
                    return Some((rec, None));
                }
                State::Active => "updated",
                State::Withdrawn | State::Expired => "reactivated",
            };
            rec.savings_percent = finding.savings_percent();
            rec.finding = finding;
            rec.state = State::Active;
            rec.expires_at = expires_at;
            let (rec, event) = record(rec, now, entry, None, EventKind::Updated);
            Some((rec, Some(event)))
        }
        (None, Some(mut rec)) if rec.state != State::Withdrawn => {
            rec.state = State::Withdrawn;
            let (rec, event) = record(rec, now, "withdrawn", None, EventKind::Withdrawn);
            Some((rec, Some(event)))
        }
        // Withdrawing what is already withdrawn, or what was never stored.
        (None, _) => None,
    }
}

fn decode(bytes: &[u8]) -> Result<Recommendation, StoreError> {
    Ok(serde_json::from_slice(bytes)?)
}

impl EmbeddedStore {
    /// Applies one epoch's finding changes in one transaction and returns the events it
    /// enqueued (see the module docs for the rules). `expires_at` becomes `now + ttl` (or
    /// none without a ttl) on every create, update, reactivation and confirmation.
    pub fn apply_findings(
        &self,
        changes: &[(Finding, isize)],
        now: DateTime<Utc>,
        ttl: Option<chrono::Duration>,
    ) -> Result<Vec<Event>, StoreError> {
        let targets = targets(changes);
        self.apply_targets(targets, now, ttl)
    }

    /// Makes the active recommendations exactly `current`: each finding is applied as if
    /// it arrived with `+1`, and every active recommendation not among them is withdrawn.
    /// For the start of a job, after its state was rebuilt from the input log: the store
    /// then announces only what really differs from what it held before the restart.
    pub fn reconcile_findings(
        &self,
        current: &[Finding],
        now: DateTime<Utc>,
        ttl: Option<chrono::Duration>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut targets: BTreeMap<String, Target> =
            current.iter().map(|f| (f.id(), Some(f.clone()))).collect();
        for rec in self.recommendations()? {
            if rec.state == State::Active && !targets.contains_key(&rec.id) {
                targets.insert(rec.id, None);
            }
        }
        self.apply_targets(targets, now, ttl)
    }

    fn apply_targets(
        &self,
        targets: BTreeMap<String, Target>,
        now: DateTime<Utc>,
        ttl: Option<chrono::Duration>,
    ) -> Result<Vec<Event>, StoreError> {
        let expires_at = ttl.and_then(|t| now.checked_add_signed(t));
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let mut events = Vec::new();
        {
            let mut table = txn.open_table(RECOMMENDATIONS).map_err(store_err)?;
            for (id, target) in targets {
                let stored = match table.get(id.as_str()).map_err(store_err)? {
                    Some(v) => Some(decode(v.value())?),
                    None => None,
                };
                let Some((rec, event)) = apply_target(id, target, stored, now, expires_at) else {
                    continue;
                };
                let json = serde_json::to_vec(&rec)?;
                table
                    .insert(rec.id.as_str(), json.as_slice())
                    .map_err(store_err)?;
                if let Some(event) = event {
                    enqueue_event(&txn, &event)?;
                    events.push(event);
                }
            }
        }
        txn.commit().map_err(store_err)?;
        Ok(events)
    }

    /// Every recommendation, in id order, in any state.
    pub fn recommendations(&self) -> Result<Vec<Recommendation>, StoreError> {
        read_all(&self.begin_read()?, RECOMMENDATIONS)
    }

    /// One recommendation by id.
    pub fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreError> {
        let txn = self.begin_read()?;
        let table = match txn.open_table(RECOMMENDATIONS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_err(e)),
        };
        match table.get(id).map_err(store_err)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Sets a person's verdict on a recommendation: `None` when the id is unknown.
    ///
    /// A change records history `status:<code>` with the reason, bumps the revision and
    /// enqueues a `StatusChanged` event, returned beside the recommendation. Setting the
    /// status and reason it already has is a no-op: nothing is stored or enqueued, and the
    /// event is `None` (so a retried request does not announce the change twice). A new
    /// reason with the same status is a change. Any state may be given a status: a person
    /// may dismiss a withdrawn recommendation too.
    pub fn set_status(
        &self,
        id: &str,
        status: Status,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<(Recommendation, Option<Event>)>, StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let out = {
            let mut table = txn.open_table(RECOMMENDATIONS).map_err(store_err)?;
            let stored = match table.get(id).map_err(store_err)? {
                Some(v) => decode(v.value())?,
                None => return Ok(None),
            };
            if stored.status == status && stored.status_reason == reason {
                return Ok(Some((stored, None)));
            }
            let mut rec = stored;
            rec.status = status;
            rec.status_reason = reason.clone();
            let entry = format!("status:{}", status.code());
            let (rec, event) = record(rec, now, &entry, reason, EventKind::StatusChanged);
            let json = serde_json::to_vec(&rec)?;
            table.insert(id, json.as_slice()).map_err(store_err)?;
            enqueue_event(&txn, &event)?;
            (rec, Some(event))
        };
        txn.commit().map_err(store_err)?;
        Ok(Some(out))
    }

    /// Marks every active recommendation whose `expires_at` is before `now` as expired
    /// (history `expired`, an `Updated` event each), in one transaction.
    pub fn expire(&self, now: DateTime<Utc>) -> Result<Vec<Event>, StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let mut events = Vec::new();
        {
            let mut table = txn.open_table(RECOMMENDATIONS).map_err(store_err)?;
            let mut due = Vec::new();
            for entry in table.iter().map_err(store_err)? {
                let (_, v) = entry.map_err(store_err)?;
                let rec = decode(v.value())?;
                if rec.state == State::Active && rec.expires_at.is_some_and(|at| at < now) {
                    due.push(rec);
                }
            }
            for mut rec in due {
                rec.state = State::Expired;
                let (rec, event) = record(rec, now, "expired", None, EventKind::Updated);
                let json = serde_json::to_vec(&rec)?;
                table
                    .insert(rec.id.as_str(), json.as_slice())
                    .map_err(store_err)?;
                enqueue_event(&txn, &event)?;
                events.push(event);
            }
        }
        txn.commit().map_err(store_err)?;
        Ok(events)
    }
}

#[cfg(test)]
#[path = "recommendations_tests.rs"]
mod tests;
