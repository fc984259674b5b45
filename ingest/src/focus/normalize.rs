//! One FOCUS row to one `CostRecord`: the columns as given, enumerations read tolerantly,
//! and the few facts FOCUS does not carry (our `x_ChargeKind`, pricing model, AI kind)
//! derived from the columns that do. Pure: no I/O.

use std::collections::BTreeMap;

use burnrate_schemas::{
    ChargeCategory, ChargeClass, ChargeFrequency, ChargeKind, CommitmentStatus, CostRecord,
    PricingCategory, PricingModel, Provider,
};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;

use super::classify::{self, AiInputs};
use super::columns::FocusColumns;
use crate::error::RowError;
use crate::read::FileCtx;
use crate::table::{Col, Row};
use crate::value;
use crate::value::calendar_month;

/// Normalizes one FOCUS row. Every error names the column at fault.
pub fn record(row: &Row<'_>, c: &FocusColumns, ctx: &FileCtx) -> Result<CostRecord, RowError> {
    // A file with no BillingCurrency column at all takes the caller's `--currency`.
    let currency = if c.billing_currency.present() {
        row.string(c.billing_currency)
    } else {
        ctx.default_currency.clone()
    };
    let dollars = currency.as_deref() == Some("USD");
    let money = |col: Col| -> Result<Option<Decimal>, RowError> {
        match row.text(col) {
            None => Ok(None),
            Some(t) => amount(t, dollars)
                .map(Some)
                .map_err(|reason| row.error(col, reason)),
        }
    };
    let billed =
        money(c.billed_cost)?.ok_or_else(|| row.error(c.billed_cost, "BilledCost is empty"))?;
    // EffectiveCost is mandatory in FOCUS; a file without the column has no amortization,
    // so the cash amount is also the amortized one.
    let effective = match c.effective_cost.present() {
        true => money(c.effective_cost)?
            .ok_or_else(|| row.error(c.effective_cost, "EffectiveCost is empty"))?,
        false => billed,
    };
    let category_text = row.required_text(c.charge_category, "ChargeCategory")?;
    let category = charge_category(category_text).ok_or_else(|| {
        row.error(
            c.charge_category,
            format!("unknown ChargeCategory {category_text:?}"),
        )
    })?;
    let description = row.string(c.charge_description);
    let kind = charge_kind(category, description.as_deref());
    let charge_class = match row.text(c.charge_class) {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("correction") => Some(ChargeClass::Correction),
        Some(t) => return Err(row.error(c.charge_class, format!("unknown ChargeClass {t:?}"))),
    };
    let charge_frequency = match row.text(c.charge_frequency) {
        None => None,
        Some(t) => Some(charge_frequency(t).ok_or_else(|| {
            row.error(c.charge_frequency, format!("unknown ChargeFrequency {t:?}"))
        })?),
    };
    let pricing_category = match row.text(c.pricing_category) {
        None => None,
        Some(t) => Some(pricing_category(t).ok_or_else(|| {
            row.error(c.pricing_category, format!("unknown PricingCategory {t:?}"))
        })?),
    };
    let commitment_discount_status = match row.text(c.commitment_discount_status) {
        None => None,
        Some(t) => Some(commitment_status(t).ok_or_else(|| {
            row.error(
                c.commitment_discount_status,
                format!("unknown CommitmentDiscountStatus {t:?}"),
            )
        })?),
    };

    let charge_start = required_time(row, c.charge_period_start, "ChargePeriodStart")?;
    // A charge with no end is an instant: it lands whole on its start day.
    let charge_end = optional_time(row, c.charge_period_end)?.unwrap_or(charge_start);
    let (month_start, month_end) = calendar_month(charge_start);
    let billing_period_start = optional_time(row, c.billing_period_start)?.unwrap_or(month_start);
    let billing_period_end = optional_time(row, c.billing_period_end)?.unwrap_or(month_end);

    let provider_name = row.string(c.provider_name).unwrap_or_default();
    let provider = Provider::from_name(&provider_name);
    let service_name = row.string(c.service_name).unwrap_or_default();
    let service_code = row
        .string(c.service_code)
        .unwrap_or_else(|| service_name.clone());
    let commitment_discount_type = row.string(c.commitment_discount_type);
    let pricing_model = pricing_model(
        pricing_category,
        commitment_discount_type.as_deref(),
        provider,
    );

    let tags = match row.text(c.tags) {
        None => BTreeMap::new(),
        Some(t) => tags(t).map_err(|reason| row.error(c.tags, reason))?,
    };
    let model = match row.text(c.sku_price_details) {
        None => None,
        Some(t) => {
            model_from_price_details(t).map_err(|reason| row.error(c.sku_price_details, reason))?
        }
    };
    let consumed_quantity = row.decimal(c.consumed_quantity)?;
    let consumed_unit = row.string(c.consumed_unit);
    let instance_type = row
        .string(c.instance_type)
        .or_else(|| description.as_deref().and_then(classify::instance_token));
    let service_category = row.string(c.service_category);
    let resource_id = row.string(c.resource_id);
    let resource_type = row.string(c.resource_type);
    let sku_meter = row.string(c.sku_meter);

    let class = classify::classify(&AiInputs {
        service_category: service_category.as_deref(),
        service_name: &service_name,
        resource_id: resource_id.as_deref(),
        resource_type: resource_type.as_deref(),
        consumed_unit: consumed_unit.as_deref(),
        description: description.as_deref(),
        sku_meter: sku_meter.as_deref(),
        instance_type: instance_type.as_deref(),
        model: model.as_deref(),
    });
    let tokens = match consumed_unit.as_deref() {
        Some(u) if classify::is_token_unit(u) => consumed_quantity,
        _ => None,
    };

    Ok(CostRecord {
        provider,
        provider_name,
        billing_account_id: row.string(c.billing_account_id).unwrap_or_default(),
        billing_account_name: row.string(c.billing_account_name),
        sub_account_id: row.string(c.sub_account_id),
        sub_account_name: row.string(c.sub_account_name),
        invoice_id: row.string(c.invoice_id),
        billing_period_start,
        billing_period_end,
        charge_period_start: charge_start,
        charge_period_end: charge_end,
        charge_category: category,
        charge_kind: kind,
        charge_class,
        charge_frequency,
        charge_description: description,
        billed_cost: billed,
        effective_cost: effective,
        list_cost: money(c.list_cost)?,
        contracted_cost: money(c.contracted_cost)?,
        billing_currency: currency.unwrap_or_else(|| NO_CURRENCY.to_string()),
        pricing_category,
        pricing_model,
        commitment_discount_id: row.string(c.commitment_discount_id),
        commitment_discount_type,
        commitment_discount_status,
        consumed_quantity,
        consumed_unit,
        pricing_quantity: row.decimal(c.pricing_quantity)?,
        pricing_unit: row.string(c.pricing_unit),
        region_id: row.string(c.region_id),
        availability_zone: row.string(c.availability_zone),
        resource_id,
        resource_name: row.string(c.resource_name),
        resource_type,
        service_name,
        service_code,
        service_category,
        service_subcategory: row.string(c.service_subcategory),
        sku_id: row.string(c.sku_id),
        sku_description: row.string(c.sku_description).or(sku_meter.clone()),
        usage_type: row.string(c.usage_type).or(sku_meter),
        instance_type,
        tags,
        resource_kind: class.resource_kind,
        cost_category: class.cost_category,
        is_ai: class.is_ai,
        model: class.model,
        tokens,
        source: ctx.source.clone(),
        restates_period: false,
        row_ref: ctx.row_ref(row.number),
    })
}

/// A money cell. Besides every plain form `value::decimal` reads, a dollar amount as a
/// spreadsheet formats it (`"$10,000.00 "`, as in the spec's SaaS examples) is accepted when
/// the row's currency is USD: the `$` fixes the convention, so the commas can only be
/// thousands separators, and they must group by three. Anything else stays an error.
pub fn amount(t: &str, dollars: bool) -> Result<Decimal, String> {
    let plain = value::decimal(t);
    if let Ok(Some(v)) = plain {
        return Ok(v);
    }
    let s = t.trim();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    match body.strip_prefix('$') {
        Some(digits) if dollars && grouped_by_three(digits) => {
            let joined: String = digits.chars().filter(|ch| *ch != ',').collect();
            let v = value::decimal(&joined)?.ok_or_else(|| format!("not a number: {t:?}"))?;
            Ok(if negative { -v } else { v })
        }
        _ => match plain {
            Err(e) => Err(e),
            Ok(_) => Err(format!("not a number: {t:?}")),
        },
    }
}

fn grouped_by_three(s: &str) -> bool {
    let int = s.split_once('.').map_or(s, |(i, _)| i);
    let groups: Vec<&str> = int.split(',').collect();
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    groups.iter().all(|g| digits(g))
        && groups[0].len() <= 3
        && groups[1..].iter().all(|g| g.len() == 3)
}

/// ISO 4217's code for "no currency": what a record carries when the file has no
/// `BillingCurrency` column at all (the spec's commitment examples) and no `--currency`
/// was given. It keeps such amounts
/// in a group of their own instead of pretending they are dollars.
pub const NO_CURRENCY: &str = "XXX";

pub fn charge_category(t: &str) -> Option<ChargeCategory> {
    Some(match t.trim().to_ascii_lowercase().as_str() {
        "usage" => ChargeCategory::Usage,
        "purchase" => ChargeCategory::Purchase,
        "tax" => ChargeCategory::Tax,
        "credit" => ChargeCategory::Credit,
        "adjustment" => ChargeCategory::Adjustment,
        _ => return None,
    })
}

/// FOCUS folds refunds into Credit; the description is the only place that tells them apart.
pub fn charge_kind(category: ChargeCategory, description: Option<&str>) -> ChargeKind {
    match category {
        ChargeCategory::Usage => ChargeKind::Usage,
        ChargeCategory::Purchase => ChargeKind::Purchase,
        ChargeCategory::Tax => ChargeKind::Tax,
        ChargeCategory::Adjustment => ChargeKind::Adjustment,
        ChargeCategory::Credit => {
            let refund = description.is_some_and(|d| d.to_ascii_lowercase().contains("refund"));
            if refund {
                ChargeKind::Refund
            } else {
                ChargeKind::Credit
            }
        }
    }
}

/// Accepts the spec's spellings and the `Usage-based` the real sample also writes.
pub fn charge_frequency(t: &str) -> Option<ChargeFrequency> {
    let k: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    Some(match k.to_ascii_lowercase().as_str() {
        "onetime" => ChargeFrequency::OneTime,
        "recurring" => ChargeFrequency::Recurring,
        "usagebased" => ChargeFrequency::UsageBased,
        _ => return None,
    })
}

/// FOCUS 1.0+ values, plus the 1.0-preview names (`On-Demand`, `Commitment-Based`).
pub fn pricing_category(t: &str) -> Option<PricingCategory> {
    let k: String = t.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    Some(match k.to_ascii_lowercase().as_str() {
        "standard" | "ondemand" => PricingCategory::Standard,
        "dynamic" | "spot" => PricingCategory::Dynamic,
        "committed" | "commitmentbased" => PricingCategory::Committed,
        "other" => PricingCategory::Other,
        _ => return None,
    })
}

pub fn commitment_status(t: &str) -> Option<CommitmentStatus> {
    match t.trim().to_ascii_lowercase().as_str() {
        "used" => Some(CommitmentStatus::Used),
        "unused" => Some(CommitmentStatus::Unused),
        _ => None,
    }
}

/// The pricing model in our words. `CommitmentDiscountType` is provider text ("Savings
/// Plan", "Reservation", "Committed Use Discount"); a committed row whose type says none of
/// these keeps its FOCUS category but gets no model rather than a guessed one.
pub fn pricing_model(
    category: Option<PricingCategory>,
    commitment_type: Option<&str>,
    provider: Provider,
) -> Option<PricingModel> {
    match category? {
        PricingCategory::Standard => Some(PricingModel::OnDemand),
        PricingCategory::Dynamic => Some(PricingModel::Spot),
        PricingCategory::Other => None,
        PricingCategory::Committed => {
            let t = commitment_type.unwrap_or("").to_ascii_lowercase();
            if t.contains("savings plan") {
                Some(PricingModel::SavingsPlan)
            } else if t.contains("reserv") {
                Some(PricingModel::Reservation)
            } else if t.contains("committed use") || (t.is_empty() && provider == Provider::Gcp) {
                Some(PricingModel::CommittedUse)
            } else {
                None
            }
        }
    }
}

/// FOCUS `Tags`: a JSON object. Azure EA writes the same pairs without the outer braces,
/// so a body that is not an object is tried once more inside braces. Keys are trimmed (the
/// real sample has `" org"` beside `"org"`); values that are not strings keep their JSON
/// text, and a JSON null becomes an empty value (the key was set, with no value).
pub fn tags(text: &str) -> Result<BTreeMap<String, String>, String> {
    let t = text.trim();
    let parsed = serde_json::from_str::<serde_json::Value>(t)
        .ok()
        .filter(serde_json::Value::is_object)
        .or_else(|| serde_json::from_str::<serde_json::Value>(&format!("{{{t}}}")).ok());
    let Some(serde_json::Value::Object(map)) = parsed else {
        return Err(format!("Tags is not a JSON object: {}", clip(t)));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.trim().to_string(), v)
        })
        .collect())
}

/// The model id of the AI working draft's `SkuPriceDetails` (`ModelId`, else `ModelFamily`).
/// Other price-detail objects (the SaaS examples) carry no model: `Ok(None)`.
pub fn model_from_price_details(text: &str) -> Result<Option<String>, String> {
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("SkuPriceDetails is not JSON ({e}): {}", clip(text)))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(field("ModelId").or_else(|| field("ModelFamily")))
}

fn clip(t: &str) -> String {
    let cut: String = t.chars().take(60).collect();
    if cut.len() < t.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

fn required_time(row: &Row<'_>, col: Col, what: &str) -> Result<DateTime<Utc>, RowError> {
    optional_time(row, col)?.ok_or_else(|| row.error(col, format!("{what} is empty")))
}

fn optional_time(row: &Row<'_>, col: Col) -> Result<Option<DateTime<Utc>>, RowError> {
    match row.text(col) {
        None => Ok(None),
        Some(t) => time(t).map(Some).map_err(|reason| row.error(col, reason)),
    }
}

/// A FOCUS date-time. The spec's SaaS examples write `11/1/25`; a two-digit year is read
/// as 20YY (chrono's `%Y` would take it as the year 25).
pub fn time(t: &str) -> Result<DateTime<Utc>, String> {
    if let Some(d) = short_us_date(t) {
        return Ok(d.and_time(NaiveTime::MIN).and_utc());
    }
    value::timestamp(t)?.ok_or_else(|| "empty time".to_string())
}

fn short_us_date(t: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = t.trim().split('/').collect();
    let [m, d, y] = parts.as_slice() else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(m) && digits(d) && y.len() == 2 && digits(y)) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        2000 + y.parse::<i32>().ok()?,
        m.parse().ok()?,
        d.parse().ok()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Container;
    use crate::table::Header;
    use csv::StringRecord;
    use std::path::Path;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn one(header: &str, line: &str) -> Result<CostRecord, RowError> {
        let header = Header::new(header.split(','));
        let cols = FocusColumns::resolve(&header);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let mut rec = StringRecord::new();
        assert!(rdr.read_record(&mut rec).expect("csv"));
        let ctx = FileCtx::new(Path::new("t.csv"), Container::Plain, &Default::default());
        let row = Row {
            record: &rec,
            header: &header,
            file: "t.csv",
            number: 7,
        };
        record(&row, &cols, &ctx)
    }

    const H: &str = "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargeClass,ChargeDescription,ChargeFrequency,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName,ResourceId,Tags,PricingCategory,CommitmentDiscountType";

    #[test]
    fn a_correction_credit_row_keeps_everything_as_given() {
        let r = one(H, r#"-2.50,-2.00,EUR,Credit,Correction,Refund for outage,One-Time,2024-03-05 10:00:00,2024-03-05 11:00:00,Microsoft,Virtual Machines,NULL,"{"" env"": ""prod"", ""n"": 3}",Committed,Reservation"#)
            .expect("row");
        assert_eq!((r.billed_cost, r.effective_cost), (d("-2.5"), d("-2")));
        assert_eq!(r.billing_currency, "EUR");
        assert_eq!(r.charge_category, ChargeCategory::Credit);
        assert_eq!(r.charge_kind, ChargeKind::Refund);
        assert_eq!(r.charge_class, Some(ChargeClass::Correction));
        assert_eq!(r.provider, Provider::Azure);
        assert_eq!(r.provider_name, "Microsoft");
        assert_eq!(r.service_code, "Virtual Machines");
        assert_eq!(r.resource_id, None);
        assert_eq!(r.tags.get("env").map(String::as_str), Some("prod"));
        assert_eq!(r.tags.get("n").map(String::as_str), Some("3"));
        assert_eq!(r.pricing_model, Some(PricingModel::Reservation));
        assert_eq!(r.row_ref.row, 7);
        // No BillingPeriod columns: the calendar month of the charge.
        assert_eq!(
            r.billing_period_start.to_rfc3339(),
            "2024-03-01T00:00:00+00:00"
        );
        assert_eq!(
            r.billing_period_end.to_rfc3339(),
            "2024-04-01T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_cells_name_their_column() {
        let e = one(
            H,
            "1,1,USD,Usage,,x,Usage-Based,2024-03-05,2024-03-06,AWS,S3,,,Spot-ish,",
        )
        .expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("PricingCategory"));
        let e = one(
            H,
            "1,1,USD,Refund,,x,Usage-Based,2024-03-05,2024-03-06,AWS,S3,,,,",
        )
        .expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("ChargeCategory"));
        let e = one(
            H,
            "abc,1,USD,Usage,,x,Usage-Based,2024-03-05,2024-03-06,AWS,S3,,,,",
        )
        .expect_err("bad");
        assert_eq!((e.column.as_deref(), e.row), (Some("BilledCost"), 7));
        let e = one(
            H,
            r#"1,1,USD,Usage,,x,Usage-Based,2024-03-05,2024-03-06,AWS,S3,,"[1,2]",,"#,
        )
        .expect_err("bad");
        assert_eq!(e.column.as_deref(), Some("Tags"));
    }

    #[test]
    fn enumerations_in_every_spelling() {
        for t in ["Usage-Based", "Usage-based", "usage based", "UsageBased"] {
            assert_eq!(
                charge_frequency(t),
                Some(ChargeFrequency::UsageBased),
                "{t}"
            );
        }
        assert_eq!(charge_frequency("One-Time"), Some(ChargeFrequency::OneTime));
        assert_eq!(charge_frequency("monthly"), None);
        assert_eq!(
            pricing_category("On-Demand"),
            Some(PricingCategory::Standard)
        );
        assert_eq!(
            pricing_category("Commitment-Based"),
            Some(PricingCategory::Committed)
        );
        assert_eq!(
            charge_kind(ChargeCategory::Credit, Some("Promo credit")),
            ChargeKind::Credit
        );
        assert_eq!(
            charge_kind(ChargeCategory::Adjustment, None),
            ChargeKind::Adjustment
        );
    }

    #[test]
    fn tags_with_and_without_braces() {
        let t = tags(r#""env": "prod","org": "trey""#).expect("EA form");
        assert_eq!(t.len(), 2);
        assert_eq!(tags("{}").expect("empty"), BTreeMap::new());
        assert!(tags("not json").is_err());
    }

    #[test]
    fn spreadsheet_dollars_only_when_unambiguous() {
        assert_eq!(amount("$10,000.00 ", true), Ok(d("10000")));
        assert_eq!(amount("$20.00 ", true), Ok(d("20")));
        assert_eq!(amount("-$1,234,567.5", true), Ok(d("-1234567.5")));
        assert!(amount("$10,000.00", false).is_err(), "not a USD row");
        assert!(amount("$10,00", true).is_err(), "bad grouping");
        assert!(
            amount("1,000", true).is_err(),
            "no $: the comma could be a decimal comma"
        );
        assert_eq!(amount("1.25E-6", false), Ok(d("0.00000125")));
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(
            time("11/1/25").map(|t| t.to_rfc3339()),
            Ok("2025-11-01T00:00:00+00:00".into())
        );
        assert_eq!(
            time("2024-09-18 22:00:00").map(|t| t.to_rfc3339()),
            Ok("2024-09-18T22:00:00+00:00".into())
        );
        assert!(time("2023-02-01T30:00:00Z").is_err());
    }

    #[test]
    fn model_from_the_ai_draft_price_details() {
        let m = model_from_price_details(
            r#"{"ModelDeveloper":"Solora AI","ModelId":"solora-atlas-5.5","TokenDirection":"Input"}"#,
        );
        assert_eq!(m, Ok(Some("solora-atlas-5.5".into())));
        assert_eq!(model_from_price_details(r#"{"Tier":"1"}"#), Ok(None));
    }
}
