//! AWS: the line items of a billing period (shared by both CUR writers), and the legacy
//! CUR writer (CSV.gz in the S3 layout, with manifests).
//!
//! Lines per hour and resource: `Usage` (on demand, spot), `DiscountedUsage` (the p4d
//! reservation), `SavingsPlanCoveredUsage` + `SavingsPlanNegation` (the SageMaker savings
//! plan), and per hour and plan a `SavingsPlanRecurringFee`. Per period: an `RIFee` for the
//! month, a `Tax` line per product code over the month, a `Credit` and a `Refund`.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde_json::json;

use super::catalog::{AWS_PAYER, Billing, Resource, Source, fnv};
use super::truth::{Charge, Truth};
use super::{GenerateError, Period, Run, Written, dec, hour, io_err, money};

/// Rows per `<report>-<n>.csv.gz` before the next file starts.
pub const ROWS_PER_FILE: u64 = 1_000_000;

/// One CUR line item, in logical fields; each writer lays it out in its column set.
#[derive(Debug, Clone, Default)]
pub struct Line {
    pub id: u64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub account: &'static str,
    pub line_type: &'static str,
    pub product_code: &'static str,
    pub product_name: &'static str,
    pub usage_type: &'static str,
    pub operation: &'static str,
    pub resource_id: Option<String>,
    pub amount: Decimal,
    pub rate: Option<Decimal>,
    pub cost: Decimal,
    pub description: String,
    pub instance_type: &'static str,
    pub region: &'static str,
    pub term: &'static str,
    pub unit: &'static str,
    pub public_cost: Option<Decimal>,
    pub billing_entity: &'static str,
    pub tax_type: &'static str,
    pub ri_arn: Option<String>,
    pub ri_effective: Option<Decimal>,
    pub ri_unused_recurring: Option<Decimal>,
    pub sp_arn: Option<String>,
    pub sp_rate: Option<Decimal>,
    pub sp_effective: Option<Decimal>,
    pub sp_total: Option<Decimal>,
    pub sp_used: Option<Decimal>,
    pub sp_offering: &'static str,
    pub team: &'static str,
    pub env: &'static str,
}

impl Line {
    /// Billed and effective cost of this line, by the rules in `aws_cur/mod.rs`: billed is
    /// the unblended cost (so a covered line and its negation net to zero); effective is
    /// the savings plan or reservation effective cost of covered usage, zero for negations
    /// and fees, plus the unused part of a fee.
    pub fn views(&self) -> (Decimal, Decimal) {
        match self.line_type {
            "SavingsPlanCoveredUsage" => (self.cost, self.sp_effective.unwrap_or_default()),
            "SavingsPlanNegation" => (self.cost, Decimal::ZERO),
            "DiscountedUsage" => (self.cost, self.ri_effective.unwrap_or_default()),
            "SavingsPlanRecurringFee" => (
                self.cost,
                self.sp_total.unwrap_or_default() - self.sp_used.unwrap_or_default(),
            ),
            "RIFee" => (self.cost, self.ri_unused_recurring.unwrap_or_default()),
            _ => (self.cost, self.cost),
        }
    }

    fn count(&self, truth: &mut Truth) {
        let (billed, effective) = self.views();
        truth.add(Charge {
            provider: "aws",
            service: self.product_name,
            currency: "USD",
            start: self.start,
            end: self.end,
            one_time: false,
            billed,
            effective,
        });
    }
}

fn sp_arn(r: &Resource) -> String {
    format!(
        "arn:aws:savingsplans::{}:savingsplan/{:08x}-{}",
        AWS_PAYER,
        fnv(&r.name) as u32,
        r.name
    )
}

fn ri_arn(r: &Resource) -> String {
    format!(
        "arn:aws:ec2:us-east-1:{}:reserved-instances/{:08x}-{}",
        r.account(),
        fnv(&r.name) as u32,
        r.name
    )
}

/// Produces the lines of one period for the resources of `source`, hour by hour, calling
/// `emit` for each. `factor` scales every price (a restated assembly was priced
/// differently); `truth` is `None` for lines that count nowhere.
pub fn period_lines(
    run: &Run<'_>,
    source: Source,
    period: &Period,
    days: &[NaiveDate],
    factor: Decimal,
    stream: &str,
    mut truth: Option<&mut Truth>,
    emit: &mut dyn FnMut(&Line) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let resources: Vec<&Resource> = run.catalog.of(source).collect();
    let mut rngs: Vec<ChaCha8Rng> = resources
        .iter()
        .map(|r| run.rng(&format!("{stream}/{}/{}", period.folder(), r.name)))
        .collect();
    let mut per_code: BTreeMap<(&'static str, &'static str), Decimal> = BTreeMap::new();
    let mut ri_used: Vec<Decimal> = vec![Decimal::ZERO; resources.len()];
    let mut put = |line: &Line, truth: &mut Option<&mut Truth>| -> Result<(), GenerateError> {
        if let Some(t) = truth.as_deref_mut() {
            line.count(t);
        }
        emit(line)
    };
    for day in days {
        for h in 0..24 {
            let start = hour(*day, h);
            let end = start + TimeDelta::hours(1);
            for (i, r) in resources.iter().enumerate() {
                let tpl = r.tpl;
                let rng = &mut rngs[i];
                let mut base = Line {
                    id: fnv(&r.name) ^ (start.timestamp() as u64).rotate_left(20),
                    start,
                    end,
                    account: r.account(),
                    line_type: "Usage",
                    product_code: tpl.code,
                    product_name: tpl.service,
                    usage_type: tpl.sku,
                    operation: operation(tpl.code, tpl.sku),
                    resource_id: r.resource_id.clone(),
                    instance_type: tpl.instance,
                    region: tpl.region,
                    term: "OnDemand",
                    unit: tpl.unit,
                    billing_entity: if tpl.code.starts_with("Amazon") {
                        "AWS"
                    } else {
                        "AWS Marketplace"
                    },
                    team: if r.is_ai { "ml-platform" } else { "web" },
                    env: if tpl.account == 0 { "prod" } else { "staging" },
                    ..Line::default()
                };
                let replicas = Decimal::from(tpl.replicas);
                let rate = tpl.rate() * factor;
                let mut lines: Vec<Line> = Vec::with_capacity(2);
                match tpl.billing {
                    Billing::Always => lines.push(priced(base, replicas, rate)),
                    Billing::Hours(a, b) if (a..b).contains(&h) => {
                        lines.push(priced(base, replicas, rate))
                    }
                    Billing::Hours(..) => {}
                    Billing::Spot => {
                        let spot = money(rate * dec(rng.random_range(85..=115), 2));
                        base.term = "Spot";
                        let mut l = priced(base, replicas, spot);
                        l.public_cost = Some(money(rate * dec(26, 1) * replicas));
                        lines.push(l);
                    }
                    Billing::Tokens => {
                        let input = rng.random_range(200_000i64..2_000_000);
                        let output = input / rng.random_range(3i64..8);
                        let per = if tpl.unit == "1K tokens" { 3 } else { 0 };
                        let mut l = base.clone();
                        l.resource_id = None;
                        lines.push(priced(l, dec(input, per), rate));
                        if !tpl.sku2.is_empty() {
                            let mut l = base;
                            l.resource_id = None;
                            l.usage_type = tpl.sku2;
                            l.id ^= 1;
                            lines.push(priced(l, dec(output, per), tpl.rate2() * factor));
                        }
                    }
                    Billing::Daily if h == 0 => {
                        let mut l = base;
                        l.end = start + TimeDelta::days(1);
                        lines.push(priced(l, dec(rng.random_range(15_000..17_000), 3), rate));
                    }
                    Billing::Daily => {}
                    Billing::Reserved => {
                        let od = money(rate * replicas);
                        let mut l = base;
                        l.line_type = "DiscountedUsage";
                        l.term = "Reserved";
                        l.amount = replicas;
                        l.rate = Some(Decimal::ZERO);
                        l.cost = Decimal::ZERO;
                        l.public_cost = Some(od);
                        l.ri_arn = Some(ri_arn(r));
                        let eff = money(tpl.rate2() * factor * replicas);
                        l.ri_effective = Some(eff);
                        ri_used[i] += eff;
                        l.description = format!("{} reserved instance applied", tpl.instance);
                        lines.push(l);
                    }
                    Billing::SavingsPlan => {
                        let od = money(rate * replicas);
                        let eff = money(tpl.rate2() * factor * replicas);
                        let arn = sp_arn(r);
                        let mut cov = base.clone();
                        cov.line_type = "SavingsPlanCoveredUsage";
                        cov.amount = replicas;
                        cov.rate = Some(rate);
                        cov.cost = od;
                        cov.public_cost = Some(od);
                        cov.sp_arn = Some(arn.clone());
                        cov.sp_rate = Some(tpl.rate2() * factor);
                        cov.sp_effective = Some(eff);
                        cov.sp_offering = "SageMakerSavingsPlans";
                        cov.description =
                            format!("SageMaker Savings Plan covered {} usage", tpl.instance);
                        let mut neg = base.clone();
                        neg.id ^= 2;
                        neg.line_type = "SavingsPlanNegation";
                        neg.resource_id = None;
                        neg.amount = replicas;
                        neg.rate = Some(-rate);
                        neg.cost = -od;
                        neg.sp_arn = Some(arn.clone());
                        neg.sp_offering = "SageMakerSavingsPlans";
                        neg.description = format!("SavingsPlanNegation used by {arn}");
                        // The plan commits a little more than it covers: the rest is unused.
                        let commit = money(eff * dec(125, 2));
                        let mut fee = base;
                        fee.id ^= 3;
                        fee.line_type = "SavingsPlanRecurringFee";
                        fee.product_code = "MachineLearningSavingsPlans";
                        fee.product_name = "Machine Learning Savings Plans";
                        fee.usage_type = "ComputeSP:1yrNoUpfront";
                        fee.operation = "";
                        fee.resource_id = Some(arn.clone());
                        fee.instance_type = "";
                        fee.amount = Decimal::ONE;
                        fee.cost = commit;
                        fee.rate = Some(commit);
                        fee.sp_arn = Some(arn);
                        fee.sp_total = Some(commit);
                        fee.sp_used = Some(eff);
                        fee.sp_offering = "SageMakerSavingsPlans";
                        fee.description = "1 year No Upfront SageMaker Savings Plan".into();
                        lines.extend([cov, neg, fee]);
                    }
                    Billing::Committed => lines.push(priced(base, replicas, rate)),
                }
                for l in &lines {
                    if matches!(l.line_type, "Usage" | "DiscountedUsage") {
                        *per_code
                            .entry((l.product_code, l.product_name))
                            .or_default() += l.cost;
                    }
                    put(l, &mut truth)?;
                }
            }
        }
    }
    let Some(last) = days.last() else {
        return Ok(());
    };
    // Month-level lines.
    let (pstart, pend) = (period.start_time(), period.end_time());
    let hours_in_month = Decimal::from((pend - pstart).num_hours());
    for (i, r) in resources.iter().enumerate() {
        if r.tpl.billing != Billing::Reserved {
            continue;
        }
        let fee = money(r.tpl.rate2() * factor * Decimal::from(r.tpl.replicas) * hours_in_month);
        let line = Line {
            id: fnv(&r.name) ^ 0xfee,
            start: pstart,
            end: pend,
            account: r.account(),
            line_type: "RIFee",
            product_code: r.tpl.code,
            product_name: r.tpl.service,
            usage_type: "USE1-HeavyUsage:p4d.24xlarge",
            operation: "RunInstances",
            amount: hours_in_month,
            rate: Some(r.tpl.rate2() * factor),
            cost: fee,
            description: format!("USD {} hourly fee per {}", r.tpl.rate2(), r.tpl.instance),
            instance_type: r.tpl.instance,
            region: r.tpl.region,
            term: "Reserved",
            unit: "Hrs",
            billing_entity: "AWS",
            ri_arn: Some(ri_arn(r)),
            ri_unused_recurring: Some(fee - ri_used[i]),
            ..Line::default()
        };
        put(&line, &mut truth)?;
    }
    for (n, ((code, name), base)) in per_code.iter().enumerate() {
        let tax = money(*base * dec(5, 2));
        let line = Line {
            id: fnv(code) ^ 0x7a8 ^ n as u64,
            start: pstart,
            end: pend,
            account: AWS_PAYER,
            line_type: "Tax",
            product_code: code,
            product_name: name,
            amount: Decimal::ONE,
            cost: tax,
            description: format!("Tax for product code {code}"),
            tax_type: "VAT",
            billing_entity: "AWS",
            ..Line::default()
        };
        put(&line, &mut truth)?;
    }
    let day_start = hour(*last, 0);
    for (kind, code, name, amount, what) in [
        (
            "Credit",
            "AmazonSageMaker",
            "Amazon SageMaker",
            dec(-2500, 2),
            "AWS Activate credit",
        ),
        (
            "Refund",
            "AmazonEC2",
            "Amazon Elastic Compute Cloud",
            dec(-1234, 2),
            "Refund for interrupted p5 capacity",
        ),
    ] {
        let line = Line {
            id: fnv(kind) ^ fnv(&period.folder()),
            start: day_start,
            end: day_start + TimeDelta::days(1),
            account: AWS_ACCOUNTS_0,
            line_type: kind,
            product_code: code,
            product_name: name,
            cost: amount * Decimal::from(run.cfg.scale),
            description: what.into(),
            billing_entity: "AWS",
            ..Line::default()
        };
        put(&line, &mut truth)?;
    }
    Ok(())
}

const AWS_ACCOUNTS_0: &str = super::catalog::AWS_ACCOUNTS[0];

fn operation(code: &str, usage_type: &str) -> &'static str {
    match code {
        "AmazonSageMaker" if usage_type.contains("Train") => "RunInstance",
        "AmazonSageMaker" if usage_type.contains("Notebk") => "RunInstance",
        "AmazonSageMaker" => "RunInstance",
        "AmazonEC2" => "RunInstances",
        "AmazonS3" => "StandardStorage",
        "AmazonRDS" => "CreateDBInstance:0016",
        "AmazonBedrock" if usage_type.contains("Provisioned") => "ProvisionedThroughput",
        _ => "InvokeModelInference",
    }
}

fn priced(mut l: Line, amount: Decimal, rate: Decimal) -> Line {
    l.amount = amount;
    l.rate = Some(rate);
    l.cost = money(amount * rate);
    if l.public_cost.is_none() {
        l.public_cost = Some(l.cost);
    }
    if l.description.is_empty() {
        l.description = format!("{} {}", l.usage_type, l.unit);
    }
    l
}

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
        period_lines(
            r,
            Source::AwsCur,
            period,
            days,
            factor,
            &format!("aws-cur/{which}"),
            t,
            &mut emit,
        )
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
