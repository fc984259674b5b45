//! Each rule at its thresholds: just below, at, just above. Expected savings are worked
//! out by hand from the rule's definition in its file header.

use burnrate_schemas::{
    Action, HourStats, PricingModel, Provider, RecommendationType as T, throughput_bucket,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::signals::hour_of_week::{HOURS_PER_WEEK, Profile};
use crate::signals::{CostSignal, Signals};

const WEEK: i64 = 7 * 1440;

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

/// A healthy GPU endpoint: a full week of minutes, 20 requests a minute with a diurnal
/// profile, GPUs 60% busy, 2 replicas, 240.00 a day on demand with cost varying (cv 0.2).
struct Res {
    stats: HourStats,
    slots: Vec<(i64, i64)>,
    cost: CostSignal,
    window: i64,
}

fn healthy() -> Res {
    let n = WEEK as i32;
    let mut stats = HourStats {
        minutes: n,
        request_minutes: n,
        active_minutes: n,
        requests_milli: WEEK * 20_000,
        gpu_minutes: n,
        gpu_milli: WEEK * 60_000,
        gpu_active_minutes: n,
        gpu_active_milli: WEEK * 60_000,
        replicas_minutes: n,
        replicas_milli: WEEK * 2_000,
        ..HourStats::default()
    };
    stats.throughput[throughput_bucket(20.0)] = n;
    // Rates from 12 to 28 a minute over the day: flatness 12/20 = 0.6.
    let slots = (0..HOURS_PER_WEEK)
        .map(|h| {
            let hour = (h % 24) as i64;
            let rate = 12 + (16 * (12 - (hour - 12).abs())) / 12;
            (60, 60 * rate * 1000)
        })
        .collect();
    Res {
        stats,
        slots,
        cost: CostSignal {
            provider: Provider::Aws,
            resource_id: "arn:aws:sagemaker:us-east-1:1:endpoint/ep".into(),
            currency: "USD".into(),
            days: 7,
            daily_mean: dec("240"),
            daily_cv: dec("0.2"),
            on_demand_share: dec("1"),
            pricing_model: Some(PricingModel::OnDemand),
        },
        window: WEEK,
    }
}

fn run(r: &Res) -> Vec<burnrate_schemas::Finding> {
    run_with(r, &RecommendationConfig::default())
}

fn run_with(r: &Res, cfg: &RecommendationConfig) -> Vec<burnrate_schemas::Finding> {
    let s = Signals::compute(
        r.stats,
        Profile::new(r.slots.clone()),
        r.cost.clone(),
        r.window,
    );
    evaluate(&s, cfg)
}

fn kinds(r: &Res) -> Vec<T> {
    run(r).iter().map(|f| f.kind).collect()
}

/// 240.00 a day is 240 × 730 / 24 = 7,300.00 a month.
const MONTHLY: &str = "7300";

#[test]
fn a_healthy_endpoint_gets_nothing() {
    assert_eq!(kinds(&healthy()), vec![]);
}

fn with_rate(milli_per_minute: i64, gpu_pct_milli: i64) -> Res {
    let mut r = healthy();
    r.stats.requests_milli = WEEK * milli_per_minute;
    r.stats.gpu_milli = WEEK * gpu_pct_milli;
    r
}

#[test]
fn idle_at_its_thresholds() {
    // requests_per_minute_max 0.01: 0.009 and 0.010 are idle, 0.011 is not.
    assert_eq!(kinds(&with_rate(9, 1_000)), vec![T::Decommission]);
    assert_eq!(kinds(&with_rate(10, 1_000)), vec![T::Decommission]);
    assert!(!kinds(&with_rate(11, 1_000)).contains(&T::Decommission));
    // gpu_util_below_pct 5: 4.999 idle, 5.000 not.
    assert_eq!(kinds(&with_rate(0, 4_999)), vec![T::Decommission]);
    assert!(!kinds(&with_rate(0, 5_000)).contains(&T::Decommission));
    // The whole cost is saved.
    let f = run(&with_rate(0, 0));
    assert_eq!(f[0].estimated_monthly_savings, dec(MONTHLY));
    assert_eq!(f[0].current_monthly_cost, dec(MONTHLY));
}

#[test]
fn idle_on_a_short_window_is_scale_to_zero() {
    // decommission_after_days 7: a window one minute short of 7 days scales to zero.
    let mut r = with_rate(0, 0);
    r.window = WEEK - 1;
    r.stats.minutes = (WEEK - 1) as i32;
    assert_eq!(kinds(&r), vec![T::ScaleToZero]);
}

#[test]
fn no_verdict_below_min_coverage() {
    // min_coverage 0.9: 9,072 of 10,080 minutes is exactly 0.9 and judged; one fewer is not.
    let mut r = with_rate(0, 0);
    r.stats.minutes = 9_072;
    assert_eq!(kinds(&r), vec![T::Decommission]);
    r.stats.minutes = 9_071;
    assert_eq!(kinds(&r), vec![]);
    // Confidence falls with coverage: 0.95 × 0.9 = 0.855 → 0.86 (two places, half up).
    r.stats.minutes = 9_072;
    assert_eq!(run(&r)[0].confidence, dec("0.86"));
}

#[test]
fn a_cpu_endpoint_never_gets_a_gpu_finding() {
    let mut r = healthy();
    r.stats.gpu_minutes = 0;
    r.stats.gpu_milli = 0;
    r.stats.gpu_active_minutes = 0;
    r.stats.gpu_active_milli = 0;
    r.stats.cpu_only_minutes = WEEK as i32;
    assert_eq!(kinds(&r), vec![]);
}

fn with_active_gpu(milli: i64) -> Res {
    let mut r = healthy();
    r.stats.gpu_active_milli = WEEK * milli;
    r
}

#[test]
fn rightsize_at_its_thresholds() {
    // gpu_active_below_pct 30: 29.999 rightsizes, 30.000 and 30.001 do not.
    assert_eq!(kinds(&with_active_gpu(29_999)), vec![T::Rightsize]);
    assert_eq!(kinds(&with_active_gpu(30_000)), vec![]);
    assert_eq!(kinds(&with_active_gpu(30_001)), vec![]);
    // 12% busy: keep max(12/60, 0.5) = 0.5, save half of 7,300.00.
    let f = run(&with_active_gpu(12_000));
    assert_eq!(f[0].estimated_monthly_savings, dec("3650"));
    assert!(
        matches!(f[0].action, Action::Rightsize { capacity_fraction, .. } if capacity_fraction == dec("0.5"))
    );
    // With min_capacity_fraction 0.1: keep 12/60 = 0.2, save 0.8 × 7,300 = 5,840.00.
    let mut cfg = RecommendationConfig::default();
    cfg.rightsize.min_capacity_fraction = 0.1;
    assert_eq!(
        run_with(&with_active_gpu(12_000), &cfg)[0].estimated_monthly_savings,
        dec("5840")
    );
}

fn with_idle_hours(n: usize) -> Res {
    let mut r = healthy();
    for slot in r.slots.iter_mut().take(n) {
        slot.1 = 0;
    }
    r
}

#[test]
fn schedule_at_its_thresholds() {
    // min_idle_hours_per_week 24: 23 idle hours are not enough, 24 and 25 are.
    assert_eq!(kinds(&with_idle_hours(23)), vec![]);
    assert_eq!(kinds(&with_idle_hours(24)), vec![T::Schedule]);
    assert_eq!(kinds(&with_idle_hours(25)), vec![T::Schedule]);
    // 24 of 168 hours: 7,300 × 24/168 = 1,042.857… → 1,042.86.
    let f = run(&with_idle_hours(24));
    assert_eq!(f[0].estimated_monthly_savings, dec("1042.86"));
    // The first 24 hours of the week are Monday: one window 00–24.
    assert!(
        matches!(&f[0].action, Action::Schedule { idle_windows, idle_hours_per_week: 24 }
        if idle_windows.len() == 1 && idle_windows[0].day == 0 && idle_windows[0].end_hour == 24)
    );
    // A slot needs min_slot_minutes 45 present to count as observed: with 44, the week is
    // not fully observed and there is no schedule.
    let mut r = with_idle_hours(30);
    r.slots[100].0 = 44;
    assert_eq!(kinds(&r), vec![]);
    r.slots[100].0 = 45;
    assert_eq!(kinds(&r), vec![T::Schedule]);
}

fn bursty(ratio_times_100: i64) -> Res {
    // 4 replicas; 90% of minutes at 3.5 requests (bucket upper 4), 10% at 200 (upper 256),
    // so p50 = 4 and p99 = 256; the mean is set so that p99 / mean = ratio.
    let mut r = healthy();
    r.stats.replicas_milli = WEEK * 4_000;
    r.stats.throughput = [0; burnrate_schemas::THROUGHPUT_BUCKETS];
    r.stats.throughput[throughput_bucket(3.5)] = (WEEK * 90 / 100) as i32;
    r.stats.throughput[throughput_bucket(200.0)] = (WEEK * 10 / 100) as i32;
    r.stats.requests_milli = WEEK * 256_000 * 100 / ratio_times_100;
    r
}

#[test]
fn autoscale_at_its_thresholds() {
    // peak_to_mean_min 4: 3.99 is not bursty, 4.00 and 4.01 are.
    assert_eq!(kinds(&bursty(399)), vec![]);
    assert_eq!(kinds(&bursty(400)), vec![T::Autoscale]);
    assert_eq!(kinds(&bursty(401)), vec![T::Autoscale]);
    // At 4: mean 64, min = ceil(4 × 4/256) = 1, average = max(1, 4 × 64 × 1.25 / 256)
    // = 1.25 replicas, save 1 − 1.25/4 = 0.6875 of 7,300 = 5,018.75.
    let f = run(&bursty(400));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].estimated_monthly_savings, dec("5018.75"));
    assert!(matches!(
        f[0].action,
        Action::Autoscale {
            min_replicas: 1,
            max_replicas: 4,
            ..
        }
    ));
    // min_replicas 2: an endpoint averaging 1.999 replicas is not autoscaled.
    let mut r = bursty(400);
    r.stats.replicas_milli = WEEK * 1_999;
    assert_eq!(kinds(&r), vec![]);
    // When p50 = p99 the minimum is the maximum: nothing to save, no recommendation.
    let mut r = bursty(400);
    r.stats.throughput = [0; burnrate_schemas::THROUGHPUT_BUCKETS];
    r.stats.throughput[throughput_bucket(200.0)] = WEEK as i32;
    assert_eq!(kinds(&r), vec![]);
}

fn steady() -> Res {
    let mut r = healthy();
    r.cost.daily_cv = dec("0.1");
    r.slots = vec![(60, 60 * 20_000); HOURS_PER_WEEK];
    r.slots[0].1 = 60 * 17_000; // flatness: 17 / mean(≈20) just above 0.85
    r
}

#[test]
fn commitment_at_its_thresholds() {
    assert_eq!(kinds(&steady()), vec![T::PurchaseCommitment]);
    // AWS: 25% of 7,300.00 = 1,825.00; commit to 240/24 × 0.75 = 7.5 an hour.
    let f = run(&steady());
    assert_eq!(f[0].estimated_monthly_savings, dec("1825"));
    assert!(
        matches!(f[0].action, Action::PurchaseCommitment { hourly_commitment, .. } if hourly_commitment == dec("7.5"))
    );
    // max_daily_cv 0.1: 0.1001 is too variable.
    let mut r = steady();
    r.cost.daily_cv = dec("0.1001");
    assert_eq!(kinds(&r), vec![]);
    // min_on_demand_share 0.9: at 0.9 yes, at 0.8999 no.
    let mut r = steady();
    r.cost.on_demand_share = dec("0.9");
    assert_eq!(kinds(&r), vec![T::PurchaseCommitment]);
    r.cost.on_demand_share = dec("0.8999");
    assert_eq!(kinds(&r), vec![]);
    // min_flatness 0.85: the quietest hour at 0.85 of the mean is steady, just below is not.
    // With one slot at q and 167 at 20: mean = (q + 3340) / 168; q / mean = 0.85 at
    // q = 0.85 × 3340 / (168 − 0.85) = 16.985…
    let mut r = steady();
    r.slots[0].1 = 60 * 16_990;
    assert_eq!(kinds(&r), vec![T::PurchaseCommitment]);
    r.slots[0].1 = 60 * 16_980;
    assert_eq!(kinds(&r), vec![]);
    // min_cost_days 7: six days of cost are not enough.
    let mut r = steady();
    r.cost.days = 6;
    assert_eq!(kinds(&r), vec![]);
}

#[test]
fn stacked_savings_come_from_what_is_left() {
    // 84 idle hours (half the week) and GPUs 12% busy: schedule saves 3,650.00, rightsize
    // half of the remaining 3,650.00 = 1,825.00; together 5,475.00 of 7,300.00.
    let mut r = with_idle_hours(84);
    r.stats.gpu_active_milli = WEEK * 12_000;
    let f = run(&r);
    let got: Vec<(T, Decimal)> = f
        .iter()
        .map(|f| (f.kind, f.estimated_monthly_savings))
        .collect();
    assert_eq!(
        got,
        vec![(T::Schedule, dec("3650")), (T::Rightsize, dec("1825"))]
    );
}

proptest! {
    #[test]
    fn savings_never_exceed_cost(
        rate in 0i64..50_000, gpu in 0i64..100_000, idle in 0usize..168,
        replicas in 1i64..8, burst in 0i32..10_080, cost in 1i64..1_000_000,
        coverage in 9_000i32..=10_080,
    ) {
        let mut r = with_idle_hours(idle);
        r.stats.requests_milli = WEEK * rate;
        r.stats.gpu_active_milli = WEEK * gpu;
        r.stats.gpu_milli = WEEK * gpu;
        r.stats.replicas_milli = WEEK * replicas * 1000;
        r.stats.throughput[throughput_bucket(500.0)] = burst;
        r.stats.minutes = coverage;
        r.cost.daily_mean = Decimal::new(cost, 2);
        let f = run(&r);
        let total: Decimal = f.iter().map(|f| f.estimated_monthly_savings).sum();
        for x in &f {
            prop_assert!(x.estimated_monthly_savings >= Decimal::ZERO);
            prop_assert!(x.confidence >= Decimal::ZERO && x.confidence <= Decimal::ONE);
        }
        if let Some(x) = f.first() {
            prop_assert!(total <= x.current_monthly_cost, "{total} > {}", x.current_monthly_cost);
        }
    }
}

#[test]
fn capacity_and_commitment_verdicts_wait_for_enough_history() {
    // min_window_hours 24: a 24-hour window may rightsize, one minute less may not.
    let mut r = with_active_gpu(12_000);
    r.window = 24 * 60;
    assert_eq!(kinds(&r), vec![T::Rightsize]);
    r.window = 24 * 60 - 1;
    assert_eq!(kinds(&r), vec![]);
    // commitment.min_window_days 7: the week commits, a minute less does not.
    let mut r = steady();
    r.window = WEEK - 1;
    assert_eq!(kinds(&r), vec![]);
    r.window = WEEK;
    assert_eq!(kinds(&r), vec![T::PurchaseCommitment]);
}
