//! # Recommendations: verdicts over a resource's signals
//!
//! One file per rule, each headed by its condition as SQL over the signals. [`evaluate`]
//! applies them in a fixed order and turns verdicts into [`Finding`]s:
//!
//! 1. No verdict at all below `min_coverage` (missing minutes are not evidence), or
//!    without a cost to save from.
//! 2. **Idle** (decommission, or scale to zero on a short history) excludes the rest.
//! 3. **Schedule**, **autoscale** and **rightsize** may stack (the last two once the window
//!    spans `min_window_hours`; a scheduled endpoint can
//!    still be oversized); rightsize yields to autoscale, whose bursts explain low
//!    average utilization. Each one's savings are taken from the cost the previous ones
//!    leave, so together they never exceed the resource's cost.
//! 4. **Commitment** only when nothing else holds: commit to what remains after the
//!    capacity changes, not before them.
//!
//! Savings are `Decimal`: the cost times a fraction in `[0, 1]` rounded to four places,
//! so they are never negative, never above the cost, never NaN. Confidence is a base per
//! rule times coverage, so missing minutes lower it.

pub mod autoscale;
pub mod commitment;
pub mod config;
pub mod idle;
pub mod rightsize;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use burnrate_schemas::{Action, Effort, Finding, Priority, RecommendationType};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

pub use config::RecommendationConfig;

use crate::signals::{Gpu, Signals, activity::unit_costs};

/// What one rule concludes.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: RecommendationType,
    /// Share of the (remaining) cost saved, in `[0, 1]`.
    pub fraction: Decimal,
    pub action: Action,
    pub effort: Effort,
    /// Confidence with full coverage.
    pub base_confidence: f64,
    pub title: String,
    pub description: String,
}

/// A share in `[0, 1]`, four places; NaN counts as 0.
pub fn fraction(x: f64) -> Decimal {
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    Decimal::from_f64(x).unwrap_or_default().round_dp(4)
}

/// A measurement for people: `places` decimals.
pub fn fmt(x: f64, places: usize) -> String {
    format!("{x:.places$}")
}

/// The resource's cost per month at its recent daily rate.
pub fn monthly_cost(s: &Signals, cfg: &RecommendationConfig) -> Decimal {
    (s.cost.daily_mean * Decimal::from(cfg.hours_per_month) / Decimal::from(24)).round_dp(2)
}

/// Every finding for one resource.
pub fn evaluate(s: &Signals, cfg: &RecommendationConfig) -> Vec<Finding> {
    if s.coverage.ratio() < cfg.min_coverage || s.cost.daily_mean <= Decimal::ZERO {
        return Vec::new();
    }
    let mut verdicts = Vec::new();
    if let Some(v) = idle::check(s, cfg) {
        verdicts.push(v);
    } else {
        verdicts.extend(schedule::check(s, cfg));
        if s.coverage.expected >= i64::from(cfg.min_window_hours) * 60 {
            let scale = autoscale::check(s, cfg);
            let bursty = scale.is_some();
            verdicts.extend(scale);
            if !bursty {
                verdicts.extend(rightsize::check(s, cfg));
            }
        }
        if verdicts.is_empty() {
            verdicts.extend(commitment::check(s, cfg));
        }
    }
    let cost = monthly_cost(s, cfg);
    let mut remaining = cost;
    verdicts
        .into_iter()
        .map(|v| {
            let savings = (remaining * v.fraction).round_dp(2).min(remaining);
            remaining -= savings;
            finding(s, cfg, v, cost, savings)
        })
        .collect()
}

fn finding(
    s: &Signals,
    cfg: &RecommendationConfig,
    v: Verdict,
    cost: Decimal,
    savings: Decimal,
) -> Finding {
    let confidence = fraction(v.base_confidence * s.coverage.ratio()).round_dp(2);
    let savings_f = savings.to_f64().unwrap_or(0.0);
    let priority = if savings_f >= cfg.priority.high_monthly_savings {
        Priority::High
    } else if savings_f >= cfg.priority.medium_monthly_savings {
        Priority::Medium
    } else {
        Priority::Low
    };
    Finding {
        provider: s.cost.provider,
        resource_id: s.cost.resource_id.clone(),
        kind: v.kind,
        title: v.title,
        description: v.description,
        currency: s.cost.currency.clone(),
        current_monthly_cost: cost,
        estimated_monthly_savings: savings,
        confidence,
        priority,
        effort: v.effort,
        action: v.action,
        supporting_data: supporting_data(s, cfg),
    }
}

/// The signal values behind a verdict, rounded so that a finding changes (and a webhook
/// fires) when the picture changes, not with every minute's noise.
fn supporting_data(s: &Signals, cfg: &RecommendationConfig) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("coverage", Some(fmt(s.coverage.ratio(), 2)));
    put(
        "window_days",
        Some(fmt(s.coverage.expected as f64 / 1440.0, 1)),
    );
    let t = &s.throughput;
    put(
        "requests_per_minute_avg",
        t.per_minute_avg.map(|x| fmt(x, 1)),
    );
    put("active_share", t.active_share.map(|x| fmt(x, 2)));
    put("throughput_p50", t.active_p50.map(|x| fmt(x, 0)));
    put("throughput_p95", t.active_p95.map(|x| fmt(x, 0)));
    put("throughput_p99", t.active_p99.map(|x| fmt(x, 0)));
    put("peak_to_mean", t.peak_to_mean.map(|x| fmt(x, 1)));
    let u = &s.utilization;
    match u.gpu {
        Gpu::NotApplicable => put("gpu_metrics", Some("not_applicable".into())),
        Gpu::NotMeasured => put("gpu_metrics", Some("not_measured".into())),
        Gpu::Measured { avg, active_avg } => {
            put("gpu_utilization_avg_pct", Some(fmt(avg, 0)));
            put(
                "gpu_utilization_active_avg_pct",
                active_avg.map(|x| fmt(x, 0)),
            );
        }
    }
    put("cpu_utilization_avg_pct", u.cpu_avg.map(|x| fmt(x, 0)));
    put("replicas_avg", s.activity.replicas_avg.map(|x| fmt(x, 1)));
    put("idle_hours_per_week", {
        let idle = s.profile.idle_hours(
            cfg.schedule.min_slot_minutes,
            cfg.schedule.idle_requests_per_minute,
        );
        Some(idle.len().to_string())
    });
    put(
        "daily_cost",
        Some(s.cost.daily_mean.round_dp(2).to_string()),
    );
    put(
        "daily_cost_cv",
        Some(s.cost.daily_cv.round_dp(2).to_string()),
    );
    put(
        "on_demand_share",
        Some(s.cost.on_demand_share.round_dp(2).to_string()),
    );
    put(
        "pricing_model",
        s.cost.pricing_model.map(|p| p.code().to_string()),
    );
    let (per_k, per_m) = unit_costs(s.cost.daily_mean, &s.stats);
    put(
        "cost_per_1k_inferences",
        per_k.map(|d| d.round_dp(2).to_string()),
    );
    put(
        "cost_per_1m_tokens",
        per_m.map(|d| d.round_dp(2).to_string()),
    );
    m
}
