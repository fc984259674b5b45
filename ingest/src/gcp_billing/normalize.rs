//! One export row to its records: the row itself (gross `cost`) and one record per element
//! of `credits[]`. Pure: no I/O. The rules are documented in `mod.rs`.

use std::collections::BTreeMap;

use burnrate_schemas::{
    ChargeCategory, ChargeClass, ChargeFrequency, ChargeKind, CostRecord, PricingModel, Provider,
};
use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};

use super::classify::{self, Inputs};
use super::export::{Credit, ExportRow, FieldError};
use crate::classify::{Classification, Memo};
use crate::read::FileCtx;
use crate::value::calendar_month;

/// The system label that names a VM's machine type.
const MACHINE_SPEC: &str = "compute.googleapis.com/machine_spec";

/// The FOCUS `ProviderName` of Google's own FOCUS export.
pub const PROVIDER_NAME: &str = "Google Cloud";

/// Credit types that are discounts on the price rather than money granted.
const DISCOUNT_TYPES: &[&str] = &[
    "SUSTAINED_USAGE_DISCOUNT",
    "COMMITTED_USAGE_DISCOUNT",
    "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
    "DISCOUNT",
    "SUBSCRIPTION_BENEFIT",
    "RESELLER_MARGIN",
    "FEE_UTILIZATION_OFFSET",
];

const CUD_TYPES: &[&str] = &[
    "COMMITTED_USAGE_DISCOUNT",
    "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
];

/// `x_ChargeKind` of a credit: discounts for the price-reducing types, `credit` for
/// PROMOTION, FREE_TIER and any type we do not know (money granted is the safer reading:
/// it stays in the Credit category either way).
pub fn credit_kind(kind: Option<&str>) -> ChargeKind {
    match kind {
        Some(k) if DISCOUNT_TYPES.contains(&k.trim()) => ChargeKind::Discount,
        _ => ChargeKind::Credit,
    }
}

/// `x_ChargeKind` of the row from `cost_type`. Exports older than the column are regular.
pub fn row_kind(cost_type: Option<&str>, sku: Option<&str>) -> Result<ChargeKind, FieldError> {
    let kind = match cost_type.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("regular") => ChargeKind::Usage,
        Some("tax") => ChargeKind::Tax,
        Some("adjustment") => ChargeKind::Adjustment,
        Some("rounding_error") => ChargeKind::Rounding,
        Some(other) => {
            return Err(FieldError::new(
                "cost_type",
                format!("unknown cost_type {other:?}"),
            ));
        }
    };
    Ok(if kind == ChargeKind::Usage && is_commitment_fee(sku) {
        ChargeKind::Purchase
    } else {
        kind
    })
}

/// Committed use discount fees bill as SKUs named `Commitment v1: E2 Cpu in Americas for
/// 1 Year` (resource-based) or `Commitment - dollar based v1: ...` (spend-based).
pub fn is_commitment_fee(sku: Option<&str>) -> bool {
    sku.is_some_and(|s| {
        let s = s.trim().to_ascii_lowercase();
        s.starts_with("commitment") && s.contains(':')
    })
}

/// `[month start, next month start)` from `invoice.month` (`YYYYMM`).
pub fn invoice_period(month: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), FieldError> {
    let bad = || FieldError::new("invoice.month", format!("not a YYYYMM month: {month:?}"));
    let m = month.trim();
    if m.len() != 6 || !m.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i32 = m[..4].parse().map_err(|_| bad())?;
    let mon: u32 = m[4..].parse().map_err(|_| bad())?;
    let first = NaiveDate::from_ymd_opt(year, mon, 1).ok_or_else(bad)?;
    let next = first.checked_add_months(Months::new(1)).ok_or_else(bad)?;
    Ok((
        first.and_time(NaiveTime::MIN).and_utc(),
        next.and_time(NaiveTime::MIN).and_utc(),
    ))
}

/// Row labels, then project labels for keys the row does not set: a resource's own label
/// wins over the one it inherits from its project. The first of duplicate keys wins.
pub fn tags(row: &ExportRow) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in row.labels.iter().chain(&row.project_labels) {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    out
}

/// The records of one export row: the row, then its credits in order.
pub fn records(
    row: &ExportRow,
    ctx: &FileCtx,
    number: u64,
    memo: &mut Memo<Classification>,
) -> Result<Vec<CostRecord>, FieldError> {
    let start = row
        .usage_start
        .ok_or_else(|| FieldError::new("usage_start_time", "usage_start_time is missing"))?;
    let end = row.usage_end.unwrap_or(start);
    let (period_start, period_end) = match row.invoice_month.as_deref() {
        Some(m) => invoice_period(m)?,
        None => calendar_month(start),
    };
    let sku = row.sku_description.as_deref();
    let kind = row_kind(row.cost_type.as_deref(), sku)?;
    let cud_credit = row
        .credits
        .iter()
        .any(|c| c.kind.as_deref().is_some_and(|k| CUD_TYPES.contains(&k)));
    let pricing_model = match kind {
        ChargeKind::Purchase => Some(PricingModel::CommittedUse),
        ChargeKind::Usage if cud_credit => Some(PricingModel::CommittedUse),
        ChargeKind::Usage if is_spot(sku) => Some(PricingModel::Spot),
        ChargeKind::Usage => Some(PricingModel::OnDemand),
        _ => None,
    };
    let machine_spec = row
        .system_labels
        .iter()
        .find(|(k, _)| k == MACHINE_SPEC)
        .map(|(_, v)| v.clone());
    let class = classify::classify_memo(
        memo,
        &Inputs {
            service_id: row.service_id.as_deref(),
            service: row.service_description.as_deref(),
            sku,
            usage_unit: row.usage_unit.as_deref(),
            machine_spec: machine_spec.as_deref(),
        },
    );
    let tokens = match row.usage_unit.as_deref() {
        Some(u) if classify::is_token_unit(u) => row.usage_amount,
        _ => None,
    };
    let service_name = row
        .service_description
        .clone()
        .or_else(|| row.service_id.clone())
        .unwrap_or_default();
    let description = match kind {
        ChargeKind::Adjustment => row
            .adjustment_description
            .clone()
            .or_else(|| row.sku_description.clone()),
        _ => row.sku_description.clone(),
    };
    let base = CostRecord {
        provider: Provider::Gcp,
        provider_name: PROVIDER_NAME.to_string(),
        billing_account_id: row.billing_account_id.clone(),
        billing_account_name: None,
        sub_account_id: row.project_id.clone(),
        sub_account_name: row.project_name.clone(),
        invoice_id: None,
        billing_period_start: period_start,
        billing_period_end: period_end,
        charge_period_start: start,
        charge_period_end: end,
        charge_category: kind.category(),
        charge_kind: kind,
        // Usage from before the invoice month is billed late: a correction of that month.
        charge_class: (start < period_start).then_some(ChargeClass::Correction),
        charge_frequency: match kind {
            ChargeKind::Usage => Some(ChargeFrequency::UsageBased),
            ChargeKind::Purchase => Some(ChargeFrequency::Recurring),
            _ => None,
        },
        charge_description: description,
        billed_cost: row.cost,
        effective_cost: row.cost,
        list_cost: row.cost_at_list,
        contracted_cost: None,
        billing_currency: row.currency.clone(),
        pricing_category: pricing_model.map(PricingModel::category),
        pricing_model,
        commitment_discount_id: None,
        commitment_discount_type: (pricing_model == Some(PricingModel::CommittedUse))
            .then(|| "Committed Use Discount".to_string()),
        commitment_discount_status: None,
        consumed_quantity: row.usage_amount,
        consumed_unit: row.usage_unit.clone(),
        pricing_quantity: row.usage_pricing_amount,
        pricing_unit: row.usage_pricing_unit.clone(),
        region_id: row.region.clone(),
        availability_zone: row.zone.clone(),
        resource_id: row.resource_name.clone(),
        resource_name: row.resource_name.clone(),
        resource_type: None,
        service_code: row
            .service_id
            .clone()
            .unwrap_or_else(|| service_name.clone()),
        service_name,
        service_category: None,
        service_subcategory: None,
        sku_id: row.sku_id.clone(),
        sku_description: row.sku_description.clone(),
        usage_type: row.sku_description.clone(),
        instance_type: machine_spec,
        tags: tags(row),
        resource_kind: class.resource_kind,
        cost_category: class.cost_category,
        is_ai: class.is_ai,
        model: class.model,
        tokens,
        source: ctx.source.clone(),
        restates_period: false,
        row_ref: ctx.row_ref(number),
    };
    let mut out = Vec::with_capacity(1 + row.credits.len());
    for credit in &row.credits {
        out.push(credit_record(&base, credit));
    }
    out.insert(0, base);
    Ok(out)
}

/// A credit as its own record: the row's identity (account, project, service, SKU,
/// resource, periods, labels, currency, AI class) with the credit's amount in both views
/// and no quantities (the usage is counted once, on the row).
fn credit_record(base: &CostRecord, c: &Credit) -> CostRecord {
    let kind = credit_kind(c.kind.as_deref());
    let cud = c.kind.as_deref().is_some_and(|k| CUD_TYPES.contains(&k));
    let name = c
        .name
        .clone()
        .or_else(|| c.full_name.clone())
        .or_else(|| c.id.clone());
    let label = c.kind.clone().unwrap_or_else(|| "CREDIT".to_string());
    CostRecord {
        charge_category: ChargeCategory::Credit,
        charge_kind: kind,
        charge_frequency: Some(ChargeFrequency::UsageBased),
        charge_description: Some(match name {
            Some(n) => format!("{label}: {n}"),
            None => label,
        }),
        billed_cost: c.amount,
        effective_cost: c.amount,
        list_cost: None,
        contracted_cost: None,
        commitment_discount_id: if cud { c.id.clone() } else { None },
        consumed_quantity: None,
        consumed_unit: None,
        pricing_quantity: None,
        pricing_unit: None,
        tokens: None,
        ..base.clone()
    }
}

fn is_spot(sku: Option<&str>) -> bool {
    sku.is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s.contains("spot") || s.contains("preemptible")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Container;
    use rust_decimal::Decimal;
    use std::path::Path;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn ctx() -> FileCtx {
        FileCtx::new(Path::new("x.jsonl"), Container::Plain, &Default::default())
    }

    fn row() -> ExportRow {
        ExportRow {
            billing_account_id: "A".into(),
            service_id: Some("6F81-5844-456A".into()),
            service_description: Some("Compute Engine".into()),
            sku_description: Some("E2 Instance Core running in Americas".into()),
            usage_start: chrono::DateTime::from_timestamp(1_709_632_800, 0),
            usage_end: chrono::DateTime::from_timestamp(1_709_636_400, 0),
            project_id: Some("p".into()),
            labels: vec![("team".into(), "batch".into())],
            project_labels: vec![
                ("team".into(), "proj".into()),
                ("env".into(), "prod".into()),
            ],
            cost: d("4.0"),
            currency: "USD".into(),
            invoice_month: Some("202403".into()),
            cost_type: Some("regular".into()),
            ..ExportRow::default()
        }
    }

    #[test]
    fn several_credits_never_duplicate_the_row() {
        let mut r = row();
        r.credits = vec![
            Credit {
                kind: Some("COMMITTED_USAGE_DISCOUNT".into()),
                amount: d("-3.0"),
                name: Some("CUD: CPU".into()),
                id: Some("cud-1".into()),
                ..Credit::default()
            },
            Credit {
                kind: Some("PROMOTION".into()),
                amount: d("-0.5"),
                name: Some("FreeTrial:x".into()),
                ..Credit::default()
            },
        ];
        let recs = records(&r, &ctx(), 3, &mut Memo::default()).expect("ok");
        assert_eq!(recs.len(), 3);
        let gross: Decimal = recs
            .iter()
            .filter(|x| x.charge_category != ChargeCategory::Credit)
            .map(|x| x.billed_cost)
            .sum();
        let net: Decimal = recs.iter().map(|x| x.billed_cost).sum();
        assert_eq!((gross, net), (d("4"), d("0.5")));
        assert_eq!(recs[0].pricing_model, Some(PricingModel::CommittedUse));
        assert_eq!(recs[1].charge_kind, ChargeKind::Discount);
        assert_eq!(recs[1].charge_category, ChargeCategory::Credit);
        assert_eq!(
            recs[1].charge_description.as_deref(),
            Some("COMMITTED_USAGE_DISCOUNT: CUD: CPU")
        );
        assert_eq!(recs[2].charge_kind, ChargeKind::Credit);
        assert_eq!(recs[2].consumed_quantity, None);
        assert!(
            recs.iter().all(|x| x.row_ref.row == 3
                && x.tags["team"] == "batch"
                && x.tags["env"] == "prod")
        );
    }

    #[test]
    fn cost_types_and_commitment_fees() {
        assert_eq!(row_kind(Some("tax"), None), Ok(ChargeKind::Tax));
        assert_eq!(
            row_kind(Some("rounding_error"), None),
            Ok(ChargeKind::Rounding)
        );
        assert_eq!(
            row_kind(Some("adjustment"), None),
            Ok(ChargeKind::Adjustment)
        );
        assert_eq!(row_kind(None, Some("Analysis")), Ok(ChargeKind::Usage));
        assert_eq!(
            row_kind(
                Some("regular"),
                Some("Commitment v1: E2 Cpu in Americas for 1 Year")
            ),
            Ok(ChargeKind::Purchase)
        );
        assert_eq!(
            row_kind(Some("surprise"), None).map_err(|e| e.field),
            Err("cost_type".to_string())
        );
        let mut r = row();
        r.sku_description = Some("Commitment v1: E2 Cpu in Americas for 1 Year".into());
        let rec = &records(&r, &ctx(), 1, &mut Memo::default()).expect("ok")[0];
        assert_eq!(
            (rec.charge_category, rec.charge_frequency),
            (ChargeCategory::Purchase, Some(ChargeFrequency::Recurring))
        );
        assert_eq!(rec.pricing_model, Some(PricingModel::CommittedUse));
    }

    #[test]
    fn invoice_month_is_the_billing_period_and_late_usage_is_a_correction() {
        let mut r = row();
        r.invoice_month = Some("202404".into());
        let rec = &records(&r, &ctx(), 1, &mut Memo::default()).expect("ok")[0];
        assert_eq!(
            rec.billing_period_start.to_rfc3339(),
            "2024-04-01T00:00:00+00:00"
        );
        assert_eq!(
            rec.billing_period_end.to_rfc3339(),
            "2024-05-01T00:00:00+00:00"
        );
        assert_eq!(rec.charge_class, Some(ChargeClass::Correction));
        r.invoice_month = Some("2024-3".into());
        assert_eq!(
            records(&r, &ctx(), 1, &mut Memo::default()).map_err(|e| e.field),
            Err("invoice.month".to_string())
        );
        assert_eq!(
            invoice_period("202412").map(|p| p.1.to_rfc3339()),
            Ok("2025-01-01T00:00:00+00:00".into())
        );
    }
}
