//! The oracle test: random batches of deliveries (new ones, restatements of a scope, late
//! rows for past days, re-deliveries of the same file, deliveries split across batches);
//! after every batch the incremental rollup equals a from-scratch recomputation over all
//! input so far, for 1 and 4 workers driven by `run`, and for `Job` (1 worker stepped in
//! place, 3 on threads).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Duration;

use burnrate_dataflow::rollups::daily_cost;
use burnrate_dataflow::{Amounts, Config, Feed, FeedEvent, Input, Job, Output, prepare, run};
use burnrate_schemas::{
    ChargeFrequency, ChargeKind, CostCategory, CostRecord, DailyCostKey, DeliveryScope, Provider,
    ResourceKind, RowRef, Totals,
};
use chrono::{Duration as Span, TimeZone, Utc};
use differential_dataflow::difference::Semigroup;
use proptest::prelude::*;
use rust_decimal::Decimal;

struct ChannelFeed(Receiver<Vec<Input>>);

impl Feed for ChannelFeed {
    fn next(&mut self) -> FeedEvent {
        match self.0.recv_timeout(Duration::from_millis(2)) {
            Ok(b) => FeedEvent::Batch(b),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => FeedEvent::Idle,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => FeedEvent::Closed,
        }
    }
}

/// One generated record.
#[derive(Debug, Clone)]
struct Rec {
    day: u32,
    start_hour: u32,
    hours: u32,
    service: u8,
    resource: Option<u8>,
    cents: i64,
    scale: u32,
    effective_delta: i64,
    purchase: bool,
    euro: bool,
}

/// One generated delivery.
#[derive(Debug, Clone)]
struct Delivery {
    restating: bool,
    account: u8,
    month: u32,
    /// For additive sources: which file; the same file again is a re-delivery.
    file: u8,
    /// For restating sources: 0 one dataset, 1 the actual view, 2 the amortized view.
    view: u8,
    records: Vec<Rec>,
    /// Complete it one batch later than its records arrive.
    split: bool,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        0u32..28,
        0u32..24,
        prop_oneof![Just(1u32), Just(24), Just(36), Just(72)],
        0u8..3,
        proptest::option::of(0u8..3),
        -5_000i64..500_000,
        0u32..5,
        -100i64..100,
        proptest::bool::weighted(0.1),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(
                day,
                start_hour,
                hours,
                service,
                resource,
                cents,
                scale,
                effective_delta,
                purchase,
                euro,
            )| Rec {
                day,
                start_hour,
                hours,
                service,
                resource,
                cents,
                scale,
                effective_delta,
                purchase,
                euro,
            },
        )
}

fn delivery() -> impl Strategy<Value = Delivery> {
    (
        any::<bool>(),
        0u8..2,
        0u32..2,
        (0u8..3, 0u8..3),
        proptest::collection::vec(rec(), 0..12),
        proptest::bool::weighted(0.25),
    )
        .prop_map(
            |(restating, account, month, (file, view), records, split)| Delivery {
                restating,
                account,
                month,
                file,
                view,
                records,
                split,
            },
        )
}

fn record(d: &Delivery, seq: u64, r: &Rec, row: u64) -> CostRecord {
    let period_start = Utc
        .with_ymd_and_hms(2024, 3 + d.month, 1, 0, 0, 0)
        .single()
        .expect("time");
    let period_end = Utc
        .with_ymd_and_hms(2024, 4 + d.month, 1, 0, 0, 0)
        .single()
        .expect("time");
    let start = period_start + Span::days(i64::from(r.day)) + Span::hours(i64::from(r.start_hour));
    let end = start + Span::hours(i64::from(r.hours));
    let billed = Decimal::new(r.cents, r.scale);
    let effective = billed + Decimal::new(r.effective_delta, 2);
    let (provider, source) = if d.restating {
        let view = ["", "#actual", "#amortized"][usize::from(d.view % 3)];
        (Provider::Aws, format!("assembly-{seq}{view}"))
    } else {
        (Provider::Gcp, format!("gcp-file-{}", d.file))
    };
    let kind = if r.purchase {
        ChargeKind::Purchase
    } else {
        ChargeKind::Usage
    };
    CostRecord {
        provider,
        provider_name: provider.focus_name().into(),
        billing_account_id: format!("acct-{}", d.account),
        billing_account_name: None,
        sub_account_id: None,
        sub_account_name: None,
        invoice_id: None,
        billing_period_start: period_start,
        billing_period_end: period_end,
        charge_period_start: start,
        charge_period_end: end,
        charge_category: kind.category(),
        charge_kind: kind,
        charge_class: None,
        charge_frequency: Some(if r.purchase {
            ChargeFrequency::OneTime
        } else {
            ChargeFrequency::UsageBased
        }),
        charge_description: None,
        billed_cost: billed,
        effective_cost: effective,
        list_cost: None,
        contracted_cost: None,
        billing_currency: if r.euro { "EUR".into() } else { "USD".into() },
        pricing_category: None,
        pricing_model: None,
        commitment_discount_id: None,
        commitment_discount_type: None,
        commitment_discount_status: None,
        consumed_quantity: Some(Decimal::from(r.hours)),
        consumed_unit: Some("Hrs".into()),
        pricing_quantity: None,
        pricing_unit: None,
        region_id: None,
        availability_zone: None,
        resource_id: r.resource.map(|n| format!("res-{n}")),
        resource_name: None,
        resource_type: None,
        service_name: format!("svc-{}", r.service),
        service_code: format!("svc-{}", r.service),
        service_category: None,
        service_subcategory: None,
        sku_id: None,
        sku_description: None,
        usage_type: None,
        instance_type: None,
        tags: Default::default(),
        resource_kind: ResourceKind::Other,
        cost_category: CostCategory::Compute,
        is_ai: r.service == 0,
        model: None,
        tokens: None,
        source,
        restates_period: d.restating,
        row_ref: RowRef {
            file: "generated".into(),
            row,
        },
    }
}

/// From scratch: the latest completed delivery of every scope, its records' parts summed.
fn recompute(completed: &[(u64, Vec<CostRecord>)]) -> BTreeMap<DailyCostKey, Totals> {
    let mut latest: HashMap<DeliveryScope, u64> = HashMap::new();
    for (seq, records) in completed {
        for r in records {
            let e = latest.entry(r.delivery_scope()).or_insert(*seq);
            *e = (*e).max(*seq);
        }
    }
    // The views each (provider, account, period) has among current deliveries.
    let base = |s: &DeliveryScope| {
        (
            s.provider,
            s.billing_account_id.clone(),
            s.billing_period_start,
        )
    };
    let mut views: HashMap<_, Vec<String>> = HashMap::new();
    for scope in latest.keys() {
        views
            .entry(base(scope))
            .or_default()
            .push(scope.view.clone());
    }
    let mut out: BTreeMap<DailyCostKey, Amounts> = BTreeMap::new();
    for (seq, records) in completed {
        for r in records {
            let scope = r.delivery_scope();
            if latest.get(&scope) != Some(seq) {
                continue;
            }
            let present = &views[&base(&scope)];
            let has = |v: &str| present.iter().any(|p| p == v);
            for (key, mut amounts) in daily_cost::parts(r).expect("in range") {
                // Both views of a period: billed from actual, effective from amortized.
                if scope.view == "actual" && has("amortized") {
                    amounts.effective = 0;
                }
                if scope.view == "amortized" && has("actual") {
                    amounts.billed = 0;
                    amounts.quantity = 0;
                    amounts.rows = 0;
                }
                out.entry(key).or_default().plus_equals(&amounts);
            }
        }
    }
    out.retain(|_, a| !differential_dataflow::difference::IsZero::is_zero(a));
    out.into_iter().map(|(k, a)| (k, a.totals())).collect()
}

/// Applies one epoch's changes to the materialized rollup.
fn apply(
    state: &mut BTreeMap<DailyCostKey, Totals>,
    key: DailyCostKey,
    totals: Totals,
    diff: isize,
) {
    if diff > 0 {
        state.insert(key, totals);
    } else if state.get(&key) == Some(&totals) {
        state.remove(&key);
    }
}

/// How the test drives the job: `run` on threads fed through a channel (as a remote feed
/// would), or `Job` one epoch at a time (as the engine does; one worker steps in place).
#[derive(Debug, Clone, Copy)]
enum Mode {
    Run(usize),
    Job(usize),
}

/// The job under test, taking one batch per epoch and returning the epoch's outputs.
enum Driven {
    Run {
        feed: Option<Sender<Vec<Input>>>,
        out: Receiver<Output>,
        job: Option<std::thread::JoinHandle<Result<(), String>>>,
    },
    Job(Job),
}

impl Driven {
    fn start(mode: Mode) -> Driven {
        match mode {
            Mode::Run(workers) => {
                let (feed_tx, feed_rx): (Sender<Vec<Input>>, _) = channel();
                let (out_tx, out_rx) = channel();
                let job = std::thread::spawn(move || {
                    run(Config::workers(workers), ChannelFeed(feed_rx), out_tx)
                });
                Driven::Run {
                    feed: Some(feed_tx),
                    out: out_rx,
                    job: Some(job),
                }
            }
            Mode::Job(workers) => Driven::Job(Job::start(Config::workers(workers)).expect("job")),
        }
    }

    /// The outputs of one epoch, its `Complete` last.
    fn epoch(&mut self, inputs: Vec<Input>, epoch: u64) -> Result<Vec<Output>, TestCaseError> {
        match self {
            Driven::Run { feed, out, .. } => {
                feed.as_ref()
                    .expect("open")
                    .send(inputs)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut got = Vec::new();
                loop {
                    match out.recv_timeout(Duration::from_secs(20)) {
                        Ok(o @ Output::Complete { .. }) => {
                            got.push(o);
                            return Ok(got);
                        }
                        Ok(o) => got.push(o),
                        Err(e) => return Err(TestCaseError::fail(format!("no output: {e}"))),
                    }
                }
            }
            Driven::Job(job) => {
                let mut got = job
                    .epoch(inputs)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                got.push(Output::Complete { epoch });
                Ok(got)
            }
        }
    }

    fn close(self) -> Result<(), TestCaseError> {
        match self {
            Driven::Run {
                mut feed,
                out,
                mut job,
            } => {
                feed.take();
                job.take()
                    .expect("running")
                    .join()
                    .map_err(|_| TestCaseError::fail("job panicked"))?
                    .map_err(TestCaseError::fail)?;
                match out.try_recv() {
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => Ok(()),
                    Ok(extra) => Err(TestCaseError::fail(format!(
                        "output after the end: {extra:?}"
                    ))),
                }
            }
            Driven::Job(job) => job.close().map_err(|e| TestCaseError::fail(e.to_string())),
        }
    }
}

fn check(mode: Mode, schedule: Vec<Vec<Delivery>>) -> Result<(), TestCaseError> {
    let mut job = Driven::start(mode);
    let mut seq = 0u64;
    let mut completed: Vec<(u64, Vec<CostRecord>)> = Vec::new();
    let mut held: Vec<(u64, Vec<CostRecord>)> = Vec::new();
    let mut state: BTreeMap<DailyCostKey, Totals> = BTreeMap::new();
    let mut epoch = 0u64;
    for batch in schedule {
        let mut inputs = Vec::new();
        // Deliveries held from the previous batch complete now.
        for (s, records) in held.drain(..) {
            inputs.push(Input::Complete { delivery: s });
            completed.push((s, records));
        }
        for d in batch {
            seq += 1;
            let records: Vec<CostRecord> = d
                .records
                .iter()
                .enumerate()
                .map(|(i, r)| record(&d, seq, r, i as u64 + 1))
                .collect();
            let prepared = prepare(&records);
            prop_assert!(prepared.rejected.is_empty());
            inputs.push(Input::Parts {
                delivery: seq,
                parts: prepared.parts,
            });
            if d.split {
                held.push((seq, records));
            } else {
                inputs.push(Input::Complete { delivery: seq });
                completed.push((seq, records));
            }
        }
        let outputs = job.epoch(inputs, epoch)?;
        let n = outputs.len();
        for (i, o) in outputs.into_iter().enumerate() {
            match o {
                Output::DailyCost {
                    key,
                    totals,
                    epoch: e,
                    diff,
                } => {
                    prop_assert_eq!(e, epoch);
                    apply(&mut state, key, totals, diff);
                }
                Output::Complete { epoch: e } => {
                    prop_assert_eq!(e, epoch);
                    prop_assert_eq!(i + 1, n, "Complete comes last");
                }
                // Without metrics there are no findings.
                Output::Finding { finding, .. } => {
                    prop_assert!(false, "a finding without metrics: {:?}", finding);
                }
            }
        }
        epoch += 1;
        let want = recompute(&completed);
        prop_assert_eq!(&state, &want, "after epoch {} with {:?}", epoch - 1, mode);
    }
    job.close()
}

fn schedule() -> impl Strategy<Value = Vec<Vec<Delivery>>> {
    proptest::collection::vec(proptest::collection::vec(delivery(), 0..4), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_recomputation_one_worker(s in schedule()) {
        check(Mode::Run(1), s)?;
    }

    #[test]
    fn incremental_equals_recomputation_four_workers(s in schedule()) {
        check(Mode::Run(4), s)?;
    }

    #[test]
    fn incremental_equals_recomputation_one_worker_in_place(s in schedule()) {
        check(Mode::Job(1), s)?;
    }

    #[test]
    fn incremental_equals_recomputation_three_workers_as_a_job(s in schedule()) {
        check(Mode::Job(3), s)?;
    }
}

/// A worked example by hand: an AWS period delivered, then restated with one line
/// changed; the rollup moves by exactly the difference.
#[test]
fn a_restatement_replaces_and_does_not_add() {
    let d = |cents| Delivery {
        restating: true,
        account: 0,
        month: 0,
        file: 0,
        view: 0,
        records: vec![
            Rec {
                day: 4,
                start_hour: 0,
                hours: 1,
                service: 1,
                resource: Some(1),
                cents: 1000,
                scale: 2,
                effective_delta: 0,
                purchase: false,
                euro: false,
            },
            Rec {
                day: 4,
                start_hour: 1,
                hours: 1,
                service: 1,
                resource: Some(1),
                cents,
                scale: 2,
                effective_delta: 0,
                purchase: false,
                euro: false,
            },
        ],
        split: false,
    };
    // 10.00 + 5.00, then restated as 10.00 + 7.50: the day's billed goes 15.00 → 17.50.
    let (feed_tx, feed_rx) = channel();
    let (out_tx, out_rx) = channel();
    let job = std::thread::spawn(move || run(Config::workers(2), ChannelFeed(feed_rx), out_tx));
    let mut state = BTreeMap::new();
    for (seq, cents) in [(1u64, 500i64), (2, 750)] {
        let del = d(cents);
        let records: Vec<CostRecord> = del
            .records
            .iter()
            .map(|r| record(&del, seq, r, 1))
            .collect();
        feed_tx
            .send(vec![
                Input::Parts {
                    delivery: seq,
                    parts: prepare(&records).parts,
                },
                Input::Complete { delivery: seq },
            ])
            .expect("send");
        while let Output::DailyCost {
            key, totals, diff, ..
        } = out_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("output")
        {
            apply(&mut state, key, totals, diff);
        }
        let total: Decimal = state.values().map(|t| t.billed_cost).sum();
        let want = if seq == 1 { "15.00" } else { "17.50" };
        assert_eq!(
            total,
            Decimal::from_str(want).expect("decimal"),
            "after delivery {seq}"
        );
        assert_eq!(state.len(), 1);
        assert_eq!(state.values().map(|t| t.rows).sum::<i64>(), 2);
    }
    drop(feed_tx);
    job.join().expect("join").expect("run");
}
