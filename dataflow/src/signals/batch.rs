//! Recommendations computed from scratch, by plain loops over every sample in the window:
//! the reference the incremental job must agree with (the oracle tests), and the baseline
//! its per-minute cost is measured against (the benchmark). Nothing here is incremental
//! on purpose.

use std::collections::{BTreeMap, BTreeSet};

use burnrate_schemas::{Finding, HourStats, MetricSample};
use rust_decimal::Decimal;

use super::Signals;
use super::cost::{CostDay, billing_keys, cost_signal, match_key};
use super::hour_of_week::{HOURS_PER_WEEK, Profile, hour_of_week};
use super::window::{Window, minute_of};
use crate::recommendations::{RecommendationConfig, evaluate};

/// The window over a whole sample set (first to last minute), or `None` without samples.
pub fn window_of(samples: &[MetricSample], lookback_hours: u32) -> Option<Window> {
    let minutes = samples.iter().map(|s| minute_of(s.minute));
    let first = minutes.clone().min()?;
    let last = minutes.max()?;
    Some(Window::at(first, last, lookback_hours))
}

/// Every finding, from every sample and cost day, recomputed from nothing.
pub fn findings(
    samples: &[MetricSample],
    costs: &[(CostDay, Decimal)],
    cfg: &RecommendationConfig,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = signals(samples, costs, cfg)
        .values()
        .flat_map(|s| evaluate(s, cfg))
        .collect();
    out.sort();
    out
}

/// The signals of every resource with metrics in the window and a cost, by match key.
/// Of two samples for the same resource and minute, the first counts.
pub fn signals(
    samples: &[MetricSample],
    costs: &[(CostDay, Decimal)],
    cfg: &RecommendationConfig,
) -> BTreeMap<String, Signals> {
    let Some(window) = window_of(samples, cfg.lookback_hours) else {
        return BTreeMap::new();
    };
    let mut seen: BTreeSet<(String, i64)> = BTreeSet::new();
    let mut stats: BTreeMap<String, (HourStats, Vec<(i64, i64)>)> = BTreeMap::new();
    for s in samples {
        let minute = minute_of(s.minute);
        let key = match_key(&s.resource_id);
        if !window.contains(minute) || !seen.insert((key.clone(), minute)) {
            continue;
        }
        let h = HourStats::of(s);
        let entry = stats
            .entry(key)
            .or_insert_with(|| (HourStats::default(), vec![(0, 0); HOURS_PER_WEEK]));
        entry.0.add(&h, 1);
        let slot = &mut entry.1[hour_of_week(minute.div_euclid(60))];
        slot.0 += i64::from(h.minutes);
        slot.1 += h.requests_milli;
    }
    let mut by_resource: BTreeMap<String, Vec<(CostDay, Decimal)>> = BTreeMap::new();
    for (day, cost) in costs {
        for key in billing_keys(&day.resource_id) {
            by_resource
                .entry(key)
                .or_default()
                .push((day.clone(), *cost));
        }
    }
    let mut out = BTreeMap::new();
    for (key, (sum, slots)) in stats {
        let Some(cost) = by_resource
            .get(&key)
            .and_then(|rows| cost_signal(rows, cfg.cost_days as usize))
        else {
            continue;
        };
        let s = Signals::compute(sum, Profile::new(slots), cost, window.minutes());
        out.insert(key, s);
    }
    out
}
