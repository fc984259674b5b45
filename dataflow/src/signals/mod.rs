//! # Signals: rolling per-resource measurements the recommendations rest on
//!
//! One file per signal, each headed by its definition as SQL over two relations:
//! `metric_minutes` (one row per resource and minute present; a missing minute has no row)
//! and `daily_cost` (the rollup). The window is the lookback ending at the watermark.
//!
//! How the job keeps them incrementally: each minute becomes an [`HourStats`] (sums and
//! counts that add and subtract exactly) keyed by (resource, UTC hour), and rides in the
//! *difference* of the collection, as money does in the rollups. The window is a small
//! collection of hours; when the watermark passes an hour's end plus the lookback, that
//! hour leaves the collection and a semijoin retracts every resource's bucket of it. So a
//! new minute touches one bucket of one resource, and an hour expiring touches one bucket
//! per resource, never a rescan of the window. Each signal is then a pure function of a
//! resource's summed stats (and hour-of-week slots, and cost days), in these files.

pub mod activity;
pub mod batch;
pub mod cost;
pub mod coverage;
pub mod feed;
pub mod graph;
pub mod hour_of_week;
pub mod key;
pub mod stats;
pub mod throughput;
pub mod utilization;
pub mod verdicts;
pub mod window;

use burnrate_schemas::HourStats;

pub use activity::Activity;
pub use cost::{CostDay, CostSignal, billing_keys, cost_signal, match_key};
pub use coverage::Coverage;
pub use feed::{MetricsWindow, WindowUpdates};
pub use hour_of_week::{Profile, hour_of_week};
pub use key::{KeyNames, key_hash};
pub use throughput::Throughput;
pub use utilization::{Gpu, Utilization};
pub use window::{Window, minute_of};

/// Every signal of one resource at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub coverage: Coverage,
    pub utilization: Utilization,
    pub throughput: Throughput,
    pub activity: Activity,
    pub profile: Profile,
    pub cost: CostSignal,
    pub stats: HourStats,
}

impl Signals {
    /// The signals of a resource whose window holds `stats` (summed) and `profile`, over
    /// a window of `window_minutes`.
    pub fn compute(
        stats: HourStats,
        profile: Profile,
        cost: CostSignal,
        window_minutes: i64,
    ) -> Signals {
        Signals {
            coverage: Coverage::of(&stats, window_minutes),
            utilization: Utilization::of(&stats),
            throughput: Throughput::of(&stats),
            activity: Activity::of(&stats),
            profile,
            cost,
            stats,
        }
    }
}
