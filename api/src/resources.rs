//! `GET /api/v1/ai-costs/resources/{resource_id}/costs`: one resource's daily cost.
//!
//! Rules:
//! - The id is one path segment: ids holding `/` (Azure resource ids, some ARNs) are sent
//!   percent-encoded (`%2F`), and arrive decoded.
//! - The range is `start_date`..`end_date` with the usual defaults (30 days ending today).
//!   Every cost of the resource counts (no `scope`: a resource's costs are its costs).
//! - `daily` has a point for every day of the range and every currency the resource has in
//!   the range (zero on days without cost); `totals_by_currency` sums them.
//! - **Monthly run-rate**, per currency: the mean daily cost over the *basis*, times
//!   30.4375 (the mean days per month of the Gregorian calendar, 365.25 / 12), rounded
//!   half away from zero to 10 decimal places. The basis is the last 30 *complete* days in
//!   the range: it ends at `end_date` or yesterday (UTC), whichever is earlier (today is
//!   still accruing), and starts 29 days before that or at `start_date`, whichever is
//!   later. Days in the basis without cost count as zero. When the range holds no complete
//!   day the run-rate list is empty. Bills arrive late (AWS and Azure up to a day or two),
//!   so a basis reaching yesterday can understate; ask with an earlier `end_date` for a
//!   settled figure.
//! - A resource with no rows at all, on any day, is a 404; one with rows outside the range
//!   only is a 200 with an empty series.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{RawQuery, State};
use burnrate_schemas::DailyCostRow;
use chrono::{Duration, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::params::{COST_TYPES, RawParams, Segment, date_range, today_utc};
use crate::summary::CostType;
use crate::trends::MAX_PERIODS;
use crate::{AppState, blocking};

/// Days in the run-rate basis.
pub const RUN_RATE_BASIS_DAYS: i64 = 30;

/// Mean days per month (365.25 / 12).
pub fn days_per_month() -> Decimal {
    Decimal::new(304375, 4)
}

/// Decimal places of a run-rate.
pub const RUN_RATE_DP: u32 = 10;

/// One day's cost in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyPoint {
    /// UTC day.
    pub date: NaiveDate,
    /// ISO 4217 billing currency.
    pub currency: String,
    #[schema(value_type = String, example = "1.25")]
    pub cost: Decimal,
}

/// A monthly run-rate in one currency, with the days it is based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunRate {
    pub currency: String,
    /// Mean daily cost over the basis × 30.4375, rounded to 10 decimal places.
    #[schema(value_type = String, example = "38.046875")]
    pub monthly_cost: Decimal,
    /// First day of the basis.
    pub basis_start: NaiveDate,
    /// Last day of the basis, inclusive.
    pub basis_end: NaiveDate,
    /// Days in the basis (at most 30).
    pub basis_days: i64,
}

/// The resource cost document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResourceCosts {
    pub resource_id: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub cost_type: CostType,
    /// Ordered by day, then currency.
    pub daily: Vec<DailyPoint>,
    /// Each currency's total over the range.
    #[schema(value_type = BTreeMap<String, String>)]
    pub totals_by_currency: BTreeMap<String, Decimal>,
    /// One per currency, empty when the range holds no complete day.
    pub monthly_run_rate: Vec<RunRate>,
}

/// The days the run-rate is based on, if any (see the module docs).
pub fn run_rate_basis(
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let last = end.min(today.pred_opt()?);
    if last < start {
        return None;
    }
    let first = last
        .checked_sub_signed(Duration::days(RUN_RATE_BASIS_DAYS - 1))
        .unwrap_or(NaiveDate::MIN)
        .max(start);
    Some((first, last))
}

/// The resource document from the resource's rows (any days).
pub fn compute(
    resource_id: &str,
    rows: &[DailyCostRow],
    (start, end): (NaiveDate, NaiveDate),
    cost_type: CostType,
    today: NaiveDate,
) -> ResourceCosts {
    let mut by_day: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    let mut currencies = BTreeSet::new();
    for row in rows
        .iter()
        .filter(|r| r.key.day >= start && r.key.day <= end)
    {
        let cost = match cost_type {
            CostType::Billed => row.totals.billed_cost,
            CostType::Effective => row.totals.effective_cost,
        };
        currencies.insert(row.key.currency.clone());
        *by_day
            .entry((row.key.day, row.key.currency.clone()))
            .or_default() += cost;
    }
    let mut daily = Vec::new();
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut day = start;
    while !currencies.is_empty() && day <= end {
        for currency in &currencies {
            let cost = by_day
                .get(&(day, currency.clone()))
                .copied()
                .unwrap_or_default();
            *totals.entry(currency.clone()).or_default() += cost;
            daily.push(DailyPoint {
                date: day,
                currency: currency.clone(),
                cost: cost.normalize(),
            });
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    let monthly_run_rate = match run_rate_basis(start, end, today) {
        None => Vec::new(),
        Some((first, last)) => {
            let days = (last - first).num_days() + 1;
            currencies
                .iter()
                .map(|currency| {
                    let sum: Decimal = by_day
                        .range((first, currency.clone())..=(last, currency.clone()))
                        .filter(|((_, c), _)| c == currency)
                        .map(|(_, v)| *v)
                        .sum();
                    let monthly = (sum * days_per_month() / Decimal::from(days))
                        .round_dp_with_strategy(
                            RUN_RATE_DP,
                            RoundingStrategy::MidpointAwayFromZero,
                        );
                    RunRate {
                        currency: currency.clone(),
                        monthly_cost: monthly.normalize(),
                        basis_start: first,
                        basis_end: last,
                        basis_days: days,
                    }
                })
                .collect()
        }
    };
    ResourceCosts {
        resource_id: resource_id.to_string(),
        start_date: start,
        end_date: end,
        cost_type,
        daily,
        totals_by_currency: totals
            .into_iter()
            .map(|(c, t)| (c, t.normalize()))
            .collect(),
        monthly_run_rate,
    }
}

/// One resource's daily cost over a range, its totals and its monthly run-rate, per
/// currency.
#[utoipa::path(
    get,
    path = "/api/v1/ai-costs/resources/{resource_id}/costs",
    tag = "costs",
    params(
        ("resource_id" = String, Path,
         description = "The provider's resource id, percent-encoded (`/` as `%2F`)"),
        crate::openapi::ResourceParams,
    ),
    responses(
        (status = 200, description = "The resource's costs", body = ResourceCosts),
        (status = 400, description = "A parameter is invalid", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "The resource has no cost rows at all", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn resource_costs_get(
    State(state): State<AppState>,
    Segment(resource_id): Segment,
    RawQuery(query): RawQuery,
) -> Result<Json<ResourceCosts>, AppError> {
    let params = RawParams::parse(query.as_deref());
    params.reject_unknown(&["start_date", "end_date", "cost_type"])?;
    let today = today_utc();
    let range = date_range(params.date("start_date")?, params.date("end_date")?, today)?;
    let days = (range.1 - range.0).num_days() + 1;
    if usize::try_from(days).unwrap_or(usize::MAX) > MAX_PERIODS {
        return Err(AppError::invalid_parameter(
            "start_date",
            &range.0.to_string(),
            format!(
                "{} to {} is {days} days, more than {MAX_PERIODS}",
                range.0, range.1
            ),
        ));
    }
    let cost_type = params.choice("cost_type", &COST_TYPES)?.unwrap_or_default();
    let store = state.store.clone();
    let id = resource_id.clone();
    let rows = blocking(move || store.resource_daily_cost(&id)).await?;
    if rows.is_empty() {
        return Err(AppError::not_found(format!(
            "no cost rows for resource {resource_id:?}"
        )));
    }
    Ok(Json(compute(&resource_id, &rows, range, cost_type, today)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, dec, resource_row};

    #[test]
    fn the_basis_is_the_last_30_complete_days_in_the_range() {
        let today = d("2024-03-20");
        // The range ends in the past: its last 30 days.
        assert_eq!(
            run_rate_basis(d("2024-01-01"), d("2024-02-29"), today),
            Some((d("2024-01-31"), d("2024-02-29")))
        );
        // The range reaches today: the basis stops yesterday.
        assert_eq!(
            run_rate_basis(d("2024-03-01"), d("2024-03-20"), today),
            Some((d("2024-03-01"), d("2024-03-19")))
        );
        // Only today or the future: no complete day.
        assert_eq!(
            run_rate_basis(d("2024-03-20"), d("2024-03-25"), today),
            None
        );
    }

    #[test]
    fn series_totals_and_run_rate_worked_by_hand() {
        let rows = vec![
            resource_row("2024-02-27", "i-1", "USD", "99", "99"), // before the range
            resource_row("2024-03-01", "i-1", "USD", "2", "1"),
            resource_row("2024-03-01", "i-1", "USD", "0.5", "0.5"),
            resource_row("2024-03-03", "i-1", "USD", "4", "3"),
            resource_row("2024-03-03", "i-1", "EUR", "1", "1"),
            resource_row("2024-03-04", "i-1", "USD", "100", "100"), // today: not in the basis
        ];
        let r = compute(
            "i-1",
            &rows,
            (d("2024-03-01"), d("2024-03-04")),
            CostType::Billed,
            d("2024-03-04"),
        );
        let daily: Vec<(String, &str, String)> = r
            .daily
            .iter()
            .map(|p| (p.date.to_string(), p.currency.as_str(), p.cost.to_string()))
            .collect();
        let want = [
            ("2024-03-01", "EUR", "0"),
            ("2024-03-01", "USD", "2.5"),
            ("2024-03-02", "EUR", "0"),
            ("2024-03-02", "USD", "0"),
            ("2024-03-03", "EUR", "1"),
            ("2024-03-03", "USD", "4"),
            ("2024-03-04", "EUR", "0"),
            ("2024-03-04", "USD", "100"),
        ];
        let want: Vec<(String, &str, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
            .collect();
        assert_eq!(daily, want);
        assert_eq!(r.totals_by_currency["USD"], dec("106.5"));
        assert_eq!(r.totals_by_currency["EUR"], dec("1"));
        // Basis March 1..3 (3 days). USD: 6.5 / 3 * 30.4375 = 65.947916666..., to 10 places.
        // EUR: 1 / 3 * 30.4375 = 10.1458333333...
        let usd = &r.monthly_run_rate[1];
        assert_eq!(usd.currency, "USD");
        assert_eq!(usd.monthly_cost, dec("65.9479166667"));
        assert_eq!(
            (usd.basis_start, usd.basis_end, usd.basis_days),
            (d("2024-03-01"), d("2024-03-03"), 3)
        );
        assert_eq!(r.monthly_run_rate[0].monthly_cost, dec("10.1458333333"));

        let eff = compute(
            "i-1",
            &rows,
            (d("2024-03-01"), d("2024-03-04")),
            CostType::Effective,
            d("2024-03-04"),
        );
        // Effective: 1 + 0.5 + 3 + 100.
        assert_eq!(eff.totals_by_currency["USD"], dec("104.5"));
    }

    #[test]
    fn rows_outside_the_range_only_give_an_empty_series() {
        let rows = vec![resource_row("2024-01-05", "i-1", "USD", "3", "3")];
        let r = compute(
            "i-1",
            &rows,
            (d("2024-03-01"), d("2024-03-04")),
            CostType::Billed,
            d("2024-03-10"),
        );
        assert!(r.daily.is_empty() && r.totals_by_currency.is_empty());
        assert!(r.monthly_run_rate.is_empty());
    }
}
