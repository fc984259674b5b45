//! # burnrate-sink
//!
//! Where the job's changes land: the embedded durable store (the default, [`embedded`]),
//! the webhook notifier that drains its outbox ([`webhooks`]: Standard Webhooks signing,
//! retries with backoff, dead letters), and later the ClickHouse writer (batching, retries
//! classified by error code, commit-after-write).
//! Every writer is idempotent, so a replay after a crash changes nothing.
//!
//! Of our crates it depends on `schemas` only: it stores rollup rows, opaque input-log
//! blobs, the metric window's buckets and the recommendations' lifecycle, and never sees a
//! dataflow type.

pub mod embedded;
pub mod webhooks;

pub use embedded::{
    DeliveryInfo, DeliveryState, EmbeddedStore, Fingerprint, MetricBucket, StoreError,
};
pub use webhooks::{Notifier, RunStats, WebhookConfig, WebhookError};
