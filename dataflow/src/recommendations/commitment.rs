//! Steady on-demand spend → a savings plan, reservation or committed use discount.
//!
//! ```sql
//! SELECT resource FROM signals
//! WHERE coverage >= min_coverage
//!   AND cost_days >= commitment.min_cost_days
//!   AND window_minutes >= commitment.min_window_days × 1440
//!   AND on_demand_share >= commitment.min_on_demand_share
//!   AND daily_cv <= commitment.max_daily_cv
//!   AND flatness >= commitment.min_flatness        -- demand, not only spend, is steady
//!   AND no other recommendation holds               -- commit after right-sizing, not before
//! -- savings: cost × discount(provider); commitment = hourly cost × (1 − discount)
//! ```

use burnrate_schemas::{Action, Commitment, Effort, Provider, RecommendationType};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{RecommendationConfig, Verdict, fraction};
use crate::signals::Signals;

pub fn check(s: &Signals, cfg: &RecommendationConfig) -> Option<Verdict> {
    let c = &cfg.commitment;
    let cost = &s.cost;
    if cost.days < c.min_cost_days
        || s.coverage.expected < i64::from(c.min_window_days) * 1440
        || cost.on_demand_share.to_f64()? < c.min_on_demand_share
        || cost.daily_cv.to_f64()? > c.max_daily_cv
        || s.profile.flatness(cfg.schedule.min_slot_minutes)? < c.min_flatness
    {
        return None;
    }
    let (commitment, discount) = match cost.provider {
        Provider::Aws => (Commitment::SavingsPlan, c.aws_discount),
        Provider::Azure => (Commitment::Reservation, c.azure_discount),
        Provider::Gcp => (Commitment::CommittedUse, c.gcp_discount),
        Provider::Oci | Provider::Other => (Commitment::Reservation, c.other_discount),
    };
    let discount = fraction(discount);
    let hourly = (cost.daily_mean / Decimal::from(24) * (Decimal::ONE - discount)).round_dp(4);
    Some(Verdict {
        kind: RecommendationType::PurchaseCommitment,
        fraction: discount,
        action: Action::PurchaseCommitment {
            commitment,
            term_years: 1,
            hourly_commitment: hourly,
            discount,
        },
        effort: Effort::Low,
        base_confidence: 0.8,
        title: format!(
            "Commit to {} {hourly}/hour for {}",
            cost.currency, cost.resource_id
        ),
        description: format!(
            "{}% of the last {} days' cost is on demand, and both spend (daily cost varies \
             by {}%) and hourly demand are steady; a one-year commitment at {}% off covers it.",
            (cost.on_demand_share * Decimal::ONE_HUNDRED).round_dp(1),
            cost.days,
            (cost.daily_cv * Decimal::ONE_HUNDRED).round_dp(1),
            (discount * Decimal::ONE_HUNDRED).round_dp(1)
        ),
    })
}
