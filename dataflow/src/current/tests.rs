//! Hand-worked cases of the selection rules, on the differences `Current` yields (the
//! oracle test checks the same rules end to end, through the graph, on random input).

use std::collections::BTreeMap;

use burnrate_schemas::{ChargeCategory, CostCategory, DailyCostKey, DeliveryScope, Provider};
use chrono::{NaiveDate, TimeZone, Utc};
use differential_dataflow::difference::Semigroup;

use super::Current;
use crate::money::Amounts;
use crate::pipeline::Input;

fn scope(view: &str) -> DeliveryScope {
    DeliveryScope {
        provider: Provider::Azure,
        billing_account_id: "ea-1".into(),
        billing_period_start: Utc
            .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
            .single()
            .expect("time"),
        view: view.into(),
        additive_source: None,
    }
}

fn key(service: &str) -> DailyCostKey {
    DailyCostKey {
        day: NaiveDate::from_ymd_opt(2024, 3, 5).expect("day"),
        provider: Provider::Azure,
        service_code: service.into(),
        service_name: service.into(),
        account: "sub-1".into(),
        resource_id: None,
        charge_category: ChargeCategory::Usage,
        cost_category: CostCategory::Compute,
        pricing_model: None,
        is_ai: false,
        currency: "USD".into(),
    }
}

fn amounts(billed: i128, effective: i128, rows: i128) -> Amounts {
    Amounts {
        billed,
        effective,
        quantity: 0,
        rows,
    }
}

/// Applies inputs and returns what the graph's input would then hold (the running sum of
/// every difference yielded so far), without zero entries.
fn fed(current: &mut Current, state: &mut BTreeMap<DailyCostKey, Amounts>, inputs: Vec<Input>) {
    let mut out = Vec::new();
    for i in inputs {
        current.apply(i, &mut out);
    }
    for (k, a) in out {
        state.entry(k).or_default().plus_equals(&a);
    }
    state.retain(|_, a| !a.is_nothing());
}

fn parts(delivery: u64, view: &str, list: &[(&str, Amounts)]) -> Input {
    Input::Parts {
        delivery,
        parts: list
            .iter()
            .map(|(s, a)| (scope(view), key(s), *a))
            .collect(),
    }
}

#[test]
fn parts_wait_for_complete_and_a_restatement_replaces() {
    let (mut c, mut state) = (Current::default(), BTreeMap::new());
    fed(
        &mut c,
        &mut state,
        vec![parts(1, "", &[("vm", amounts(10, 9, 1))])],
    );
    assert!(state.is_empty(), "nothing counts before its Complete");
    fed(&mut c, &mut state, vec![Input::Complete { delivery: 1 }]);
    assert_eq!(state[&key("vm")], amounts(10, 9, 1));
    // Delivery 2 restates the scope: vm 10 → 12, and disk appears.
    fed(
        &mut c,
        &mut state,
        vec![
            parts(
                2,
                "",
                &[("vm", amounts(12, 11, 1)), ("disk", amounts(3, 3, 2))],
            ),
            Input::Complete { delivery: 2 },
        ],
    );
    assert_eq!(state.len(), 2);
    assert_eq!(state[&key("vm")], amounts(12, 11, 1));
    assert_eq!(state[&key("disk")], amounts(3, 3, 2));
    // Delivery 3 drops disk: it disappears.
    fed(
        &mut c,
        &mut state,
        vec![
            parts(3, "", &[("vm", amounts(12, 11, 1))]),
            Input::Complete { delivery: 3 },
        ],
    );
    assert_eq!(state.len(), 1);
}

#[test]
fn an_older_delivery_completing_late_changes_nothing() {
    let (mut c, mut state) = (Current::default(), BTreeMap::new());
    fed(
        &mut c,
        &mut state,
        vec![
            parts(1, "", &[("vm", amounts(10, 10, 1))]),
            parts(2, "", &[("vm", amounts(20, 20, 1))]),
            Input::Complete { delivery: 2 },
            Input::Complete { delivery: 1 },
            // Parts of the superseded delivery are ignored too.
            parts(1, "", &[("vm", amounts(5, 5, 1))]),
        ],
    );
    assert_eq!(state[&key("vm")], amounts(20, 20, 1));
}

#[test]
fn parts_under_the_current_delivery_add_to_it() {
    // How the engine feeds a restatement: the difference, under the held number.
    let (mut c, mut state) = (Current::default(), BTreeMap::new());
    fed(
        &mut c,
        &mut state,
        vec![
            parts(4, "", &[("vm", amounts(10, 10, 1))]),
            Input::Complete { delivery: 4 },
        ],
    );
    fed(
        &mut c,
        &mut state,
        vec![parts(4, "", &[("vm", amounts(-3, -3, 0))])],
    );
    assert_eq!(state[&key("vm")], amounts(7, 7, 1));
    // A later full delivery replaces the sum held (7), not the first one (10).
    fed(
        &mut c,
        &mut state,
        vec![
            parts(5, "", &[("vm", amounts(8, 8, 1))]),
            Input::Complete { delivery: 5 },
        ],
    );
    assert_eq!(state[&key("vm")], amounts(8, 8, 1));
}

#[test]
fn a_second_view_masks_the_first() {
    // Actual: billed 100, effective 80 (a reservation used). Amortized: billed 90,
    // effective 85. Together: billed and rows from actual (100, 1), effective from
    // amortized (85).
    let (mut c, mut state) = (Current::default(), BTreeMap::new());
    fed(
        &mut c,
        &mut state,
        vec![
            parts(1, "actual", &[("vm", amounts(100, 80, 1))]),
            Input::Complete { delivery: 1 },
        ],
    );
    assert_eq!(state[&key("vm")], amounts(100, 80, 1));
    fed(
        &mut c,
        &mut state,
        vec![
            parts(2, "amortized", &[("vm", amounts(90, 85, 1))]),
            Input::Complete { delivery: 2 },
        ],
    );
    assert_eq!(state[&key("vm")], amounts(100, 85, 1));
    // Restating the actual view keeps the masking: billed 110, effective still 85.
    fed(
        &mut c,
        &mut state,
        vec![
            parts(3, "actual", &[("vm", amounts(110, 70, 1))]),
            Input::Complete { delivery: 3 },
        ],
    );
    assert_eq!(state[&key("vm")], amounts(110, 85, 1));
}
