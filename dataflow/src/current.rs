//! Which parts count: the latest completed delivery of every scope, with the two-view
//! rule applied, turned into the differences the graph is fed.
//!
//! This was a reduce and a semijoin (latest delivery per scope) and a reduce and a join
//! (views per period) inside the graph, re-run on every epoch. It is a small piece of
//! state instead, kept on the worker that reads the feed (worker 0), so one new row costs
//! a few hash lookups before the graph and one arrangement inside it. The rules are the
//! ones the graph had:
//! - parts of a delivery wait until its `Complete`; then, per scope, the delivery replaces
//!   the scope's current one if its number is higher (a lower number completing later
//!   changes nothing);
//! - parts arriving under the number of a scope's current delivery add to it at once
//!   (the engine feeds a restatement as the difference under the held number);
//! - when a period gains its second view, the parts already fed for the first are fed
//!   again as the difference of their masking (`daily_cost::mask`).
//!
//! Scopes are never removed (a delivery cannot restate a scope to nothing), so a period's
//! views only grow.

use rustc_hash::FxHashMap;

use burnrate_schemas::{DailyCostKey, DeliveryScope};
use differential_dataflow::difference::Semigroup;

use crate::money::Amounts;
use crate::pipeline::{Input, Part};
use crate::rollups::daily_cost::{self, Base, Views};

type Sums = FxHashMap<DailyCostKey, Amounts>;

/// The current parts of every scope and the deliveries still arriving.
#[derive(Debug, Default)]
pub struct Current {
    /// Per scope: the number of its current delivery and its parts.
    held: FxHashMap<DeliveryScope, (u64, Sums)>,
    /// Per period: its current views, and its scopes that have one of the two views
    /// (whose parts change masking when the other view appears).
    periods: FxHashMap<Base, (Views, Vec<DeliveryScope>)>,
    /// Parts of deliveries not yet complete, by delivery and scope.
    pending: FxHashMap<u64, FxHashMap<DeliveryScope, Sums>>,
}

impl Current {
    /// Applies one input; the rollup's input changes by what is pushed onto `out`.
    pub fn apply(&mut self, input: Input, out: &mut Vec<(DailyCostKey, Amounts)>) {
        match input {
            Input::Parts { delivery, parts } => self.parts(delivery, parts, out),
            Input::Complete { delivery } => self.complete(delivery, out),
            // Metrics do not select deliveries; the driver feeds them to their own inputs.
            Input::Metrics { .. } => {}
        }
    }

    fn views(&self, scope: &DeliveryScope) -> Views {
        self.periods
            .get(&daily_cost::base(scope))
            .map(|p| p.0)
            .unwrap_or_default()
    }

    fn parts(&mut self, delivery: u64, parts: Vec<Part>, out: &mut Vec<(DailyCostKey, Amounts)>) {
        for (scope, key, amounts) in parts {
            match self.held.get(&scope).map(|h| h.0) {
                Some(seq) if seq == delivery => {
                    let views = self.views(&scope);
                    out.push((key.clone(), daily_cost::mask(&scope.view, views, amounts)));
                    if let Some((_, sums)) = self.held.get_mut(&scope) {
                        add(sums, key, amounts);
                    }
                }
                // A newer delivery of the scope is current: this one can never be.
                Some(seq) if seq > delivery => {}
                _ => add(
                    self.pending
                        .entry(delivery)
                        .or_default()
                        .entry(scope)
                        .or_default(),
                    key,
                    amounts,
                ),
            }
        }
    }

    fn complete(&mut self, delivery: u64, out: &mut Vec<(DailyCostKey, Amounts)>) {
        let Some(scopes) = self.pending.remove(&delivery) else {
            return;
        };
        for (scope, new) in scopes {
            if self.held.get(&scope).is_some_and(|h| h.0 > delivery) {
                continue;
            }
            let before = self.views(&scope);
            let after = before.with(&scope.view);
            if after != before {
                self.remask(&scope, before, after, out);
            }
            let period = self.periods.entry(daily_cost::base(&scope)).or_default();
            period.0 = after;
            if daily_cost::is_masked_view(&scope.view) && !period.1.contains(&scope) {
                period.1.push(scope.clone());
            }
            let old = self.held.remove(&scope).map(|h| h.1).unwrap_or_default();
            for (key, n) in &new {
                let was = old
                    .get(key)
                    .map(|o| daily_cost::mask(&scope.view, before, *o))
                    .unwrap_or_default();
                let d = daily_cost::mask(&scope.view, after, *n).minus(was);
                if !d.is_nothing() {
                    out.push((key.clone(), d));
                }
            }
            for (key, o) in &old {
                if !new.contains_key(key) {
                    let d = Amounts::default().minus(daily_cost::mask(&scope.view, before, *o));
                    if !d.is_nothing() {
                        out.push((key.clone(), d));
                    }
                }
            }
            self.held.insert(scope, (delivery, new));
        }
    }

    /// A period's views change from `before` to `after` as `scope` becomes current: the
    /// scopes of the period already fed are fed the change of their masking.
    fn remask(
        &mut self,
        scope: &DeliveryScope,
        before: Views,
        after: Views,
        out: &mut Vec<(DailyCostKey, Amounts)>,
    ) {
        let Some(period) = self.periods.get(&daily_cost::base(scope)) else {
            return;
        };
        for other in &period.1 {
            if let Some((_, sums)) = self.held.get(other) {
                for (key, a) in sums {
                    let d = daily_cost::mask(&other.view, after, *a).minus(daily_cost::mask(
                        &other.view,
                        before,
                        *a,
                    ));
                    if !d.is_nothing() {
                        out.push((key.clone(), d));
                    }
                }
            }
        }
    }
}

/// Adds to a key's sum; a sum that becomes nothing is removed, so the held parts equal
/// what a fresh delivery of them would hold.
fn add(sums: &mut Sums, key: DailyCostKey, amounts: Amounts) {
    use std::collections::hash_map::Entry;
    match sums.entry(key) {
        Entry::Occupied(mut e) => {
            e.get_mut().plus_equals(&amounts);
            if e.get().is_nothing() {
                e.remove();
            }
        }
        Entry::Vacant(e) => {
            if !amounts.is_nothing() {
                e.insert(amounts);
            }
        }
    }
}

#[cfg(test)]
mod tests;
