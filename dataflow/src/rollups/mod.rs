//! One rollup per file, each headed by its definition written as SQL.

pub mod daily_cost;
