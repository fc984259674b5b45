//! GCP Cloud Billing detailed export (`gcp_billing_export_resource_v1_<account>`) rows as
//! newline-delimited JSON, as `bq extract --destination_format NEWLINE_DELIMITED_JSON`
//! writes them: one file per usage day (`<YYYYMMDD>.jsonl`), and one `late-<YYYYMMDD>.jsonl`
//! with rows for earlier usage days exported later (Google appends, so they add).
//!
//! Rows: Vertex AI endpoints (a core-and-RAM SKU and a GPU SKU per hour), Gemini input and
//! output tokens, A2/A3/G2 GPU VMs and N2 VMs on Compute Engine, Cloud Storage and
//! BigQuery a day. Credits: promotions, sustained use discounts, a row with two credits,
//! and a committed use discount that cancels the A3's usage beside the commitment's own
//! fee rows. `cost_type`: `regular`, a `tax` row per project, service and day, an
//! `adjustment` and a `rounding_error` per invoice month. Keys are a subset of the
//! BigQuery schema (`shared/data/gcp/schema`).

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::aws_cur2::exact_f64;
use super::catalog::{Billing, GCP_BILLING_ACCOUNT, Resource, Source};
use super::truth::Charge;
use super::{GenerateError, Run, Written, dec, hour, io_err, midnight, money};

const TABLE: &str = "gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9";

/// One export row, before it is laid out as JSON.
#[derive(Debug, Clone)]
struct Row<'a> {
    r: &'a Resource,
    service: &'static str,
    service_id: &'static str,
    sku: &'static str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    export: DateTime<Utc>,
    amount: Decimal,
    unit: &'static str,
    pricing_unit: &'static str,
    cost: Decimal,
    credits: Vec<(&'static str, &'static str, Decimal)>,
    cost_type: &'static str,
    resource: bool,
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn num(d: Decimal) -> Result<Value, GenerateError> {
    let f = exact_f64(d).map_err(|e| GenerateError::Io {
        path: TABLE.into(),
        source: std::io::Error::other(e),
    })?;
    Ok(json!(f))
}

fn to_json(row: &Row<'_>) -> Result<Value, GenerateError> {
    let r = row.r;
    let project = r.account();
    let credits: Result<Vec<Value>, GenerateError> = row
        .credits
        .iter()
        .map(|(kind, name, amount)| {
            Ok(
                json!({"name": name, "amount": num(*amount)?, "full_name": null,
                      "id": format!("{kind}:{}", project), "type": kind}),
            )
        })
        .collect();
    let mut system_labels = Vec::new();
    if !r.tpl.instance.is_empty() && row.resource {
        system_labels
            .push(json!({"key": "compute.googleapis.com/machine_spec", "value": r.tpl.instance}));
    }
    let location = if r.tpl.region == "us" {
        json!({"location": "US", "country": "US", "region": null, "zone": null})
    } else {
        json!({"location": r.tpl.region, "country": "US", "region": r.tpl.region, "zone": null})
    };
    let mut obj = json!({
        "billing_account_id": GCP_BILLING_ACCOUNT,
        "service": {"id": row.service_id, "description": row.service},
        "sku": {"id": format!("{:04X}-{:04X}-{:04X}", super::catalog::fnv(row.sku) as u16,
                              (super::catalog::fnv(row.sku) >> 16) as u16,
                              (super::catalog::fnv(row.sku) >> 32) as u16),
                "description": row.sku},
        "usage_start_time": time(row.start),
        "usage_end_time": time(row.end),
        "project": {"id": project, "number": format!("{}", 100_000_000_000u64 + super::catalog::fnv(project) % 899_999_999_999),
                    "name": project, "labels": [{"key": "cost-center", "value": if r.tpl.account == 0 {"ml"} else {"web"}}],
                    "ancestry_numbers": "/987654321098/"},
        "labels": [{"key": "team", "value": if r.is_ai {"ml-platform"} else {"web"}}],
        "system_labels": system_labels,
        "location": location,
        "resource": if row.resource {
            json!({"name": r.resource_id, "global_name": r.resource_id.as_ref().map(|id| format!("//{}.googleapis.com/{id}", if r.service == "Vertex AI" {"aiplatform"} else {"compute"}))})
        } else { json!({"name": null, "global_name": null}) },
        "export_time": time(row.export),
        "cost": num(row.cost)?,
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": {"amount": num(row.amount)?, "unit": row.unit,
                  "amount_in_pricing_units": num(row.amount)?, "pricing_unit": row.pricing_unit},
        "credits": credits?,
        "invoice": {"month": row.start.format("%Y%m").to_string()},
        "cost_type": row.cost_type,
        "adjustment_info": null,
        "cost_at_list": num(row.cost)?,
    });
    if row.cost_type == "adjustment"
        && let Some(o) = obj.as_object_mut()
    {
        o.insert(
            "adjustment_info".into(),
            json!({"id": "adj-0001", "description": "Billing correction for Vertex AI prediction",
                   "mode": "MANUAL_ADJUSTMENT", "type": "GENERAL_ADJUSTMENT"}),
        );
    }
    Ok(obj)
}

/// A JSON-lines file being written.
struct Jsonl {
    rel: String,
    path: std::path::PathBuf,
    w: std::io::BufWriter<std::fs::File>,
    rows: u64,
}

impl Jsonl {
    fn open(run: &Run<'_>, rel: String) -> Result<Jsonl, GenerateError> {
        let (path, w) = run.create(&rel)?;
        Ok(Jsonl {
            rel,
            path,
            w,
            rows: 0,
        })
    }

    fn put(&mut self, run: &mut Run<'_>, row: &Row<'_>) -> Result<(), GenerateError> {
        let net: Decimal = row.cost + row.credits.iter().map(|c| c.2).sum::<Decimal>();
        run.truth.add(Charge {
            provider: "gcp",
            service: row.service,
            currency: "USD",
            start: row.start,
            end: row.end,
            one_time: false,
            billed: net,
            effective: net,
        });
        let v = to_json(row)?;
        serde_json::to_writer(&mut self.w, &v)
            .map_err(std::io::Error::other)
            .and_then(|()| self.w.write_all(b"\n"))
            .map_err(io_err(&self.path))?;
        self.rows += 1;
        Ok(())
    }

    fn close(mut self, run: &mut Run<'_>) -> Result<(), GenerateError> {
        self.w.flush().map_err(io_err(&self.path))?;
        run.wrote(Written {
            path: self.rel,
            provider: "gcp",
            format: "GCP billing export (JSON lines)",
            view: "billed+effective",
            rows: self.rows,
        });
        Ok(())
    }
}

fn share(cost: Decimal, percent: i64) -> Decimal {
    -money(cost * dec(percent, 2))
}

pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    let catalog = run.catalog;
    let resources: Vec<&Resource> = catalog.of(Source::Gcp).collect();
    let mut rngs: Vec<ChaCha8Rng> = resources
        .iter()
        .map(|r| run.rng(&format!("gcp/{}", r.name)))
        .collect();
    let days = run.cfg.day_list();
    let scale = Decimal::from(run.cfg.scale);
    for (d, day) in days.iter().enumerate() {
        let rel = format!("gcp/{TABLE}/{}.jsonl", day.format("%Y%m%d"));
        let mut file = Jsonl::open(run, rel)?;
        let export = midnight(*day) + TimeDelta::hours(28);
        let mut taxable: BTreeMap<(usize, &'static str, &'static str), Decimal> = BTreeMap::new();
        for h in 0..24 {
            let start = hour(*day, h);
            let end = start + TimeDelta::hours(1);
            for (i, r) in resources.iter().enumerate() {
                let rng = &mut rngs[i];
                for row in hour_rows(r, rng, start, end, export, h) {
                    *taxable
                        .entry((r.tpl.account, row.service, row.service_id))
                        .or_default() += row.cost;
                    file.put(run, &row)?;
                }
            }
        }
        // Tax per project and service for the day, on the first resource of the project.
        for ((account, service, service_id), base) in &taxable {
            let Some(r) = resources.iter().find(|r| r.tpl.account == *account) else {
                continue;
            };
            let row = Row {
                r,
                service,
                service_id,
                sku: "Tax: US Sales Tax",
                start: midnight(*day),
                end: midnight(*day) + TimeDelta::days(1),
                export,
                amount: Decimal::ZERO,
                unit: "count",
                pricing_unit: "count",
                cost: money(*base * dec(6, 2)),
                credits: Vec::new(),
                cost_type: "tax",
                resource: false,
            };
            file.put(run, &row)?;
        }
        let month_ends = day
            .succ_opt()
            .is_none_or(|n| n.format("%m").to_string() != day.format("%m").to_string());
        if (d + 1 == days.len() || month_ends)
            && let Some(r) = resources.first()
        {
            for (kind, cost) in [
                ("adjustment", dec(-500, 2) * scale),
                ("rounding_error", dec(-4, 6)),
            ] {
                let row = Row {
                    r,
                    service: "Vertex AI",
                    service_id: "C7E2-9256-1C43",
                    sku: if kind == "adjustment" {
                        "Billing adjustment"
                    } else {
                        "Rounding error"
                    },
                    start: midnight(*day),
                    end: midnight(*day) + TimeDelta::days(1),
                    export,
                    amount: Decimal::ZERO,
                    unit: "count",
                    pricing_unit: "count",
                    cost,
                    credits: Vec::new(),
                    cost_type: kind,
                    resource: false,
                };
                file.put(run, &row)?;
            }
        }
        file.close(run)?;
    }
    // Late rows: storage and analysis for each earlier day, exported two days after the
    // last one.
    if let Some(last) = days.last()
        && days.len() > 1
    {
        let rel = format!("gcp/{TABLE}/late-{}.jsonl", last.format("%Y%m%d"));
        let mut file = Jsonl::open(run, rel)?;
        let export = midnight(*last) + TimeDelta::hours(50);
        let mut rng = run.rng("gcp/late");
        for day in &days[..days.len() - 1] {
            for r in resources.iter().filter(|r| r.tpl.billing == Billing::Daily) {
                let amount = dec(rng.random_range(100..900), 3);
                let row = Row {
                    r,
                    service: r.service,
                    service_id: r.tpl.code,
                    sku: r.tpl.sku,
                    start: midnight(*day),
                    end: midnight(*day) + TimeDelta::days(1),
                    export,
                    amount,
                    unit: r.tpl.unit,
                    pricing_unit: r.tpl.unit,
                    cost: money(amount * r.tpl.rate()),
                    credits: Vec::new(),
                    cost_type: "regular",
                    resource: r.resource_id.is_some(),
                };
                file.put(run, &row)?;
            }
        }
        file.close(run)?;
    }
    Ok(())
}

/// The rows one resource bills for one hour.
fn hour_rows<'a>(
    r: &'a Resource,
    rng: &mut ChaCha8Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    export: DateTime<Utc>,
    h: u32,
) -> Vec<Row<'a>> {
    let tpl = r.tpl;
    let replicas = Decimal::from(tpl.replicas);
    let base = Row {
        r,
        service: tpl.service,
        service_id: tpl.code,
        sku: tpl.sku,
        start,
        end,
        export,
        amount: replicas,
        unit: tpl.unit,
        pricing_unit: tpl.unit,
        cost: money(replicas * tpl.rate()),
        credits: Vec::new(),
        cost_type: "regular",
        resource: r.resource_id.is_some(),
    };
    let second = |mut row: Row<'a>, amount: Decimal, rate: Decimal| {
        row.sku = tpl.sku2;
        row.amount = amount;
        row.cost = money(amount * rate);
        row
    };
    match tpl.billing {
        Billing::Always if !tpl.sku2.is_empty() => {
            let gpu = second(base.clone(), replicas, tpl.rate2());
            vec![base, gpu]
        }
        Billing::Always => {
            let mut row = base;
            if tpl.account == 1 {
                let sud = share(row.cost, 20);
                row.credits
                    .push(("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount", sud));
            } else {
                // A row with two credits: counted once, both credits subtracted.
                let sud = share(row.cost, 20);
                let promo = share(row.cost, 10);
                row.credits
                    .push(("SUSTAINED_USAGE_DISCOUNT", "Sustained Usage Discount", sud));
                row.credits
                    .push(("PROMOTION", "FreeTrial:burnrate-promo", promo));
            }
            vec![row]
        }
        Billing::Hours(a, b) if (a..b).contains(&h) => {
            let mut core = base.clone();
            core.amount = dec(12, 0);
            core.unit = "hour";
            core.cost = money(core.amount * dec(31611, 6));
            let mut gpu = second(base, replicas, tpl.rate2());
            if rng.random_range(0..10) < 3 {
                let promo = share(gpu.cost, 50);
                gpu.credits
                    .push(("PROMOTION", "Startup program credit", promo));
            }
            vec![core, gpu]
        }
        Billing::Hours(..) => Vec::new(),
        Billing::Tokens => {
            let input = rng.random_range(1_000_000i64..8_000_000);
            let output = input / rng.random_range(4i64..10);
            let mut i_row = base.clone();
            i_row.resource = false;
            i_row.amount = Decimal::from(input);
            i_row.cost = money(i_row.amount * tpl.rate());
            let o_row = second(i_row.clone(), Decimal::from(output), tpl.rate2());
            vec![i_row, o_row]
        }
        Billing::Daily if h == 0 => {
            let mut row = base;
            row.end = start + TimeDelta::days(1);
            row.amount = dec(rng.random_range(10_000..12_000), 3);
            row.cost = money(row.amount * tpl.rate());
            vec![row]
        }
        Billing::Daily => Vec::new(),
        Billing::Committed => {
            let mut usage = base.clone();
            let covered = -usage.cost;
            usage.credits.push((
                "COMMITTED_USAGE_DISCOUNT",
                "Committed Usage Discount: A3 Cpu",
                covered,
            ));
            let mut fee = second(base, replicas, tpl.rate2());
            fee.resource = false;
            vec![usage, fee]
        }
        Billing::Spot | Billing::SavingsPlan | Billing::Reserved => vec![base],
    }
}
