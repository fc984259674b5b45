//! `GET /api/v1/ai-costs/summary` and `burnrate summary`: one computation, one JSON shape.
//!
//! Amounts in different currencies are never added: every breakdown entry carries its
//! currency, and `total_cost`/`currency` are set only when the selection has a single
//! currency. When it has several, `totals_by_currency` lists each one's total instead.
//!
//! The handler and the CLI both call [`summary_from_store`]: one read, one computation.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use burnrate_schemas::{CostCategory, DailyCostRow};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::params::{RawParams, cost_query, today_utc};
use crate::{AppState, Store, StoreFailure, blocking};

/// Which cost view to sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CostType {
    /// What invoices charge (AWS unblended, Azure actual, GCP cost, FOCUS BilledCost).
    #[default]
    Billed,
    /// Amortized: commitments spread over the usage they cover.
    Effective,
}

/// AI workloads only, or everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Rows classified as AI workloads (accelerated instances, AI services).
    #[default]
    Ai,
    /// Every row.
    All,
}

/// The selection a summary (or trend) is computed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostQuery {
    /// First UTC day, inclusive.
    pub start: NaiveDate,
    /// Last UTC day, inclusive.
    pub end: NaiveDate,
    /// Provider codes (`aws`, `azure`, `gcp`, ...); empty = all.
    pub providers: Vec<String>,
    /// Service codes or names; empty = all.
    pub services: Vec<String>,
    /// Account ids (sub-account or billing account); empty = all.
    pub accounts: Vec<String>,
    pub scope: Scope,
    pub cost_type: CostType,
}

impl CostQuery {
    /// Whether a rollup row is in the selection.
    pub fn selects(&self, row: &DailyCostRow) -> bool {
        let k = &row.key;
        k.day >= self.start
            && k.day <= self.end
            && (self.scope == Scope::All || k.is_ai)
            && (self.providers.is_empty()
                || self
                    .providers
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(k.provider.code())))
            && (self.services.is_empty()
                || self.services.iter().any(|s| {
                    s.eq_ignore_ascii_case(&k.service_code)
                        || s.eq_ignore_ascii_case(&k.service_name)
                }))
            && (self.accounts.is_empty() || self.accounts.contains(&k.account))
    }

    /// The chosen cost of a row.
    pub fn cost(&self, row: &DailyCostRow) -> Decimal {
        match self.cost_type {
            CostType::Billed => row.totals.billed_cost,
            CostType::Effective => row.totals.effective_cost,
        }
    }
}

/// One entry of a breakdown: a name and its cost in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    /// Provider code, service name or cost category.
    pub name: String,
    /// ISO 4217 billing currency.
    pub currency: String,
    /// Exact decimal string.
    #[schema(value_type = String, example = "12.345")]
    pub cost: Decimal,
}

/// The summary document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Summary {
    /// The total when the selection has one currency (`"0"` when it has none), else
    /// `null`.
    #[schema(value_type = Option<String>, example = "12.345")]
    pub total_cost: Option<Decimal>,
    /// That currency, else `null`.
    pub currency: Option<String>,
    /// First UTC day of the selection (the request's `start_date`).
    pub period_start: NaiveDate,
    /// Last UTC day, inclusive.
    pub period_end: NaiveDate,
    pub scope: Scope,
    pub cost_type: CostType,
    /// Each currency's total, present only when the selection has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub totals_by_currency: Option<BTreeMap<String, Decimal>>,
    /// Per provider code and currency, largest first.
    pub breakdown_by_provider: Vec<Breakdown>,
    /// Per service name and currency, largest first.
    pub breakdown_by_service: Vec<Breakdown>,
    /// Per cost category and currency, largest first.
    pub breakdown_by_category: Vec<Breakdown>,
}

fn category_name(c: CostCategory) -> String {
    c.code().to_string()
}

/// Computes the summary of `rows` (already read from a store) for `q`.
pub fn summarize(rows: &[DailyCostRow], q: &CostQuery) -> Summary {
    let mut by_currency: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut provider: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut service: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut category: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for row in rows.iter().filter(|r| q.selects(r)) {
        let cost = q.cost(row);
        let cur = row.key.currency.clone();
        *by_currency.entry(cur.clone()).or_default() += cost;
        *provider
            .entry((row.key.provider.code().to_string(), cur.clone()))
            .or_default() += cost;
        *service
            .entry((row.key.service_name.clone(), cur.clone()))
            .or_default() += cost;
        *category
            .entry((category_name(row.key.cost_category), cur))
            .or_default() += cost;
    }
    let list = |m: BTreeMap<(String, String), Decimal>| {
        let mut v: Vec<Breakdown> = m
            .into_iter()
            .map(|((name, currency), cost)| Breakdown {
                name,
                currency,
                cost: cost.normalize(),
            })
            .collect();
        // Largest first; ties by name so the order is stable.
        v.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.name.cmp(&b.name)));
        v
    };
    let single = by_currency.len() <= 1;
    let (total_cost, currency) = match by_currency.iter().next() {
        Some((c, t)) if single => (Some(t.normalize()), Some(c.clone())),
        None => (Some(Decimal::ZERO), None),
        _ => (None, None),
    };
    Summary {
        total_cost,
        currency,
        period_start: q.start,
        period_end: q.end,
        scope: q.scope,
        cost_type: q.cost_type,
        totals_by_currency: (!single).then(|| {
            by_currency
                .into_iter()
                .map(|(c, t)| (c, t.normalize()))
                .collect()
        }),
        breakdown_by_provider: list(provider),
        breakdown_by_service: list(service),
        breakdown_by_category: list(category),
    }
}

/// Reads the rows `q` needs from `store` and summarizes them: what the endpoint returns and
/// `burnrate summary` prints.
pub fn summary_from_store(store: &dyn Store, q: &CostQuery) -> Result<Summary, StoreFailure> {
    let rows = store.daily_cost(q.start, q.end)?;
    Ok(summarize(&rows, q))
}

/// The cost summary of a selection: totals (per currency when several), and breakdowns by
/// provider, service and category.
#[utoipa::path(
    get,
    path = "/api/v1/ai-costs/summary",
    tag = "costs",
    params(crate::openapi::CostQueryParams),
    responses(
        (status = 200, description = "The summary", body = Summary),
        (status = 400, description = "A parameter is invalid", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn summary_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Summary>, AppError> {
    let q = cost_query(&RawParams::parse(query.as_deref()), &[], today_utc())?;
    let store = state.store.clone();
    let summary = blocking(move || summary_from_store(store.as_ref(), &q)).await?;
    Ok(Json(summary))
}
