//! Azure EA cost exports, actual and amortized, month to date: per enrollment and billing
//! period, `azure/<enrollment>/<enrollment>-ActualCost/<YYYYMMDD-YYYYMMDD>/part_0_0001.csv`
//! and the same under `-AmortizedCost`. The file of a period holds every day from the
//! period start to the last generated day, so a later run with more days rewrites it in
//! place, as Azure's daily month-to-date export does.
//!
//! The column set is the EA one of the FinOps toolkit's real `EA_ActualCost_Small.csv`,
//! every column in its order. One row per resource, meter and day. The views differ as
//! `azure_cost/view.rs` describes: the reservation purchase is only in the actual file;
//! reservation-covered usage is priced 0 there and at the reservation rate in the
//! amortized file, which also has `UnusedReservation` rows for idle reserved hours.

use std::io::Write;

use chrono::{NaiveDate, TimeDelta};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::catalog::{AZURE_ACCOUNTS, Billing, Resource, Source, fnv};
use super::truth::Charge;
use super::{GenerateError, Period, Run, Written, dec, io_err, midnight, money};

/// The EA export header (the real file's columns, in its order).
pub const EA_COLUMNS: &[&str] = &[
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "BillingProfileId",
    "BillingProfileName",
    "AccountOwnerId",
    "AccountName",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "Product",
    "PartNumber",
    "MeterId",
    "ServiceFamily",
    "MeterCategory",
    "MeterSubCategory",
    "MeterRegion",
    "MeterName",
    "Quantity",
    "EffectivePrice",
    "Cost",
    "UnitPrice",
    "BillingCurrency",
    "ResourceLocation",
    "AvailabilityZone",
    "ConsumedService",
    "ResourceId",
    "ResourceName",
    "ServiceInfo1",
    "ServiceInfo2",
    "AdditionalInfo",
    "Tags",
    "InvoiceSectionId",
    "InvoiceSection",
    "CostCenter",
    "UnitOfMeasure",
    "ResourceGroup",
    "ReservationId",
    "ReservationName",
    "ProductOrderId",
    "ProductOrderName",
    "OfferId",
    "IsAzureCreditEligible",
    "Term",
    "PublisherName",
    "PlanName",
    "ChargeType",
    "Frequency",
    "PublisherType",
    "PayGPrice",
    "PricingModel",
    "CostAllocationRuleName",
    "benefitId",
    "benefitName",
];

/// One export row, in the fields that vary; `cells` lays it out.
#[derive(Debug, Clone, Default)]
struct Row {
    day: Option<NaiveDate>,
    meter: &'static str,
    category: &'static str,
    subcategory: &'static str,
    quantity: Decimal,
    price: Decimal,
    cost: Decimal,
    payg_price: Decimal,
    consumed: &'static str,
    resource_id: String,
    instance: &'static str,
    unit: &'static str,
    location: &'static str,
    reservation: Option<String>,
    charge_type: &'static str,
    frequency: &'static str,
    pricing_model: &'static str,
    product: String,
    tags: &'static str,
}

struct Account {
    id: &'static str,
    subscription: &'static str,
    currency: &'static str,
}

fn date(d: NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

fn cells(a: &Account, p: &Period, r: &Row) -> Vec<String> {
    let last_day = p.end - TimeDelta::days(1);
    let name = r.resource_id.rsplit('/').next().unwrap_or("").to_string();
    let group = r
        .resource_id
        .split('/')
        .skip_while(|s| !s.eq_ignore_ascii_case("resourceGroups"))
        .nth(1)
        .unwrap_or("")
        .to_string();
    let info = if r.instance.is_empty() {
        String::new()
    } else {
        format!(
            "{{\"ServiceType\":\"{}\",\"ImageType\":\"Canonical\"}}",
            r.instance
        )
    };
    let (res_id, res_name) = match &r.reservation {
        Some(id) => (id.clone(), format!("RI-{}", &id[..8.min(id.len())])),
        None => (String::new(), String::new()),
    };
    let benefit = r
        .reservation
        .as_ref()
        .map(|id| format!("/providers/Microsoft.Capacity/reservationOrders/{id}/reservations/{id}"))
        .unwrap_or_default();
    let meter_id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        fnv(r.meter) as u32,
        fnv(r.meter) & 0xffff_ffff_ffff
    );
    vec![
        a.id.into(),
        format!("Burnrate {} enrollment", a.currency),
        date(p.start),
        date(last_day),
        a.id.into(),
        format!("Burnrate {} enrollment", a.currency),
        "finops@burnrate.example".into(),
        "ML Platform".into(),
        a.subscription.into(),
        "ml-platform".into(),
        r.day.map(date).unwrap_or_default(),
        r.product.clone(),
        format!("AAA-{:05}", fnv(r.meter) % 100_000),
        meter_id,
        if r.category == "Storage" {
            "Storage"
        } else {
            "Compute"
        }
        .into(),
        r.category.into(),
        r.subcategory.into(),
        r.location.into(),
        r.meter.into(),
        r.quantity.to_string(),
        r.price.to_string(),
        r.cost.to_string(),
        r.price.to_string(),
        a.currency.into(),
        r.location.into(),
        String::new(),
        r.consumed.into(),
        r.resource_id.clone(),
        name,
        String::new(),
        String::new(),
        info,
        r.tags.into(),
        "IS-0001".into(),
        "ML".into(),
        "CC-4711".into(),
        r.unit.into(),
        group,
        res_id.clone(),
        res_name,
        res_id,
        if r.reservation.is_some() {
            "Reserved VM Instance, 1 Year".into()
        } else {
            String::new()
        },
        "MS-AZR-0017P".into(),
        "True".into(),
        if r.reservation.is_some() { "12" } else { "" }.into(),
        "Microsoft".into(),
        String::new(),
        r.charge_type.into(),
        r.frequency.into(),
        "Azure".into(),
        r.payg_price.to_string(),
        r.pricing_model.into(),
        String::new(),
        benefit.clone(),
        if benefit.is_empty() {
            String::new()
        } else {
            "nd96-reservation".into()
        },
    ]
}

/// Which file(s) a row goes to.
#[derive(Debug, Clone, Copy)]
enum To {
    Both,
    /// The actual file only (a commitment purchase).
    Actual,
    /// The amortized file only (unused commitment).
    Amortized,
    /// Both, priced 0 in actual and at this amortized cost in amortized (covered usage).
    Covered(Decimal),
}

/// The two files of one enrollment and period, written side by side.
struct Pair {
    actual: csv::Writer<std::io::BufWriter<std::fs::File>>,
    amortized: csv::Writer<std::io::BufWriter<std::fs::File>>,
    paths: [(String, std::path::PathBuf); 2],
    rows: [u64; 2],
}

impl Pair {
    fn row(
        &mut self,
        run: &mut Run<'_>,
        a: &Account,
        p: &Period,
        r: &Row,
        to: To,
    ) -> Result<(), GenerateError> {
        let (in_actual, in_amortized, amortized_cost) = match to {
            To::Both => (true, true, None),
            To::Actual => (true, false, None),
            To::Amortized => (false, true, None),
            To::Covered(c) => (true, true, Some(c)),
        };
        let day = r.day.unwrap_or(p.start);
        let mut charge = Charge {
            provider: "azure",
            service: r.category,
            currency: a.currency,
            start: midnight(day),
            end: midnight(day + TimeDelta::days(1)),
            one_time: false,
            billed: r.cost,
            effective: Decimal::ZERO,
        };
        if in_actual {
            run.truth.add(charge);
            self.actual
                .write_record(cells(a, p, r))
                .map_err(|e| io_err(&self.paths[0].1)(e.into()))?;
            self.rows[0] += 1;
        }
        if in_amortized {
            let mut am = r.clone();
            if let Some(c) = amortized_cost {
                am.cost = c;
                am.price = if am.quantity.is_zero() {
                    Decimal::ZERO
                } else {
                    (c / am.quantity).round_dp(6)
                };
            }
            charge.billed = Decimal::ZERO;
            charge.effective = am.cost;
            run.truth.add(charge);
            self.amortized
                .write_record(cells(a, p, &am))
                .map_err(|e| io_err(&self.paths[1].1)(e.into()))?;
            self.rows[1] += 1;
        }
        Ok(())
    }
}

pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    for (n, (id, subscription, currency)) in AZURE_ACCOUNTS.iter().enumerate() {
        let account = Account {
            id,
            subscription,
            currency,
        };
        let resources: Vec<Resource> = run
            .catalog
            .of(Source::Azure)
            .filter(|r| r.tpl.account == n)
            .cloned()
            .collect();
        for period in run.cfg.periods() {
            write_period(run, &account, &resources, &period)?;
        }
    }
    Ok(())
}

fn open(
    run: &Run<'_>,
    rel: &str,
) -> Result<
    (
        std::path::PathBuf,
        csv::Writer<std::io::BufWriter<std::fs::File>>,
    ),
    GenerateError,
> {
    let (path, file) = run.create(rel)?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record(EA_COLUMNS)
        .map_err(|e| io_err(&path)(e.into()))?;
    Ok((path, w))
}

fn write_period(
    run: &mut Run<'_>,
    a: &Account,
    resources: &[Resource],
    p: &Period,
) -> Result<(), GenerateError> {
    let base = format!("azure/{}", a.id);
    let rel_actual = format!("{base}/{}-ActualCost/{}/part_0_0001.csv", a.id, p.folder());
    let rel_amortized = format!(
        "{base}/{}-AmortizedCost/{}/part_0_0001.csv",
        a.id,
        p.folder()
    );
    let (pa, actual) = open(run, &rel_actual)?;
    let (pm, amortized) = open(run, &rel_amortized)?;
    let mut pair = Pair {
        actual,
        amortized,
        paths: [(rel_actual, pa), (rel_amortized, pm)],
        rows: [0, 0],
    };
    let mut rngs: Vec<ChaCha8Rng> = resources
        .iter()
        .map(|r| run.rng(&format!("azure/{}/{}", p.folder(), r.name)))
        .collect();
    let days_in_month = Decimal::from((p.end - p.start).num_days());
    for (d, day) in p.days.iter().enumerate() {
        for (i, r) in resources.iter().enumerate() {
            let tpl = r.tpl;
            let rng = &mut rngs[i];
            let row = Row {
                day: Some(*day),
                meter: tpl.sku,
                category: tpl.service,
                subcategory: subcategory(tpl.sku, tpl.service),
                consumed: tpl.code,
                resource_id: r.resource_id.clone().unwrap_or_default(),
                instance: tpl.instance,
                unit: tpl.unit,
                location: tpl.region,
                charge_type: "Usage",
                frequency: "UsageBased",
                pricing_model: "OnDemand",
                product: format!("{} - {}", tpl.service, tpl.sku),
                tags: if r.is_ai {
                    "\"team\": \"ml-platform\",\"env\": \"prod\""
                } else {
                    "\"team\": \"web\",\"env\": \"prod\""
                },
                price: tpl.rate(),
                payg_price: tpl.rate(),
                ..Row::default()
            };
            match tpl.billing {
                Billing::Tokens => {
                    let input = rng.random_range(2_000_000i64..20_000_000);
                    let output = input / rng.random_range(3i64..8);
                    let i_row = priced(row.clone(), dec(input, 3), tpl.rate());
                    pair.row(run, a, p, &i_row, To::Both)?;
                    let mut o = row;
                    o.meter = tpl.sku2;
                    o.product = format!("{} - {}", tpl.service, tpl.sku2);
                    let o_row = priced(o, dec(output, 3), tpl.rate2());
                    pair.row(run, a, p, &o_row, To::Both)?;
                }
                Billing::Daily => {
                    let q = dec(rng.random_range(16_000..17_000), 3);
                    pair.row(run, a, p, &priced(row, q, tpl.rate()), To::Both)?;
                }
                Billing::Reserved => {
                    let id = format!(
                        "{:08x}-1a2b-4c3d-8e4f-{:012x}",
                        fnv(&r.name) as u32,
                        fnv(&r.name) & 0xffff_ffff_ffff
                    );
                    let hours = rng.random_range(18i64..=24);
                    let reserved_rate = tpl.rate2();
                    if d == 0 {
                        // The monthly reservation payment: cash in the actual view only.
                        let purchase = Row {
                            meter: tpl.sku,
                            quantity: Decimal::ONE,
                            price: money(reserved_rate * dec(24, 0) * days_in_month),
                            cost: money(reserved_rate * dec(24, 0) * days_in_month),
                            consumed: "Microsoft.Capacity",
                            resource_id: format!(
                                "/providers/Microsoft.Capacity/reservationOrders/{id}/reservations/"
                            ),
                            reservation: Some(id.clone()),
                            charge_type: "Purchase",
                            frequency: "Recurring",
                            pricing_model: "Reservation",
                            instance: "",
                            tags: "",
                            product: format!("Reserved VM Instance, {}, 1 Year", tpl.instance),
                            payg_price: Decimal::ZERO,
                            ..row.clone()
                        };
                        pair.row(run, a, p, &purchase, To::Actual)?;
                    }
                    let mut covered = row.clone();
                    covered.quantity = Decimal::from(hours);
                    covered.price = Decimal::ZERO;
                    covered.cost = Decimal::ZERO;
                    covered.reservation = Some(id.clone());
                    covered.pricing_model = "Reservation";
                    let amortized = money(reserved_rate * Decimal::from(hours));
                    pair.row(run, a, p, &covered, To::Covered(amortized))?;
                    if hours < 24 {
                        let idle = Decimal::from(24 - hours);
                        let mut unused = covered.clone();
                        unused.resource_id = String::new();
                        unused.charge_type = "UnusedReservation";
                        unused.quantity = idle;
                        unused.price = reserved_rate;
                        unused.cost = money(reserved_rate * idle);
                        pair.row(run, a, p, &unused, To::Amortized)?;
                    }
                }
                _ => {
                    let q = Decimal::from(24 * tpl.replicas);
                    pair.row(run, a, p, &priced(row, q, tpl.rate()), To::Both)?;
                }
            }
        }
    }
    if let Some(last) = p.days.last() {
        // A refund and a rounding adjustment per period, in both views.
        let scale = Decimal::from(run.cfg.scale);
        for (kind, category, amount) in [
            ("Refund", "Virtual Machines", dec(-1875, 2) * scale),
            ("RoundingAdjustment", "Virtual Machines", dec(3, 4)),
        ] {
            let row = Row {
                day: Some(*last),
                meter: if kind == "Refund" {
                    "Service credit"
                } else {
                    "Rounding adjustment"
                },
                category,
                quantity: Decimal::ONE,
                price: amount,
                cost: amount,
                charge_type: kind,
                frequency: "OneTime",
                product: format!("{kind} for {category}"),
                ..Row::default()
            };
            pair.row(run, a, p, &row, To::Both)?;
        }
    }
    for (i, w) in [pair.actual, pair.amortized].into_iter().enumerate() {
        let path = &pair.paths[i].1;
        w.into_inner()
            .map_err(|e| io_err(path)(e.into_error()))?
            .flush()
            .map_err(io_err(path))?;
        run.wrote(Written {
            path: pair.paths[i].0.clone(),
            provider: "azure",
            format: "Azure cost export (EA)",
            view: if i == 0 { "actual" } else { "amortized" },
            rows: pair.rows[i],
        });
    }
    Ok(())
}

fn priced(mut r: Row, quantity: Decimal, price: Decimal) -> Row {
    r.quantity = quantity;
    r.price = price;
    r.payg_price = price;
    r.cost = money(quantity * price);
    r
}

fn subcategory(meter: &str, category: &str) -> &'static str {
    if category == "Cognitive Services" {
        "Azure OpenAI"
    } else if meter.starts_with("NC24ads") {
        "NCadsA100v4 Series"
    } else if meter.starts_with("NC4as") {
        "NCasT4 v3 Series"
    } else if meter.starts_with("ND96") {
        "NDasrA100v4 Series"
    } else if meter.starts_with('D') {
        "Dsv5 Series"
    } else if category == "Storage" {
        "Tiered Block Blob"
    } else {
        "General Purpose"
    }
}
