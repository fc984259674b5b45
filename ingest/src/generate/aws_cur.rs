//! The legacy CUR writer: CSV.gz in the S3 layout, `<report>-<n>.csv.gz` parts with a
//! manifest in the assembly folder and one at the period level naming the current
//! assembly. The first period is restated: an earlier assembly (its first day only, priced
//! 10 % higher) sits beside the current one and counts nowhere.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rust_decimal::Decimal;
use serde_json::json;

use super::aws_lines::{Delivery, Line, period_lines};
use super::catalog::{AWS_PAYER, Source, fnv};
use super::{GenerateError, Period, Run, Written, dec, io_err};

/// Rows per `<report>-<n>.csv.gz` before the next file starts.
pub const ROWS_PER_FILE: u64 = 1_000_000;

/// The legacy CUR columns written, in order. All appear in the real CUR headers in
/// `shared/data/aws/cur-legacy-csv` (the Koku files add `lineItem/ResourceId`, the
/// reservation ARN and the savings plan columns), except the activated tag columns.
pub const LEGACY_COLUMNS: &[&str] = &[
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/InvoiceId",
    "bill/InvoicingEntity",
    "bill/BillingEntity",
    "bill/BillType",
    "bill/PayerAccountId",
    "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/Operation",
    "lineItem/AvailabilityZone",
    "lineItem/ResourceId",
    "lineItem/UsageAmount",
    "lineItem/CurrencyCode",
    "lineItem/UnblendedRate",
    "lineItem/UnblendedCost",
    "lineItem/BlendedRate",
    "lineItem/BlendedCost",
    "lineItem/LineItemDescription",
    "lineItem/TaxType",
    "lineItem/LegalEntity",
    "product/ProductName",
    "product/instanceType",
    "product/region",
    "product/regionCode",
    "product/servicecode",
    "product/usagetype",
    "pricing/publicOnDemandCost",
    "pricing/term",
    "pricing/unit",
    "reservation/EffectiveCost",
    "reservation/ReservationARN",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN",
    "savingsPlan/SavingsPlanRate",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "savingsPlan/OfferingType",
    "resourceTags/user:team",
    "resourceTags/user:env",
];

pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn opt(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn legacy_record(l: &Line, period: &Period, out: &mut Vec<String>) {
    let interval = format!(
        "{}/{}",
        l.start.format("%Y-%m-%dT%H:%M:%SZ"),
        l.end.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let legal = if l.billing_entity == "AWS" {
        "Amazon Web Services, Inc."
    } else {
        "Anthropic, PBC"
    };
    out.clear();
    out.extend([
        format!("{:026x}", u128::from(l.id) * 0x9e37_79b9),
        interval,
        format!("{}", 900_000_000 + (fnv(&period.folder()) % 99_999_999)),
        "Amazon Web Services, Inc.".into(),
        l.billing_entity.into(),
        "Anniversary".into(),
        AWS_PAYER.into(),
        ts(period.start_time()),
        ts(period.end_time()),
        l.account.into(),
        l.line_type.into(),
        ts(l.start),
        ts(l.end),
        l.product_code.into(),
        l.usage_type.into(),
        l.operation.into(),
        if l.instance_type.is_empty() {
            String::new()
        } else {
            format!("{}a", l.region)
        },
        l.resource_id.clone().unwrap_or_default(),
        l.amount.to_string(),
        "USD".into(),
        opt(l.rate),
        l.cost.to_string(),
        opt(l.rate),
        l.cost.to_string(),
        l.description.clone(),
        l.tax_type.into(),
        legal.into(),
        l.product_name.into(),
        l.instance_type.into(),
        l.region.into(),
        l.region.into(),
        l.product_code.into(),
        l.usage_type.into(),
        opt(l.public_cost),
        l.term.into(),
        l.unit.into(),
        opt(l.ri_effective),
        l.ri_arn.clone().unwrap_or_default(),
        if l.line_type == "RIFee" {
            "0".into()
        } else {
            String::new()
        },
        opt(l.ri_unused_recurring),
        l.sp_arn.clone().unwrap_or_default(),
        opt(l.sp_rate),
        opt(l.sp_effective),
        opt(l.sp_total),
        opt(l.sp_used),
        l.sp_offering.into(),
        l.team.into(),
        l.env.into(),
    ]);
}

/// Streams CSV.gz parts of one assembly, starting a new part every `ROWS_PER_FILE` rows.
struct Parts {
    dir: String,
    report: &'static str,
    writer: Option<csv::Writer<GzEncoder<std::io::BufWriter<std::fs::File>>>>,
    keys: Vec<(String, u64)>,
    record: Vec<String>,
}

impl Parts {
    fn push(&mut self, run: &Run<'_>, cells: &[String]) -> Result<(), GenerateError> {
        let full = self.keys.last().is_some_and(|(_, n)| *n >= ROWS_PER_FILE);
        if self.writer.is_none() || full {
            self.close(run)?;
            let rel = format!(
                "{}/{}-{}.csv.gz",
                self.dir,
                self.report,
                self.keys.len() + 1
            );
            let (path, file) = run.create(&rel)?;
            let mut w = csv::Writer::from_writer(GzEncoder::new(file, Compression::fast()));
            w.write_record(LEGACY_COLUMNS)
                .map_err(|e| io_err(&path)(e.into()))?;
            self.writer = Some(w);
            self.keys.push((rel, 0));
        }
        if let (Some(w), Some((rel, n))) = (self.writer.as_mut(), self.keys.last_mut()) {
            w.write_record(cells).map_err(|e| {
                io_err(&run.cfg.out.join(super::DATA_DIR).join(rel.as_str()))(e.into())
            })?;
            *n += 1;
        }
        Ok(())
    }

    fn close(&mut self, run: &Run<'_>) -> Result<(), GenerateError> {
        if let Some(w) = self.writer.take() {
            let path = run.cfg.out.join(super::DATA_DIR).join(&self.dir);
            let gz = w.into_inner().map_err(|e| io_err(&path)(e.into_error()))?;
            gz.finish()
                .and_then(|mut f| f.flush())
                .map_err(io_err(&path))?;
        }
        Ok(())
    }
}

const REPORT: &str = "burnrate-cur";

/// Writes the legacy CUR: per period one current assembly, and for the first period an
/// earlier, superseded one.
pub fn write(run: &mut Run<'_>) -> Result<(), GenerateError> {
    for (n, period) in run.cfg.periods().iter().enumerate() {
        if n == 0 {
            // The restated delivery: written after the first day, priced 10 % higher, then
            // replaced by the current assembly. It counts nowhere.
            let days = &period.days[..1];
            assembly(run, period, days, dec(110, 2), "old", false)?;
        }
        assembly(run, period, &period.days, Decimal::ONE, "current", true)?;
    }
    Ok(())
}

fn assembly(
    run: &mut Run<'_>,
    period: &Period,
    days: &[NaiveDate],
    factor: Decimal,
    which: &str,
    current: bool,
) -> Result<(), GenerateError> {
    let id = fnv(&format!("{}/{}/{which}", run.cfg.seed, period.folder()));
    let assembly_id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        id as u32,
        (id >> 32) as u16,
        (id >> 48) as u16 & 0xfff,
        (id >> 20) as u16 & 0xfff,
        id & 0xffff_ffff_ffff
    );
    let period_dir = format!("aws/{REPORT}/{}", period.folder());
    let mut parts = Parts {
        dir: format!("{period_dir}/{assembly_id}"),
        report: REPORT,
        writer: None,
        keys: Vec::new(),
        record: Vec::with_capacity(LEGACY_COLUMNS.len()),
    };
    let mut truth = std::mem::take(&mut run.truth);
    let result = {
        let r: &Run<'_> = run;
        let mut emit = |l: &Line| {
            let mut cells = std::mem::take(&mut parts.record);
            legacy_record(l, period, &mut cells);
            let res = parts.push(r, &cells);
            parts.record = cells;
            res
        };
        let t = if current { Some(&mut truth) } else { None };
        let stream = format!("aws-cur/{which}");
        let d = Delivery {
            source: Source::AwsCur,
            days,
            factor,
            stream: &stream,
        };
        period_lines(r, period, d, t, &mut emit)
    };
    run.truth = truth;
    result?;
    parts.close(run)?;
    let manifest = json!({
        "assemblyId": assembly_id,
        "account": AWS_PAYER,
        "columns": LEGACY_COLUMNS.iter().map(|c| {
            let (cat, name) = c.split_once('/').unwrap_or(("", c));
            json!({"category": cat, "name": name})
        }).collect::<Vec<_>>(),
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
        "reportId": format!("{:064x}", u128::from(fnv(REPORT))),
        "reportName": REPORT,
        "billingPeriod": {"start": format!("{}T000000.000Z", period.start.format("%Y%m%d")),
                          "end": format!("{}T000000.000Z", period.end.format("%Y%m%d"))},
        "bucket": "burnrate-billing",
        "reportKeys": parts.keys.iter().map(|(k, _)| format!("cur/{}", k.trim_start_matches("aws/"))).collect::<Vec<_>>(),
    });
    let view = if current {
        "billed+effective"
    } else {
        "superseded"
    };
    for (rel, rows) in &parts.keys {
        run.wrote(Written {
            path: rel.clone(),
            provider: "aws",
            format: "AWS CUR (legacy)",
            view,
            rows: *rows,
        });
    }
    let mut targets = vec![format!("{}/{REPORT}-Manifest.json", parts.dir)];
    if current {
        // The period-level manifest names the current assembly.
        targets.push(format!("{period_dir}/{REPORT}-Manifest.json"));
    }
    for rel in targets {
        let (path, mut w) = run.create(&rel)?;
        serde_json::to_writer_pretty(&mut w, &manifest)
            .map_err(std::io::Error::other)
            .and_then(|()| w.flush())
            .map_err(io_err(&path))?;
        run.wrote(Written {
            path: rel,
            provider: "aws",
            format: "AWS CUR manifest",
            view: "manifest",
            rows: 0,
        });
    }
    Ok(())
}
