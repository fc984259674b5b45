//! One Azure cost row to one charge: pure, no I/O, no view yet (see `view.rs`).

use std::collections::BTreeMap;

use burnrate_schemas::{
    ChargeFrequency, ChargeKind, CommitmentStatus, CostRecord, PricingModel, Provider,
};
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::classify::{ChargeFacts, ClassMemo, unit_scale};
use super::columns::AzureColumns;
use super::view::{self, Role, View};
use crate::error::RowError;
use crate::read::FileCtx;
use crate::table::{Col, Row};
use crate::value;

/// A normalized row whose billed and effective costs wait for the file's view.
#[derive(Debug, Clone)]
pub struct Charge {
    pub record: CostRecord,
    /// The row's own cost, in whichever view its file holds.
    pub cost: Decimal,
    pub role: Role,
}

impl Charge {
    /// What this row alone says about its file's view.
    pub fn evidence(&self) -> Option<View> {
        view::evidence(self.role, self.cost, self.record.consumed_quantity)
    }

    /// The finished record in a file of `view` delivered as `source`.
    pub fn into_record(self, view: View, source: &str) -> CostRecord {
        let (billed, effective) = view::costs(view, self.role, self.cost);
        let mut record = self.record;
        record.billed_cost = billed;
        record.effective_cost = effective;
        record.source = format!("{source}{}", view.suffix());
        record
    }
}

/// What became of a row.
#[derive(Debug)]
pub enum Outcome {
    Charge(Box<Charge>),
    /// Deliberately not a record, with the reason for the report.
    Skip(&'static str),
}

/// How Azure's `ChargeType` maps to our kinds; `true` marks unused-commitment rows.
pub fn charge_kind(charge_type: Option<&str>) -> Result<(ChargeKind, bool), String> {
    let Some(t) = charge_type else {
        // Legacy pay-as-you-go files have no ChargeType: every row is usage.
        return Ok((ChargeKind::Usage, false));
    };
    let key: String = t
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Ok(match key.as_str() {
        "usage" => (ChargeKind::Usage, false),
        "unusedreservation" | "unusedsavingsplan" => (ChargeKind::Usage, true),
        "purchase" => (ChargeKind::Purchase, false),
        "tax" => (ChargeKind::Tax, false),
        "refund" => (ChargeKind::Refund, false),
        "roundingadjustment" | "rounding" => (ChargeKind::Rounding, false),
        "adjustment" => (ChargeKind::Adjustment, false),
        "credit" | "azurecredit" => (ChargeKind::Credit, false),
        "discount" => (ChargeKind::Discount, false),
        _ => return Err(format!("unknown ChargeType {t:?}")),
    })
}

fn pricing_model(text: Option<&str>) -> Option<PricingModel> {
    let key = text?.replace([' ', '-', '_'], "").to_ascii_lowercase();
    match key.as_str() {
        "ondemand" | "payasyougo" => Some(PricingModel::OnDemand),
        "reservation" | "reserved" => Some(PricingModel::Reservation),
        "savingsplan" => Some(PricingModel::SavingsPlan),
        "spot" | "lowpriority" => Some(PricingModel::Spot),
        _ => None,
    }
}

fn frequency(text: Option<&str>) -> Option<ChargeFrequency> {
    let key = text?.replace([' ', '-', '_'], "").to_ascii_lowercase();
    match key.as_str() {
        "usagebased" => Some(ChargeFrequency::UsageBased),
        "recurring" => Some(ChargeFrequency::Recurring),
        "onetime" => Some(ChargeFrequency::OneTime),
        _ => None,
    }
}

/// A JSON object cell as Azure writes it: with braces, or (EA) without the outer braces
/// (`"env": "prod","org": "trey"`). Non-string values keep their JSON text; null is empty.
pub fn json_object(text: &str) -> Result<Map<String, Value>, String> {
    let t = text.trim();
    if t.is_empty() || t == "{}" {
        return Ok(Map::new());
    }
    let parsed = if t.starts_with('{') {
        serde_json::from_str::<Value>(t)
    } else {
        serde_json::from_str::<Value>(&format!("{{{t}}}"))
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not a JSON object".to_string()),
        Err(e) => Err(format!("not a JSON object: {e}")),
    }
}

/// Tags as a string map (see `json_object`).
pub fn tags(text: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let Some(t) = text else {
        return Ok(BTreeMap::new());
    };
    Ok(json_object(t)?
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, v)
        })
        .collect())
}

/// The ARM resource type and name of a resource id:
/// `/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/a/databases/b` →
/// (`Microsoft.Sql/servers/databases`, `b`). Ids that end in a type have no name.
pub fn arm_type_and_name(id: &str) -> Option<(String, Option<String>)> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/providers/")?;
    let segs: Vec<&str> = id[at + "/providers/".len()..]
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (ns, rest) = segs.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut rtype = (*ns).to_string();
    for t in rest.iter().step_by(2) {
        rtype.push('/');
        rtype.push_str(t);
    }
    let name = (rest.len() % 2 == 0).then(|| rest[rest.len() - 1].to_string());
    Some((rtype, name))
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

fn date_cell(row: &Row<'_>, col: Col, what: &str) -> Result<Option<NaiveDate>, RowError> {
    let date = match row.text(col) {
        None => return Ok(None),
        Some(t) => value::date(t).map_err(|reason| row.error(col, format!("{what}: {reason}")))?,
    };
    // Bounded so that the day and month arithmetic below cannot overflow.
    match date {
        Some(d) if !(1970..=9999).contains(&d.year()) => {
            Err(row.error(col, format!("{what} {d} is out of range")))
        }
        other => Ok(other),
    }
}

/// The billing period `[start, end)`. Azure writes an inclusive last day (`09/30/2023`);
/// an end already on the first of the month after the start is taken as exclusive. With no
/// period columns, the calendar month of the usage date.
fn billing_period(
    row: &Row<'_>,
    cols: &AzureColumns,
    day: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>), RowError> {
    let start = date_cell(row, cols.billing_period_start, "billing period start")?;
    let end = date_cell(row, cols.billing_period_end, "billing period end")?;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => {
            let exclusive = if e.day() == 1 && Some(e) == s.checked_add_months(Months::new(1)) {
                e
            } else {
                e + TimeDelta::days(1)
            };
            if exclusive <= s {
                return Err(row.error(
                    cols.billing_period_end,
                    format!("billing period ends ({e}) before it starts ({s})"),
                ));
            }
            (s, exclusive)
        }
        _ => {
            let first = day.with_day(1).unwrap_or(day);
            (first, first + Months::new(1))
        }
    };
    Ok((midnight(start), midnight(end)))
}

fn product(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    a?.checked_mul(b?)
}

/// Normalizes one row of any Azure cost export column set.
pub fn normalize_row(
    cols: &AzureColumns,
    row: &Row<'_>,
    ctx: &FileCtx,
    memo: &mut ClassMemo,
) -> Result<Outcome, RowError> {
    let Some(cost) = row.decimal(cols.cost)? else {
        let identified = [
            cols.subscription_id,
            cols.billing_account_id,
            cols.meter_id,
            cols.meter_name,
            cols.resource_id,
        ]
        .iter()
        .any(|c| row.text(*c).is_some());
        if identified {
            return Err(row.error(cols.cost, "cost is empty"));
        }
        // OpenCost's BOM fixture: a row empty but for its date. Nothing was charged.
        return Ok(Outcome::Skip("row with no cost, account or meter"));
    };
    // The configured default stands in only for a missing column, never for an empty cell.
    let currency = match (cols.currency.present(), ctx.default_currency.as_deref()) {
        (false, Some(c)) => c,
        _ => row.required_text(cols.currency, "billing currency")?,
    };
    let day = date_cell(row, cols.date, "usage date")?
        .ok_or_else(|| row.error(cols.date, "usage date is empty"))?;
    let (billing_period_start, billing_period_end) = billing_period(row, cols, day)?;

    let charge_type = row.text(cols.charge_type);
    let (kind, unused) =
        charge_kind(charge_type).map_err(|reason| row.error(cols.charge_type, reason))?;

    let subscription = row.string(cols.subscription_id);
    let billing_account_id = row
        .string(cols.billing_account_id)
        .or_else(|| row.string(cols.billing_profile_id))
        .or_else(|| subscription.clone())
        .ok_or_else(|| {
            row.error(
                cols.billing_account_id,
                "no billing account or subscription id",
            )
        })?;

    // Commitments: the benefit (savings plan or reservation) id is the full ARM path; older
    // column sets only have the reservation id.
    let benefit_id = row
        .string(cols.benefit_id)
        .or_else(|| row.string(cols.reservation_id));
    let explicit_model = pricing_model(row.text(cols.pricing_model));
    let charge_type_key = charge_type.map(str::to_ascii_lowercase).unwrap_or_default();
    let commitment_type = if charge_type_key.contains("reservation") {
        Some("Reservation")
    } else if charge_type_key.contains("savingsplan") {
        Some("Savings Plan")
    } else {
        match explicit_model {
            Some(PricingModel::Reservation) => Some("Reservation"),
            Some(PricingModel::SavingsPlan) => Some("Savings Plan"),
            // An explicit on-demand or spot price wins over a stray benefit id.
            Some(_) => None,
            None => benefit_id.as_deref().map(|id| {
                if id.to_ascii_lowercase().contains("savingsplan") {
                    "Savings Plan"
                } else {
                    "Reservation"
                }
            }),
        }
    };
    let on_commitment = commitment_type.is_some();
    let role = match kind {
        ChargeKind::Usage if unused => Role::Unused,
        ChargeKind::Usage if on_commitment => Role::CoveredUsage,
        ChargeKind::Purchase | ChargeKind::Refund if on_commitment => Role::CommitmentPurchase,
        _ => Role::Plain,
    };
    let pricing_model = explicit_model.or(match (kind, commitment_type) {
        (ChargeKind::Usage, Some("Savings Plan")) => Some(PricingModel::SavingsPlan),
        (ChargeKind::Usage, Some(_)) => Some(PricingModel::Reservation),
        (ChargeKind::Usage, None) => Some(PricingModel::OnDemand),
        _ => None,
    });
    let commitment_status = match role {
        Role::CoveredUsage => Some(CommitmentStatus::Used),
        Role::Unused => Some(CommitmentStatus::Unused),
        _ => None,
    };

    let tag_map = tags(row.text(cols.tags)).map_err(|reason| row.error(cols.tags, reason))?;
    // AdditionalInfo only feeds classification (the VM size), so a malformed one costs
    // the hint, not the charge.
    let info = row
        .text(cols.additional_info)
        .and_then(|t| json_object(t).ok())
        .unwrap_or_default();
    let instance_type = info
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("ServiceType"))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| {
            let l = s.to_ascii_lowercase();
            l.starts_with("standard_") || l.starts_with("basic_")
        })
        .map(str::to_string);

    let resource_id = row.string(cols.resource_id);
    let arm = resource_id.as_deref().and_then(arm_type_and_name);
    let resource_type = row
        .string(cols.resource_type)
        .or_else(|| arm.as_ref().map(|(t, _)| t.clone()));
    let resource_name = row
        .string(cols.resource_name)
        .or_else(|| arm.as_ref().and_then(|(_, n)| n.clone()));

    let meter_category = row.text(cols.meter_category);
    let consumed_service = row.text(cols.consumed_service);
    let meter_name = row.text(cols.meter_name);
    let unit = row.text(cols.unit);
    let quantity = row.decimal(cols.quantity)?;
    let service_name = meter_category
        .or_else(|| row.text(cols.service_name))
        .or(consumed_service)
        .unwrap_or("Unknown")
        .to_string();
    let service_code = consumed_service.unwrap_or(&service_name).to_string();

    let class = memo.classify(&ChargeFacts {
        consumed_service,
        resource_type: resource_type.as_deref(),
        meter_category,
        meter_subcategory: row.text(cols.meter_subcategory),
        meter_name,
        unit,
        instance_type: instance_type.as_deref(),
        tags: Some(&tag_map),
    });
    let tokens = if class.token_meter {
        product(quantity, unit.map(unit_scale))
    } else {
        None
    };
    // EA writes PayGPrice 0 where it has no retail price (reservation rows, fixtures);
    // that is an unknown list cost, not a free one.
    let list_cost = match row.decimal(cols.payg_cost)? {
        Some(c) => Some(c),
        None => product(
            row.decimal(cols.payg_price)?.filter(|p| !p.is_zero()),
            quantity,
        ),
    };
    let contracted_cost = product(row.decimal(cols.unit_price)?, quantity);
    let charge_frequency = frequency(row.text(cols.frequency))
        .or((kind == ChargeKind::Usage).then_some(ChargeFrequency::UsageBased));
    let product_name = row.string(cols.product);

    let record = CostRecord {
        provider: Provider::Azure,
        provider_name: Provider::Azure.focus_name().to_string(),
        billing_account_id,
        billing_account_name: row.string(cols.billing_account_name),
        sub_account_id: subscription,
        sub_account_name: row.string(cols.subscription_name),
        invoice_id: row.string(cols.invoice_id),
        billing_period_start,
        billing_period_end,
        charge_period_start: midnight(day),
        charge_period_end: midnight(day + TimeDelta::days(1)),
        charge_category: kind.category(),
        charge_kind: kind,
        charge_class: None,
        charge_frequency,
        charge_description: product_name
            .clone()
            .or_else(|| meter_name.map(str::to_string)),
        billed_cost: cost,
        effective_cost: cost,
        list_cost,
        contracted_cost,
        billing_currency: currency.to_string(),
        pricing_category: pricing_model.map(PricingModel::category),
        pricing_model,
        commitment_discount_id: if role == Role::Plain {
            None
        } else {
            benefit_id
        },
        commitment_discount_type: if role == Role::Plain {
            None
        } else {
            commitment_type.map(str::to_string)
        },
        commitment_discount_status: commitment_status,
        consumed_quantity: quantity,
        consumed_unit: unit.map(str::to_string),
        pricing_quantity: quantity,
        pricing_unit: unit.map(str::to_string),
        region_id: row.string(cols.resource_location),
        availability_zone: row.string(cols.availability_zone),
        resource_id,
        resource_name,
        resource_type,
        service_name,
        service_code,
        service_category: class.service_category.map(str::to_string),
        service_subcategory: None,
        sku_id: row.string(cols.meter_id),
        sku_description: product_name,
        usage_type: meter_name.map(str::to_string),
        instance_type,
        tags: tag_map,
        resource_kind: class.class.resource_kind,
        cost_category: class.class.cost_category,
        is_ai: class.class.is_ai,
        model: class.class.model,
        tokens,
        source: ctx.source.clone(),
        restates_period: true,
        row_ref: ctx.row_ref(row.number),
    };
    Ok(Outcome::Charge(Box::new(Charge { record, cost, role })))
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
