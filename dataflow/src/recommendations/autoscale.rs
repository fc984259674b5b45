//! Bursty throughput on fixed capacity → autoscale between a minimum and a maximum.
//!
//! ```sql
//! SELECT resource FROM signals
//! WHERE coverage >= min_coverage
//!   AND replicas_avg >= autoscale.min_replicas
//!   AND active_p99 / active_mean >= autoscale.peak_to_mean_min
//! -- min = GREATEST(1, CEIL(replicas × active_p50 / active_p99)), max = replicas
//! -- average = GREATEST(min, replicas × active_mean × headroom / active_p99)
//! -- savings: cost × (1 − average / replicas)
//! ```

use burnrate_schemas::{Action, Effort, RecommendationType};

use super::{RecommendationConfig, Verdict, fraction};
use crate::signals::Signals;

pub fn check(s: &Signals, cfg: &RecommendationConfig) -> Option<Verdict> {
    let c = &cfg.autoscale;
    let replicas = s.activity.replicas_avg?;
    let (p50, p99, mean) = (
        s.throughput.active_p50?,
        s.throughput.active_p99?,
        s.throughput.active_mean?,
    );
    let ratio = s.throughput.peak_to_mean?;
    if replicas < c.min_replicas || ratio < c.peak_to_mean_min || p99 <= 0.0 {
        return None;
    }
    let max = replicas.round().max(1.0);
    let min = (max * p50 / p99).ceil().clamp(1.0, max);
    let average = (max * mean * c.headroom / p99).clamp(min, max);
    let keep = fraction(average / max);
    if keep >= rust_decimal::Decimal::ONE {
        return None;
    }
    Some(Verdict {
        kind: RecommendationType::Autoscale,
        fraction: rust_decimal::Decimal::ONE - keep,
        action: Action::Autoscale {
            current_replicas: Some(max as u32),
            min_replicas: min as u32,
            max_replicas: max as u32,
        },
        effort: Effort::Medium,
        base_confidence: 0.8,
        title: format!(
            "Autoscale {} between {} and {} replicas",
            s.cost.resource_id, min, max
        ),
        description: format!(
            "Peak minutes (p99 ≤ {} requests) run at {}× the mean of {}; {} fixed replicas \
             are sized for the peak.",
            super::fmt(p99, 0),
            super::fmt(ratio, 1),
            super::fmt(mean, 1),
            max
        ),
    })
}
