//! Low GPU utilization while serving → a smaller accelerator or instance.
//!
//! ```sql
//! SELECT resource FROM signals
//! WHERE coverage >= min_coverage AND gpu IS MEASURED            -- never on CPU endpoints
//!   AND gpu_active_avg < rightsize.gpu_active_below_pct
//! -- keep = GREATEST(gpu_active_avg / target_gpu_pct, min_capacity_fraction)
//! -- savings: cost × (1 − keep)
//! ```

use burnrate_schemas::{Action, Effort, RecommendationType};

use super::{RecommendationConfig, Verdict, fraction};
use crate::signals::{Gpu, Signals};

pub fn check(s: &Signals, cfg: &RecommendationConfig) -> Option<Verdict> {
    let Gpu::Measured {
        active_avg: Some(gpu),
        ..
    } = s.utilization.gpu
    else {
        return None;
    };
    if gpu >= cfg.rightsize.gpu_active_below_pct {
        return None;
    }
    let keep = (gpu / cfg.rightsize.target_gpu_pct)
        .max(cfg.rightsize.min_capacity_fraction)
        .min(1.0);
    let keep = fraction(keep);
    Some(Verdict {
        kind: RecommendationType::Rightsize,
        fraction: rust_decimal::Decimal::ONE - keep,
        action: Action::Rightsize {
            current_instance: None,
            capacity_fraction: keep,
        },
        effort: Effort::Medium,
        base_confidence: 0.85,
        title: format!(
            "Rightsize {}: GPUs {}% busy while serving",
            s.cost.resource_id,
            super::fmt(gpu, 1)
        ),
        description: format!(
            "GPU utilization averages {}% in minutes with requests (target {}%); about {} of \
             today's capacity would serve the same load.",
            super::fmt(gpu, 1),
            super::fmt(cfg.rightsize.target_gpu_pct, 0),
            keep
        ),
    })
}
