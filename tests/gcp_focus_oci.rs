//! Real files and cases for the GCP billing export, FOCUS and OCI cost reports. Expected
//! values come from the cases' `expected.json`, from hand-worked numbers on the input rows,
//! or from plain sums over the raw files with the bare `csv` crate (`tests/common`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burnrate_ingest::{IngestError, Options, ingest_path};
use burnrate_schemas::{
    ChargeCategory, ChargeFrequency, ChargeKind, CostRecord, PricingModel, Provider, ResourceKind,
};
use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;

fn tol() -> Decimal {
    dec("0.000001")
}

/// Billed cost per (UTC day, currency) from records, with the product's pro-rata split.
fn product_daily(records: &[CostRecord]) -> BTreeMap<(NaiveDate, String), Decimal> {
    daily_by(records, |r| r.billing_currency.clone())
        .into_iter()
        .map(|(k, (b, _))| (k, b))
        .collect()
}

/// Sums `amount` per (day, currency) where each raw row lies within one UTC day, the day
/// being the first ten characters of its start time. Asserts that assumption per row.
fn raw_daily(
    rows: &[BTreeMap<String, String>],
    start: &str,
    end: &str,
    currency: impl Fn(&BTreeMap<String, String>) -> String,
    amount: impl Fn(&BTreeMap<String, String>) -> Decimal,
) -> BTreeMap<(NaiveDate, String), Decimal> {
    let mut out: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    for r in rows {
        let s = &r[start];
        let e = &r[end];
        let day = date(&s[..10]);
        let end_day = date(&e[..10]);
        let end_is_midnight = e[11..].starts_with("00:00");
        assert!(
            end_day == day || (end_day == day.succ_opt().expect("day") && end_is_midnight),
            "row spans several days: {s} .. {e}"
        );
        *out.entry((day, currency(r))).or_default() += amount(r);
    }
    out
}

/// A raw money cell as a person reads it: the spec's SaaS examples write `"$10,000.00 "`.
fn raw_dec(cell: &str) -> Decimal {
    let cleaned: String = cell
        .chars()
        .filter(|c| !matches!(c, '$' | ',' | ' '))
        .collect();
    let cell = cleaned.as_str();
    if cell.is_empty() || cell == "NULL" || cell == "null" {
        return Decimal::ZERO;
    }
    Decimal::from_str_exact(cell)
        .or_else(|_| Decimal::from_scientific(cell))
        .unwrap_or_else(|e| panic!("{cell:?}: {e}"))
}

fn assert_daily_eq(
    got: &BTreeMap<(NaiveDate, String), Decimal>,
    want: &BTreeMap<(NaiveDate, String), Decimal>,
    what: &str,
) {
    let got_keys: Vec<_> = got.keys().collect();
    let want_keys: Vec<_> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: days");
    for (k, w) in want {
        assert_close(got[k], *w, tol(), &format!("{what} {k:?}"));
    }
}

fn csv_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(csv_files_under(&p));
        } else if p.extension().is_some_and(|x| x == "csv") {
            out.push(p);
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------- FOCUS

#[test]
fn b19_numeric_formats() {
    let exp = expected("B19");
    let e = &exp["expected"];
    let path = case_dir("B19").join("input/focus-numeric-2024-03-05.csv");
    let (out, report) = read_clean(&path);
    let recs = &out.costs;
    assert_eq!(
        recs.len() as u64,
        e["row_count"].as_u64().expect("row_count")
    );
    assert_eq!(report.rows_read, 14);

    let totals_e = &e["totals"];
    let (billed, effective) = totals(recs);
    assert!(
        recs.iter()
            .all(|r| r.billing_currency == totals_e["currency"].as_str().expect("cur"))
    );
    assert_close(billed, jdec(totals_e, "billed_cost"), tol(), "billed");
    assert_close(
        effective,
        jdec(totals_e, "effective_cost"),
        tol(),
        "effective",
    );
    // Exact, not just within tolerance: nothing went through a float.
    assert_eq!(billed, jdec(totals_e, "billed_cost"));

    for s in e["by_service"].as_array().expect("by_service") {
        let name = s["service"].as_str().expect("service");
        let of: Vec<&CostRecord> = recs.iter().filter(|r| r.service_name == name).collect();
        assert!(!of.is_empty(), "{name}");
        let b: Decimal = of.iter().map(|r| r.billed_cost).sum();
        assert_close(b, jdec(s, "billed_cost"), tol(), name);
        if let Some(q) = s.get("usage_quantity_requests") {
            let want = dec(q.as_str().expect("q"));
            let got: Decimal = of
                .iter()
                .filter(|r| r.consumed_unit.as_deref() == Some("Requests"))
                .filter_map(|r| r.consumed_quantity)
                .sum();
            assert_eq!(got, want, "{name} requests");
        }
        if s.get("category").and_then(|c| c.as_str()) == Some("purchase") {
            assert!(of.iter().all(|r| r.charge_kind == ChargeKind::Purchase
                && r.charge_category == ChargeCategory::Purchase
                && r.charge_frequency == Some(ChargeFrequency::OneTime)));
        }
    }
    let max_q = recs
        .iter()
        .filter_map(|r| r.consumed_quantity)
        .max()
        .expect("quantities");
    assert_eq!(
        max_q,
        dec(e["max_consumed_quantity"].as_str().expect("max"))
    );
    assert_eq!(max_q.to_string(), "18446744073709551616");

    // '-0' and '0E-10' print as 0.
    let transfer_in = recs
        .iter()
        .find(|r| r.charge_description.as_deref() == Some("Data transfer in"))
        .expect("data transfer in row");
    assert_eq!(transfer_in.billed_cost.to_string(), "0");
    assert_eq!(transfer_in.effective_cost.to_string(), "0");
    assert_eq!(
        transfer_in
            .consumed_quantity
            .map(|q| q.to_string())
            .as_deref(),
        Some("0")
    );
    assert!(e["errors"].as_array().expect("errors").is_empty());
    // Empty ResourceId stays "no resource".
    assert_eq!(transfer_in.resource_id, None);
}

#[test]
fn b17_focus_endpoint_costs() {
    let path = case_dir("B17").join("input/focus-endpoint-costs-2024-03-05.csv");
    let (out, _) = read_clean(&path);
    assert_eq!(out.costs.len(), 3);
    let daily = daily_by(&out.costs, |r| r.resource_id.clone().expect("resource"));
    let day = date("2024-03-05");
    let base = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/";
    // The case's daily cost of each endpoint (its savings are these amounts).
    for (ep, want) in [
        ("ep-gpu-busy", "98.40"),
        ("ep-cpu-idle", "4.80"),
        ("ep-gpu-idle", "98.40"),
    ] {
        let (b, e) = daily[&(day, format!("{base}{ep}"))];
        assert_eq!(b, dec(want), "{ep}");
        assert_eq!(e, dec(want), "{ep}");
    }
    assert_eq!(daily.len(), 3, "one day per endpoint, nothing elsewhere");
    for r in &out.costs {
        assert_eq!(r.provider, Provider::Aws);
        assert!(r.is_ai);
        assert_eq!(r.resource_kind, ResourceKind::Endpoint);
    }
    let busy = out
        .costs
        .iter()
        .find(|r| r.resource_name.as_deref() == Some("ep-gpu-busy"))
        .expect("busy");
    assert_eq!(busy.instance_type.as_deref(), Some("ml.g6.2xlarge"));
}

#[test]
fn focus_sample_totals_per_currency_and_day() {
    let path = data("focus/sample-data/FOCUS-Sample-Data__FOCUS-1.0__focus_sample.csv");
    let (out, report) = read_clean(&path);
    let rows = csv_rows(&path);
    assert_eq!(rows.len(), 1000);
    assert_eq!(out.costs.len(), rows.len());
    assert_eq!(report.format, "FOCUS");

    let want_billed = raw_daily(
        &rows,
        "ChargePeriodStart",
        "ChargePeriodEnd",
        |r| r["BillingCurrency"].clone(),
        |r| raw_dec(&r["BilledCost"]),
    );
    let want_effective = raw_daily(
        &rows,
        "ChargePeriodStart",
        "ChargePeriodEnd",
        |r| r["BillingCurrency"].clone(),
        |r| raw_dec(&r["EffectiveCost"]),
    );
    assert_daily_eq(&product_daily(&out.costs), &want_billed, "billed per day");
    let got_eff: BTreeMap<_, _> = daily_by(&out.costs, |r| r.billing_currency.clone())
        .into_iter()
        .map(|(k, (_, e))| (k, e))
        .collect();
    assert_daily_eq(&got_eff, &want_effective, "effective per day");
    let (b, e) = totals(&out.costs);
    assert_eq!(b, csv_column_sum(&path, "BilledCost"));
    assert_eq!(e, csv_column_sum(&path, "EffectiveCost"));
    let list: Decimal = out.costs.iter().filter_map(|r| r.list_cost).sum();
    assert_eq!(list, csv_column_sum(&path, "ListCost"));

    // Counts from PROVENANCE.md (worked out when the sample was catalogued).
    let count = |p: Provider| out.costs.iter().filter(|r| r.provider == p).count();
    assert_eq!(
        (
            count(Provider::Aws),
            count(Provider::Azure),
            count(Provider::Oci)
        ),
        (942, 51, 7)
    );
    let cat = |c: ChargeCategory| out.costs.iter().filter(|r| r.charge_category == c).count();
    assert_eq!(
        (
            cat(ChargeCategory::Usage),
            cat(ChargeCategory::Adjustment),
            cat(ChargeCategory::Credit)
        ),
        (997, 2, 1)
    );
    let credit = out
        .costs
        .iter()
        .find(|r| r.charge_category == ChargeCategory::Credit)
        .expect("credit");
    assert_eq!(credit.charge_kind, ChargeKind::Credit);
    assert_eq!(
        (credit.billed_cost, credit.effective_cost),
        (dec("-2.6137"), dec("-3"))
    );
    let sp: Vec<_> = out
        .costs
        .iter()
        .filter(|r| r.pricing_model == Some(PricingModel::SavingsPlan))
        .collect();
    assert_eq!(sp.len(), 4);
    // "Usage-based" and "Usage-Based" are one frequency: 999 usage-based rows, 1 one-time.
    let ub = out
        .costs
        .iter()
        .filter(|r| r.charge_frequency == Some(ChargeFrequency::UsageBased))
        .count();
    assert_eq!(ub, 999);
    let ai = out.costs.iter().filter(|r| r.is_ai).count();
    assert!(
        ai >= 9,
        "the 9 'AI and Machine Learning' rows are AI, got {ai}"
    );
    // NULL ResourceId stays None; no record carries the literal.
    assert!(
        out.costs
            .iter()
            .all(|r| r.resource_id.as_deref() != Some("NULL"))
    );
    let tagged = out.costs.iter().filter(|r| !r.tags.is_empty()).count();
    let raw_tagged = rows
        .iter()
        .filter(|r| r["Tags"] != "NULL" && r["Tags"] != "{}")
        .count();
    assert_eq!(tagged, raw_tagged);
}

/// The only invalid values in the spec examples: hour 30 in a `ChargePeriodEnd`
/// (`2023-02-01T30:00:00Z`, the last row of purchase scenarios 2 and 3, a typo upstream,
/// checked with grep). Those rows are rejected with the column named; nothing else may be.
const KNOWN_BAD: &[(&str, u64, &str)] = &[
    (
        "commitment_discount_purchase_scenario_2.csv",
        3,
        "ChargePeriodEnd",
    ),
    (
        "commitment_discount_purchase_scenario_3.csv",
        4,
        "ChargePeriodEnd",
    ),
];

#[test]
fn every_focus_spec_example_parses() {
    let files = csv_files_under(&data("focus/spec-examples"));
    assert!(files.len() >= 29, "{} files", files.len());
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        let (out, report) = read(&path);
        let known: Vec<_> = KNOWN_BAD.iter().filter(|k| k.0 == name).collect();
        assert_eq!(
            report.rejected_count as usize,
            known.len(),
            "{name}: {:#?}",
            report.rejected
        );
        for (k, e) in known.iter().zip(&report.rejected) {
            assert_eq!((e.row, e.column.as_deref()), (k.1, Some(k.2)), "{name}");
            assert!(e.reason.contains("T30:00:00Z"), "{}", e.reason);
        }
        // Data rows in file order, numbered as the driver numbers them (blank lines count).
        let rows: Vec<(u64, BTreeMap<String, String>)> = csv_rows(&path)
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r))
            .filter(|(_, r)| r.values().any(|v| !v.trim().is_empty()))
            .collect();
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|(n, _)| !known.iter().any(|k| k.1 == *n))
            .map(|(_, r)| r)
            .collect();
        assert_eq!(out.costs.len(), rows.len(), "{name}");
        // Per currency: the plain sum of BilledCost/EffectiveCost over the raw rows.
        let mut want: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for r in &rows {
            let cur = r
                .get("BillingCurrency")
                .cloned()
                .unwrap_or_else(|| "XXX".into());
            let w = want.entry(cur).or_default();
            w.0 += raw_dec(&r["BilledCost"]);
            w.1 += raw_dec(&r["EffectiveCost"]);
        }
        let mut got: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        for r in &out.costs {
            let g = got.entry(r.billing_currency.clone()).or_default();
            g.0 += r.billed_cost;
            g.1 += r.effective_cost;
        }
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn focus_saas_short_dates_are_this_century() {
    let path = data("focus/spec-examples/v1.2/saas_examples/virtual_currency_pricing_model_c.csv");
    let (out, _) = read_clean(&path);
    let r = &out.costs[0];
    assert_eq!(
        r.billing_period_start.to_rfc3339(),
        "2025-10-01T00:00:00+00:00"
    );
    assert_eq!(
        r.billing_period_end.to_rfc3339(),
        "2025-11-01T00:00:00+00:00"
    );
    assert_eq!(
        r.charge_period_start.to_rfc3339(),
        "2025-04-01T00:00:00+00:00"
    );
}

#[test]
fn focus_ai_working_draft_tokens_and_models() {
    // Hand-read from the three draft files: (BilledCost, ConsumedQuantity, ModelId).
    let cases: [(&str, &[(&str, &str, &str)]); 3] = [
        (
            "ai_model_billing__per_token_ai_model_api.csv",
            &[
                ("42.00", "8400000", "solora-saturn-4.8"),
                ("52.50", "2100000", "solora-saturn-4.8"),
            ],
        ),
        (
            "ai_model_billing__multi_model_usage.csv",
            &[
                ("50.00", "10000000", "solora-atlas-5.5"),
                ("50.00", "2000000", "solora-atlas-5.5"),
                ("2.25", "3000000", "solora-atlas-5.4-mini"),
                ("2.25", "500000", "solora-atlas-5.4-mini"),
            ],
        ),
        (
            "ai_prompt_caching__ai_prompt_caching_a.csv",
            &[
                ("1.5", "500000", "solora-reasoning-pro"),
                ("7.5", "2000000", "solora-reasoning-pro"),
                ("2.4", "8000000", "solora-reasoning-pro"),
                ("22.5", "1500000", "solora-reasoning-pro"),
            ],
        ),
    ];
    for (file, want) in cases {
        let (out, _) = read_clean(&data(&format!(
            "focus/spec-examples/working-draft-ai/{file}"
        )));
        assert_eq!(out.costs.len(), want.len(), "{file}");
        for (r, (billed, tokens, model)) in out.costs.iter().zip(want) {
            assert_eq!(r.billed_cost, dec(billed), "{file}");
            assert_eq!(r.tokens, Some(dec(tokens)), "{file}");
            assert_eq!(r.model.as_deref(), Some(*model), "{file}");
            assert_eq!(r.resource_kind, ResourceKind::ModelApi);
            assert!(r.is_ai);
            assert_eq!(r.provider_name, "Solora AI");
            assert_eq!(r.provider, Provider::Other);
            assert_eq!(r.service_name, "Solora Generative AI API");
        }
    }
}

#[test]
fn focus_mapping_files_are_not_billing_exports() {
    for path in csv_files_under(&data("focus/focus_converters/mappings")) {
        let mut sink = burnrate_ingest::Collected::default();
        match ingest_path(&path, &Options::default(), &mut sink) {
            Err(IngestError::UnknownFormat { detail, .. }) => {
                assert!(
                    detail.starts_with("CSV header starts"),
                    "{}: {detail}",
                    path.display()
                );
            }
            other => panic!("{}: expected UnknownFormat, got {other:?}", path.display()),
        }
    }
}
