//! AWS line items of a billing period, shared by both CUR writers (`aws_cur.rs`,
//! `aws_cur2.rs`), and the truth each line adds.
//!
//! Lines per hour and resource: `Usage` (on demand, spot), `DiscountedUsage` (the p4d
//! reservation), `SavingsPlanCoveredUsage` + `SavingsPlanNegation` (the SageMaker savings
//! plan), and per hour and plan a `SavingsPlanRecurringFee`. Per period: an `RIFee` for the
//! month, a `Tax` line per product code over the month, a `Credit` and a `Refund`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

use super::catalog::{AWS_PAYER, Billing, Resource, Source, fnv};
use super::truth::{Charge, Truth};
use super::{GenerateError, Period, Run, dec, hour, money};

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

/// Which lines to produce: the resources of `source`, over `days` of a period, prices
/// scaled by `factor` (a restated assembly was priced differently), drawn from the streams
/// named `stream/...`.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub source: Source,
    pub days: &'a [NaiveDate],
    pub factor: Decimal,
    pub stream: &'a str,
}

/// Produces the lines of one delivery hour by hour, calling `emit` for each; `truth` is
/// `None` for lines that count nowhere.
pub fn period_lines(
    run: &Run<'_>,
    period: &Period,
    d: Delivery<'_>,
    mut truth: Option<&mut Truth>,
    emit: &mut dyn FnMut(&Line) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let (source, days, factor, stream) = (d.source, d.days, d.factor, d.stream);
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
