//! The signals and recommendations part of the graph.
//!
//! ```text
//! buckets (key, hour) ⨝ hours in window ─┬─ count by key ─────────────── totals ─┐
//!                                        └─ count by (key, how) ─────── slots ──┤
//! names ⨝ clock ─────────────────────────────────────────────── window minutes ─┤ verdicts
//! daily cost parts ⋉ names ─ count by (billing key, day) ─ cost ──────── cost ───┘ by key
//!                                                                  → consolidate → findings
//! ```
//!
//! Keys are the 64-bit names of `key` (integers are cheap to copy and compare); the cost
//! side keeps its strings, and only the billing keys that meet a metric key on the exact
//! (hash, key) pair are counted and summed into a cost signal (most of a bill has no
//! metrics: a restatement then costs the signals a semijoin, not a signal per resource).
//!
//! Everything one resource's verdict reads arrives in `verdicts` as tagged parts: its
//! summed stats, the window's length, its 168 hour-of-week slots and its cost. A minute
//! for one resource changes one bucket, hence its totals and one slot (the slot's count
//! carries only minutes and requests, not the whole `HourStats`); `verdicts` then
//! evaluates that resource once and reports only findings that changed. Joining the parts
//! pairwise instead made each changed resource evaluate twice (old and new) and carried
//! the whole profile through two arrangements. An hour leaving the window changes one
//! bucket per resource; the clock moving changes every resource's window length (a small
//! part), so each minute re-evaluates every resource with metrics: the rules read
//! coverage.

use burnrate_schemas::{DailyCostKey, Finding};
use differential_dataflow::VecCollection;
use differential_dataflow::collection::AsCollection;
use rust_decimal::Decimal;
use timely::dataflow::operators::vec::Map;

use super::cost::{CostDay, CostSignal, billing_keys, cost_signal};
use super::hour_of_week::hour_of_week;
use super::key::key_hash;
use super::stats::{SlotStats, Stats};
use super::verdicts::{Part, verdicts};
use super::window::Window;
use crate::money::Amounts;
use crate::recommendations::RecommendationConfig;

/// Findings from the metric buckets (keyed by `key_hash` of the match key), the names
/// those hashes stand for, the window and the cost parts.
pub fn findings<'scope>(
    buckets: VecCollection<'scope, u64, (u64, i64), Stats>,
    names: VecCollection<'scope, u64, (u64, String), isize>,
    hours: VecCollection<'scope, u64, i64, isize>,
    clock: VecCollection<'scope, u64, Window, isize>,
    cost_parts: VecCollection<'scope, u64, DailyCostKey, Amounts>,
    cfg: RecommendationConfig,
) -> VecCollection<'scope, u64, Finding, isize> {
    let in_window = buckets.map(|(key, hour)| (hour, key)).semijoin(hours);
    let totals = in_window
        .clone()
        .map(|(_, key)| key)
        .count()
        .map(|(key, stats)| (key, Part::Totals(Box::new(stats.0))));
    let slots = in_window
        .inner
        .map(|((hour, key), time, stats)| {
            (
                (key, hour_of_week(hour) as u16),
                time,
                SlotStats::of(&stats.0),
            )
        })
        .as_collection()
        .count()
        .map(|((key, how), s)| (key, Part::Slot(how, s.minutes, s.requests_milli)));
    let minutes = names
        .clone()
        .map(|(key, _)| ((), key))
        .join(clock.map(|w| ((), w.minutes())))
        .map(|((), (key, minutes))| (key, Part::Minutes(minutes)));
    let cost_days = cfg.cost_days as usize;
    // Only billing keys a metric key names (the exact (hash, key) pair: a billing key
    // whose hash a different metric key holds is not that resource's cost) get a cost
    // signal; most of a bill has no metrics, and its days are never summed here.
    let costs = cost_parts
        .flat_map(|key| {
            CostDay::of(&key)
                .map(|d| {
                    billing_keys(&d.resource_id)
                        .into_iter()
                        .map(move |k| ((key_hash(&k), k), d.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .semijoin(names.clone())
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
        )
        .map(|((key, _), signal)| (key, Part::Cost(Box::new(signal))));
    let parts = totals.concat(slots).concat(minutes).concat(costs);
    verdicts(parts, cfg)
        // Two keys can name one billing resource (its full id and its short one): a
        // finding moving between them comes out and back in the same epoch, which is no
        // change (and a reader applying changes in order must not see it go).
        .consolidate()
}
