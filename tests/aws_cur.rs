//! AWS CUR: the cases (B01 savings plans, B12 negative rows) and every real CUR file.

mod common;

use std::collections::BTreeMap;

use burnrate_schemas::{ChargeKind, CommitmentStatus, CostRecord, PricingModel};
use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

fn tolerance(case: &Value) -> Decimal {
    jdec(case, "tolerance")
}

fn pricing_model_code(m: Option<PricingModel>) -> Option<&'static str> {
    m.map(|m| match m {
        PricingModel::OnDemand => "on_demand",
        PricingModel::Reservation => "reservation",
        PricingModel::SavingsPlan => "savings_plan",
        PricingModel::CommittedUse => "committed_use",
        PricingModel::Spot => "spot",
    })
}

fn status_code(s: Option<CommitmentStatus>) -> Option<&'static str> {
    s.map(|s| match s {
        CommitmentStatus::Used => "used",
        CommitmentStatus::Unused => "unused",
    })
}

/// Whether a record matches an expected item or daily row on every key the row names.
/// `service` is the provider's code or name "as given", so either matches.
fn matches(r: &CostRecord, want: &Value) -> bool {
    let s = |k: &str| want.get(k);
    if let Some(Value::String(svc)) = s("service")
        && r.service_code != *svc
        && r.service_name != *svc
    {
        return false;
    }
    if let Some(v) = s("resource_id") {
        let want_id = v.as_str();
        if r.resource_id.as_deref() != want_id {
            return false;
        }
    }
    if let Some(Value::String(cat)) = s("category")
        && r.charge_kind.code() != cat
    {
        return false;
    }
    if let Some(v) = s("pricing_model")
        && pricing_model_code(r.pricing_model) != v.as_str()
    {
        return false;
    }
    if let Some(v) = s("commitment_status")
        && status_code(r.commitment_discount_status) != v.as_str()
    {
        return false;
    }
    if let Some(Value::String(p)) = s("provider")
        && r.provider.code() != p
    {
        return false;
    }
    true
}

/// Sums of the matching records on one UTC day: (billed, effective, usage quantity).
fn day_sums(records: &[CostRecord], want: &Value) -> (Decimal, Decimal, Decimal, usize) {
    let day = date(want["date"].as_str().expect("date"));
    let mut sums = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0);
    for r in records.iter().filter(|r| matches(r, want)) {
        let b: Decimal = r
            .split_daily(r.billed_cost)
            .into_iter()
            .filter(|(d, _)| *d == day)
            .map(|x| x.1)
            .sum();
        let e: Decimal = r
            .split_daily(r.effective_cost)
            .into_iter()
            .filter(|(d, _)| *d == day)
            .map(|x| x.1)
            .sum();
        let q: Decimal = r
            .consumed_quantity
            .map(|q| {
                r.split_daily(q)
                    .into_iter()
                    .filter(|(d, _)| *d == day)
                    .map(|x| x.1)
                    .sum()
            })
            .unwrap_or_default();
        sums.0 += b;
        sums.1 += e;
        sums.2 += q;
        sums.3 += 1;
    }
    sums
}

/// Checks a case's `totals`, `daily` and `items` (whichever it has) against the records.
fn check_case(case: &str, records: &[CostRecord]) {
    let exp = expected(case);
    let tol = tolerance(&exp);
    let e = &exp["expected"];
    let (billed, effective) = totals(records);
    if let Some(t) = e.get("totals") {
        assert!(
            records
                .iter()
                .all(|r| Some(r.billing_currency.as_str()) == t["currency"].as_str())
        );
        if t.get("billed_cost").is_some() {
            assert_close(
                billed,
                jdec(t, "billed_cost"),
                tol,
                &format!("{case} total billed"),
            );
        }
        if t.get("effective_cost").is_some() {
            assert_close(
                effective,
                jdec(t, "effective_cost"),
                tol,
                &format!("{case} total effective"),
            );
        }
    }
    for group in ["daily", "items"] {
        for want in e.get(group).and_then(Value::as_array).into_iter().flatten() {
            let (b, ef, q, n) = day_sums(records, want);
            assert!(n > 0, "{case} {group}: no record matches {want}");
            if want.get("billed_cost").is_some() {
                assert_close(
                    b,
                    jdec(want, "billed_cost"),
                    tol,
                    &format!("{case} {group} billed {want}"),
                );
            }
            if want.get("effective_cost").is_some() {
                assert_close(
                    ef,
                    jdec(want, "effective_cost"),
                    tol,
                    &format!("{case} {group} effective {want}"),
                );
            }
            if want.get("usage_quantity").is_some() {
                assert_close(
                    q,
                    jdec(want, "usage_quantity"),
                    tol,
                    &format!("{case} {group} quantity {want}"),
                );
            }
            if let Some(Value::Object(tags)) = want.get("tags") {
                for r in records.iter().filter(|r| matches(r, want)) {
                    for (k, v) in tags {
                        assert_eq!(
                            r.tags.get(k).map(String::as_str),
                            v.as_str(),
                            "{case} tag {k}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn case_b01_savings_plan_rows_do_not_double_count() {
    let dir = case_dir("B01");
    let (out, report) = read_clean(&dir.join("input/sp-cur-00001.csv"));
    check_case("B01", &out.costs);
    // No negative "no resource" EC2 line from the negation rows.
    assert!(
        !out.costs
            .iter()
            .any(|r| r.resource_id.is_none() && r.service_code == "AmazonEC2"),
        "negation rows surfaced as records"
    );
    // Two negation rows (one per hour) were folded, not rejected.
    assert_eq!(report.skipped.values().sum::<u64>(), 2);
    // The must_not values are indeed avoided.
    let exp = expected("B01");
    let (billed, effective) = totals(&out.costs);
    for bad in exp["must_not"].as_array().expect("must_not") {
        let wrong = bad["wrong_value"].as_str().expect("wrong value");
        assert_ne!(billed.to_string(), wrong);
        assert_ne!(effective.to_string(), wrong);
    }
}

#[test]
fn case_b12_negative_rows_keep_their_sign_and_kind() {
    let (out, _) = read_clean(&case_dir("B12").join("input/b12-cur-00001.csv"));
    check_case("B12", &out.costs);
    let exp = expected("B12");
    let tol = tolerance(&exp);
    let by_cat = exp["expected"]["by_category"]
        .as_object()
        .expect("by_category");
    for (cat, want) in by_cat {
        let got: Decimal = out
            .costs
            .iter()
            .filter(|r| r.charge_kind.code() == cat)
            .map(|r| r.billed_cost)
            .sum();
        assert_close(
            got,
            dec(want.as_str().expect("str")),
            tol,
            &format!("B12 {cat}"),
        );
    }
    // gross usage + tax: 3.20 + 0.24, the value a filter on positive rows would show.
    let gross: Decimal = out
        .costs
        .iter()
        .filter(|r| matches!(r.charge_kind, ChargeKind::Usage | ChargeKind::Tax))
        .map(|r| r.billed_cost)
        .sum();
    assert_close(
        gross,
        jdec(&exp["expected"]["totals"], "gross_usage_plus_tax"),
        tol,
        "B12 gross",
    );
}

/// The real anonymized CUR (Nov 2023, Usage and Tax only): billed and effective per UTC
/// day equal a plain computation over the raw file. Hourly and daily lines sit in one day;
/// the 12 Tax lines span the whole month and are spread evenly over its 30 days, computed
/// here hour by hour, independently of the product's splitter.
#[test]
fn real_cur_totals_per_day_match_a_plain_sum() {
    let path = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    let (out, report) = read_clean(&path);
    let rows = csv_rows(&path);
    assert_eq!(report.rows_read as usize, rows.len());
    assert_eq!(out.costs.len(), rows.len(), "one record per Usage/Tax line");

    let mut want: BTreeMap<chrono::NaiveDate, Decimal> = BTreeMap::new();
    for row in &rows {
        let start =
            chrono::DateTime::parse_from_rfc3339(&row["lineItem/UsageStartDate"]).expect("start");
        let end = chrono::DateTime::parse_from_rfc3339(&row["lineItem/UsageEndDate"]).expect("end");
        let amount = dec(&row["lineItem/UnblendedCost"]);
        let hours = (end - start).num_hours().max(1);
        let mut t = start;
        while t < end || t == start {
            *want.entry(t.date_naive()).or_default() += amount / Decimal::from(hours);
            t += chrono::Duration::hours(1);
            if t >= end {
                break;
            }
        }
    }
    let got = daily_by(&out.costs, |_| ());
    assert_eq!(got.len(), want.len());
    for ((day, ()), (b, e)) in &got {
        assert_close(*b, want[day], dec("0.000000001"), &format!("billed {day}"));
        assert_close(
            *e,
            want[day],
            dec("0.000000001"),
            &format!("effective {day}"),
        );
    }
    let total = csv_column_sum(&path, "lineItem/UnblendedCost");
    assert_eq!(totals(&out.costs), (total, total));
    // The 12 Tax lines are tax.
    let tax = out
        .costs
        .iter()
        .filter(|r| r.charge_kind == ChargeKind::Tax)
        .count();
    assert_eq!(
        tax,
        rows.iter()
            .filter(|r| r["lineItem/LineItemType"] == "Tax")
            .count()
    );
    assert_eq!(tax, 12);
}

/// Koku's files: nise-generated usage (2018), a hand-edited savings plan fixture in NOK
/// (covered lines with no negation lines), a not-final month, and a header-only delivery.
#[test]
fn koku_cur_fixtures() {
    // test_cur: Usage only, so billed = effective = the unblended column.
    let path = data("aws/cur-legacy-csv/koku__test_cur.csv");
    let (out, _) = read_clean(&path);
    let total = csv_column_sum(&path, "lineItem/UnblendedCost");
    assert_eq!(totals(&out.costs), (total, total));
    assert_eq!(out.costs.len(), 19);

    // Savings plan fixture: covered lines bill 0 (their negation would cancel them) and
    // cost their savings plan effective cost.
    for name in [
        "koku__2023-06-01_costcategory_savingsplan.csv",
        "koku__2023-06-01-not-final.csv",
    ] {
        let path = data(&format!("aws/cur-legacy-csv/{name}"));
        let (out, _) = read_clean(&path);
        let rows = csv_rows(&path);
        assert!(
            rows.iter()
                .all(|r| r["lineItem/LineItemType"] == "SavingsPlanCoveredUsage")
        );
        let effective = csv_column_sum(&path, "savingsPlan/SavingsPlanEffectiveCost");
        assert_eq!(totals(&out.costs), (Decimal::ZERO, effective), "{name}");
        assert!(out.costs.iter().all(|r| r.billing_currency == "NOK"));
        // Cost categories become tags under their own prefix.
        let first = &out.costs[0];
        assert_eq!(
            first.tags.get("costCategory/cost_env").map(String::as_str),
            Some(rows[0]["costCategory/cost_env"].as_str())
        );
    }
    let (out, report) = read_clean(&data(
        "aws/cur-legacy-csv/koku__empty_frame_header_only.csv",
    ));
    assert_eq!((out.costs.len(), report.rows_read), (0, 0));
}

/// The Athena snake_case fixture: same normalizer, tags from `resource_tags_*`, the billing
/// period from the bill columns.
#[test]
fn athena_snake_case_fixture() {
    let path = data("aws/cur-athena-snake-case/koku__2022-07-01-alt-columns.csv");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "AWS CUR (Athena snake_case)");
    let total = csv_column_sum(&path, "line_item_unblended_cost");
    assert_eq!(totals(&out.costs).0, total);
    assert_eq!(out.costs.len(), 2);
    let r = &out.costs[0];
    assert_eq!(
        r.tags.get("aws:created_by").map(String::as_str),
        Some("IAMUser:fake:and")
    );
    assert_eq!(
        r.billing_period_start.to_rfc3339(),
        "2022-07-01T00:00:00+00:00"
    );
    assert_eq!(r.sub_account_id.as_deref(), Some("999999"));
}

/// Every Bedrock / Marketplace model / SageMaker tuple in the real usage vocabulary is
/// classified as AI; the file itself has no costs and is not a CUR.
#[test]
fn real_ai_vocabulary_is_classified_as_ai() {
    let path = data(
        "aws/cur-usage-vocabulary/cloud-carbon-footprint__46af4497-a5f8-4f44-87e1-c652d8370b58__head.csv",
    );
    let mut ai_rows = 0;
    for row in csv_rows(&path) {
        let usage = row["line_item_usage_type"].as_str();
        let code = row["line_item_product_code"].as_str();
        let op = row["line_item_operation"].as_str();
        // Independent notion of "AI" from the data docs: Bedrock/SageMaker/Rekognition/
        // AmazonML codes, Marketplace token usage, or model invocation operations.
        let expect_ai = code.starts_with("AmazonBedrock")
            || ["AmazonSageMaker", "AmazonRekognition", "AmazonML"].contains(&code)
            || (usage.contains("MP:") && usage.contains("Token"))
            || op.starts_with("InvokeModel");
        if !expect_ai {
            continue;
        }
        ai_rows += 1;
        let c = burnrate_ingest::aws_cur::classify_line(&burnrate_ingest::aws_cur::Facts {
            product_code: code,
            usage_type: Some(usage),
            operation: Some(op),
            ..Default::default()
        });
        assert!(c.is_ai, "{code} {usage} {op}");
    }
    assert!(
        ai_rows >= 5,
        "the vocabulary file has Bedrock and Marketplace rows, saw {ai_rows}"
    );
    let mut sink = burnrate_ingest::Collected::default();
    let err =
        burnrate_ingest::ingest_path(&path, &Default::default(), &mut sink).expect_err("not a CUR");
    assert!(
        err.to_string()
            .contains("not a known billing or metrics format"),
        "{err}"
    );
}
