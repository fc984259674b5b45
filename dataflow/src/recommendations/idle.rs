//! Idle → decommission (or scale to zero).
//!
//! ```sql
//! SELECT resource FROM signals
//! WHERE coverage >= min_coverage
//!   AND requests_per_minute_avg <= idle.requests_per_minute_max
//!   AND (gpu IS NOT MEASURED OR gpu_avg < idle.gpu_util_below_pct)
//! -- savings: the whole cost. decommission once the window spans
//! -- decommission_after_days, scale_to_zero before that.
//! ```

use burnrate_schemas::{Action, Effort, RecommendationType};
use rust_decimal::Decimal;

use super::{RecommendationConfig, Verdict};
use crate::signals::{Gpu, Signals};

pub fn check(s: &Signals, cfg: &RecommendationConfig) -> Option<Verdict> {
    let rate = s.throughput.per_minute_avg?;
    if rate > cfg.idle.requests_per_minute_max {
        return None;
    }
    if let Gpu::Measured { avg, .. } = s.utilization.gpu
        && avg >= cfg.idle.gpu_util_below_pct
    {
        return None;
    }
    let long = s.coverage.expected >= i64::from(cfg.decommission_after_days) * 1440;
    let (kind, action, verb) = if long {
        (
            RecommendationType::Decommission,
            Action::Decommission,
            "Decommission",
        )
    } else {
        (
            RecommendationType::ScaleToZero,
            Action::ScaleToZero,
            "Scale to zero",
        )
    };
    Some(Verdict {
        kind,
        fraction: Decimal::ONE,
        action,
        effort: Effort::Low,
        base_confidence: 0.95,
        title: format!("{verb} idle endpoint {}", s.cost.resource_id),
        description: format!(
            "{} requests a minute on average over the last {} minutes with data; it costs \
             the same idle as busy.",
            super::fmt(rate, 3),
            s.coverage.present
        ),
    })
}
