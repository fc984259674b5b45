//! The store side of webhooks: the outbox the lifecycle fills, the delivery state the
//! notifier keeps per (event, url), and the dead letters.
//!
//! Everything the sender knows lives here, in redb, so a restart resumes exactly: an
//! (event, url) marked delivered is never sent again, a pending one keeps its attempt count
//! and due time. The key of both `webhook_deliveries` and `webhook_dead_letters` is
//! `event_id + "\n" + url` (no id or URL holds a newline), so one event's rows are one
//! contiguous range. A delivered or dead row is kept after its event leaves the outbox:
//! that is what makes a re-enqueued event (the same change computed again after a
//! restart) a no-op instead of a second notification. Each row is a few hundred bytes.
//!
//! Each outcome is recorded in one transaction with its consequences (the dead letter,
//! and the removal of the event from the outbox once every endpoint is finished), so a
//! crash between them cannot leave an event that is finished but still queued.

use std::collections::BTreeMap;

use burnrate_schemas::{DeadLetter, Event};
use chrono::{DateTime, Utc};
use redb::{ReadableTable, TableDefinition, TableError};
use serde::{Deserialize, Serialize};

use super::{
    DEAD_LETTERS, EmbeddedStore, OUTBOX, StoreError, db_err, enqueue_event, read_all, store_err,
};

/// Per (event, url): where its delivery stands, as JSON.
pub(crate) const WEBHOOK_DELIVERIES: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("webhook_deliveries");

/// Where the delivery of one event to one URL stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet delivered: `attempts` made so far, the next one due at `next_attempt_at`.
    Pending {
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        last_error: String,
    },
    /// A 2xx answered attempt number `attempts`.
    Delivered { attempts: u32, at: DateTime<Utc> },
    /// Given up; the dead letter holds why.
    Dead { attempts: u32, at: DateTime<Utc> },
}

impl DeliveryState {
    /// Nothing more will be sent for it.
    pub fn is_final(&self) -> bool {
        !matches!(self, DeliveryState::Pending { .. })
    }
}

fn delivery_key(event_id: &str, url: &str) -> String {
    format!("{event_id}\n{url}")
}

/// The outbox as one consistent snapshot: each queued event with its delivery states by URL.
pub(crate) type OutboxSnapshot = Vec<(Event, BTreeMap<String, DeliveryState>)>;

impl EmbeddedStore {
    /// Enqueues events in one transaction, as the lifecycle does with its changes (for tests
    /// and tools: the lifecycle enqueues inside its own transaction).
    pub fn enqueue_events(&self, events: &[Event]) -> Result<(), StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        for event in events {
            enqueue_event(&txn, event)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(())
    }

    /// The events still waiting to be sent to some endpoint, in event id order.
    pub fn outbox(&self) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .outbox_snapshot()?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    /// Every dead letter, in (event id, url) order.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        // A store written before webhooks existed has no such table: no dead letters.
        read_all(&self.begin_read()?, DEAD_LETTERS)
    }

    /// Where the delivery of `event_id` to `url` stands (`None`: never attempted).
    pub fn webhook_delivery(
        &self,
        event_id: &str,
        url: &str,
    ) -> Result<Option<DeliveryState>, StoreError> {
        let txn = self.begin_read()?;
        let table = match txn.open_table(WEBHOOK_DELIVERIES) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_err(e)),
        };
        let held = table
            .get(delivery_key(event_id, url).as_str())
            .map_err(store_err)?;
        match held {
            Some(v) => Ok(Some(serde_json::from_slice(v.value())?)),
            None => Ok(None),
        }
    }

    pub(crate) fn outbox_snapshot(&self) -> Result<OutboxSnapshot, StoreError> {
        let txn = self.begin_read()?;
        let outbox = match txn.open_table(OUTBOX) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(store_err(e)),
        };
        let deliveries = match txn.open_table(WEBHOOK_DELIVERIES) {
            Ok(t) => Some(t),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(store_err(e)),
        };
        let mut out = Vec::new();
        for entry in outbox.iter().map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            // One undecodable entry must not stop every other event from being sent: it
            // stays in the outbox, named in the log, for a person to look at.
            let event: Event = match serde_json::from_slice(v.value()) {
                Ok(event) => event,
                Err(error) => {
                    tracing::error!(key = k.value(), %error, "webhook outbox entry does not decode; skipped");
                    continue;
                }
            };
            let mut states = BTreeMap::new();
            if let Some(deliveries) = &deliveries {
                // '\n' + 1 = '\u{b}': the range holds exactly this event's rows.
                let (lo, hi) = (format!("{}\n", event.id), format!("{}\u{b}", event.id));
                for row in deliveries
                    .range(lo.as_str()..hi.as_str())
                    .map_err(store_err)?
                {
                    let (k, v) = row.map_err(store_err)?;
                    let url = k.value()[lo.len()..].to_string();
                    states.insert(url, serde_json::from_slice(v.value())?);
                }
            }
            out.push((event, states));
        }
        Ok(out)
    }

    /// Records the outcome of one attempt (or, with `state` final and no attempt, a
    /// conclusion), writes `dead` when it gave up, and removes the event from the outbox
    /// when every URL in `subscribed` is then finished — all in one transaction. Returns
    /// whether the event left the outbox.
    pub(crate) fn record_webhook_delivery(
        &self,
        event: &Event,
        url: &str,
        state: &DeliveryState,
        dead: Option<&DeadLetter>,
        subscribed: &[&str],
    ) -> Result<bool, StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let finished;
        {
            let mut deliveries = txn.open_table(WEBHOOK_DELIVERIES).map_err(store_err)?;
            let key = delivery_key(&event.id, url);
            let json = serde_json::to_vec(state)?;
            deliveries
                .insert(key.as_str(), json.as_slice())
                .map_err(store_err)?;
            let mut letters = txn.open_table(DEAD_LETTERS).map_err(store_err)?;
            if let Some(dead) = dead {
                let json = serde_json::to_vec(dead)?;
                letters
                    .insert(key.as_str(), json.as_slice())
                    .map_err(store_err)?;
            } else if matches!(state, DeliveryState::Delivered { .. }) {
                // A redelivered dead letter that got through is a letter no more.
                letters.remove(key.as_str()).map_err(store_err)?;
            }
            finished = all_final(&deliveries, &event.id, subscribed)?;
        }
        if finished {
            txn.open_table(OUTBOX)
                .map_err(store_err)?
                .remove(event.id.as_str())
                .map_err(store_err)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(finished)
    }

    /// Sends the dead letters of `event_id` (only the one to `url`, when given) again: in
    /// one transaction, each one's delivery starts over (a full round of attempts, due at
    /// once), its event is queued again, and the letter is marked with `now`. The letter
    /// stays listed until the new delivery succeeds (it is removed) or fails for good (a new
    /// letter replaces it), so nothing is lost if the URL is no longer configured: the
    /// event then leaves the queue unsent and the marked letter remains. Returns the
    /// letters marked; none when `event_id` (and `url`) name no dead letter.
    pub fn redeliver(
        &self,
        event_id: &str,
        url: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let mut marked = Vec::new();
        {
            let mut letters = txn.open_table(DEAD_LETTERS).map_err(store_err)?;
            // '\n' + 1 = '\u{b}': the range holds exactly this event's letters.
            let (lo, hi) = (format!("{event_id}\n"), format!("{event_id}\u{b}"));
            let mut found = Vec::new();
            for row in letters.range(lo.as_str()..hi.as_str()).map_err(store_err)? {
                let (k, v) = row.map_err(store_err)?;
                let letter: DeadLetter = serde_json::from_slice(v.value())?;
                if url.is_none_or(|u| u == letter.url) {
                    found.push((k.value().to_string(), letter));
                }
            }
            let mut deliveries = txn.open_table(WEBHOOK_DELIVERIES).map_err(store_err)?;
            for (key, mut letter) in found {
                let state = DeliveryState::Pending {
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: format!("redelivery requested after: {}", letter.last_error),
                };
                deliveries
                    .insert(key.as_str(), serde_json::to_vec(&state)?.as_slice())
                    .map_err(store_err)?;
                letter.redelivery_requested_at = Some(now);
                letters
                    .insert(key.as_str(), serde_json::to_vec(&letter)?.as_slice())
                    .map_err(store_err)?;
                marked.push(letter);
            }
        }
        if let Some(letter) = marked.first() {
            enqueue_event(&txn, &letter.event)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(marked)
    }

    /// Removes `event_id` from the outbox if every URL in `subscribed` is finished for it
    /// (an event no endpoint wants, or one enqueued again after it was sent). Returns
    /// whether it was removed.
    pub(crate) fn retire_if_finished(
        &self,
        event_id: &str,
        subscribed: &[&str],
    ) -> Result<bool, StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        let finished = {
            let deliveries = txn.open_table(WEBHOOK_DELIVERIES).map_err(store_err)?;
            all_final(&deliveries, event_id, subscribed)?
        };
        if finished {
            txn.open_table(OUTBOX)
                .map_err(store_err)?
                .remove(event_id)
                .map_err(store_err)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(finished)
    }
}

fn all_final(
    deliveries: &impl ReadableTable<&'static str, &'static [u8]>,
    event_id: &str,
    subscribed: &[&str],
) -> Result<bool, StoreError> {
    for url in subscribed {
        let held = deliveries
            .get(delivery_key(event_id, url).as_str())
            .map_err(store_err)?;
        let done = match held {
            Some(v) => serde_json::from_slice::<DeliveryState>(v.value())?.is_final(),
            None => false,
        };
        if !done {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undecodable_outbox_entry_is_skipped_not_fatal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let txn = store.writer().expect("writer").begin_write().expect("txn");
        txn.open_table(OUTBOX)
            .expect("table")
            .insert("evt_broken", b"{not json".as_slice())
            .expect("insert");
        txn.commit().expect("commit");
        assert!(store.outbox().expect("outbox reads").is_empty());
        assert_eq!(
            store
                .webhook_delivery("evt_broken", "http://h/")
                .expect("read"),
            None
        );
        assert!(store.dead_letters().expect("read").is_empty());
    }
}
