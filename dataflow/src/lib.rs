//! # burnrate-dataflow
//!
//! The one crate that names timely and differential-dataflow types. It will own `build()`,
//! which creates the incremental graph (cost rollups, metric signals, recommendations) and
//! returns its input handles and outputs, with one rollup or signal per file under
//! `rollups/` and `signals/`, each headed by its definition written as SQL.
//!
//! Not built yet: the pipeline is issue 4 and the signals issue 5. This crate depends on
//! `schemas` (and on `sink` for wiring only) and nothing else of ours.
