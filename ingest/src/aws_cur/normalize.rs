//! One CUR line to normalized records. Pure: no I/O, no state across rows.
//!
//! The line item type decides the views (rules in `mod.rs`). Most lines give one record;
//! a commitment fee gives two (the purchase, and the unused part of the commitment), and a
//! savings plan negation gives none (it is folded into the covered usage it negates).

use std::collections::BTreeMap;

use burnrate_schemas::{
    ChargeFrequency, ChargeKind, CommitmentStatus, CostRecord, PricingModel, Provider,
};
use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use super::classify::{self, Facts};
use super::columns::CurColumns;
use crate::classify::{Classification, Memo as ClassMemo};
use crate::error::RowError;
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Col, Header, Row, TimeMemo};

/// Tag-like columns found in the header: their index and the tag key to store.
#[derive(Debug, Clone, Default)]
pub struct TagColumns {
    pub columns: Vec<(usize, String)>,
}

impl TagColumns {
    /// `resourceTags/user:team` → `user:team`; Athena `resource_tags_user_team` →
    /// `user:team` (the first `_` after the `user`/`aws` namespace was the colon);
    /// `costCategory/Charge type` → `costCategory/Charge type`.
    pub fn find(header: &Header) -> TagColumns {
        let mut columns = Vec::new();
        for (i, name) in header.names().iter().enumerate() {
            if let Some(key) = name.strip_prefix("resourceTags/") {
                columns.push((i, key.to_string()));
            } else if let Some(rest) = name.strip_prefix("resource_tags_") {
                let key = ["user_", "aws_"]
                    .iter()
                    .find_map(|ns| {
                        rest.strip_prefix(ns)
                            .map(|k| format!("{}:{k}", &ns[..ns.len() - 1]))
                    })
                    .unwrap_or_else(|| rest.to_string());
                columns.push((i, key));
            } else if name.starts_with("costCategory/") {
                columns.push((i, name.clone()));
            } else if let Some(cat) = name.strip_prefix("cost_category_") {
                columns.push((i, format!("costCategory/{cat}")));
            }
        }
        TagColumns { columns }
    }
}

/// The line item types of the CUR, and what each is in FOCUS terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineType {
    Usage,
    DiscountedUsage,
    SavingsPlanCoveredUsage,
    SavingsPlanNegation,
    SavingsPlanUpfrontFee,
    SavingsPlanRecurringFee,
    RiFee,
    Fee,
    Tax,
    Credit,
    Refund,
    Discount,
    Other,
}

impl LineType {
    fn parse(s: &str) -> LineType {
        match s {
            "Usage" => LineType::Usage,
            "DiscountedUsage" => LineType::DiscountedUsage,
            "SavingsPlanCoveredUsage" => LineType::SavingsPlanCoveredUsage,
            "SavingsPlanNegation" => LineType::SavingsPlanNegation,
            "SavingsPlanUpfrontFee" => LineType::SavingsPlanUpfrontFee,
            "SavingsPlanRecurringFee" => LineType::SavingsPlanRecurringFee,
            "RIFee" => LineType::RiFee,
            "Fee" => LineType::Fee,
            "Tax" => LineType::Tax,
            "Credit" => LineType::Credit,
            "Refund" => LineType::Refund,
            s if s.ends_with("Discount") => LineType::Discount,
            _ => LineType::Other,
        }
    }
}

/// What one file's rows share and repeat: parsed times and classifications. A CUR repeats
/// the same billing period on every line and the same usage hour, product and usage type
/// on many, and re-deriving them dominated the cost of a line.
#[derive(Debug, Default)]
pub struct Memo {
    usage_start: TimeMemo,
    usage_end: TimeMemo,
    period_start: TimeMemo,
    period_end: TimeMemo,
    /// Classification by (product code, usage type, operation, instance type, product name,
    /// pricing unit).
    class: ClassMemo<Classification>,
}

impl Memo {
    /// Classifies a line, from the cache when the facts that decide it were seen before.
    /// SageMaker reads the resource id too, which differs per line, so it is not cached.
    fn classify(&mut self, facts: &Facts<'_>) -> Classification {
        if facts.product_code == "AmazonSageMaker" {
            return classify::classify(facts);
        }
        let deciding = [
            Some(facts.product_code),
            facts.usage_type,
            facts.operation,
            facts.instance_type,
            facts.product_name,
            facts.pricing_unit,
        ];
        self.class.get_or(&deciding, || classify::classify(facts))
    }
}

/// Normalizes one row. `Ok(())` after emitting zero or more records through `out`.
pub fn normalize(
    row: &Row<'_>,
    c: &CurColumns,
    tags: &TagColumns,
    ctx: &FileCtx,
    memo: &mut Memo,
    out: &mut Out<'_>,
) -> Result<(), RowError> {
    let line_type_text = row.required_text(c.line_item_type, "line item type")?;
    let line_type = LineType::parse(line_type_text);
    if line_type == LineType::SavingsPlanNegation {
        // It repeats the covered usage's on-demand cost with the opposite sign; the covered
        // line is billed at 0 instead (as AWS's own FOCUS export does), so the billed total
        // is unchanged and no negative "no resource" line appears.
        out.skip("savings plan negation (folded into the covered usage)");
        return Ok(());
    }
    let unblended = row.required_decimal(c.unblended_cost, "unblended cost")?;
    // A configured currency stands in for a missing column, never for an empty cell.
    let currency = match (c.currency.present(), ctx.default_currency.as_deref()) {
        (false, Some(code)) => code.to_string(),
        _ => row.required_text(c.currency, "currency code")?.to_string(),
    };
    let (start, end) = charge_period(row, c, memo)?;
    let (period_start, period_end) = billing_period(row, c, start, memo)?;
    let usage_account = row.string(c.usage_account);
    let billing_account = row
        .string(c.payer_account)
        .or_else(|| usage_account.clone())
        .ok_or_else(|| row.error(c.payer_account, "payer account id is empty"))?;
    let product_code = row
        .text(c.product_code)
        .ok_or_else(|| row.error(c.product_code, "product code is empty"))?;
    let product_map = json_map(row, c.product_map)?;
    let product_name = row
        .string(c.product_name)
        .or_else(|| product_map.get("product_name").cloned());
    let usage_type = row.string(c.usage_type);
    let resource_id = row.string(c.resource_id);
    let pricing_unit = row.string(c.pricing_unit);
    let instance_type = row
        .string(c.instance_type)
        .or_else(|| product_map.get("instance_type").cloned())
        .or_else(|| {
            usage_type
                .as_deref()
                .and_then(classify::instance_from_usage_type)
                .map(str::to_string)
        });
    let usage_amount = row.decimal(c.usage_amount)?;
    let sp_arn = row.string(c.sp_arn);
    let ri_arn = row.string(c.reservation_arn);
    let class = memo.classify(&Facts {
        product_code,
        product_name: product_name.as_deref(),
        usage_type: usage_type.as_deref(),
        operation: row.text(c.operation),
        resource_id: resource_id.as_deref(),
        instance_type: instance_type.as_deref(),
        pricing_unit: pricing_unit.as_deref(),
    });

    let mut tag_map = json_map(row, c.tags_map)?;
    for (k, v) in json_map(row, c.cost_category_map)? {
        tag_map.insert(format!("costCategory/{k}"), v);
    }
    for (idx, key) in &tags.columns {
        if let Some(v) = row.text(Col(Some(*idx))) {
            tag_map.insert(key.clone(), v.to_string());
        }
    }

    let is_usage_line = matches!(
        line_type,
        LineType::Usage | LineType::DiscountedUsage | LineType::SavingsPlanCoveredUsage
    );
    let spot = row.text(c.pricing_term) == Some("Spot")
        || usage_type
            .as_deref()
            .is_some_and(|u| u.contains("SpotUsage"));
    let tokens = match (&usage_type, usage_amount) {
        (Some(u), Some(a)) if is_usage_line && class.is_ai => {
            classify::tokens(u, pricing_unit.as_deref(), a)
        }
        _ => None,
    };

    let base = CostRecord {
        provider: Provider::Aws,
        provider_name: Provider::Aws.focus_name().to_string(),
        billing_account_id: billing_account,
        billing_account_name: row.string(c.payer_account_name),
        sub_account_id: usage_account,
        sub_account_name: row.string(c.usage_account_name),
        invoice_id: row.string(c.invoice_id),
        billing_period_start: period_start,
        billing_period_end: period_end,
        charge_period_start: start,
        charge_period_end: end,
        charge_category: ChargeKind::Usage.category(),
        charge_kind: ChargeKind::Usage,
        charge_class: None,
        charge_frequency: Some(ChargeFrequency::UsageBased),
        charge_description: row.string(c.description),
        billed_cost: unblended,
        effective_cost: unblended,
        list_cost: row.decimal(c.public_on_demand_cost)?,
        contracted_cost: None,
        billing_currency: currency,
        pricing_category: None,
        pricing_model: None,
        commitment_discount_id: None,
        commitment_discount_type: None,
        commitment_discount_status: None,
        consumed_quantity: if is_usage_line { usage_amount } else { None },
        consumed_unit: if is_usage_line {
            pricing_unit.clone()
        } else {
            None
        },
        pricing_quantity: usage_amount,
        pricing_unit,
        region_id: row
            .string(c.region_code)
            .or_else(|| product_map.get("region_code").cloned()),
        availability_zone: row.string(c.availability_zone),
        resource_id,
        resource_name: None,
        resource_type: None,
        service_name: product_name.unwrap_or_else(|| product_code.to_string()),
        service_code: product_code.to_string(),
        service_category: None,
        service_subcategory: None,
        sku_id: row
            .string(c.sku)
            .or_else(|| product_map.get("sku").cloned()),
        sku_description: None,
        usage_type,
        instance_type,
        tags: tag_map,
        resource_kind: class.resource_kind,
        cost_category: class.cost_category,
        is_ai: class.is_ai,
        model: class.model,
        tokens,
        source: ctx.source.clone(),
        restates_period: true,
        row_ref: ctx.row_ref(row.number),
    };

    match line_type {
        LineType::Usage => out.cost(priced(
            base,
            if spot {
                PricingModel::Spot
            } else {
                PricingModel::OnDemand
            },
        )),
        LineType::DiscountedUsage => {
            let effective =
                row.required_decimal(c.reservation_effective_cost, "reservation effective cost")?;
            let mut r = committed(
                base,
                PricingModel::Reservation,
                ri_arn,
                "Reservation",
                CommitmentStatus::Used,
            );
            r.effective_cost = effective;
            out.cost(r);
        }
        LineType::SavingsPlanCoveredUsage => {
            let effective =
                row.required_decimal(c.sp_effective_cost, "savings plan effective cost")?;
            let mut r = committed(
                base,
                PricingModel::SavingsPlan,
                sp_arn,
                "Savings Plan",
                CommitmentStatus::Used,
            );
            r.billed_cost = Decimal::ZERO;
            r.effective_cost = effective;
            out.cost(r);
        }
        LineType::SavingsPlanRecurringFee => {
            let total = row.decimal(c.sp_total_commitment)?;
            let used = row.decimal(c.sp_used_commitment)?;
            let unused = match (total, used) {
                (Some(t), Some(u)) => t - u,
                (Some(_), None) | (None, _) => Decimal::ZERO,
            };
            fee_and_unused(
                base,
                PricingModel::SavingsPlan,
                sp_arn,
                "Savings Plan",
                unused,
                out,
            );
        }
        LineType::RiFee => {
            let unused = row
                .decimal(c.reservation_unused_upfront)?
                .unwrap_or_default()
                + row
                    .decimal(c.reservation_unused_recurring)?
                    .unwrap_or_default();
            fee_and_unused(
                base,
                PricingModel::Reservation,
                ri_arn,
                "Reservation",
                unused,
                out,
            );
        }
        LineType::SavingsPlanUpfrontFee => {
            // Paid once; its value reaches the effective view through the covered usage.
            let mut r = committed(
                base,
                PricingModel::SavingsPlan,
                sp_arn,
                "Savings Plan",
                CommitmentStatus::Used,
            );
            r.commitment_discount_status = None;
            out.cost(purchase(r, ChargeFrequency::OneTime, Decimal::ZERO));
        }
        LineType::Fee => {
            // An upfront reservation fee is amortized into DiscountedUsage; other fees
            // (domain registrations, support) are spent as billed.
            let effective = if ri_arn.is_some() {
                Decimal::ZERO
            } else {
                unblended
            };
            let mut r = base;
            if let Some(arn) = ri_arn {
                r = committed(
                    r,
                    PricingModel::Reservation,
                    Some(arn),
                    "Reservation",
                    CommitmentStatus::Used,
                );
                r.commitment_discount_status = None;
            }
            out.cost(purchase(r, ChargeFrequency::OneTime, effective));
        }
        LineType::Tax => out.cost(kind(base, ChargeKind::Tax)),
        LineType::Credit => out.cost(kind(base, ChargeKind::Credit)),
        LineType::Refund => out.cost(kind(base, ChargeKind::Refund)),
        LineType::Discount => out.cost(kind(base, ChargeKind::Discount)),
        LineType::Other => {
            let mut r = kind(base, ChargeKind::Adjustment);
            r.charge_description = Some(format!(
                "{line_type_text}: {}",
                r.charge_description.unwrap_or_default()
            ));
            out.cost(r);
        }
        LineType::SavingsPlanNegation => {}
    }
    Ok(())
}

fn priced(mut r: CostRecord, model: PricingModel) -> CostRecord {
    r.pricing_model = Some(model);
    r.pricing_category = Some(model.category());
    r
}

fn committed(
    r: CostRecord,
    model: PricingModel,
    id: Option<String>,
    type_name: &str,
    status: CommitmentStatus,
) -> CostRecord {
    let mut r = priced(r, model);
    r.commitment_discount_id = id;
    r.commitment_discount_type = Some(type_name.to_string());
    r.commitment_discount_status = Some(status);
    r
}

fn kind(mut r: CostRecord, kind: ChargeKind) -> CostRecord {
    r.charge_kind = kind;
    r.charge_category = kind.category();
    r.charge_frequency = Some(match kind {
        ChargeKind::Usage => ChargeFrequency::UsageBased,
        _ => ChargeFrequency::OneTime,
    });
    r.consumed_quantity = None;
    r.consumed_unit = None;
    r
}

fn purchase(r: CostRecord, frequency: ChargeFrequency, effective: Decimal) -> CostRecord {
    let mut r = kind(r, ChargeKind::Purchase);
    r.charge_frequency = Some(frequency);
    r.effective_cost = effective;
    r
}

/// A recurring commitment fee: the purchase (billed as charged, effective 0, since the
/// commitment's cost reaches the effective view through the usage it covers) and, when
/// some of the commitment went unused, that unused part as usage of the commitment itself
/// (billed 0, effective = unused), as FOCUS models it.
fn fee_and_unused(
    base: CostRecord,
    model: PricingModel,
    id: Option<String>,
    type_name: &str,
    unused: Decimal,
    out: &mut Out<'_>,
) {
    let mut fee = committed(base, model, id, type_name, CommitmentStatus::Used);
    fee.commitment_discount_status = None;
    fee.resource_id = fee
        .resource_id
        .or_else(|| fee.commitment_discount_id.clone());
    if !unused.is_zero() {
        let mut idle = fee.clone();
        idle.billed_cost = Decimal::ZERO;
        idle.effective_cost = unused;
        idle.commitment_discount_status = Some(CommitmentStatus::Unused);
        idle.charge_frequency = Some(ChargeFrequency::UsageBased);
        idle.consumed_quantity = None;
        idle.consumed_unit = None;
        out.cost(idle);
    }
    out.cost(purchase(fee, ChargeFrequency::Recurring, Decimal::ZERO));
}

/// The charge period: usage start and end, else `identity/TimeInterval`.
fn charge_period(
    row: &Row<'_>,
    c: &CurColumns,
    memo: &mut Memo,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RowError> {
    if let (Some(s), Some(e)) = (
        row.timestamp_memo(c.usage_start, &mut memo.usage_start)?,
        row.timestamp_memo(c.usage_end, &mut memo.usage_end)?,
    ) {
        return Ok((s, e));
    }
    let interval = row.required_text(c.time_interval, "usage start/end and time interval")?;
    let (s, e) = interval
        .split_once('/')
        .ok_or_else(|| row.error(c.time_interval, "time interval is not start/end"))?;
    let parse = |t: &str| {
        crate::value::timestamp(t).ok().flatten().ok_or_else(|| {
            row.error(
                c.time_interval,
                format!("bad time in interval {interval:?}"),
            )
        })
    };
    Ok((parse(s)?, parse(e)?))
}

/// The billing period: the bill columns, else Athena's `year`/`month` partition, else the
/// calendar month of the charge.
fn billing_period(
    row: &Row<'_>,
    c: &CurColumns,
    charge_start: DateTime<Utc>,
    memo: &mut Memo,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RowError> {
    if let (Some(s), Some(e)) = (
        row.timestamp_memo(c.period_start, &mut memo.period_start)?,
        row.timestamp_memo(c.period_end, &mut memo.period_end)?,
    ) {
        return Ok((s, e));
    }
    let (year, month) = match (row.text(c.year), row.text(c.month)) {
        (Some(y), Some(m)) => (
            y.parse::<i32>()
                .map_err(|_| row.error(c.year, format!("bad year {y:?}")))?,
            m.parse::<u32>()
                .map_err(|_| row.error(c.month, format!("bad month {m:?}")))?,
        ),
        _ => (charge_start.year(), charge_start.month()),
    };
    crate::value::month_bounds(year, month).ok_or_else(|| row.error(c.month, "month out of range"))
}

/// A CUR 2.0 map column (`product`, `resource_tags`, `cost_category`): a JSON object in
/// CSV exports and in our Parquet reading. Values that are not strings are kept as JSON.
fn json_map(row: &Row<'_>, col: Col) -> Result<BTreeMap<String, String>, RowError> {
    let Some(text) = row.text(col) else {
        return Ok(BTreeMap::new());
    };
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| row.error(col, format!("not a JSON object: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| row.error(col, "not a JSON object"))?;
    Ok(obj
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect())
}
