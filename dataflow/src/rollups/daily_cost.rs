//! # daily_cost
//!
//! ```sql
//! -- Cost by UTC day × provider × service × account × resource × category × currency,
//! -- over the current delivery of every scope (restated deliveries drop out).
//! SELECT d.day, r.x_Provider, r.x_ServiceCode, r.ServiceName,
//!        COALESCE(r.SubAccountId, r.BillingAccountId) AS account,
//!        r.ResourceId,                       -- NULL stays its own group
//!        r.ChargeCategory, r.x_CostCategory, r.x_PricingModel, r.x_IsAI, r.BillingCurrency,
//!        SUM(share(r.BilledCost, d))      AS billed_cost,
//!        SUM(share(r.EffectiveCost, d))   AS effective_cost,
//!        SUM(share(r.ConsumedQuantity, d)) AS quantity,
//!        COUNT(*)                          AS parts
//! FROM cost_records r
//! JOIN utc_days(r) d                       -- pro rata by time overlap; one-time purchases
//!                                          -- land whole on their start day
//! JOIN current_deliveries c ON (delivery_scope(r), r.delivery) = (c.scope, c.delivery)
//!                                          -- (chosen by `current::Current`, see below)
//! GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
//! ```
//!
//! with one rule for providers that deliver a period as two datasets (Azure's actual and
//! amortized exports, `DeliveryScope::view`): when both views of a (provider, billing
//! account, billing period) are current, billed cost (and quantity and row counts) come
//! from the actual view only and effective cost from the amortized view only, so a
//! reservation purchase counts once in each view. With one view alone, its record's own
//! billed and effective costs stand.
//!
//! Amounts ride in the difference (`Amounts`), so the group sums are differential's own
//! consolidation; `count` turns each group's accumulated amounts into a row, and a change
//! of a group's amounts arrives as a retraction of the old row and an insertion of the new.
//!
//! The join on current deliveries and the two-view rule are not operators of the graph:
//! `current::Current`, in front of it, keeps the current parts of every scope and feeds
//! only how they change (masked by [`mask`]). In the graph they cost a reduce, a semijoin,
//! a reduce and a join (five arrangements) on every epoch, which was most of the latency
//! of one new row; outside it they cost a hash lookup per part.

use burnrate_schemas::{CostRecord, DailyCostKey, DeliveryScope, Provider};
use chrono::{DateTime, NaiveDate, Utc};
use differential_dataflow::VecCollection;

use crate::money::{Amounts, QUANTITY_SCALE, SCALE};

/// A record's parts: one per UTC day it touches, with that day's share of its amounts.
/// The shares add up to the record's amounts exactly (see `schemas::days`).
pub fn parts(r: &CostRecord) -> Result<Vec<(DailyCostKey, Amounts)>, String> {
    // Each amount is rounded once, to the scale the rollup keeps, and then split at that
    // scale: rounding each day's share instead would drift by half a unit per day.
    let billed = r.split_daily_at(r.billed_cost, SCALE);
    let effective = r.split_daily_at(r.effective_cost, SCALE);
    let quantity = r
        .consumed_quantity
        .map(|q| r.split_daily_at(q, QUANTITY_SCALE));
    let mut out = Vec::with_capacity(billed.len());
    for (i, (day, b)) in billed.into_iter().enumerate() {
        let e = effective.get(i).map(|x| x.1).unwrap_or_default();
        let q = quantity.as_ref().and_then(|q| q.get(i)).map(|x| x.1);
        let amounts = Amounts::of(b, e, q)
            .ok_or_else(|| format!("amount out of range on {day}: billed {b}, effective {e}"))?;
        out.push((key(r, day), amounts));
    }
    Ok(out)
}

fn key(r: &CostRecord, day: NaiveDate) -> DailyCostKey {
    DailyCostKey {
        day,
        provider: r.provider,
        service_code: r.service_code.clone(),
        service_name: r.service_name.clone(),
        account: r
            .sub_account_id
            .clone()
            .unwrap_or_else(|| r.billing_account_id.clone()),
        resource_id: r.resource_id.clone(),
        charge_category: r.charge_category,
        cost_category: r.cost_category,
        pricing_model: r.pricing_model,
        is_ai: r.is_ai,
        currency: r.billing_currency.clone(),
    }
}

/// The rollup: the current parts (already selected and masked by `current::Current`),
/// summed by key. One arrangement: everything that decides *which* parts count happens
/// before the graph, on the differences it is fed.
pub fn rollup<'scope>(
    parts: VecCollection<'scope, u64, DailyCostKey, Amounts>,
) -> VecCollection<'scope, u64, (DailyCostKey, Amounts), isize> {
    parts.count()
}

/// Which of the two views a (provider, account, period) currently has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Views {
    pub actual: bool,
    pub amortized: bool,
}

impl Views {
    /// The views with `view` added (a view that is neither leaves them as they are).
    pub fn with(self, view: &str) -> Views {
        Views {
            actual: self.actual || view == ACTUAL,
            amortized: self.amortized || view == AMORTIZED,
        }
    }
}

/// Whether a scope's view is one the two-view rule can mask.
pub fn is_masked_view(view: &str) -> bool {
    view == ACTUAL || view == AMORTIZED
}

/// The two-view rule on one part of a scope with `view`, given the views its period has.
/// Linear (a retraction is masked the same way), so it may be applied to differences.
pub fn mask(view: &str, views: Views, mut a: Amounts) -> Amounts {
    // Beside an amortized view, the actual view gives only billed cost and quantities,
    // and the amortized view only effective cost.
    if view == ACTUAL && views.amortized {
        a.effective = 0;
    }
    if view == AMORTIZED && views.actual {
        a.billed = 0;
        a.quantity = 0;
        a.rows = 0;
    }
    a
}

const ACTUAL: &str = "actual";
const AMORTIZED: &str = "amortized";

/// A delivery scope without its view: what the two views of one period share.
pub type Base = (Provider, String, DateTime<Utc>);

pub fn base(scope: &DeliveryScope) -> Base {
    (
        scope.provider,
        scope.billing_account_id.clone(),
        scope.billing_period_start,
    )
}
