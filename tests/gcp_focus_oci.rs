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
    type Rows = &'static [(&'static str, &'static str, &'static str)];
    let cases: [(&str, Rows); 3] = [
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

// ---------------------------------------------------------------- GCP

fn is_credit(r: &CostRecord) -> bool {
    r.charge_category == ChargeCategory::Credit
}

fn b09_records() -> Vec<CostRecord> {
    let path =
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "GCP billing export (JSON lines)");
    assert_eq!(report.rows_read, 5);
    out.costs
}

#[test]
fn b09_credits_are_their_own_records() {
    let exp = expected("B09");
    let e = &exp["expected"];
    let recs = b09_records();
    // 5 rows + 4 credits, each row once.
    assert_eq!(recs.len(), 9);
    assert_eq!(recs.iter().filter(|r| !is_credit(r)).count(), 5);

    let t = &e["totals"];
    assert!(
        recs.iter()
            .all(|r| r.billing_currency == t["currency"].as_str().expect("currency"))
    );
    let gross: Decimal = recs
        .iter()
        .filter(|r| !is_credit(r))
        .map(|r| r.billed_cost)
        .sum();
    let credits: Decimal = recs
        .iter()
        .filter(|r| is_credit(r))
        .map(|r| r.billed_cost)
        .sum();
    let (net, net_effective) = totals(&recs);
    assert_close(gross, jdec(t, "gross_cost"), tol(), "gross");
    assert_close(credits, jdec(t, "credits_total"), tol(), "credits");
    assert_close(net, jdec(t, "net_cost"), tol(), "net");
    assert_eq!(net, net_effective, "GCP: billed and effective views agree");

    let mut by_type: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in recs.iter().filter(|r| is_credit(r)) {
        let d = r.charge_description.as_deref().expect("credit description");
        let (kind, _name) = d.split_once(": ").expect("<type>: <name>");
        *by_type.entry(kind.to_string()).or_default() += r.billed_cost;
    }
    let want = e["credits_by_type"].as_object().expect("credits_by_type");
    assert_eq!(by_type.len(), want.len());
    for (k, v) in want {
        assert_close(by_type[k], dec(v.as_str().expect("amount")), tol(), k);
    }
    let kind_of = |t: &str| {
        recs.iter()
            .find(|r| {
                r.charge_description
                    .as_deref()
                    .is_some_and(|d| d.starts_with(t))
            })
            .map(|r| r.charge_kind)
            .expect(t)
    };
    assert_eq!(kind_of("SUSTAINED_USAGE_DISCOUNT"), ChargeKind::Discount);
    assert_eq!(kind_of("COMMITTED_USAGE_DISCOUNT"), ChargeKind::Discount);
    assert_eq!(kind_of("PROMOTION"), ChargeKind::Credit);
    assert_eq!(kind_of("FREE_TIER"), ChargeKind::Credit);

    let daily = daily_by(&recs, |r| (r.service_name.clone(), is_credit(r)));
    for d in e["daily"].as_array().expect("daily") {
        let day = date(d["date"].as_str().expect("date"));
        let service = d["service"].as_str().expect("service").to_string();
        assert_eq!(d["provider"], "gcp");
        let gross = daily
            .get(&(day, (service.clone(), false)))
            .map_or(Decimal::ZERO, |v| v.0);
        let credits = daily
            .get(&(day, (service.clone(), true)))
            .map_or(Decimal::ZERO, |v| v.0);
        assert_close(
            gross,
            jdec(d, "gross_cost"),
            tol(),
            &format!("{service} gross"),
        );
        assert_close(
            credits,
            jdec(d, "credits"),
            tol(),
            &format!("{service} credits"),
        );
        assert_close(
            gross + credits,
            jdec(d, "net_cost"),
            tol(),
            &format!("{service} net"),
        );
    }
    assert!(recs.iter().all(|r| r.provider == Provider::Gcp));

    for l in e["by_label"].as_array().expect("by_label") {
        let key = l["key"].as_str().expect("key");
        let value = l["value"].as_str();
        let net: Decimal = recs
            .iter()
            .filter(|r| r.tags.get(key).map(String::as_str) == value)
            .map(|r| r.billed_cost)
            .sum();
        assert_close(net, jdec(l, "net_cost"), tol(), &format!("{key}={value:?}"));
    }

    for item in e["items"].as_array().expect("items") {
        let sku = item["sku"].as_str().expect("sku");
        let day = date(item["date"].as_str().expect("date"));
        let of: Vec<&CostRecord> = recs
            .iter()
            .filter(|r| r.sku_description.as_deref() == Some(sku))
            .collect();
        let row = of.iter().find(|r| !is_credit(r)).expect("row");
        assert_eq!(row.charge_period_start.date_naive(), day);
        assert_eq!(
            row.charge_kind.code(),
            item["category"].as_str().expect("category"),
            "{sku}"
        );
        let pm = serde_json::to_value(row.pricing_model).expect("json");
        assert_eq!(pm, item["pricing_model"], "{sku}");
        if let Some(b) = item.get("billed_cost") {
            assert_close(row.billed_cost, dec(b.as_str().expect("b")), tol(), sku);
        }
        if item.get("gross_cost").is_some() {
            let credits: Decimal = of
                .iter()
                .filter(|r| is_credit(r))
                .map(|r| r.billed_cost)
                .sum();
            assert_close(row.billed_cost, jdec(item, "gross_cost"), tol(), sku);
            assert_close(credits, jdec(item, "credits"), tol(), sku);
            assert_close(
                row.billed_cost + credits,
                jdec(item, "net_cost"),
                tol(),
                sku,
            );
        }
    }
    let fee = recs
        .iter()
        .find(|r| r.charge_kind == ChargeKind::Purchase)
        .expect("fee");
    assert_eq!(fee.charge_frequency, Some(ChargeFrequency::Recurring));
    assert_eq!(fee.charge_category, ChargeCategory::Purchase);
}

#[test]
fn b09_fields_map_as_documented() {
    let recs = b09_records();
    let first = &recs[0];
    assert_eq!(first.billing_account_id, "012345-6789AB-CDEF01");
    assert_eq!(first.sub_account_id.as_deref(), Some("b0x-example-project"));
    assert_eq!(first.service_code, "6F81-5844-456A");
    assert_eq!(first.service_name, "Compute Engine");
    assert_eq!(first.region_id.as_deref(), Some("us-central1"));
    assert_eq!(first.resource_id, None, "standard export: no resource");
    assert_eq!(
        first.billing_period_start.to_rfc3339(),
        "2024-03-01T00:00:00+00:00"
    );
    assert_eq!(
        first.billing_period_end.to_rfc3339(),
        "2024-04-01T00:00:00+00:00"
    );
    assert_eq!(first.consumed_quantity, Some(dec("115200")));
    assert_eq!(first.pricing_quantity, Some(dec("32")));
    // Row 1 and its two credits point at line 1; BigQuery's row is at line 5.
    assert_eq!(recs.iter().filter(|r| r.row_ref.row == 1).count(), 3);
    let bq = recs
        .iter()
        .find(|r| r.service_name == "BigQuery" && !is_credit(r))
        .expect("bq");
    assert_eq!((bq.row_ref.row, bq.region_id.as_deref()), (5, Some("US")));
}

fn temp_file(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("burnrate-gcp-focus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    p
}

#[test]
fn gcp_jsonl_bad_lines_are_rejected_with_their_field_path() {
    let good = std::fs::read_to_string(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
    )
    .expect("b09");
    let first = good.lines().next().expect("line");
    let bad_credit = first.replace("\"amount\":-2.0", "\"amount\":\"lots\"");
    assert_ne!(bad_credit, first);
    let bad_month = first.replace("\"month\":\"202403\"", "\"month\":\"March\"");
    let body = format!("{first}\n{bad_credit}\n\n{{not json\n{bad_month}\n{first}\n");
    let (out, report) = read(&temp_file("bad-lines.jsonl", &body));
    assert_eq!(report.rows_read, 6);
    assert_eq!(report.skipped.get("blank line"), Some(&1));
    assert_eq!(report.rejected_count, 3);
    let cols: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(
        cols,
        [
            (2, Some("credits[0].amount")),
            (4, None),
            (5, Some("invoice.month"))
        ]
    );
    // Two good copies of row 1: 3 records each (the row and its two credits).
    assert_eq!(out.costs.len(), 6);
    assert_eq!(totals(&out.costs).0, dec("14"));
}

/// A JSON lines export cut short in its last line (a partial download) fails whole,
/// naming the line, rather than reading the lines before it as the whole file; a last
/// line that is whole JSON without its line end is read.
#[test]
fn gcp_jsonl_cut_mid_line_fails_whole() {
    let good = std::fs::read_to_string(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
    )
    .expect("b09");
    let lines = good.lines().count();
    let last = good.trim_end().lines().last().expect("a line").len();
    let cut = &good[..good.trim_end().len() - last / 2];
    let mut out = burnrate_ingest::Collected::default();
    let err = ingest_path(&temp_file("cut.jsonl", cut), &Options::default(), &mut out)
        .expect_err("a cut file is an error");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("breaks off at line {lines}")),
        "{msg}"
    );
    assert!(msg.contains("cut short"), "{msg}");
    let (whole, _) = read_clean(&temp_file("no-line-end.jsonl", good.trim_end()));
    assert_eq!(totals(&whole.costs), totals(&b09_records()));
}

#[test]
fn gcp_json_array_reads_like_json_lines() {
    let text = std::fs::read_to_string(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
    )
    .expect("b09");
    let body = format!("[\n{}\n]\n", text.lines().collect::<Vec<_>>().join(",\n"));
    let (out, _) = read_clean(&temp_file("array.json", &body));
    let lines = b09_records();
    assert_eq!(out.costs.len(), lines.len());
    assert_eq!(totals(&out.costs), totals(&lines));
}

/// Independent reading of Koku's repr credits: every `'amount': <number>` in the cell.
fn repr_amounts(cell: &str) -> Vec<Decimal> {
    let mut out = Vec::new();
    let mut rest = cell;
    while let Some(at) = rest.find("'amount': ") {
        rest = &rest[at + "'amount': ".len()..];
        let end = rest.find([',', '}']).expect("end of number");
        out.push(raw_dec(rest[..end].trim()));
        rest = &rest[end..];
    }
    out
}

#[test]
fn gcp_koku_csv_totals_per_currency_and_day() {
    for name in [
        "koku__202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08_2020-11-11.csv",
        "koku__2022-08-01_5.csv",
    ] {
        let path = data(&format!("gcp/rows/{name}"));
        let (out, report) = read_clean(&path);
        assert_eq!(report.format, "GCP billing export (flat CSV)");
        let rows = csv_rows(&path);
        let credit_count: usize = rows.iter().map(|r| repr_amounts(&r["credits"]).len()).sum();
        assert_eq!(out.costs.len(), rows.len() + credit_count, "{name}");
        assert_eq!(
            out.costs.iter().filter(|r| is_credit(r)).count(),
            credit_count
        );

        let want = raw_daily(
            &rows,
            "usage_start_time",
            "usage_end_time",
            |r| r["currency"].clone(),
            |r| raw_dec(&r["cost"]) + repr_amounts(&r["credits"]).into_iter().sum::<Decimal>(),
        );
        assert_daily_eq(&product_daily(&out.costs), &want, name);
        let gross: Decimal = out
            .costs
            .iter()
            .filter(|r| !is_credit(r))
            .map(|r| r.billed_cost)
            .sum();
        assert_eq!(gross, csv_column_sum(&path, "cost"), "{name}");
        for r in &out.costs {
            assert_eq!(r.billing_account_id, rows[0]["billing_account_id"]);
            assert_eq!(r.provider, Provider::Gcp);
        }
    }
}

#[test]
fn gcp_koku_csv_fields() {
    let path =
        data("gcp/rows/koku__202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08_2020-11-11.csv");
    let (out, _) = read_clean(&path);
    // Row 1 by hand: 5e-06 cost with one PROMOTION credit of -5e-06.
    let row1: Vec<&CostRecord> = out.costs.iter().filter(|r| r.row_ref.row == 1).collect();
    assert_eq!(row1.len(), 2);
    assert_eq!(row1[0].billed_cost, dec("0.000005"));
    assert_eq!(row1[1].billed_cost, dec("-0.000005"));
    assert_eq!(row1[1].charge_kind, ChargeKind::Credit);
    assert_eq!(
        row1[1].charge_description.as_deref(),
        Some("PROMOTION: FreeTrial:Credit-000000-B0BBA4-940A77")
    );
    assert_eq!(row1[0].service_name, "Security Command Center");
    assert_eq!(row1[0].region_id.as_deref(), Some("global"));
    assert_eq!(
        row1[0].pricing_quantity,
        Some(dec("0.000023198314011096954"))
    );
    // Row 4 carries a label (`goog-resource-type`) as a tag.
    let row4 = out
        .costs
        .iter()
        .find(|r| r.row_ref.row == 4)
        .expect("row 4");
    assert_eq!(
        row4.tags.get("goog-resource-type").map(String::as_str),
        Some("bigquery_resource")
    );

    let detailed = data("gcp/rows/koku__2022-08-01_5.csv");
    let (out, _) = read_clean(&detailed);
    assert!(
        out.costs
            .iter()
            .all(|r| r.resource_id.as_deref() == Some("instance-1"))
    );
    assert!(
        out.costs
            .iter()
            .all(|r| r.cost_category == burnrate_schemas::CostCategory::Network)
    );
    assert_eq!(
        out.costs[0].billing_period_start.to_rfc3339(),
        "2022-08-01T00:00:00+00:00"
    );
}

// ---------------------------------------------------------------- OCI

#[test]
fn oci_cost_report_totals_per_currency_and_day() {
    let path = data(
        "focus/focus_converters/oci/focus_converters__oci__reports_cost-csv_0000000030000269.csv",
    );
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "OCI cost report");
    let rows = csv_rows(&path);
    assert_eq!(rows.len(), 506);
    assert_eq!(out.costs.len(), rows.len());
    let want = raw_daily(
        &rows,
        "lineItem/intervalUsageStart",
        "lineItem/intervalUsageEnd",
        |r| r["cost/currencyCode"].clone(),
        |r| raw_dec(&r["cost/myCost"]) + raw_dec(&r["cost/myCostOverage"]),
    );
    assert_daily_eq(&product_daily(&out.costs), &want, "OCI per day");
    assert_eq!(totals(&out.costs).0, csv_column_sum(&path, "cost/myCost"));
    // Per service, against the raw rows (PROVENANCE lists the eight services).
    let mut want_services: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &rows {
        *want_services
            .entry(r["product/service"].clone())
            .or_default() += raw_dec(&r["cost/myCost"]);
    }
    let mut got_services: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &out.costs {
        *got_services.entry(r.service_name.clone()).or_default() += r.billed_cost;
    }
    assert_eq!(got_services, want_services);
    assert_eq!(got_services.len(), 8);
    // Tags: one per non-empty tags/ cell.
    let raw_tags: usize = rows
        .iter()
        .map(|r| {
            r.iter()
                .filter(|(k, v)| k.starts_with("tags/") && !v.is_empty())
                .count()
        })
        .sum();
    let got_tags: usize = out.costs.iter().map(|r| r.tags.len()).sum();
    assert_eq!(got_tags, raw_tags);
    let first = &out.costs[0];
    assert_eq!(first.provider, Provider::Oci);
    assert_eq!(
        first.tags.get("Oracle-Tags.CreatedBy").map(String::as_str),
        Some("default/phil.newman@oracle.com")
    );
    assert_eq!(first.billed_cost, dec("0.012264277499950943"));
    assert!(
        out.costs.iter().all(|r| r.charge_class.is_none()),
        "no correction rows in this file"
    );
}

// ---------------------------------------------------------------- Parquet

/// Writes a FOCUS CSV as Parquet the way an exporter would type it: costs as DOUBLE, the
/// charge period as TIMESTAMP(UTC), everything else as strings (empty = null).
fn write_focus_parquet(csv_path: &Path, out: &Path) {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    let mut rdr = csv::Reader::from_path(csv_path).expect("csv");
    let names: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let records: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let cells = records.iter().map(|r| r.get(i).filter(|c| !c.is_empty()));
        if name.ends_with("Cost") {
            let v: Float64Array = cells
                .map(|c| c.map(|c| c.parse::<f64>().expect("f64")))
                .collect();
            fields.push(Field::new(name, DataType::Float64, true));
            columns.push(Arc::new(v));
        } else if name.starts_with("ChargePeriod") {
            let v: TimestampMicrosecondArray = cells
                .map(|c| {
                    c.map(|c| {
                        chrono::DateTime::parse_from_rfc3339(c)
                            .expect("time")
                            .timestamp_micros()
                    })
                })
                .collect();
            let v = v.with_timezone("UTC");
            fields.push(Field::new(
                name,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ));
            columns.push(Arc::new(v));
        } else {
            let v: StringArray = cells.collect();
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(Arc::new(v));
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
    let file = std::fs::File::create(out).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

#[test]
fn focus_parquet_reads_like_its_csv() {
    let csv_path = case_dir("B17").join("input/focus-endpoint-costs-2024-03-05.csv");
    let dir = std::env::temp_dir().join(format!("burnrate-gcp-focus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let pq = dir.join("focus-endpoint-costs.parquet");
    write_focus_parquet(&csv_path, &pq);

    let (from_csv, _) = read_clean(&csv_path);
    let (from_pq, report) = read_clean(&pq);
    assert_eq!(report.format, "FOCUS, Parquet");
    assert_eq!(from_pq.costs.len(), 3);
    let strip = |mut r: CostRecord| {
        r.source = String::new();
        r.row_ref.file = String::new();
        r
    };
    let a: Vec<CostRecord> = from_csv.costs.into_iter().map(strip).collect();
    let b: Vec<CostRecord> = from_pq.costs.into_iter().map(strip).collect();
    assert_eq!(a, b);
}

/// A billing currency written in lower case or with spaces (`usd`, ` eur `) is the ISO code
/// (`USD`, `EUR`), as `--currency` takes it: one currency is not summed apart under two
/// spellings. B17's FOCUS rows all bill in USD.
#[test]
fn currency_codes_are_upper_case() {
    let src = case_dir("B17").join("input/focus-endpoint-costs-2024-03-05.csv");
    let text = std::fs::read_to_string(&src).expect("read");
    assert_eq!(text.matches(",USD,").count(), 3);
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, spelled, want) in [
        ("lower.csv", ",usd,", "USD"),
        ("spaced.csv", ", Usd ,", "USD"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace(",USD,", spelled)).expect("write");
        let (out, _) = read_clean(&path);
        let currencies: Vec<&str> = out
            .costs
            .iter()
            .map(|r| r.billing_currency.as_str())
            .collect();
        assert_eq!(currencies, [want; 3], "{name}");
    }
}

/// A FOCUS file with no `BillingCurrency` column (the spec's commitment examples) takes
/// the `--currency` given, as the README says of files with no currency column; without
/// it, its amounts stay apart under ISO 4217's "no currency" code XXX. The stored totals
/// are the file's plain `BilledCost` and `EffectiveCost` sums.
#[test]
fn currency_flag_applies_to_a_focus_file_without_a_currency_column() {
    let file = data(
        "focus/spec-examples/v1.2/commitment_discount_scenarios/commitment_discount_usage_scenario_4.csv",
    );
    let rows = csv_rows(&file);
    assert!(!rows[0].contains_key("BillingCurrency"));
    let sum = |col: &str| -> Decimal { rows.iter().map(|r| dec(&r[col])).sum() };
    for (flag, currency) in [(Some("EUR"), "EUR"), (None, "XXX")] {
        let work = tempfile::tempdir().expect("tempdir");
        let store = work.path().join("store");
        let mut args = vec!["ingest"];
        if let Some(c) = flag {
            args.extend(["--currency", c]);
        }
        let path = file.to_str().expect("path");
        args.push(path);
        burnrate_ok(&store, &args);
        for (cost_type, col) in [("billed", "BilledCost"), ("effective", "EffectiveCost")] {
            let out = burnrate_ok(
                &store,
                &[
                    "summary",
                    "--scope",
                    "all",
                    "--from",
                    "2023-01-01",
                    "--to",
                    "2023-12-31",
                    "--cost-type",
                    cost_type,
                ],
            );
            let v: serde_json::Value = serde_json::from_str(&out).expect("json");
            assert_eq!(v["currency"], currency, "{flag:?} {v}");
            assert_eq!(
                dec(v["total_cost"].as_str().expect("one currency")),
                sum(col),
                "{flag:?} {cost_type}"
            );
        }
    }
}
