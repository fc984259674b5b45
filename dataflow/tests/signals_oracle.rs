//! The signals and recommendations of the job against a from-scratch recomputation
//! (`signals::batch`): random batches of per-minute samples (duplicates, late and too-old
//! minutes, gaps, resources with and without GPUs) over a short lookback, so hours enter
//! and leave the window; after every epoch the job's findings equal the recomputation over
//! every sample so far, for 1 and 3 workers.

use std::collections::BTreeMap;

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::{CostDay, MetricsWindow, batch};
use burnrate_dataflow::{Amounts, Config, Input, Job, Output};
use burnrate_schemas::{
    ChargeCategory, CostCategory, DailyCostKey, DeliveryScope, Finding, MetricSample, PricingModel,
    Provider, RowRef,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

const RESOURCES: usize = 3;

fn config() -> RecommendationConfig {
    let mut cfg = RecommendationConfig {
        lookback_hours: 2,
        min_coverage: 0.3,
        min_window_hours: 0,
        ..RecommendationConfig::default()
    };
    cfg.commitment.min_window_days = 0;
    cfg.schedule.min_slot_minutes = 1;
    cfg.schedule.min_observed_hours = 2;
    cfg.schedule.min_idle_hours_per_week = 1;
    cfg.commitment.min_flatness = 0.5;
    cfg
}

fn t0() -> DateTime<Utc> {
    "2024-03-04T00:00:00Z".parse().expect("t0")
}

/// Seven days of steady on-demand cost per resource, so every rule can speak.
fn costs() -> Vec<(DailyCostKey, Amounts)> {
    let mut out = Vec::new();
    for r in 0..RESOURCES {
        for d in 0..7i64 {
            let key = DailyCostKey {
                day: NaiveDate::from_ymd_opt(2024, 2, 26).expect("day") + TimeDelta::days(d),
                provider: Provider::Aws,
                service_code: "AmazonSageMaker".into(),
                service_name: "Amazon SageMaker".into(),
                account: "111122223333".into(),
                resource_id: Some(format!("arn:aws:sagemaker:us-east-1:1:endpoint/ep-{r}")),
                charge_category: ChargeCategory::Usage,
                cost_category: CostCategory::Inference,
                pricing_model: Some(PricingModel::OnDemand),
                is_ai: true,
                currency: "USD".into(),
            };
            let cost = Decimal::new(2400 + r as i64 * 100, 2);
            out.push((key, Amounts::of(cost, cost, None).expect("amounts")));
        }
    }
    out
}

fn scope() -> DeliveryScope {
    DeliveryScope {
        provider: Provider::Aws,
        billing_account_id: "111122223333".into(),
        billing_period_start: "2024-02-01T00:00:00Z".parse().expect("period"),
        view: String::new(),
        additive_source: None,
    }
}

#[derive(Debug, Clone)]
struct Minute {
    resource: usize,
    minute: i64,
    requests: Option<f64>,
    gpu: Option<f64>,
    replicas: f64,
}

fn sample(m: &Minute, row: u64) -> MetricSample {
    let mut s = MetricSample::empty(
        format!("EP-{}", m.resource),
        t0() + TimeDelta::minutes(m.minute),
        RowRef {
            file: "t".into(),
            row,
        },
    );
    s.requests = m.requests;
    s.gpu_utilization_pct = m.gpu;
    s.replicas = Some(m.replicas);
    if m.resource == 2 {
        s.accelerator = Some("none".into());
        s.gpu_utilization_pct = None;
    }
    s
}

/// One sample; its minute is an offset from its batch's start (batches move 30 minutes
/// apart, offsets reach 20 back, so samples arrive late, out of order and twice). Each
/// resource leans to a pattern: ep-0 mostly idle, ep-1 busy and bursty with GPUs 20%
/// busy, ep-2 a CPU endpoint.
fn minute() -> impl Strategy<Value = Minute> {
    (
        0..RESOURCES,
        -20i64..40,
        0usize..5,
        prop::option::weighted(0.8, prop::sample::select(vec![0.0, 2.0, 20.0, 70.0])),
        prop::sample::select(vec![1.0, 4.0]),
        prop::bool::weighted(0.95),
    )
        .prop_map(|(resource, minute, pick, gpu, replicas, measured)| {
            let requests = match resource {
                0 => [0.0, 0.0, 0.0, 0.0, 0.05][pick],
                1 => [3.0, 3.0, 3.0, 50.0, 200.0][pick],
                _ => [0.0, 20.0, 20.0, 30.0, 50.0][pick],
            };
            Minute {
                resource,
                minute,
                requests: measured.then_some(requests),
                gpu: if resource == 1 {
                    gpu.map(|_| 20.0)
                } else {
                    gpu
                },
                replicas,
            }
        })
}

fn apply(state: &mut BTreeMap<Finding, isize>, outputs: Vec<Output>) {
    for o in outputs {
        if let Output::Finding { finding, diff, .. } = o {
            let n = state.entry(finding.clone()).or_default();
            *n += diff;
            if *n == 0 {
                state.remove(&finding);
            }
        }
    }
}

fn check(workers: usize, batches: Vec<Vec<Minute>>) -> Result<(), TestCaseError> {
    let cfg = config();
    let mut job = Job::start(Config {
        workers,
        recommendations: cfg.clone(),
    })
    .expect("job");
    let parts: Vec<_> = costs().into_iter().map(|(k, a)| (scope(), k, a)).collect();
    let cost_days: Vec<(CostDay, Decimal)> = costs()
        .iter()
        .filter_map(|(k, a)| CostDay::of(k).map(|d| (d, a.effective_decimal())))
        .collect();
    let mut state = BTreeMap::new();
    apply(
        &mut state,
        job.epoch(vec![
            Input::Parts { delivery: 1, parts },
            Input::Complete { delivery: 1 },
        ])
        .expect("costs"),
    );
    prop_assert!(state.is_empty());
    let mut window = MetricsWindow::new(cfg.lookback_hours);
    let mut all = Vec::new();
    let mut row = 0;
    let mut found = 0;
    for (i, b) in batches.into_iter().enumerate() {
        let samples: Vec<MetricSample> = b
            .into_iter()
            .map(|mut m| {
                row += 1;
                m.minute += 30 * i as i64;
                sample(&m, row)
            })
            .collect();
        all.extend(samples.iter().cloned());
        let updates = window.push(&samples);
        apply(
            &mut state,
            job.epoch(vec![Input::metrics(&updates)]).expect("epoch"),
        );
        prop_assert!(state.values().all(|n| *n == 1), "{state:?}");
        let got: Vec<Finding> = state.keys().cloned().collect();
        let want = batch::findings(&all, &cost_days, &cfg);
        found += want.len();
        prop_assert_eq!(got, want);
    }
    job.close().expect("close");
    FOUND.fetch_add(found, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Findings the recomputation produced across all cases (the properties must not hold
/// only because nothing is ever found).
static FOUND: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_findings_equal_recomputation_one_worker(
        batches in prop::collection::vec(prop::collection::vec(minute(), 0..150), 1..10)
    ) {
        check(1, batches)?;
    }

    #[test]
    fn incremental_findings_equal_recomputation_three_workers(
        batches in prop::collection::vec(prop::collection::vec(minute(), 0..150), 1..8)
    ) {
        check(3, batches)?;
    }
}

#[test]
fn the_properties_see_findings() {
    incremental_findings_equal_recomputation_one_worker();
    assert!(
        FOUND.load(std::sync::atomic::Ordering::Relaxed) > 24,
        "too few findings to test: {}",
        FOUND.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// A plain sequence that must produce findings, so the property above is not vacuous:
/// ep-0 idle for two hours → scale to zero; then traffic arrives and it is withdrawn.
#[test]
fn an_idle_endpoint_is_found_and_withdrawn_when_traffic_returns() {
    let idle: Vec<Minute> = (0..120)
        .map(|m| Minute {
            resource: 0,
            minute: m,
            requests: Some(0.0),
            gpu: Some(0.0),
            replicas: 1.0,
        })
        .collect();
    let busy: Vec<Minute> = (120..240)
        .map(|m| Minute {
            requests: Some(50.0),
            gpu: Some(70.0),
            minute: m,
            ..idle[0].clone()
        })
        .collect();
    let mut job = Job::start(Config {
        workers: 1,
        recommendations: config(),
    })
    .expect("job");
    let parts: Vec<_> = costs().into_iter().map(|(k, a)| (scope(), k, a)).collect();
    job.epoch(vec![
        Input::Parts { delivery: 1, parts },
        Input::Complete { delivery: 1 },
    ])
    .expect("costs");
    let mut window = MetricsWindow::new(2);
    let to_samples =
        |ms: &[Minute]| -> Vec<MetricSample> { ms.iter().map(|m| sample(m, 1)).collect() };
    let mut state = BTreeMap::new();
    apply(
        &mut state,
        job.epoch(vec![Input::metrics(&window.push(&to_samples(&idle)))])
            .expect("e"),
    );
    let kinds: Vec<&str> = state.keys().map(|f| f.kind.code()).collect();
    assert_eq!(kinds, vec!["scale_to_zero"]);
    // 24.00 a day → 24 × 730 / 24 = 730.00 a month, all of it saved.
    let f = state.keys().next().expect("finding");
    assert_eq!(f.estimated_monthly_savings, Decimal::new(730, 0));
    apply(
        &mut state,
        job.epoch(vec![Input::metrics(&window.push(&to_samples(&busy)))])
            .expect("e"),
    );
    // The idle verdict is withdrawn; with steady traffic and steady on-demand cost the
    // loose test settings now see a commitment instead.
    let kinds: Vec<&str> = state.keys().map(|f| f.kind.code()).collect();
    assert_eq!(kinds, vec!["purchase_commitment"]);
}

/// The cost side moving under metrics that are already there: metrics first and costs
/// after (the names meet costs that arrive later), a restatement that drops one
/// resource's usage (its verdict must go), rows the signals must not read (a tax row on
/// the resource, usage with no resource id) and the usage coming back doubled. After every
/// epoch the job's findings equal the recomputation over the costs then current.
#[test]
fn findings_follow_costs_that_arrive_and_change_after_the_metrics() {
    let idle: Vec<Minute> = (0..120)
        .map(|m| Minute {
            resource: 0,
            minute: m,
            requests: Some(0.0),
            gpu: Some(0.0),
            replicas: 1.0,
        })
        .collect();
    let samples: Vec<MetricSample> = idle.iter().map(|m| sample(m, 1)).collect();
    let cfg = config();
    let mut job = Job::start(Config {
        workers: 1,
        recommendations: cfg.clone(),
    })
    .expect("job");
    let mut state = BTreeMap::new();
    let mut window = MetricsWindow::new(cfg.lookback_hours);
    apply(
        &mut state,
        job.epoch(vec![Input::metrics(&window.push(&samples))])
            .expect("metrics"),
    );
    assert!(state.is_empty(), "no cost yet: {state:?}");

    let ep0 = |k: &DailyCostKey| {
        k.resource_id
            .as_deref()
            .is_some_and(|r| r.ends_with("/ep-0"))
    };
    // Extra rows: ep-0's tax, and usage with no resource, both 1000 a day.
    let extra: Vec<(DailyCostKey, Amounts)> = costs()
        .into_iter()
        .filter(|(k, _)| ep0(k))
        .flat_map(|(k, _)| {
            let big = Decimal::new(1000, 0);
            let amounts = Amounts::of(big, big, None).expect("amounts");
            let mut tax = k.clone();
            tax.charge_category = ChargeCategory::Tax;
            let mut nobody = k;
            nobody.resource_id = None;
            [(tax, amounts), (nobody, amounts)]
        })
        .collect();
    let doubled: Vec<(DailyCostKey, Amounts)> = costs()
        .into_iter()
        .map(|(k, a)| {
            let a = if ep0(&k) {
                a.minus(Amounts::default().minus(a))
            } else {
                a
            };
            (k, a)
        })
        .collect();
    let deliveries: Vec<(&str, Vec<(DailyCostKey, Amounts)>)> = vec![
        ("costs after the metrics", costs()),
        (
            "ep-0's usage restated away",
            costs().into_iter().filter(|(k, _)| !ep0(k)).collect(),
        ),
        (
            "a tax row and usage without a resource",
            costs()
                .into_iter()
                .filter(|(k, _)| !ep0(k))
                .chain(extra.iter().cloned())
                .collect(),
        ),
        (
            "ep-0's usage back, doubled",
            doubled.into_iter().chain(extra.iter().cloned()).collect(),
        ),
    ];
    let mut seen = Vec::new();
    for (n, (what, rows)) in deliveries.into_iter().enumerate() {
        let delivery = n as u64 + 1;
        let parts: Vec<_> = rows.iter().map(|(k, a)| (scope(), k.clone(), *a)).collect();
        apply(
            &mut state,
            job.epoch(vec![
                Input::Parts { delivery, parts },
                Input::Complete { delivery },
            ])
            .expect("costs"),
        );
        let cost_days: Vec<(CostDay, Decimal)> = rows
            .iter()
            .filter_map(|(k, a)| CostDay::of(k).map(|d| (d, a.effective_decimal())))
            .collect();
        assert!(state.values().all(|n| *n == 1), "{what}: {state:?}");
        let got: Vec<Finding> = state.keys().cloned().collect();
        assert_eq!(got, batch::findings(&samples, &cost_days, &cfg), "{what}");
        seen.push(
            got.iter()
                .map(|f| (f.kind.code(), f.estimated_monthly_savings))
                .collect::<Vec<_>>(),
        );
    }
    // Not vacuous: ep-0 idle at 24.00 a day saves 730.00 a month; nothing without its
    // usage (the tax and the resource-less usage are not its cost); 1460.00 doubled.
    let scale_to_zero = |s: i64| vec![("scale_to_zero", Decimal::new(s, 0))];
    assert_eq!(
        seen,
        vec![scale_to_zero(730), vec![], vec![], scale_to_zero(1460)]
    );
    job.close().expect("close");
}
