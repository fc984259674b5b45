//! # cost
//!
//! ```sql
//! -- A resource's recent usage cost: the last `cost_days` UTC days that have any, from the
//! -- daily cost rollup (effective cost: what it costs after commitments).
//! WITH d AS (
//!   SELECT match_key(ResourceId) AS resource, day, SUM(effective_cost) AS cost,
//!          SUM(effective_cost) FILTER (WHERE x_PricingModel = 'on_demand') AS on_demand
//!   FROM daily_cost WHERE ChargeCategory = 'Usage' AND ResourceId IS NOT NULL
//!   GROUP BY 1, 2 ORDER BY day DESC LIMIT cost_days PER resource)
//! SELECT resource, AVG(cost) AS daily_mean, STDDEV_POP(cost) / AVG(cost) AS daily_cv,
//!        SUM(on_demand) / SUM(cost) AS on_demand_share,
//!        MODE() WITHIN GROUP (ORDER BY x_PricingModel weighted by cost) AS pricing_model
//! FROM d GROUP BY resource
//! HAVING COUNT(DISTINCT BillingCurrency) = 1   -- never add currencies
//! ```
//!
//! Metrics name a resource by its full id or by a short one (`ep-gpu-busy`) where the bill
//! has an ARN or an Azure path. A metric is keyed by its lowercased id ([`match_key`]); a
//! billing resource is found under both its lowercased id and its lowercased last `/`
//! segment ([`billing_keys`]). When a short id names two billing resources (one endpoint
//! name in two accounts or clouds), the key is ambiguous and gets no cost signal, hence no
//! verdict: never one resource's savings computed from two resources' costs.

use std::collections::BTreeMap;

use burnrate_schemas::{ChargeCategory, DailyCostKey, PricingModel, Provider};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

/// The key a metric sample's resource is known by: its id, lowercased (AWS lowercases
/// endpoint names in ARNs).
pub fn match_key(resource_id: &str) -> String {
    resource_id.to_ascii_lowercase()
}

/// The keys a billing resource can be matched under: its id and its last `/` segment,
/// lowercased (one key when they are the same).
pub fn billing_keys(resource_id: &str) -> Vec<String> {
    let full = resource_id.to_ascii_lowercase();
    let tail = full.rsplit('/').next().unwrap_or(&full).to_string();
    if tail == full || tail.is_empty() {
        vec![full]
    } else {
        vec![full, tail]
    }
}

/// One day of one billing resource, as the rollup keys it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CostDay {
    pub day: NaiveDate,
    pub provider: Provider,
    pub resource_id: String,
    pub currency: String,
    pub pricing_model: Option<PricingModel>,
}

impl CostDay {
    /// Whether a rollup row counts toward a resource's cost (see [`CostDay::of`]).
    pub fn counts(key: &DailyCostKey) -> bool {
        key.charge_category == ChargeCategory::Usage && key.resource_id.is_some()
    }

    /// The day of a rollup row that counts toward a resource's cost: usage of a named
    /// resource (purchases, taxes and credits are not what a resource runs at).
    pub fn of(key: &DailyCostKey) -> Option<CostDay> {
        if !CostDay::counts(key) {
            return None;
        }
        Some(CostDay {
            day: key.day,
            provider: key.provider,
            resource_id: key.resource_id.clone()?,
            currency: key.currency.clone(),
            pricing_model: key.pricing_model,
        })
    }
}

/// The cost signal of one resource.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct CostSignal {
    pub provider: Provider,
    /// The billing resource id (the smallest, if several share the match key).
    pub resource_id: String,
    pub currency: String,
    /// Days with cost that the mean covers.
    pub days: u32,
    pub daily_mean: Decimal,
    /// Standard deviation over mean of the daily costs (0 for one day), 4 places.
    pub daily_cv: Decimal,
    /// Share of the cost priced on demand, 4 places.
    pub on_demand_share: Decimal,
    /// The pricing model carrying the most cost.
    pub pricing_model: Option<PricingModel>,
}

/// The signal over a resource's daily costs, or `None` with no cost, mixed currencies, or
/// rows of more than one billing resource (an ambiguous short id).
pub fn cost_signal(rows: &[(CostDay, Decimal)], cost_days: usize) -> Option<CostSignal> {
    let first = rows.first()?;
    if rows.iter().any(|(d, _)| {
        d.currency != first.0.currency
            || d.resource_id != first.0.resource_id
            || d.provider != first.0.provider
    }) {
        return None;
    }
    let mut by_day: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    for (d, cost) in rows {
        *by_day.entry(d.day).or_default() += *cost;
    }
    let recent: Vec<(NaiveDate, Decimal)> =
        by_day.into_iter().rev().take(cost_days.max(1)).collect();
    let since = recent.last()?.0;
    let n = Decimal::from(recent.len());
    let total: Decimal = recent.iter().map(|(_, c)| *c).sum();
    let mean = total / n;
    let variance: f64 = recent
        .iter()
        .map(|(_, c)| ((*c - mean).to_f64().unwrap_or(0.0)).powi(2))
        .sum::<f64>()
        / recent.len() as f64;
    let cv = match mean.to_f64() {
        Some(m) if m > 0.0 => variance.sqrt() / m,
        _ => 0.0,
    };
    let mut by_model: BTreeMap<Option<PricingModel>, Decimal> = BTreeMap::new();
    for (d, cost) in rows.iter().filter(|(d, _)| d.day >= since) {
        *by_model.entry(d.pricing_model).or_default() += *cost;
    }
    let on_demand = by_model
        .get(&Some(PricingModel::OnDemand))
        .copied()
        .unwrap_or_default();
    let share = if total > Decimal::ZERO {
        (on_demand / total).round_dp(4)
    } else {
        Decimal::ZERO
    };
    let model = by_model
        .iter()
        .max_by(|a, b| a.1.cmp(b.1))
        .and_then(|(m, _)| *m);
    let (provider, resource_id) = rows
        .iter()
        .map(|(d, _)| (d.provider, d.resource_id.clone()))
        .min_by(|a, b| a.1.cmp(&b.1))?;
    Some(CostSignal {
        provider,
        resource_id,
        currency: first.0.currency.clone(),
        days: recent.len() as u32,
        daily_mean: mean,
        daily_cv: Decimal::from_f64(cv).unwrap_or_default().round_dp(4),
        on_demand_share: share,
        pricing_model: model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str, model: PricingModel, currency: &str, cost: &str) -> (CostDay, Decimal) {
        (
            CostDay {
                day: d.parse().expect("day"),
                provider: Provider::Aws,
                resource_id: "arn:aws:sagemaker:us-east-1:1:endpoint/ep-a".into(),
                currency: currency.into(),
                pricing_model: Some(model),
            },
            cost.parse().expect("cost"),
        )
    }

    #[test]
    fn a_billing_resource_is_found_by_its_id_and_its_last_segment() {
        let arn = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/EP-GPU-busy";
        assert_eq!(
            billing_keys(arn),
            vec![arn.to_ascii_lowercase(), "ep-gpu-busy".to_string()]
        );
        assert!(billing_keys(arn).contains(&match_key("ep-gpu-busy")));
        assert!(billing_keys(arn).contains(&match_key(arn)));
        assert_eq!(billing_keys("i-0abc"), vec!["i-0abc".to_string()]);
    }

    #[test]
    fn a_short_id_naming_two_resources_gets_no_signal() {
        let mut other = day("2024-03-02", PricingModel::OnDemand, "USD", "10");
        other.0.resource_id = "arn:aws:sagemaker:us-east-1:2:endpoint/ep-a".into();
        let rows = [
            day("2024-03-02", PricingModel::OnDemand, "USD", "10"),
            other,
        ];
        assert_eq!(cost_signal(&rows, 7), None);
    }

    #[test]
    fn mean_variance_and_share_over_the_last_days() {
        use PricingModel::*;
        let rows = [
            day("2024-03-01", OnDemand, "USD", "100"), // outside the last 3 days
            day("2024-03-02", OnDemand, "USD", "10"),
            day("2024-03-03", OnDemand, "USD", "20"),
            day("2024-03-04", OnDemand, "USD", "24"),
            day("2024-03-04", SavingsPlan, "USD", "6"),
        ];
        let s = cost_signal(&rows, 3).expect("signal");
        // Days 10, 20, 30 → mean 20, population sd √(200/3) = 8.165 → cv 0.4082.
        assert_eq!(s.days, 3);
        assert_eq!(s.daily_mean, Decimal::from(20));
        assert_eq!(s.daily_cv, "0.4082".parse::<Decimal>().expect("d"));
        // On demand 54 of 60.
        assert_eq!(s.on_demand_share, "0.9".parse::<Decimal>().expect("d"));
        assert_eq!(s.pricing_model, Some(OnDemand));
    }

    #[test]
    fn currencies_are_never_added() {
        let rows = [
            day("2024-03-02", PricingModel::OnDemand, "USD", "10"),
            day("2024-03-03", PricingModel::OnDemand, "EUR", "10"),
        ];
        assert_eq!(cost_signal(&rows, 7), None);
        assert_eq!(cost_signal(&[], 7), None);
    }
}
