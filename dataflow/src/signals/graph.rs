//! The signals and recommendations part of the graph.
//!
//! ```text
//! buckets (resource, hour) ⨝ hours in window ─┬─ count by resource ─ totals ⨝ clock (window) ─┐
//!                                             └─ count by (resource, how) ─ profile ───────────┤
//! daily cost parts (usage of named resources) ── count by (resource, day) ─ cost ──────────────┴─ evaluate
//!                                                                                   → consolidate → findings
//! ```
//!
//! A minute for one resource changes one bucket, hence one total and one profile slot of
//! that resource; an hour leaving the window changes one bucket per resource. The rules
//! read the window's length (coverage), so a clock change re-evaluates every resource's
//! verdict: a map over already-summed signals, and unchanged findings cancel out.

use burnrate_schemas::{DailyCostKey, Finding};
use differential_dataflow::VecCollection;
use rust_decimal::Decimal;

use super::Signals;
use super::cost::{CostDay, CostSignal, billing_keys, cost_signal};
use super::hour_of_week::{HOURS_PER_WEEK, Profile, hour_of_week};
use super::stats::Stats;
use super::window::Window;
use crate::money::Amounts;
use crate::recommendations::{RecommendationConfig, evaluate};

/// Findings from the metric buckets, the window and the cost parts.
pub fn findings<'scope>(
    buckets: VecCollection<'scope, u64, (String, i64), Stats>,
    hours: VecCollection<'scope, u64, i64, isize>,
    clock: VecCollection<'scope, u64, Window, isize>,
    cost_parts: VecCollection<'scope, u64, DailyCostKey, Amounts>,
    cfg: RecommendationConfig,
) -> VecCollection<'scope, u64, Finding, isize> {
    let in_window = buckets.map(|(key, hour)| (hour, key)).semijoin(hours);
    let totals = in_window.clone().map(|(_, key)| key).count();
    let profile = in_window
        .map(|(hour, key)| (key, hour_of_week(hour) as u16))
        .count()
        .map(|((key, how), stats)| {
            let s = stats.0;
            (key, (how, i64::from(s.minutes), s.requests_milli))
        })
        .reduce(
            |_key, slots: &[(&(u16, i64, i64), isize)], out: &mut Vec<(Profile, isize)>| {
                let mut all = vec![(0, 0); HOURS_PER_WEEK];
                for ((how, minutes, requests), n) in slots {
                    if *n > 0
                        && let Some(slot) = all.get_mut(usize::from(*how))
                    {
                        *slot = (*minutes, *requests);
                    }
                }
                out.push((Profile::new(all), 1));
            },
        );
    let cost_days = cfg.cost_days as usize;
    let costs = cost_parts
        .flat_map(|key| {
            CostDay::of(&key)
                .map(|d| {
                    billing_keys(&d.resource_id)
                        .into_iter()
                        .map(move |k| (k, d.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .count()
        .map(|((key, day), amounts)| (key, (day, amounts.effective_decimal())))
        .reduce(
            move |_key,
                  days: &[(&(CostDay, Decimal), isize)],
                  out: &mut Vec<(CostSignal, isize)>| {
                let rows: Vec<(CostDay, Decimal)> = days
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(d, _)| (*d).clone())
                    .collect();
                if let Some(signal) = cost_signal(&rows, cost_days) {
                    out.push((signal, 1));
                }
            },
        );
    // The clock meets the totals (a few hundred bytes per resource) before the profiles
    // and costs join them: a clock change then copies small values, and the arrangements
    // of the joins after it consolidate each resource's changes of an epoch (totals and
    // window moving together) into one old and one new row, so each changed resource is
    // evaluated twice, not four times as when the clock was joined last.
    let windowed = totals
        .map(|(key, stats)| ((), (key, stats)))
        .join(clock.map(|w| ((), w)))
        .map(|((), ((key, stats), window))| (key, (stats, window.minutes())));
    windowed
        .join(profile)
        .join(costs)
        .flat_map(move |(_key, (((stats, minutes), profile), cost))| {
            evaluate(&Signals::compute(stats.0, profile, cost, minutes), &cfg)
        })
        // A finding that did not change comes out and back in the same epoch; the job
        // reports changes only (and a reader applying them in order must not see it go).
        .consolidate()
}
