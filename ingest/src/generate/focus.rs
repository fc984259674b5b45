//! A FOCUS 1.2 export from a fourth provider, Oracle Cloud (OCI writes FOCUS reports
//! natively): `focus/oracle/focus-<YYYY-MM>.csv`, one row per resource, SKU and day.
//!
//! Rows: an A10 GPU bare-metal instance, Generative AI input and output tokens
//! (`ConsumedUnit` Tokens, the working draft's `SkuPriceDetails` model keys), Object
//! Storage, a `Tax` row per day, a `Credit` per period, and a one-time `Purchase` of
//! universal credits whose charge period is the whole month (it lands on its start day;
//! `EffectiveCost` 0, since its value reaches the effective view through the usage it
//! pays for). Every column is a FOCUS 1.2 column, plus `x_InstanceType` (the OCI shape,
//! as provider exports add their own `x_` columns), which tells a GPU instance.

use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rust_decimal::Decimal;

use super::catalog::{Billing, OCI_TENANCY, Resource, Source};
use super::truth::Charge;
use super::{GenerateError, Period, Run, Written, dec, io_err, midnight, money};

pub const FOCUS_COLUMNS: &[&str] = &[
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_InstanceType",
];

#[derive(Debug, Clone)]
struct Row {
    billed: Decimal,
    effective: Decimal,
    category: &'static str,
    frequency: &'static str,
    description: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    quantity: Option<Decimal>,
    unit: &'static str,
    price: Option<Decimal>,
    pricing_category: &'static str,
    resource_id: Option<String>,
    resource_name: String,
    resource_type: &'static str,
    service_category: &'static str,
    service: &'static str,
    sku: &'static str,
    price_details: String,
    tags: &'static str,
    instance: &'static str,
}

fn t(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn cells(p: &Period, r: &Row) -> Vec<String> {
    let q = r.quantity.map(|q| q.to_string()).unwrap_or_default();
    vec![
        r.billed.to_string(),
        OCI_TENANCY.into(),
        "burnrate".into(),
        "Tenancy".into(),
        "USD".into(),
        t(p.end_time()),
        t(p.start_time()),
        r.category.into(),
        String::new(),
        r.description.clone(),
        r.frequency.into(),
        t(r.end),
        t(r.start),
        q.clone(),
        r.unit.into(),
        r.billed.to_string(),
        r.effective.to_string(),
        "Oracle".into(),
        r.billed.to_string(),
        r.price.map(|p| p.to_string()).unwrap_or_default(),
        r.pricing_category.into(),
        "USD".into(),
        q,
        r.unit.into(),
        "Oracle".into(),
        "Oracle".into(),
        "us-ashburn-1".into(),
        "US East (Ashburn)".into(),
        r.resource_id.clone().unwrap_or_default(),
        r.resource_name.clone(),
        r.resource_type.into(),
        r.service_category.into(),
        r.service.into(),
        format!("B{:05}", super::catalog::fnv(r.sku) % 100_000),
        r.sku.into(),
        r.price_details.clone(),
        "ocid1.compartment.oc1..ml".into(),
        "ml".into(),
        r.tags.into(),
        r.instance.into(),
    ]
}

fn category(r: &Resource) -> (&'static str, &'static str) {
    match r.tpl.billing {
        Billing::Tokens => ("AI and Machine Learning", "Generative AI Model"),
        Billing::Daily => ("Storage", "Bucket"),
        _ => ("Compute", "Instance"),
    }
}

pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    let resources: Vec<Resource> = run.catalog.of(Source::Focus).cloned().collect();
    let scale = Decimal::from(run.cfg.scale);
    for p in run.cfg.periods() {
        let rel = format!("focus/oracle/focus-{}.csv", p.start.format("%Y-%m"));
        let (path, file) = run.create(&rel)?;
        let mut w = csv::Writer::from_writer(file);
        w.write_record(FOCUS_COLUMNS)
            .map_err(|e| io_err(&path)(e.into()))?;
        let mut rows = 0u64;
        let mut put = |run: &mut Run<'_>, r: &Row| -> Result<(), GenerateError> {
            run.truth.add(Charge {
                provider: "oci",
                service: r.service,
                currency: "USD",
                start: r.start,
                end: r.end,
                one_time: r.frequency == "One-Time" && r.category == "Purchase",
                billed: r.billed,
                effective: r.effective,
            });
            rows += 1;
            w.write_record(cells(&p, r))
                .map_err(|e| io_err(&path)(e.into()))
        };
        let mut rngs: Vec<_> = resources
            .iter()
            .map(|r| run.rng(&format!("focus/{}/{}", p.folder(), r.name)))
            .collect();
        if let Some(first) = p.days.first() {
            // Universal credits bought for the month: cash on the first day, 0 effective.
            let amount = dec(100_000, 2) * scale;
            put(
                run,
                &Row {
                    billed: amount,
                    effective: Decimal::ZERO,
                    category: "Purchase",
                    frequency: "One-Time",
                    description: "Universal Credits, monthly commitment".into(),
                    start: midnight(*first),
                    end: p.end_time(),
                    quantity: None,
                    unit: "",
                    price: None,
                    pricing_category: "Committed",
                    resource_id: None,
                    resource_name: String::new(),
                    resource_type: "",
                    service_category: "Other",
                    service: "Universal Credits",
                    sku: "Universal Credits",
                    price_details: String::new(),
                    tags: "{}",
                    instance: "",
                },
            )?;
        }
        for day in &p.days {
            let (start, end) = (midnight(*day), midnight(*day) + TimeDelta::days(1));
            let mut day_total = Decimal::ZERO;
            for (i, r) in resources.iter().enumerate() {
                let rng = &mut rngs[i];
                let (service_category, rtype) = category(r);
                let base = Row {
                    billed: Decimal::ZERO,
                    effective: Decimal::ZERO,
                    category: "Usage",
                    frequency: "Usage-Based",
                    description: format!("{} {}", r.tpl.sku, r.tpl.unit),
                    start,
                    end,
                    quantity: None,
                    unit: r.tpl.unit,
                    price: Some(r.tpl.rate()),
                    pricing_category: "Standard",
                    resource_id: r.resource_id.clone(),
                    resource_name: r.name.clone(),
                    resource_type: rtype,
                    service_category,
                    service: r.service,
                    sku: r.tpl.sku,
                    price_details: String::new(),
                    tags: if r.is_ai {
                        r#"{"team":"ml-platform"}"#
                    } else {
                        r#"{"team":"web"}"#
                    },
                    instance: r.tpl.instance,
                };
                let quantities: Vec<(Decimal, Decimal, &'static str)> = match r.tpl.billing {
                    Billing::Tokens => {
                        let input = rng.random_range(5_000_000i64..20_000_000);
                        vec![
                            (Decimal::from(input), r.tpl.rate(), r.tpl.sku),
                            (Decimal::from(input / 5), r.tpl.rate2(), r.tpl.sku2),
                        ]
                    }
                    Billing::Daily => vec![(
                        dec(rng.random_range(30_000..34_000), 3),
                        r.tpl.rate(),
                        r.tpl.sku,
                    )],
                    _ => vec![(Decimal::from(24 * r.tpl.replicas), r.tpl.rate(), r.tpl.sku)],
                };
                for (q, price, sku) in quantities {
                    let cost = money(q * price);
                    day_total += cost;
                    let mut row = base.clone();
                    row.quantity = Some(q);
                    row.price = Some(price);
                    row.billed = cost;
                    row.effective = cost;
                    row.sku = sku;
                    row.description = format!("{sku} {}", r.tpl.unit);
                    if r.tpl.billing == Billing::Tokens {
                        row.price_details = format!(
                            r#"{{"ModelDeveloper":"Cohere","ModelId":"{}","TokenDirection":"{}"}}"#,
                            r.tpl.model,
                            if sku.ends_with("Input") {
                                "Input"
                            } else {
                                "Output"
                            }
                        );
                    }
                    put(run, &row)?;
                }
            }
            let tax = money(day_total * dec(7, 2));
            put(run, &tax_row(start, end, tax))?;
        }
        if let Some(last) = p.days.last() {
            let mut credit = tax_row(
                midnight(*last),
                midnight(*last) + TimeDelta::days(1),
                dec(-4000, 2) * scale,
            );
            credit.category = "Credit";
            credit.description = "Oracle for Startups credit".into();
            credit.service = "Compute";
            credit.service_category = "Compute";
            put(run, &credit)?;
        }
        w.into_inner()
            .map_err(|e| io_err(&path)(e.into_error()))?
            .flush()
            .map_err(io_err(&path))?;
        run.wrote(Written {
            path: rel,
            provider: "oci",
            format: "FOCUS",
            view: "billed+effective",
            rows,
        });
    }
    Ok(())
}

fn tax_row(start: DateTime<Utc>, end: DateTime<Utc>, amount: Decimal) -> Row {
    Row {
        billed: amount,
        effective: amount,
        category: "Tax",
        frequency: "Usage-Based",
        description: "US sales tax".into(),
        start,
        end,
        quantity: None,
        unit: "",
        price: None,
        pricing_category: "",
        resource_id: None,
        resource_name: String::new(),
        resource_type: "",
        service_category: "Other",
        service: "Tax",
        sku: "Tax",
        price_details: String::new(),
        tags: "{}",
        instance: "",
    }
}
