//! # burnrate-dataflow
//!
//! The one crate that names timely and differential-dataflow types. It owns the job: the
//! graph (`pipeline::build`), the loop that drives it (`pipeline::run`), and the rollups
//! (`rollups/`, one per file, each headed by its definition as SQL). Signals and
//! recommendations will join them under `signals/`.
//!
//! It depends on `schemas` and nothing else of ours; records come in through the [`Feed`]
//! trait (an in-process channel in embedded mode, Kafka when scaled out) and changes leave
//! as [`Output`] values on a channel, so neither transport nor store is known here.
//!
//! Design choices:
//! - **Everything is incremental.** Money rides in the differences (`money::Amounts`,
//!   scaled `i128`), so a sum by key is differential's own consolidation, and a late row
//!   or a restated delivery changes exactly the groups it touches.
//! - **Restatements are a join, not a delete.** Each record belongs to a delivery within a
//!   scope (`schemas::delivery`); a `reduce` keeps the latest completed delivery per scope
//!   and the rollups semijoin on it, so a new delivery retracts the old one's rows and
//!   inserts its own in one epoch.
//! - **Errors are data.** A record whose amounts cannot be represented comes back from
//!   [`prepare`] as rejected, with its file and row, never a panic.
//! - **Results do not depend on the worker count**: inputs are exchanged by key.

pub mod money;
pub mod pipeline;
pub mod recommendations;
pub mod rollups;
pub mod signals;

pub use money::Amounts;
pub use pipeline::{
    Config, Feed, FeedEvent, Input, Output, Part, Prepared, Preparer, prepare, run,
};
