//! The last step of the signals graph: every part a resource's verdict reads, kept per
//! resource, and the resource evaluated once in each epoch that changes one of them.
//!
//! The parts arrive as collection changes keyed by resource (see `graph`): its summed
//! stats, the window's length, its 168 hour-of-week slots and its cost. A differential
//! `reduce` did this before, and measured more than half of a minute-tick: it rebuilds a
//! resource's 170-odd parts from every batch of its trace, sorts them, clones and sorts the
//! findings it held, for each resource every minute. Here a resource's parts live in
//! small multisets that a change updates in place (a minute moves one slot and the
//! totals), and the findings last reported are kept beside them, so an epoch reports
//! exactly the findings that differ from them, as the reduce did.
//!
//! Parts are exchanged by resource, so each resource lives on one worker; an epoch is
//! evaluated once the input frontier has passed it, so every change of the epoch is in.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use burnrate_schemas::{Finding, HourStats};
use differential_dataflow::VecCollection;
use differential_dataflow::collection::AsCollection;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::operator::Operator;

use super::Signals;
use super::cost::CostSignal;
use super::hour_of_week::{HOURS_PER_WEEK, Profile};
use crate::recommendations::{RecommendationConfig, evaluate};

/// One of the things a resource's verdict reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Part {
    /// Minutes in the window.
    Minutes(i64),
    /// The resource's buckets in the window, summed (boxed: the other parts are small).
    Totals(Box<HourStats>),
    /// One hour of the week: (hour of week, present minutes, requests in thousandths).
    Slot(u16, i64, i64),
    Cost(Box<CostSignal>),
}

/// Changes waiting for their epoch to close: per time, the capability to report at it.
type Pending = BTreeMap<u64, (Capability<u64>, Vec<((u64, Part), isize)>)>;

/// A multiset of one kind of part.
type Bag<T> = BTreeMap<T, isize>;

fn update<T: Ord>(bag: &mut Bag<T>, value: T, diff: isize) {
    match bag.entry(value) {
        Entry::Occupied(mut e) => {
            *e.get_mut() += diff;
            if *e.get() == 0 {
                e.remove();
            }
        }
        Entry::Vacant(e) => {
            if diff != 0 {
                e.insert(diff);
            }
        }
    }
}

/// The last value present (a consistent input holds at most one of each kind).
fn present<T>(bag: &Bag<T>) -> Option<&T> {
    bag.iter().rev().find(|(_, n)| **n > 0).map(|(v, _)| v)
}

#[derive(Default)]
struct Resource {
    minutes: Bag<i64>,
    totals: Bag<Box<HourStats>>,
    slots: Bag<(u16, i64, i64)>,
    cost: Bag<Box<CostSignal>>,
    /// What was last reported, sorted.
    findings: Vec<Finding>,
}

impl Resource {
    fn apply(&mut self, part: Part, diff: isize) {
        match part {
            Part::Minutes(m) => update(&mut self.minutes, m, diff),
            Part::Totals(s) => update(&mut self.totals, s, diff),
            Part::Slot(how, m, r) => update(&mut self.slots, (how, m, r), diff),
            Part::Cost(c) => update(&mut self.cost, c, diff),
        }
    }

    fn is_empty(&self) -> bool {
        self.minutes.is_empty()
            && self.totals.is_empty()
            && self.slots.is_empty()
            && self.cost.is_empty()
            && self.findings.is_empty()
    }

    /// The findings the parts give now.
    fn evaluate(&self, cfg: &RecommendationConfig) -> Vec<Finding> {
        let (Some(minutes), Some(stats), Some(cost)) = (
            present(&self.minutes),
            present(&self.totals),
            present(&self.cost),
        ) else {
            return Vec::new();
        };
        let mut slots = vec![(0, 0); HOURS_PER_WEEK];
        for ((how, m, r), n) in &self.slots {
            if *n > 0
                && let Some(slot) = slots.get_mut(usize::from(*how))
            {
                *slot = (*m, *r);
            }
        }
        let signals = Signals::compute(
            **stats,
            Profile::new(slots),
            CostSignal::clone(cost),
            *minutes,
        );
        let mut found = evaluate(&signals, cfg);
        found.sort();
        found
    }
}

/// The changes of every resource's findings, from the changes of its parts.
pub fn verdicts<'scope>(
    parts: VecCollection<'scope, u64, (u64, Part), isize>,
    cfg: RecommendationConfig,
) -> VecCollection<'scope, u64, Finding, isize> {
    let exchange = Exchange::new(|update: &((u64, Part), u64, isize)| update.0.0);
    parts
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(Finding, u64, isize)>>, _, _, _>(
            exchange,
            "Verdicts",
            move |_capability, _info| {
                let mut pending = Pending::new();
                let mut resources: HashMap<u64, Resource> = HashMap::new();
                let mut changed: Vec<u64> = Vec::new();
                move |(input, frontier), output| {
                    let port = output.output_index();
                    input.for_each(|cap, data| {
                        for (part, time, diff) in data.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time, port), Vec::new()))
                                .1
                                .push((part, diff));
                        }
                    });
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        let (time, (cap, updates)) = entry.remove_entry();
                        changed.clear();
                        for ((key, part), diff) in updates {
                            resources.entry(key).or_default().apply(part, diff);
                            changed.push(key);
                        }
                        changed.sort_unstable();
                        changed.dedup();
                        let mut session = output.session(&cap);
                        for key in &changed {
                            let Some(resource) = resources.get_mut(key) else {
                                continue;
                            };
                            let now = resource.evaluate(&cfg);
                            if now != resource.findings {
                                for old in resource.findings.iter().filter(|f| !now.contains(f)) {
                                    session.give((old.clone(), time, -1));
                                }
                                for new in now.iter().filter(|f| !resource.findings.contains(f)) {
                                    session.give((new.clone(), time, 1));
                                }
                                resource.findings = now;
                            }
                            if resource.is_empty() {
                                resources.remove(key);
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_replaced_in_one_epoch_leaves_only_the_new_value() {
        let mut r = Resource::default();
        r.apply(Part::Minutes(60), 1);
        r.apply(Part::Slot(3, 60, 1_000), 1);
        // The next minute: the window grows by one and slot 3 gains a minute; the old
        // values go out as the new ones come in, in either order.
        r.apply(Part::Minutes(61), 1);
        r.apply(Part::Minutes(60), -1);
        r.apply(Part::Slot(3, 60, 1_000), -1);
        r.apply(Part::Slot(3, 61, 1_500), 1);
        assert_eq!(r.minutes.iter().collect::<Vec<_>>(), vec![(&61, &1)]);
        assert_eq!(present(&r.minutes), Some(&61));
        assert_eq!(r.slots.len(), 1);
        // Without totals or a cost there is no verdict, and once everything left the
        // resource holds nothing.
        assert!(r.evaluate(&RecommendationConfig::default()).is_empty());
        r.apply(Part::Minutes(61), -1);
        r.apply(Part::Slot(3, 61, 1_500), -1);
        assert!(r.is_empty());
    }
}
