//! # burnrate-sink
//!
//! Where the job's changes land: the embedded durable store (the default, [`embedded`]),
//! and later the ClickHouse writer (batching, retries classified by error code,
//! commit-after-write) and the webhook notifier (HMAC signing, retries, dead letters).
//! Every writer is idempotent, so a replay after a crash changes nothing.
//!
//! It depends on `schemas` only: it stores rollup rows and opaque input-log blobs, and
//! never sees a dataflow type.

pub mod embedded;

pub use embedded::{DeliveryInfo, EmbeddedStore, StoreError};
