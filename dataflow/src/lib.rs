//! # burnrate-dataflow
//!
//! The one crate that names timely and differential-dataflow types. It owns the job: the
//! graph (`pipeline::build`), the loop that drives it (`pipeline::run`), the rollups
//! (`rollups/`), the rolling per-resource signals (`signals/`) and the recommendation
//! rules over them (`recommendations/`), one per file, each headed by its definition as
//! SQL. Costs and per-minute metrics are two inputs of the same graph; findings are an
//! output beside the rollup changes.
//!
//! It depends on `schemas` and nothing else of ours; records come in through the [`Feed`]
//! trait (an in-process channel in embedded mode, Kafka when scaled out) and changes leave
//! as [`Output`] values on a channel, so neither transport nor store is known here.
//!
//! Design choices:
//! - **Everything is incremental.** Money rides in the differences (`money::Amounts`,
//!   scaled `i128`), so a sum by key is differential's own consolidation, and a late row
//!   or a restated delivery changes exactly the groups it touches.
//! - **Restatements are differences.** Each record belongs to a delivery within a scope
//!   (`schemas::delivery`); `current::Current`, in front of the graph, keeps the latest
//!   completed delivery of every scope and feeds the graph only how the counted parts
//!   change, so a new delivery retracts what the old one said and inserts its own in one
//!   epoch, and the graph itself is one arrangement per rollup (the latency of one row).
//! - **One worker steps in place.** [`Job`] runs a one-worker graph on the caller's
//!   thread (no hand-offs per epoch); more workers run on threads behind [`run`], the same
//!   loop a remote [`Feed`] drives.
//! - **Errors are data.** A record whose amounts cannot be represented comes back from
//!   [`prepare`] as rejected, with its file and row, never a panic.
//! - **Results do not depend on the worker count**: inputs are exchanged by key.
//! - **Windows are collections, not timers.** A metric minute rides as an exact summary
//!   in the difference of its (resource, hour) bucket; the window is a collection of
//!   hours, so an hour leaving the lookback retracts its buckets (`signals::feed`), and
//!   `signals::batch` recomputes the same findings from scratch as the tests' reference.

pub mod current;
pub mod job;
pub mod money;
pub mod pipeline;
pub mod recommendations;
pub mod rollups;
pub mod signals;

pub use job::{Job, JobError};
pub use money::Amounts;
pub use pipeline::{
    Config, Feed, FeedEvent, Input, Output, Part, Prepared, Preparer, prepare, run,
};
