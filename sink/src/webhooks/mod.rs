//! # Webhooks: telling people when a recommendation appears or changes
//!
//! The recommendation lifecycle puts a [`burnrate_schemas::Event`] into the store's outbox
//! in the same transaction as the change it announces; this module drains the outbox. So
//! an event exists exactly when its change was committed, and a crash loses none.
//!
//! Delivery is at least once, deduplicated by event id: event ids are derived from the
//! recommendation and its revision, the `webhook-id` header carries them, and the
//! per-(event, URL) state in redb (`webhook_deliveries`) means we never send again what an
//! endpoint already acknowledged, across restarts too. The one window for a duplicate is a
//! crash after a 2xx and before its record commits; receivers deduplicate by `webhook-id`.
//!
//! Requests follow the Standard Webhooks spec (<https://www.standardwebhooks.com/>):
//! `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`), so receivers can verify with
//! any Standard Webhooks library or with [`verify`]. Bodies are the event JSON or a Slack
//! message ([`Format`]).
//!
//! Failures are retried with capped exponential backoff and jitter; requests a receiver
//! refuses as malformed (4xx but 408/429), and those still failing after `max_attempts`,
//! become [`burnrate_schemas::DeadLetter`]s (`EmbeddedStore::dead_letters`). An event leaves
//! the outbox once every endpoint subscribed to its type has it delivered or dead-lettered.
//!
//! Layout: [`config`] (what is configured, validated at start), [`sign`] (pure signing and
//! verifying), [`format`] (bodies), [`send`] (the HTTP loop); the tables are in
//! `embedded::outbox`.

pub mod config;
pub mod format;
pub mod send;
pub mod sign;

pub use config::{Defaults, Endpoint, EndpointConfig, Format, Retry, WebhookConfig};
pub use send::{Notifier, RunStats};
pub use sign::{VerifyError, sign, signing_key, verify};

use crate::StoreError;

/// Why the notifier could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Config(String),
    #[error("webhook endpoint {index} ({url}): {reason}")]
    InvalidEndpoint {
        index: usize,
        url: String,
        reason: String,
    },
    #[error("webhooks: {0}")]
    Store(#[from] StoreError),
    #[error("webhooks: cannot encode the body of event {event_id}: {source}")]
    Encode {
        event_id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("webhooks: cannot start the sender thread: {0}")]
    Spawn(#[source] std::io::Error),
}
