//! # burnrate-schemas
//!
//! The vocabulary every other crate speaks: the normalized [`CostRecord`] (FOCUS 1.2 column
//! names plus our `x_` columns), the per-minute [`MetricSample`], their Arrow schemas, and
//! the few pure rules that must mean the same thing everywhere, such as how a charge is
//! split across UTC days.
//!
//! It depends on nothing of ours, and on no I/O: no files, no network, no runtime. Anything
//! that reads or writes lives in `ingest`, `sink` or `api`.
//!
//! Design choices:
//! - Money is `rust_decimal::Decimal` and serializes as a string; no amount ever passes
//!   through `f64`. Metrics are measurements and stay `f64`, with `None` for "not measured".
//! - FOCUS's `ChargeCategory` is kept as FOCUS defines it, and our finer `x_ChargeKind`
//!   (refund, discount, rounding, ...) sits beside it rather than bending the standard.
//! - A record knows where it came from (`x_Source`, `x_RowRef`) so every number can be
//!   traced to a file and row, and a re-delivery can replace exactly what it restates.

pub mod arrow;
pub mod cost;
pub mod days;
pub mod delivery;
pub mod json;
pub mod metric;
pub mod recommendation;
pub mod rollup;

pub use cost::{
    ChargeCategory, ChargeClass, ChargeFrequency, ChargeKind, CommitmentStatus, CostCategory,
    CostRecord, PricingCategory, PricingModel, Provider, ResourceKind, RowRef,
};
pub use delivery::DeliveryScope;
pub use metric::{
    HourStats, MAX_LABEL_BYTES, MAX_MEASURE, MAX_UTILIZATION_PCT, MEASUREMENT_FIELDS, MetricSample,
    THROUGHPUT_BUCKETS, resource_matches, throughput_bucket, throughput_bucket_upper,
};
pub use recommendation::{
    Action, Commitment, DeadLetter, Effort, Event, EventKind, Finding, HistoryEntry, HourWindow,
    Priority, Recommendation, RecommendationType, State, Status, recommendation_id, two_places,
};
pub use rollup::{DailyCostKey, DailyCostRow, Totals};
