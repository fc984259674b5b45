//! The line item rules on literal rows, with amounts worked out by hand.

use std::str::FromStr;

use burnrate_schemas::{
    ChargeCategory, ChargeFrequency, ChargeKind, CommitmentStatus, CostRecord, PricingModel,
};
use rust_decimal::Decimal;

use crate::detect::Format;
use crate::read::{FileCtx, Options, run_table};
use crate::report::{Collected, FileReport, Out};
use crate::table::{CsvTable, Table};

const HEADER: &str = "bill/PayerAccountId,bill/BillingPeriodStartDate,bill/BillingPeriodEndDate,\
lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,\
lineItem/ProductCode,lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,\
lineItem/CurrencyCode,lineItem/UnblendedCost,pricing/term,pricing/unit,\
reservation/ReservationARN,reservation/EffectiveCost,\
reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,reservation/UnusedRecurringFee,\
savingsPlan/SavingsPlanARN,savingsPlan/SavingsPlanEffectiveCost,\
savingsPlan/TotalCommitmentToDate,savingsPlan/UsedCommitment";

const RI: &str = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/r-1";

/// Reads literal CUR lines (after the header above) and returns records and report.
fn read(lines: &[&str]) -> (Vec<CostRecord>, FileReport) {
    let text = format!("{HEADER}\n{}\n", lines.join("\n"));
    let mut table = CsvTable::new(text.as_bytes()).expect("header");
    let ctx = FileCtx::new(
        std::path::Path::new("literal.csv"),
        crate::Container::Plain,
        &Options::default(),
    );
    let header = table.header().clone();
    assert_eq!(super::sniff(&header), Some(Format::AwsCurLegacy));
    let mut norm = super::normalizer(Format::AwsCurLegacy, &header, &ctx).expect("normalizer");
    let mut sink = Collected::default();
    let mut report = FileReport::new("literal.csv");
    run_table(
        &mut table,
        norm.as_mut(),
        &ctx,
        &mut Out::new(&mut sink, &mut report),
    )
    .expect("read to the end");
    (sink.costs, report)
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// A line with the common columns filled: payer, March 2024, one hour on 5 March.
fn line(
    kind: &str,
    product: &str,
    usage: &str,
    resource: &str,
    amount: &str,
    cost: &str,
    rest: &str,
) -> String {
    format!(
        "111122223333,2024-03-01T00:00:00Z,2024-04-01T00:00:00Z,111122223333,{kind},\
2024-03-05T10:00:00Z,2024-03-05T11:00:00Z,{product},{usage},{resource},{amount},USD,{cost},{rest}"
    )
}

#[test]
fn reservation_covered_usage_and_fee() {
    // A 1-hour reserved m5.large: covered usage billed 0, effective 0.062 (amortized
    // upfront + recurring); the hourly RIFee bills 0.05, of which 0.01 went unused (two
    // instances reserved, covered part used).
    let covered = line(
        "DiscountedUsage",
        "AmazonEC2",
        "BoxUsage:m5.large",
        "i-1",
        "1",
        "0",
        &format!("Reserved,Hrs,{RI},0.062,,,,,,"),
    );
    let fee = line(
        "RIFee",
        "AmazonEC2",
        "HeavyUsage:m5.large",
        "",
        "2",
        "0.05",
        &format!("Reserved,Hrs,{RI},,0.004,0.006,,,,"),
    );
    let (records, report) = read(&[&covered, &fee]);
    assert_eq!(report.rejected_count, 0, "{:?}", report.rejected);
    assert_eq!(records.len(), 3);
    let usage = &records[0];
    assert_eq!(
        (usage.billed_cost, usage.effective_cost),
        (d("0"), d("0.062"))
    );
    assert_eq!(usage.pricing_model, Some(PricingModel::Reservation));
    assert_eq!(
        usage.commitment_discount_status,
        Some(CommitmentStatus::Used)
    );
    assert_eq!(usage.commitment_discount_id.as_deref(), Some(RI));
    let unused = &records[1];
    assert_eq!(
        (unused.billed_cost, unused.effective_cost),
        (d("0"), d("0.010"))
    );
    assert_eq!(
        unused.commitment_discount_status,
        Some(CommitmentStatus::Unused)
    );
    assert_eq!(unused.resource_id.as_deref(), Some(RI));
    let purchase = &records[2];
    assert_eq!(
        (purchase.billed_cost, purchase.effective_cost),
        (d("0.05"), d("0"))
    );
    assert_eq!(purchase.charge_category, ChargeCategory::Purchase);
    assert_eq!(purchase.charge_frequency, Some(ChargeFrequency::Recurring));
    // Billed adds to the cash paid (0.05); effective to the amortized cost (0.062 + 0.010).
    let billed: Decimal = records.iter().map(|r| r.billed_cost).sum();
    let effective: Decimal = records.iter().map(|r| r.effective_cost).sum();
    assert_eq!((billed, effective), (d("0.05"), d("0.072")));
}

#[test]
fn upfront_fees_are_one_time_purchases_with_no_effective_cost() {
    let ri_upfront = line(
        "Fee",
        "AmazonEC2",
        "USE1-HeavyUsage:m5.large",
        "",
        "1",
        "876",
        &format!("Reserved,,{RI},,,,,,,"),
    );
    let sp_upfront = line(
        "SavingsPlanUpfrontFee",
        "ComputeSavingsPlans",
        "ComputeSP:1yrAllUpfront",
        "",
        "1",
        "1200",
        ",,,,,,arn:sp,,,",
    );
    let domain = line(
        "Fee",
        "AmazonRoute53",
        "DNS-Domain-Registration",
        "",
        "1",
        "12",
        ",,,,,,,,,",
    );
    let (records, _) = read(&[&ri_upfront, &sp_upfront, &domain]);
    assert_eq!(records.len(), 3);
    for r in &records[..2] {
        assert_eq!(r.charge_category, ChargeCategory::Purchase);
        assert_eq!(r.charge_frequency, Some(ChargeFrequency::OneTime));
        assert_eq!(r.effective_cost, d("0"));
        assert!(r.lands_on_start_day());
    }
    assert_eq!(
        records[2].effective_cost,
        d("12"),
        "a non-commitment fee is spent as billed"
    );
}

#[test]
fn spot_usage_and_unknown_line_types() {
    let spot = line(
        "Usage",
        "AmazonEC2",
        "SpotUsage:g5.xlarge",
        "i-2",
        "1",
        "0.40",
        "Spot,Hrs,,,,,,,,",
    );
    let odd = line(
        "SomethingNew",
        "AmazonEC2",
        "",
        "",
        "",
        "-0.01",
        ",,,,,,,,,",
    );
    let (records, report) = read(&[&spot, &odd]);
    assert_eq!(report.rejected_count, 0);
    assert_eq!(records[0].pricing_model, Some(PricingModel::Spot));
    assert!(records[0].is_ai, "g5 is a GPU family");
    assert_eq!(records[1].charge_kind, ChargeKind::Adjustment);
    assert_eq!(records[1].billed_cost, d("-0.01"));
    assert!(
        records[1]
            .charge_description
            .as_deref()
            .is_some_and(|s| s.starts_with("SomethingNew"))
    );
}

#[test]
fn bad_rows_are_rejected_by_row_and_column_and_the_rest_is_kept() {
    let good = line(
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "b",
        "1",
        "0.5",
        ",,,,,,,,,",
    );
    let bad_cost = line(
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "b",
        "1",
        "zero",
        ",,,,,,,,,",
    );
    let no_currency = good.replace(",USD,", ",,");
    let bad_time = good.replace("2024-03-05T10:00:00Z", "yesterday");
    let (records, report) = read(&[&good, &bad_cost, &no_currency, &bad_time, &good]);
    assert_eq!(records.len(), 2);
    assert_eq!(report.rejected_count, 3);
    let cols: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(
        cols,
        vec![
            (2, Some("lineItem/UnblendedCost")),
            (3, Some("lineItem/CurrencyCode")),
            (4, Some("lineItem/UsageStartDate")),
        ]
    );
    assert!(
        report.rejected[0].reason.contains("zero"),
        "{:?}",
        report.rejected[0]
    );
    assert_eq!(report.rejected[0].file, "literal.csv");
}

#[test]
fn shifted_rows_and_backward_periods_are_rejected() {
    let good = line(
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "b",
        "1",
        "0.5",
        ",,,,,,,,,",
    );
    // An unquoted comma in the resource id: one cell too many, every later cell shifted.
    let shifted = line(
        "Usage",
        "AmazonS3",
        "TimedStorage-ByteHrs",
        "b,c",
        "1",
        "0.5",
        ",,,,,,,,,",
    );
    // Ends an hour before it starts.
    let backward = good.replace("2024-03-05T11:00:00Z", "2024-03-05T09:00:00Z");
    let (records, report) = read(&[&good, &shifted, &backward]);
    assert_eq!(records.len(), 1);
    assert_eq!(report.rejected_count, 2);
    assert_eq!(report.rejected[0].row, 2);
    assert!(
        report.rejected[0]
            .reason
            .contains("cells but the header has"),
        "{:?}",
        report.rejected[0]
    );
    assert_eq!(report.rejected[1].row, 3);
    assert_eq!(
        report.rejected[1].column.as_deref(),
        Some("ChargePeriodEnd")
    );
}

#[test]
fn a_cur_without_a_currency_column_needs_a_configured_one() {
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,\
lineItem/ProductCode,lineItem/UnblendedCost,bill/PayerAccountId";
    let text =
        format!("{header}\nUsage,2024-03-05T10:00:00Z,2024-03-05T11:00:00Z,AmazonS3,0.5,1\n");
    let path = std::path::Path::new("nocurrency.csv");
    for (default, want) in [(None, None), (Some("EUR"), Some("EUR"))] {
        let opts = Options {
            default_currency: default.map(String::from),
            ..Options::default()
        };
        let ctx = FileCtx::new(path, crate::Container::Plain, &opts);
        let mut table = CsvTable::new(text.as_bytes()).expect("header");
        let header = table.header().clone();
        match super::normalizer(Format::AwsCurLegacy, &header, &ctx) {
            Err(crate::IngestError::MissingColumns { missing, .. }) => {
                assert!(want.is_none());
                assert!(missing.contains("CurrencyCode"), "{missing}");
            }
            Err(e) => panic!("{e}"),
            Ok(mut norm) => {
                let mut sink = Collected::default();
                let mut report = FileReport::new("nocurrency.csv");
                run_table(
                    &mut table,
                    norm.as_mut(),
                    &ctx,
                    &mut Out::new(&mut sink, &mut report),
                )
                .expect("read to the end");
                assert_eq!(report.rejected_count, 0, "{:?}", report.rejected);
                assert_eq!(sink.costs.len(), 1);
                assert_eq!(Some(sink.costs[0].billing_currency.as_str()), want);
            }
        }
    }
}

#[test]
fn a_column_named_twice_refuses_the_file() {
    // `lineItem/UnblendedCost` and `line_item_unblended_cost` are one column: which holds
    // the cost cannot be told.
    let text = format!("{HEADER},line_item_unblended_cost\n");
    let table = CsvTable::new(text.as_bytes()).expect("header");
    let ctx = FileCtx::new(
        std::path::Path::new("twice.csv"),
        crate::Container::Plain,
        &Options::default(),
    );
    let header = table.header().clone();
    match super::normalizer(Format::AwsCurLegacy, &header, &ctx) {
        Err(crate::IngestError::Unreadable { reason, .. }) => {
            assert!(
                reason.contains("lineItem/UnblendedCost, line_item_unblended_cost"),
                "{reason}"
            );
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    // Aliases of one column in order of preference are no clash (the real CUR sample has
    // both product/regionCode and product/region).
    let with_aliases = format!("{HEADER},product/region,product/regionCode");
    let table2 = CsvTable::new(with_aliases.as_bytes()).expect("header");
    assert!(super::normalizer(Format::AwsCurLegacy, table2.header(), &ctx).is_ok());
}
