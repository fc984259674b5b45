//! # burnrate-sink
//!
//! Where the dataflow's changes land: the embedded durable store (the default), the
//! ClickHouse writer (batching, retries classified by error code, commit-after-write) and
//! the webhook notifier (HMAC signing, retries, dead letters). Every writer is idempotent,
//! so a replay after a crash changes nothing.
//!
//! Not built yet (issues 4 and 5). Depends on `schemas` only.
