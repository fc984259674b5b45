//! Rollup rows: what the pipeline maintains and the stores and API serve.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::cost::{ChargeCategory, CostCategory, PricingModel, Provider};

/// The grouping key of the daily cost rollup: UTC day × provider × service × account ×
/// resource × category × currency (definition in `dataflow/src/rollups/daily_cost.rs`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DailyCostKey {
    pub day: NaiveDate,
    pub provider: Provider,
    pub service_code: String,
    pub service_name: String,
    /// The sub-account (AWS linked account, Azure subscription, GCP project), else the
    /// billing account.
    pub account: String,
    /// `None` is "no resource", its own group.
    pub resource_id: Option<String>,
    pub charge_category: ChargeCategory,
    pub cost_category: CostCategory,
    pub pricing_model: Option<PricingModel>,
    pub is_ai: bool,
    pub currency: String,
}

/// The sums of a rollup row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub billed_cost: Decimal,
    pub effective_cost: Decimal,
    /// Consumed quantity, in whatever units the rows had (quantities of one service).
    pub quantity: Decimal,
    /// Record parts summed into the row.
    pub rows: i64,
}

/// One row of the daily cost rollup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCostRow {
    #[serde(flatten)]
    pub key: DailyCostKey,
    #[serde(flatten)]
    pub totals: Totals,
}
