//! Edges of the metric window and of matching metrics to bills, found by an adversarial
//! review: ids that collide on their last segment, restarts after pruning, refused old
//! samples, absurd counts.

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::{CostDay, MetricsWindow, batch};
use burnrate_schemas::{MetricSample, PricingModel, Provider, RowRef};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn sample(id: &str, minute: DateTime<Utc>, requests: f64) -> MetricSample {
    let mut s = MetricSample::empty(
        id.into(),
        minute,
        RowRef {
            file: "t".into(),
            row: 1,
        },
    );
    s.requests = Some(requests);
    s.gpu_utilization_pct = Some(0.0);
    s.accelerator = Some("nvidia-l4".into());
    s
}

/// Every minute of [from, to) for `id`.
fn minutes(id: &str, from: &str, to: &str, requests: f64) -> Vec<MetricSample> {
    let (mut t, end) = (at(from), at(to));
    let mut out = Vec::new();
    while t < end {
        out.push(sample(id, t, requests));
        t += Duration::minutes(1);
    }
    out
}

/// One endpoint name in two AWS accounts: metrics by full ARN match each bill exactly,
/// each saving at most its own cost; metrics by the short name are ambiguous and get no
/// verdict (never one resource's savings from two resources' costs).
#[test]
fn one_endpoint_name_in_two_accounts_is_never_merged() {
    let cfg = RecommendationConfig::default();
    let arn = |acct: &str| format!("arn:aws:sagemaker:us-east-1:{acct}:endpoint/ep-a");
    let cost = |acct: &str, c: &str| {
        (
            CostDay {
                day: "2024-03-05".parse().expect("day"),
                provider: Provider::Aws,
                resource_id: arn(acct),
                currency: "USD".into(),
                pricing_model: Some(PricingModel::OnDemand),
            },
            c.parse::<Decimal>().expect("dec"),
        )
    };
    let costs = vec![cost("111111111111", "10.00"), cost("222222222222", "90.00")];
    let mut idle = minutes(
        &arn("111111111111"),
        "2024-03-05T10:00:00Z",
        "2024-03-05T11:00:00Z",
        0.0,
    );
    idle.extend(minutes(
        &arn("222222222222"),
        "2024-03-05T10:00:00Z",
        "2024-03-05T11:00:00Z",
        0.0,
    ));
    let found = batch::findings(&idle, &costs, &cfg);
    // 10.00 a day is 10 × 730 / 24 = 304.17 a month; 90.00 is 2,737.50.
    let got: Vec<(String, Decimal)> = found
        .iter()
        .map(|f| (f.resource_id.clone(), f.estimated_monthly_savings))
        .collect();
    assert_eq!(
        got,
        vec![
            (arn("111111111111"), "304.17".parse().expect("d")),
            (arn("222222222222"), "2737.50".parse().expect("d")),
        ]
    );
    let short = minutes("ep-a", "2024-03-05T10:00:00Z", "2024-03-05T11:00:00Z", 0.0);
    assert!(batch::findings(&short, &costs, &cfg).is_empty());
}

/// On restart the window is rebuilt from the stored first minute and the masks the engine
/// kept (pruned to the window's hours): the same window even when the lookback's first
/// minute had no sample.
#[test]
fn restore_after_pruning_gives_the_same_window() {
    let mut live = MetricsWindow::new(2);
    // Stream began at 08:00; silent 09:00-10:29 (an outage); back 10:30-11:10.
    let mut all = minutes("ep", "2024-03-05T08:00:00Z", "2024-03-05T09:00:00Z", 1.0);
    all.extend(minutes(
        "ep",
        "2024-03-05T10:30:00Z",
        "2024-03-05T11:11:00Z",
        1.0,
    ));
    let mut masks = std::collections::BTreeMap::new();
    let u = live.push(&all);
    for (k, m) in u.masks {
        *masks.entry(k).or_insert(0u64) |= m;
    }
    let w = live.window().expect("window");
    // What the engine keeps: hours from the window's start hour (add_metric_buckets keep_from).
    let keep_from = w.start.div_euclid(60);
    let kept: Vec<_> = masks
        .into_iter()
        .filter(|((_, h), _)| *h >= keep_from)
        .collect();
    let mut restarted = MetricsWindow::new(2);
    restarted.restore(live.first(), kept);
    assert_eq!(
        restarted.window(),
        Some(w),
        "live window {} minutes, restored {:?} minutes",
        w.minutes(),
        restarted.window().map(|w| w.minutes())
    );
}

/// A sample refused as too old still marks when the stream began (`first`); the restored
/// window is the live one.
#[test]
fn a_refused_old_sample_moves_the_window_and_the_restart_keeps_it() {
    let mut live = MetricsWindow::new(2);
    let u1 = live.push(&minutes(
        "ep",
        "2024-03-05T10:30:00Z",
        "2024-03-05T11:11:00Z",
        1.0,
    ));
    let before = live.window().expect("w");
    let u2 = live.push(&[sample("ep", at("2024-03-05T07:00:00Z"), 1.0)]);
    assert_eq!(u2.refused.len(), 1);
    let after = live.window().expect("w");
    let mut restarted = MetricsWindow::new(2);
    restarted.restore(live.first(), u1.masks.into_iter().chain(u2.masks));
    assert_eq!(
        restarted.window(),
        Some(after),
        "window before the refused sample {before:?}, after {after:?}, after restart {:?}",
        restarted.window()
    );
}

/// Absurd but finite counts are not measured (they could not be summed over a month), and
/// never overflow a bucket.
#[test]
fn huge_finite_counts_do_not_overflow_the_bucket() {
    let mut w = MetricsWindow::new(720);
    let u = w.push(&[
        sample("ep", at("2024-03-05T10:00:00Z"), 1e16),
        sample("ep", at("2024-03-05T10:01:00Z"), 1e16),
    ]);
    assert_eq!(u.buckets[0].1.minutes, 2);
    assert_eq!(u.buckets[0].1.request_minutes, 0);
}

/// Two endpoints sharing a name (two accounts) are two resources: both count.
#[test]
fn same_name_endpoints_in_two_accounts_both_count() {
    let mut w = MetricsWindow::new(720);
    let t = at("2024-03-05T10:00:00Z");
    let u = w.push(&[
        sample(
            "arn:aws:sagemaker:us-east-1:111111111111:endpoint/ep-a",
            t,
            1.0,
        ),
        sample(
            "arn:aws:sagemaker:us-east-1:222222222222:endpoint/ep-a",
            t,
            50.0,
        ),
    ]);
    assert!(u.refused.is_empty(), "{:?}", u.refused);
}
