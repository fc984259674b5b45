//! Azure cost exports: every file under `shared/data/azure`, and case B05.
//!
//! Totals are checked against plain sums over the raw CSV (the bare `csv` crate, the
//! cost column summed with `Decimal::from_str`, dates split by hand), never against the
//! program's own output.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use burnrate_ingest::{Collected, IngestError, Options, ingest_path};
use burnrate_schemas::{
    ChargeKind, CommitmentStatus, CostCategory, CostRecord, PricingModel, ResourceKind,
};
use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use rust_decimal::Decimal;

type Row = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum View {
    Actual,
    Amortized,
}

/// How to read one real file independently: its cost, date and currency columns as
/// written in its header, and the view it holds.
struct Spec {
    rel: &'static str,
    cost: &'static str,
    date: &'static str,
    currency: &'static str,
    view: View,
}

#[rustfmt::skip]
const EXPORTS: &[Spec] = &[
    Spec { rel: "azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv", cost: "Cost", date: "Date", currency: "BillingCurrency", view: View::Actual },
    Spec { rel: "azure/ea-actual/focus_converters__sample-anonymous-ea-export-dataset.csv", cost: "CostInBillingCurrency", date: "Date", currency: "BillingCurrencyCode", view: View::Actual },
    Spec { rel: "azure/ea-actual/koku__azure_version_2.csv", cost: "CostInBillingCurrency", date: "Date", currency: "BillingCurrencyCode", view: View::Actual },
    Spec { rel: "azure/ea-amortized/finops-toolkit__EA_AmortizedCost_Small.csv", cost: "Cost", date: "Date", currency: "BillingCurrency", view: View::Amortized },
    Spec { rel: "azure/mca/koku__camel_azure_version_2.csv", cost: "costInBillingCurrency", date: "date", currency: "billingCurrency", view: View::Actual },
    Spec { rel: "azure/legacy-payg/koku__costreport_a243c6f2-199f-4074-9a2c-40e671cf1584.csv", cost: "PreTaxCost", date: "UsageDateTime", currency: "Currency", view: View::Actual },
    Spec { rel: "azure/legacy-payg/koku__azure_camelCased.csv", cost: "preTaxCost", date: "usageDateTime", currency: "currency", view: View::Actual },
    Spec { rel: "azure/header-variants/opencost__headerset_Enterprise.csv", cost: "CostInBillingCurrency", date: "Date", currency: "BillingCurrencyCode", view: View::Actual },
    Spec { rel: "azure/header-variants/opencost__headerset_EnterpriseCamel.csv", cost: "costInBillingCurrency", date: "date", currency: "billingCurrency", view: View::Actual },
    Spec { rel: "azure/header-variants/opencost__headerset_PayAsYouGo.csv", cost: "PreTaxCost", date: "UsageDateTime", currency: "Currency", view: View::Actual },
    Spec { rel: "azure/header-variants/opencost__headerset_German.csv", cost: "PreTaxCost (PreTaxCost)", date: "UsageDateTime (UsageDateTime)", currency: "Currency", view: View::Actual },
    Spec { rel: "azure/header-variants/opencost__headerset_YA.csv", cost: "costInBillingCurrency", date: "date", currency: "Currency", view: View::Actual },
];

/// Billing exports that yield no records, and why.
const EMPTY_EXPORTS: &[(&str, &str)] = &[
    (
        "azure/ea-actual/finops-toolkit__EA_NoRows_header_only.csv",
        "header only",
    ),
    (
        "azure/header-variants/opencost__headerset_BOM.csv",
        "its one row is empty but for UsageDateTime",
    ),
];

/// OpenCost's reduced 11-column fixtures have no currency column at all. The product
/// refuses to guess one (a CAD account read as USD would mix currencies), so these are
/// `MissingColumns` errors naming the currency.
const NO_CURRENCY: &[&str] = &[
    "azure/header-variants/opencost__values_Template.csv",
    "azure/header-variants/opencost__values_MissingBrackets.csv",
    "azure/header-variants/opencost__values_VirtualMachine.csv",
];

/// Not billing exports: a service reference list and FOCUS column metadata.
const NOT_EXPORTS: &[&str] = &[
    "azure/reference/finops-toolkit__Services.csv",
    "azure/focus-export-metadata/finops-toolkit__FocusCost_1.2-preview.json",
    "azure/focus-export-metadata/finops-toolkit__FocusCost_1.0-preview(v1).json",
    "azure/focus-export-metadata/finops-toolkit__FocusCost_1.0.json",
];

fn ts(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .expect("test time")
}

fn raw_dec(s: &str) -> Decimal {
    Decimal::from_str(s)
        .or_else(|_| Decimal::from_scientific(s))
        .unwrap_or_else(|e| panic!("raw decimal {s:?}: {e}"))
}

/// A raw date cell split by hand: `M/D/YYYY`, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
fn raw_date(s: &str) -> NaiveDate {
    let day_part = s.split(' ').next().unwrap_or(s);
    let n: Vec<u32> = day_part
        .split(['/', '-'])
        .map(|p| p.parse().unwrap_or_else(|e| panic!("raw date {s:?}: {e}")))
        .collect();
    let (y, m, d) = if day_part.contains('/') {
        (n[2], n[0], n[1])
    } else {
        (n[0], n[1], n[2])
    };
    NaiveDate::from_ymd_opt(y as i32, m, d).unwrap_or_else(|| panic!("raw date {s:?}"))
}

fn cell<'a>(row: &'a Row, col: &str) -> &'a str {
    row.get(col).map(String::as_str).unwrap_or("")
}

/// The plain per-currency and per-(day, currency) sums of a cost column.
fn raw_sums(
    rows: &[Row],
    spec: &Spec,
    keep: impl Fn(&Row) -> bool,
) -> (
    BTreeMap<String, Decimal>,
    BTreeMap<(NaiveDate, String), Decimal>,
) {
    let mut totals = BTreeMap::new();
    let mut daily: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    for row in rows {
        let cost = cell(row, spec.cost);
        if cost.is_empty() || !keep(row) {
            continue;
        }
        let cur = cell(row, spec.currency).to_string();
        *totals.entry(cur.clone()).or_insert(Decimal::ZERO) += raw_dec(cost);
        *daily
            .entry((raw_date(cell(row, spec.date)), cur))
            .or_insert(Decimal::ZERO) += raw_dec(cost);
    }
    // A day whose rows sum to zero has nothing to compare, on either side.
    daily.retain(|_, v| !v.is_zero());
    (totals, daily)
}

fn product_sums(
    records: &[CostRecord],
    pick: impl Fn(&(Decimal, Decimal)) -> Decimal,
) -> (
    BTreeMap<String, Decimal>,
    BTreeMap<(NaiveDate, String), Decimal>,
) {
    let mut totals = BTreeMap::new();
    for r in records {
        let v = pick(&(r.billed_cost, r.effective_cost));
        *totals
            .entry(r.billing_currency.clone())
            .or_insert(Decimal::ZERO) += v;
    }
    let daily = daily_by(records, |r| r.billing_currency.clone())
        .into_iter()
        .map(|(k, v)| (k, pick(&v)))
        .filter(|(_, v)| !v.is_zero())
        .collect();
    (totals, daily)
}

fn view_sums(
    records: &[CostRecord],
    view: View,
) -> (
    BTreeMap<String, Decimal>,
    BTreeMap<(NaiveDate, String), Decimal>,
) {
    match view {
        View::Actual => product_sums(records, |v| v.0),
        View::Amortized => product_sums(records, |v| v.1),
    }
}

fn read_spec(spec: &Spec) -> (Collected, Vec<Row>) {
    let path = data(spec.rel);
    let (out, report) = read_clean(&path);
    assert!(
        report.format.starts_with("Azure cost export"),
        "{}: {}",
        spec.rel,
        report.format
    );
    let rows = csv_rows(&path);
    (out, rows)
}

#[test]
fn every_azure_file_is_accounted_for() {
    let mut listed: BTreeSet<String> = EXPORTS.iter().map(|s| s.rel.to_string()).collect();
    listed.extend(EMPTY_EXPORTS.iter().map(|(p, _)| p.to_string()));
    listed.extend(NO_CURRENCY.iter().map(|p| p.to_string()));
    listed.extend(NOT_EXPORTS.iter().map(|p| p.to_string()));
    let mut found = BTreeSet::new();
    let root = data("azure");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(data(""))
                    .expect("under data")
                    .display()
                    .to_string();
                found.insert(rel);
            }
        }
    }
    assert_eq!(
        found, listed,
        "a file under shared/data/azure is not classified by this test"
    );
}

#[test]
fn real_exports_match_plain_sums_per_currency_and_day() {
    for spec in EXPORTS {
        let (out, rows) = read_spec(spec);
        assert_eq!(
            out.costs.len(),
            rows.len(),
            "{}: one record per row",
            spec.rel
        );
        let (want_totals, want_daily) = raw_sums(&rows, spec, |_| true);
        let (got_totals, got_daily) = view_sums(&out.costs, spec.view);
        assert_eq!(got_totals, want_totals, "{}: totals per currency", spec.rel);
        assert_eq!(
            got_daily, want_daily,
            "{}: totals per day and currency",
            spec.rel
        );
        let suffix = match spec.view {
            View::Actual => "#actual",
            View::Amortized => "#amortized",
        };
        // The delivery is the export run: the folder the file is in, with the view.
        let folder = std::fs::canonicalize(data(spec.rel).parent().expect("folder"))
            .expect("canonical folder")
            .display()
            .to_string();
        let source = format!("{folder}{suffix}");
        for (i, r) in out.costs.iter().enumerate() {
            assert_eq!(r.source, source, "{}", spec.rel);
            assert_eq!(r.row_ref.row, i as u64 + 1, "{}", spec.rel);
            assert_eq!(r.provider.code(), "azure");
        }
    }
}

#[test]
fn header_only_and_empty_exports_yield_no_records() {
    for (rel, why) in EMPTY_EXPORTS {
        let (out, report) = read_clean(&data(rel));
        assert!(out.costs.is_empty(), "{rel} ({why})");
        assert!(
            report.format.starts_with("Azure cost export"),
            "{rel}: {}",
            report.format
        );
        let data_rows = csv_rows(&data(rel)).len() as u64;
        assert_eq!(
            report.skipped.values().sum::<u64>(),
            data_rows,
            "{rel}: every row skipped"
        );
    }
}

#[test]
fn files_without_a_currency_are_refused_by_name() {
    for rel in NO_CURRENCY {
        match ingest_path(&data(rel), &Options::default(), &mut Collected::default()) {
            Err(IngestError::MissingColumns { missing, .. }) => {
                assert!(missing.contains("currency"), "{rel}: {missing}")
            }
            other => panic!("{rel}: expected MissingColumns, got {other:?}"),
        }
    }
}

/// With a currency configured (`burnrate ingest --currency USD`), the same files read in
/// full: every row a record in that currency, the total the plain sum of their cost column.
#[test]
fn files_without_a_currency_read_with_a_configured_one() {
    let opts = Options {
        default_currency: Some("USD".into()),
        ..Options::default()
    };
    for rel in NO_CURRENCY {
        let path = data(rel);
        let mut out = Collected::default();
        let report = ingest_path(&path, &opts, &mut out).expect("reads with a default currency");
        assert_eq!(report.rejected_count, 0, "{rel}: {:?}", report.rejected);
        assert_eq!(out.costs.len(), csv_rows(&path).len(), "{rel}");
        assert!(out.costs.iter().all(|r| r.billing_currency == "USD"));
        let billed: Decimal = out.costs.iter().map(|r| r.billed_cost).sum();
        assert_eq!(
            billed,
            csv_column_sum(&path, "costinbillingcurrency"),
            "{rel}"
        );
    }
}

#[test]
fn non_exports_are_unknown_formats() {
    for rel in NOT_EXPORTS {
        match ingest_path(&data(rel), &Options::default(), &mut Collected::default()) {
            Err(IngestError::UnknownFormat { .. }) => {}
            other => panic!("{rel}: expected UnknownFormat, got {other:?}"),
        }
    }
}

#[test]
fn actual_file_reservation_purchase_is_billed_once_and_not_effective() {
    let spec = &EXPORTS[0];
    let (out, rows) = read_spec(spec);
    // Independent: effective = all cost except commitment purchases.
    let is_commitment_purchase = |r: &Row| {
        cell(r, "ChargeType") == "Purchase"
            && ["Reservation", "SavingsPlan"].contains(&cell(r, "PricingModel"))
    };
    let (want_eff, want_eff_daily) = raw_sums(&rows, spec, |r| !is_commitment_purchase(r));
    let (got_eff, got_eff_daily) = product_sums(&out.costs, |v| v.1);
    assert_eq!(got_eff, want_eff);
    assert_eq!(got_eff_daily, want_eff_daily);

    let purchases: Vec<&CostRecord> = out
        .costs
        .iter()
        .filter(|r| r.charge_kind == ChargeKind::Purchase)
        .collect();
    assert_eq!(purchases.len(), 1);
    let p = purchases[0];
    // Read off the file: 09/21/2023, Cost 3.25, Recurring, VM_RI_06-21-2023_18-56.
    assert_eq!((p.billed_cost, p.effective_cost), (dec("3.25"), dec("0")));
    assert_eq!(p.pricing_model, Some(PricingModel::Reservation));
    assert_eq!(p.charge_period_start, ts(2023, 9, 21));
    assert_eq!(
        p.commitment_discount_id.as_deref(),
        Some(
            "/providers/Microsoft.Capacity/reservationOrders/49ed0e4d-8e0c-4f1f-af2c-67c865056615/reservations/"
        )
    );
    for r in &out.costs {
        assert_eq!(r.billing_account_id, "8611537");
        assert_eq!(r.billing_period_start, ts(2023, 9, 1));
        assert_eq!(r.billing_period_end, ts(2023, 10, 1));
    }
    // Row 2's tags are written without braces: "CostCenter": "1234","env": "prod",...
    let t = &out.costs[1].tags;
    let want: BTreeMap<String, String> = [
        ("CostCenter", "1234"),
        ("env", "prod"),
        ("org", "trey"),
        ("application", "databricks"),
        ("databricks-environment", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(t, &want);
    assert_eq!(out.costs[1].consumed_unit.as_deref(), Some("10K"));
}

#[test]
fn amortized_file_commitment_usage_is_effective_only() {
    let spec = &EXPORTS[3];
    let (out, rows) = read_spec(spec);
    // Independent: billed = all cost except commitment-covered usage.
    let covered = |r: &Row| ["Reservation", "SavingsPlan"].contains(&cell(r, "PricingModel"));
    let (want_billed, want_billed_daily) = raw_sums(&rows, spec, |r| !covered(r));
    let (got_billed, got_billed_daily) = product_sums(&out.costs, |v| v.0);
    assert_eq!(got_billed, want_billed);
    assert_eq!(got_billed_daily, want_billed_daily);

    let committed: Vec<&CostRecord> = out
        .costs
        .iter()
        .filter(|r| r.commitment_discount_status.is_some())
        .collect();
    assert_eq!(committed.len(), 2);
    let ri = committed
        .iter()
        .find(|r| r.pricing_model == Some(PricingModel::Reservation))
        .expect("reservation row");
    // Row 1: 8 hours at 0.061644 under ProdDS1VMReservation.
    assert_eq!(
        (ri.billed_cost, ri.effective_cost),
        (dec("0"), dec("0.493152"))
    );
    assert_eq!(ri.commitment_discount_status, Some(CommitmentStatus::Used));
    let sp = committed
        .iter()
        .find(|r| r.pricing_model == Some(PricingModel::SavingsPlan))
        .expect("savings plan row");
    assert_eq!(
        (sp.billed_cost, sp.effective_cost),
        (dec("0"), dec("0.006000000468"))
    );
    assert_eq!(sp.commitment_discount_type.as_deref(), Some("Savings Plan"));
    // The tiny amount keeps every digit that Decimal holds.
    assert!(
        out.costs
            .iter()
            .any(|r| r.effective_cost == dec("0.000000007292255759239199"))
    );
}

#[test]
fn azure_ml_rows_are_ai_and_the_rest_are_not() {
    let spec = &EXPORTS[3];
    let (out, rows) = read_spec(spec);
    let want: Vec<bool> = rows
        .iter()
        .map(|r| {
            cell(r, "ConsumedService").eq_ignore_ascii_case("microsoft.machinelearningservices")
        })
        .collect();
    assert_eq!(
        want.iter().filter(|b| **b).count(),
        5,
        "the sample has 5 Azure ML rows"
    );
    let got: Vec<bool> = out.costs.iter().map(|r| r.is_ai).collect();
    assert_eq!(got, want);
    for r in out.costs.iter().filter(|r| r.is_ai) {
        assert_eq!(
            r.service_category.as_deref(),
            Some("AI and Machine Learning")
        );
        // Their meters are Storage, Virtual Network IP, Bandwidth and Load Balancer.
        assert!(
            matches!(
                r.cost_category,
                CostCategory::Storage | CostCategory::Network
            ),
            "{:?} {:?}",
            r.usage_type,
            r.cost_category
        );
    }
    assert!(
        out.costs
            .iter()
            .all(|r| r.resource_kind != ResourceKind::GpuVm)
    );
}

#[test]
fn spot_rows_and_cad_in_the_anonymized_ea_export() {
    let spec = &EXPORTS[1];
    let (out, rows) = read_spec(spec);
    let spot_rows = rows
        .iter()
        .filter(|r| cell(r, "PricingModel") == "Spot")
        .count();
    assert_eq!(spot_rows, 3);
    let spot = out
        .costs
        .iter()
        .filter(|r| r.pricing_model == Some(PricingModel::Spot))
        .count();
    assert_eq!(spot, spot_rows);
    assert!(out.costs.iter().all(|r| r.billing_currency == "CAD"));
}

#[test]
fn empty_resource_ids_stay_none_and_ids_are_kept_whole() {
    for spec in EXPORTS {
        let (out, rows) = read_spec(spec);
        let id_col = [
            "ResourceId",
            "resourceId",
            "InstanceId",
            "InstanceId (InstanceId)",
            "InstanceName",
        ]
        .into_iter()
        .find(|c| rows.first().is_some_and(|r| r.contains_key(*c)));
        for (r, raw) in out.costs.iter().zip(&rows) {
            let want = id_col.map(|c| cell(raw, c)).filter(|s| !s.is_empty());
            assert_eq!(r.resource_id.as_deref(), want, "{}", spec.rel);
        }
    }
}

#[test]
fn mca_sample_without_billing_period_uses_the_usage_month() {
    let (out, _) = read_spec(&EXPORTS[4]);
    for r in &out.costs {
        assert_eq!(r.billing_account_id, "3c100a8a-215e-5a7e-24b2-61aa86945012");
        assert_eq!(r.billing_period_start, ts(2023, 8, 1));
        assert_eq!(r.billing_period_end, ts(2023, 9, 1));
    }
}

#[test]
fn german_headers_read_like_english_ones() {
    let (german, _) = read_spec(&EXPORTS[10]);
    let (english, _) = read_spec(&EXPORTS[9]);
    assert_eq!(german.costs.len(), 1);
    let (g, e) = (&german.costs[0], &english.costs[0]);
    assert_eq!(g.billed_cost, dec("0.075"));
    assert_eq!(g.pricing_unit.as_deref(), Some("100 Hours"));
    assert_eq!(
        (&g.sub_account_id, &g.resource_id, &g.service_name, &g.tags),
        (&e.sub_account_id, &e.resource_id, &e.service_name, &e.tags)
    );
}

/// Case B05: a BOM before the header and again before the first data row, CRLF ends.
#[test]
fn case_b05_double_bom_mca_export() {
    let case = expected("B05");
    let want = &case["expected"];
    let tol = jdec(&case, "tolerance");
    let path = case_dir("B05").join("input/part_0_0001.csv");
    let (out, report) = read_clean(&path);
    assert_eq!(want["errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(report.rejected_count, 0);

    // Independent values from the raw file (csv_rows strips the BOMs).
    let rows = csv_rows(&path);
    let mut raw_invoices: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut raw_daily: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    for r in &rows {
        let cost = raw_dec(cell(r, "costInBillingCurrency"));
        *raw_invoices
            .entry(cell(r, "invoiceId").to_string())
            .or_default() += cost;
        *raw_daily.entry(raw_date(cell(r, "date"))).or_default() += cost;
    }
    let raw_total: Decimal = raw_invoices.values().sum();

    // expected.json agrees with the raw file...
    assert_eq!(want["row_count"].as_u64(), Some(rows.len() as u64));
    let invoices = want["invoices"].as_array().expect("invoices");
    assert_eq!(invoices.len(), raw_invoices.len());
    for inv in invoices {
        let id = inv["invoice_id"].as_str().expect("id");
        assert_close(jdec(inv, "billed_cost"), raw_invoices[id], tol, id);
        assert_eq!(inv["currency"], "USD");
    }
    assert_close(
        jdec(&want["totals"], "billed_cost"),
        raw_total,
        tol,
        "expected total",
    );
    let want_daily = want["daily"].as_array().expect("daily");
    assert_eq!(want_daily.len(), raw_daily.len());
    for day in want_daily {
        let date = date(day["date"].as_str().expect("date"));
        assert_eq!(day["provider"], "azure");
        assert_close(
            jdec(day, "billed_cost"),
            raw_daily[&date],
            tol,
            "expected daily",
        );
    }

    // ...and so does the product.
    assert_eq!(
        out.costs.len() as u64,
        want["row_count"].as_u64().expect("row_count")
    );
    let ids: BTreeSet<&str> = out
        .costs
        .iter()
        .filter_map(|r| r.invoice_id.as_deref())
        .collect();
    let want_ids: BTreeSet<&str> = want["distinct_invoice_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(ids, want_ids);
    for inv in invoices {
        let id = inv["invoice_id"].as_str().expect("id");
        let got: Decimal = out
            .costs
            .iter()
            .filter(|r| r.invoice_id.as_deref() == Some(id) && r.billing_currency == "USD")
            .map(|r| r.billed_cost)
            .sum();
        assert_close(got, jdec(inv, "billed_cost"), tol, id);
    }
    let (billed, _) = totals(&out.costs);
    assert_eq!(want["totals"]["currency"], "USD");
    assert!(out.costs.iter().all(|r| r.billing_currency == "USD"));
    assert_close(billed, jdec(&want["totals"], "billed_cost"), tol, "total");
    let daily = daily_by(&out.costs, |r| r.provider.code());
    assert_eq!(daily.len(), want_daily.len());
    for day in want_daily {
        let key = (date(day["date"].as_str().expect("date")), "azure");
        assert_close(daily[&key].0, jdec(day, "billed_cost"), tol, "daily");
    }
    // No field keeps a BOM or a trailing CR.
    for r in &out.costs {
        for s in [
            &r.billing_account_id,
            &r.service_name,
            r.pricing_unit.as_deref().unwrap_or(""),
        ] {
            assert!(!s.contains('\u{feff}') && !s.ends_with('\r'), "{s:?}");
        }
    }
}
