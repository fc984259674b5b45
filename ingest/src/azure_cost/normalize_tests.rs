//! Literal-row tests of `normalize_row` and the view rules. Expected values are read off
//! the rows by hand.

use std::path::Path;

use burnrate_schemas::{
    ChargeCategory, ChargeFrequency, ChargeKind, CommitmentStatus, CostRecord, PricingCategory,
    PricingModel, ResourceKind,
};
use chrono::{DateTime, Utc};
use csv::StringRecord;
use rust_decimal::Decimal;

use super::*;
use crate::detect::Container;
use crate::table::{CsvTable, Header, Table};

const EA_HEADER: &str = "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,SubscriptionId,Date,MeterCategory,MeterName,Quantity,EffectivePrice,Cost,BillingCurrency,ConsumedService,ResourceId,Tags,UnitOfMeasure,ReservationId,ChargeType,Frequency,PricingModel,benefitId,PayGPrice";

fn d(s: &str) -> Decimal {
    s.parse().expect("test decimal")
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

/// Normalizes the one data row of `csv` (header line + row line).
fn run(csv: &str) -> Result<Outcome, RowError> {
    let mut table = CsvTable::new(csv.as_bytes()).expect("header");
    let header: Header = table.header().clone();
    let cols = AzureColumns::resolve(&header);
    let mut rec = StringRecord::new();
    assert!(table.next_row(&mut rec).expect("row"));
    let ctx = FileCtx::new(
        Path::new("export.csv"),
        Container::Plain,
        &Default::default(),
    );
    let row = Row {
        record: &rec,
        header: &header,
        file: "export.csv",
        number: 1,
    };
    normalize_row(&cols, &row, &ctx, &mut ClassMemo::default())
}

fn charge(csv: &str) -> Charge {
    match run(csv).expect("normalizes") {
        Outcome::Charge(c) => *c,
        Outcome::Skip(why) => panic!("skipped: {why}"),
    }
}

fn ea(row: &str) -> Charge {
    charge(&format!("{EA_HEADER}\n{row}\n"))
}

fn in_view(c: &Charge, v: View) -> CostRecord {
    c.clone().into_record(v, "export.csv")
}

#[test]
fn reservation_purchase_in_an_actual_file() {
    // Shaped on the real actual sample's purchase row.
    let c = ea(
        "8611537,09/01/2023,09/30/2023,sub-1,09/21/2023,Virtual Machines,B1s,1,3.25,3.25,USD,Microsoft.Capacity,/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/,,1 Hour,ro1,Purchase,Recurring,Reservation,/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/,0",
    );
    assert_eq!(c.role, Role::CommitmentPurchase);
    assert_eq!(c.evidence(), Some(View::Actual));
    let r = in_view(&c, View::Actual);
    assert_eq!((r.billed_cost, r.effective_cost), (d("3.25"), d("0")));
    assert_eq!(r.charge_kind, ChargeKind::Purchase);
    assert_eq!(r.charge_category, ChargeCategory::Purchase);
    assert_eq!(r.charge_frequency, Some(ChargeFrequency::Recurring));
    assert_eq!(r.pricing_model, Some(PricingModel::Reservation));
    assert_eq!(r.commitment_discount_type.as_deref(), Some("Reservation"));
    assert_eq!(
        r.commitment_discount_id.as_deref(),
        Some("/providers/Microsoft.Capacity/reservationOrders/ro1/reservations/")
    );
    assert_eq!(r.commitment_discount_status, None);
    // PayGPrice 0: no retail price known.
    assert_eq!(r.list_cost, None);
    assert_eq!(r.source, "export.csv#actual");
    assert_eq!(r.billing_period_start, t("2023-09-01T00:00:00Z"));
    assert_eq!(r.billing_period_end, t("2023-10-01T00:00:00Z"));
    assert_eq!(r.charge_period_start, t("2023-09-21T00:00:00Z"));
    assert_eq!(r.charge_period_end, t("2023-09-22T00:00:00Z"));
    // The purchase path ends in a type, so it names no resource.
    assert_eq!(r.resource_name, None);
}

#[test]
fn covered_usage_in_both_views() {
    // The real amortized sample's reservation row: 8 h at 0.061644 = 0.493152.
    let c = ea(
        "8611537,09/01/2023,09/30/2023,sub-2,09/22/2023,Virtual Machines,D2 v2/DS2 v2,8,0.061644,0.493152,USD,Microsoft.Compute,/subscriptions/sub-2/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-vmss,,1 Hour,f39d,Usage,UsageBased,Reservation,/providers/Microsoft.Capacity/reservationOrders/a965/reservations/f39d,0",
    );
    assert_eq!(c.role, Role::CoveredUsage);
    assert_eq!(c.evidence(), Some(View::Amortized));
    let r = in_view(&c, View::Amortized);
    assert_eq!((r.billed_cost, r.effective_cost), (d("0"), d("0.493152")));
    assert_eq!(r.commitment_discount_status, Some(CommitmentStatus::Used));
    assert_eq!(r.pricing_category, Some(PricingCategory::Committed));
    assert_eq!(r.source, "export.csv#amortized");
    assert_eq!(
        r.resource_type.as_deref(),
        Some("Microsoft.Compute/virtualMachineScaleSets")
    );
    assert_eq!(r.resource_name.as_deref(), Some("aks-vmss"));

    // The same usage in actual data is priced at zero, and says so.
    let c = ea(
        "8611537,09/01/2023,09/30/2023,sub-2,09/22/2023,Virtual Machines,D2 v2/DS2 v2,8,0,0,USD,Microsoft.Compute,/subscriptions/sub-2/x,,1 Hour,f39d,Usage,UsageBased,Reservation,,0",
    );
    assert_eq!(c.evidence(), Some(View::Actual));
    let r = in_view(&c, View::Actual);
    assert_eq!((r.billed_cost, r.effective_cost), (d("0"), d("0")));
    assert_eq!(r.commitment_discount_id.as_deref(), Some("f39d"));
}

#[test]
fn unused_reservation_is_usage_with_status_unused() {
    let c = ea(
        "8611537,09/01/2023,09/30/2023,sub-1,09/05/2023,Virtual Machines,D2 v2/DS2 v2,16,0.061644,0.986304,USD,Microsoft.Capacity,,,1 Hour,f39d,UnusedReservation,UsageBased,Reservation,/providers/Microsoft.Capacity/reservationOrders/a965/reservations/f39d,0",
    );
    assert_eq!(c.role, Role::Unused);
    let r = in_view(&c, View::Amortized);
    assert_eq!(r.charge_kind, ChargeKind::Usage);
    assert_eq!(r.commitment_discount_status, Some(CommitmentStatus::Unused));
    assert_eq!((r.billed_cost, r.effective_cost), (d("0"), d("0.986304")));
    assert_eq!(r.resource_id, None);
}

#[test]
fn unused_savings_plan_without_a_pricing_model_is_still_a_savings_plan() {
    let c = ea(
        "1,09/01/2023,09/30/2023,sub-1,09/05/2023,,,1,2,2,USD,,,,1 Hour,,UnusedSavingsPlan,UsageBased,,/providers/Microsoft.BillingBenefits/savingsPlanOrders/o/savingsPlans/p,0",
    );
    let r = in_view(&c, View::Amortized);
    assert_eq!(r.pricing_model, Some(PricingModel::SavingsPlan));
    assert_eq!(r.commitment_discount_type.as_deref(), Some("Savings Plan"));
    assert_eq!((r.billed_cost, r.effective_cost), (d("0"), d("2")));
}

#[test]
fn refund_keeps_its_sign_and_counts_in_both_views() {
    let c = ea(
        "1,09/01/2023,09/30/2023,sub-1,09/10/2023,Virtual Machines,D2 v3,1,-4.2,-4.2,USD,Microsoft.Compute,,,1 Hour,,Refund,OneTime,OnDemand,,0",
    );
    assert_eq!(c.role, Role::Plain);
    for v in [View::Actual, View::Amortized] {
        let r = in_view(&c, v);
        assert_eq!((r.billed_cost, r.effective_cost), (d("-4.2"), d("-4.2")));
        assert_eq!(r.charge_kind, ChargeKind::Refund);
        assert_eq!(r.charge_category, ChargeCategory::Credit);
        assert_eq!(r.charge_frequency, Some(ChargeFrequency::OneTime));
    }
}

#[test]
fn refund_of_a_reservation_is_cash_only() {
    let c = ea(
        "1,09/01/2023,09/30/2023,sub-1,09/10/2023,Virtual Machines,B1s,1,-3.25,-3.25,USD,Microsoft.Capacity,,,1 Hour,ro1,Refund,OneTime,Reservation,,0",
    );
    assert_eq!(c.role, Role::CommitmentPurchase);
    let r = in_view(&c, View::Actual);
    assert_eq!((r.billed_cost, r.effective_cost), (d("-3.25"), d("0")));
}

#[test]
fn rounding_and_tax_are_kept_and_categorized() {
    let c = ea(
        "1,09/01/2023,09/30/2023,sub-1,09/30/2023,,,,,0.01,USD,,,,1 Hour,,RoundingAdjustment,OneTime,,,",
    );
    let r = in_view(&c, View::Actual);
    assert_eq!(r.charge_kind, ChargeKind::Rounding);
    assert_eq!(r.charge_category, ChargeCategory::Adjustment);
    assert_eq!((r.billed_cost, r.effective_cost), (d("0.01"), d("0.01")));
    assert_eq!(r.pricing_model, None);
    assert_eq!(r.service_name, "Unknown");

    let c = ea("1,09/01/2023,09/30/2023,sub-1,09/30/2023,,,,,1.7,USD,,,,1 Hour,,Tax,OneTime,,,");
    let r = in_view(&c, View::Amortized);
    assert_eq!(r.charge_category, ChargeCategory::Tax);
    assert_eq!((r.billed_cost, r.effective_cost), (d("1.7"), d("1.7")));
}

#[test]
fn unknown_charge_type_names_its_column() {
    let err = match run(&format!(
        "{EA_HEADER}\n1,09/01/2023,09/30/2023,s,09/30/2023,,,,,1,USD,,,,,,Bonus,,,,\n"
    )) {
        Err(e) => e,
        Ok(o) => panic!("accepted: {o:?}"),
    };
    assert_eq!(err.column.as_deref(), Some("ChargeType"));
    assert!(err.reason.contains("Bonus"), "{}", err.reason);
}

#[test]
fn tags_with_and_without_braces_and_bad_tags() {
    let c = ea(
        r#"1,09/01/2023,09/30/2023,s,09/04/2023,Storage,Ops,1,1,1,USD,Microsoft.Storage,/x,"""env"": ""prod"",""org"": ""trey""",10K,,Usage,UsageBased,OnDemand,,1"#,
    );
    let r = in_view(&c, View::Actual);
    assert_eq!(r.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(r.tags.get("org").map(String::as_str), Some("trey"));
    assert_eq!(r.consumed_unit.as_deref(), Some("10K"));
    assert_eq!(r.list_cost, Some(d("1")));

    let c = ea(
        r#"1,09/01/2023,09/30/2023,s,09/04/2023,Storage,Ops,1,1,1,USD,Microsoft.Storage,/x,"{""n"": 2, ""e"": null}",10K,,Usage,UsageBased,OnDemand,,1"#,
    );
    let r = in_view(&c, View::Actual);
    assert_eq!(r.tags.get("n").map(String::as_str), Some("2"));
    assert_eq!(r.tags.get("e").map(String::as_str), Some(""));

    let csv = format!(
        "{EA_HEADER}\n1,09/01/2023,09/30/2023,s,09/04/2023,Storage,Ops,1,1,1,USD,,/x,env=prod,10K,,Usage,,,,\n"
    );
    let err = run(&csv).expect_err("bad tags reject the row");
    assert_eq!(err.column.as_deref(), Some("Tags"));
}

#[test]
fn legacy_row_without_period_or_charge_type() {
    let csv = "\u{feff}SubscriptionGuid,UsageDateTime,MeterCategory,MeterName,UsageQuantity,PreTaxCost,Currency,InstanceId,UnitOfMeasure,ResourceType\n\
               sub-9,2019-07-28 00:00:00,Storage,Disk Read Operations,0.288,0.00010368,USD,,10K,Microsoft.Storage/storageAccounts\n";
    let r = in_view(&charge(csv), View::Actual);
    assert_eq!(r.billing_account_id, "sub-9");
    assert_eq!(r.sub_account_id.as_deref(), Some("sub-9"));
    assert_eq!(r.billing_period_start, t("2019-07-01T00:00:00Z"));
    assert_eq!(r.billing_period_end, t("2019-08-01T00:00:00Z"));
    assert_eq!(r.charge_period_start, t("2019-07-28T00:00:00Z"));
    assert_eq!(r.charge_kind, ChargeKind::Usage);
    assert_eq!(r.pricing_model, Some(PricingModel::OnDemand));
    assert_eq!(r.billed_cost, d("0.00010368"));
    assert_eq!(r.resource_id, None);
    assert_eq!(
        r.resource_type.as_deref(),
        Some("Microsoft.Storage/storageAccounts")
    );
    assert_eq!(r.service_code, "Storage");
}

#[test]
fn us_dates_without_padding_and_an_exclusive_period_end() {
    let csv = "BillingAccountId,BillingPeriodStartDate,BillingPeriodEndDate,Date,CostInBillingCurrency,BillingCurrencyCode,MeterCategory\n\
               1,9/1/2023,10/1/2023,9/2/2023,5.64902E-05,CAD,Storage\n";
    let r = in_view(&charge(csv), View::Actual);
    assert_eq!(r.charge_period_start, t("2023-09-02T00:00:00Z"));
    assert_eq!(r.billing_period_end, t("2023-10-01T00:00:00Z"));
    assert_eq!(r.billed_cost, d("0.0000564902"));
    assert_eq!(r.billing_currency, "CAD");
}

#[test]
fn empty_rows_are_skipped_but_a_missing_cost_is_an_error() {
    let header = "SubscriptionGuid,UsageDateTime,MeterCategory,PreTaxCost,Currency";
    assert!(matches!(
        run(&format!("{header}\n,2022-11-03,,,\n")),
        Ok(Outcome::Skip(_))
    ));
    let err = run(&format!("{header}\nsub,2022-11-03,Storage,,USD\n")).expect_err("no cost");
    assert_eq!(err.column.as_deref(), Some("PreTaxCost"));
    let err = run(&format!("{header}\nsub,2022-11-03,Storage,1,\n")).expect_err("no currency");
    assert_eq!(err.column.as_deref(), Some("Currency"));
    let err = run(&format!("{header}\nsub,someday,Storage,1,USD\n")).expect_err("bad date");
    assert_eq!(err.column.as_deref(), Some("UsageDateTime"));
    let err = run(&format!("{header}\nsub,1900-01-01,Storage,1,USD\n")).expect_err("far date");
    assert_eq!(err.column.as_deref(), Some("UsageDateTime"));
}

#[test]
fn azure_openai_tokens_in_base_units() {
    // Synthetic: Azure OpenAI bills tokens in blocks of 1K.
    let csv = "subscriptionId,date,meterCategory,meterSubCategory,meterName,quantity,unitOfMeasure,costInBillingCurrency,billingCurrency,consumedService,ResourceId\n\
               s,01/15/2025,Cognitive Services,Azure OpenAI,gpt-4o-0806-Inp-glbl Tokens,1234.5,1K,3.08625,USD,Microsoft.CognitiveServices,/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/oai\n";
    let r = in_view(&charge(csv), View::Actual);
    assert!(r.is_ai);
    assert_eq!(r.resource_kind, ResourceKind::ModelApi);
    assert_eq!(r.model.as_deref(), Some("gpt-4o-0806"));
    assert_eq!(r.tokens, Some(d("1234500")));
    assert_eq!(r.consumed_quantity, Some(d("1234.5")));
    assert_eq!(r.resource_name.as_deref(), Some("oai"));
}

#[test]
fn vm_size_comes_from_additional_info() {
    let csv = r#"subscriptionId,date,meterCategory,meterName,costInBillingCurrency,billingCurrency,additionalInfo
s,01/15/2025,Virtual Machines,NC24ads A100 v4,10,USD,"{""ServiceType"":""Standard_NC24ads_A100_v4"",""VCPUs"":24}"
"#;
    let r = in_view(&charge(csv), View::Actual);
    assert_eq!(r.instance_type.as_deref(), Some("Standard_NC24ads_A100_v4"));
    assert_eq!(r.resource_kind, ResourceKind::GpuVm);
    // Without braces (OpenCost's MissingBrackets fixture shape).
    let m = json_object(r#""ServiceType": "Standard_DS2_v2",  "VCPUs": 2"#).expect("object");
    assert_eq!(
        m.get("ServiceType").and_then(|v| v.as_str()),
        Some("Standard_DS2_v2")
    );
}

#[test]
fn arm_paths() {
    assert_eq!(
        arm_type_and_name(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/a/databases/b"
        ),
        Some((
            "Microsoft.Sql/servers/databases".to_string(),
            Some("b".to_string())
        ))
    );
    assert_eq!(arm_type_and_name("/subscriptions/rsid1"), None);
}
