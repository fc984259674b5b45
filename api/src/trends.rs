//! `GET /api/v1/ai-costs/trends`: the cost of a selection per day, week or month.
//!
//! Rules:
//! - Periods are UTC days; weeks start on Monday (ISO 8601); months are calendar months.
//! - Each point's `period_start`/`period_end` (inclusive) are its period clipped to the
//!   requested range, so a point always says exactly which days it sums: a weekly trend
//!   starting on a Wednesday has a first point from that Wednesday to Sunday.
//! - One point per period and currency; currencies are never added. Every period of the
//!   range gets a point for every currency the selection has (zero when that period has no
//!   cost), so a chart shows quiet days as zero instead of skipping them. A selection with no
//!   rows has no points.
//! - The selection (`scope`, `cost_type`, filters) is the summary's, so the points of a
//!   trend add up to the summary's total for the same parameters.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{RawQuery, State};
use burnrate_schemas::DailyCostRow;
use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::params::{RawParams, cost_query, today_utc};
use crate::summary::{CostQuery, CostType, Scope};
use crate::{AppState, blocking};

/// More points than this per currency is a 400: the answer would be megabytes.
pub const MAX_PERIODS: usize = 10_000;

/// The width of a trend's periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// UTC days.
    #[default]
    Daily,
    /// Weeks starting on Monday.
    Weekly,
    /// Calendar months.
    Monthly,
}

pub const GRANULARITIES: [(&str, Granularity); 3] = [
    ("daily", Granularity::Daily),
    ("weekly", Granularity::Weekly),
    ("monthly", Granularity::Monthly),
];

impl Granularity {
    /// The whole period (first and last day) that holds `day`.
    pub fn period_of(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Granularity::Daily => (day, day),
            Granularity::Weekly => {
                let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                (monday, monday + Duration::days(6))
            }
            Granularity::Monthly => {
                let first = day.with_day(1).unwrap_or(day);
                let next = first.checked_add_months(chrono::Months::new(1));
                (
                    first,
                    next.and_then(|n| n.pred_opt()).unwrap_or(NaiveDate::MAX),
                )
            }
        }
    }

    /// The periods covering `[start, end]`, clipped to it.
    pub fn periods(self, start: NaiveDate, end: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut day = start;
        while day <= end {
            let (_, last) = self.period_of(day);
            let last = last.min(end);
            out.push((day, last));
            match last.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        out
    }

    /// How many periods cover `[start, end]`, without listing them.
    fn count(self, start: NaiveDate, end: NaiveDate) -> usize {
        let days = (end - start).num_days() + 1;
        let n = match self {
            Granularity::Daily => days,
            Granularity::Weekly => {
                (self.period_of(end).0 - self.period_of(start).0).num_days() / 7 + 1
            }
            Granularity::Monthly => {
                i64::from(end.year() - start.year()) * 12 + i64::from(end.month())
                    - i64::from(start.month())
                    + 1
            }
        };
        usize::try_from(n).unwrap_or(usize::MAX)
    }
}

/// One period's cost in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrendPoint {
    /// First UTC day the point sums.
    pub period_start: NaiveDate,
    /// Last UTC day it sums, inclusive.
    pub period_end: NaiveDate,
    /// ISO 4217 billing currency.
    pub currency: String,
    /// Exact decimal string.
    #[schema(value_type = String, example = "12.345")]
    pub cost: Decimal,
}

/// The trend document: the query it answers and its points, ordered by period, then
/// currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Trends {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub granularity: Granularity,
    pub scope: Scope,
    pub cost_type: CostType,
    pub cloud_provider: Vec<String>,
    pub service_type: Vec<String>,
    pub account_id: Vec<String>,
    pub points: Vec<TrendPoint>,
}

/// The trend of `rows` for `q`.
pub fn compute(rows: &[DailyCostRow], q: &CostQuery, granularity: Granularity) -> Trends {
    let periods = granularity.periods(q.start, q.end);
    let mut by_period: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    let mut currencies = BTreeSet::new();
    for row in rows.iter().filter(|r| q.selects(r)) {
        let (first, _) = granularity.period_of(row.key.day);
        // Clipping only moves the first period's start, to the range start.
        let start = first.max(q.start);
        currencies.insert(row.key.currency.clone());
        *by_period
            .entry((start, row.key.currency.clone()))
            .or_default() += q.cost(row);
    }
    let mut points = Vec::with_capacity(periods.len() * currencies.len());
    for (start, end) in periods {
        for currency in &currencies {
            let cost = by_period
                .get(&(start, currency.clone()))
                .copied()
                .unwrap_or_default();
            points.push(TrendPoint {
                period_start: start,
                period_end: end,
                currency: currency.clone(),
                cost: cost.normalize(),
            });
        }
    }
    Trends {
        start_date: q.start,
        end_date: q.end,
        granularity,
        scope: q.scope,
        cost_type: q.cost_type,
        cloud_provider: q.providers.clone(),
        service_type: q.services.clone(),
        account_id: q.accounts.clone(),
        points,
    }
}

/// The cost of a selection per day, week (Monday to Sunday) or calendar month, one point
/// per period and currency.
#[utoipa::path(
    get,
    path = "/api/v1/ai-costs/trends",
    tag = "costs",
    params(crate::openapi::CostQueryParams, crate::openapi::GranularityParam),
    responses(
        (status = 200, description = "The trend", body = Trends),
        (status = 400, description = "A parameter is invalid", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn trends_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Trends>, AppError> {
    let params = RawParams::parse(query.as_deref());
    let q = cost_query(&params, &["granularity"], today_utc())?;
    let granularity = params
        .choice("granularity", &GRANULARITIES)?
        .unwrap_or_default();
    let n = granularity.count(q.start, q.end);
    if n > MAX_PERIODS {
        let word = params.single("granularity")?.unwrap_or("daily");
        return Err(AppError::invalid_parameter(
            "granularity",
            word,
            format!(
                "{} to {} has {n} {word} periods, more than the {MAX_PERIODS} a trend may have; \
                 use a coarser granularity or a shorter range",
                q.start, q.end
            ),
        ));
    }
    let store = state.store.clone();
    let (start, end) = (q.start, q.end);
    let rows = blocking(move || store.daily_cost(start, end)).await?;
    Ok(Json(compute(&rows, &q, granularity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{d, row};

    #[test]
    fn weeks_start_on_monday_and_months_are_calendar_months() {
        // 2024-03-06 is a Wednesday.
        assert_eq!(
            Granularity::Weekly.period_of(d("2024-03-06")),
            (d("2024-03-04"), d("2024-03-10"))
        );
        assert_eq!(
            Granularity::Weekly.period_of(d("2024-03-04")),
            (d("2024-03-04"), d("2024-03-10"))
        );
        assert_eq!(
            Granularity::Weekly.period_of(d("2024-03-10")),
            (d("2024-03-04"), d("2024-03-10"))
        );
        assert_eq!(
            Granularity::Monthly.period_of(d("2024-02-14")),
            (d("2024-02-01"), d("2024-02-29"))
        );
        assert_eq!(
            Granularity::Monthly.period_of(d("2023-12-31")),
            (d("2023-12-01"), d("2023-12-31"))
        );
    }

    #[test]
    fn periods_are_clipped_to_the_range_and_counted_without_listing() {
        // Wednesday 2024-02-28 to Tuesday 2024-03-12: weeks Feb 26, Mar 4, Mar 11.
        let weeks = Granularity::Weekly.periods(d("2024-02-28"), d("2024-03-12"));
        assert_eq!(
            weeks,
            vec![
                (d("2024-02-28"), d("2024-03-03")),
                (d("2024-03-04"), d("2024-03-10")),
                (d("2024-03-11"), d("2024-03-12")),
            ]
        );
        let months = Granularity::Monthly.periods(d("2023-12-15"), d("2024-02-10"));
        assert_eq!(
            months,
            vec![
                (d("2023-12-15"), d("2023-12-31")),
                (d("2024-01-01"), d("2024-01-31")),
                (d("2024-02-01"), d("2024-02-10")),
            ]
        );
        for g in [
            Granularity::Daily,
            Granularity::Weekly,
            Granularity::Monthly,
        ] {
            for (s, e) in [("2024-02-28", "2024-03-12"), ("2023-12-15", "2025-02-10")] {
                assert_eq!(g.count(d(s), d(e)), g.periods(d(s), d(e)).len(), "{g:?}");
            }
        }
    }

    #[test]
    fn points_per_period_and_currency_never_add_currencies() {
        let rows = vec![
            row("2024-02-28", "aws", "USD", "1.5", true),
            row("2024-03-03", "aws", "USD", "2.25", true),
            row("2024-03-04", "aws", "USD", "10", true),
            row("2024-03-05", "azure", "EUR", "7", true),
            row("2024-03-05", "azure", "EUR", "100", false),
        ];
        let q = CostQuery {
            start: d("2024-02-28"),
            end: d("2024-03-12"),
            ..CostQuery::default()
        };
        let t = compute(&rows, &q, Granularity::Weekly);
        let got: Vec<(String, String, &str, String)> = t
            .points
            .iter()
            .map(|p| {
                (
                    p.period_start.to_string(),
                    p.period_end.to_string(),
                    p.currency.as_str(),
                    p.cost.to_string(),
                )
            })
            .collect();
        let want = [
            ("2024-02-28", "2024-03-03", "EUR", "0"),
            ("2024-02-28", "2024-03-03", "USD", "3.75"),
            ("2024-03-04", "2024-03-10", "EUR", "7"),
            ("2024-03-04", "2024-03-10", "USD", "10"),
            ("2024-03-11", "2024-03-12", "EUR", "0"),
            ("2024-03-11", "2024-03-12", "USD", "0"),
        ];
        let want: Vec<(String, String, &str, String)> = want
            .iter()
            .map(|(a, b, c, e)| (a.to_string(), b.to_string(), *c, e.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_empty_selection_has_no_points() {
        let q = CostQuery {
            start: d("2024-03-01"),
            end: d("2024-03-31"),
            ..CostQuery::default()
        };
        assert!(compute(&[], &q, Granularity::Daily).points.is_empty());
    }
}
