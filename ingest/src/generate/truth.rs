//! The ground truth: what the generated files must normalize to, computed from the
//! amounts the writers put in each row (never read back from the files).
//!
//! Totals are kept per provider × currency, per provider × service × currency, and per UTC
//! day × provider × service × currency. Keys are the catalog's static strings, so adding a
//! row allocates nothing. `service` is the provider's service name as the file writes it
//! (AWS `product/ProductName`, Azure `MeterCategory`, GCP `service.description`, FOCUS
//! `ServiceName`), which is what `CostRecord::service_name` holds after normalization.

use std::collections::BTreeMap;

use burnrate_schemas::days::split_by_utc_day;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::{Config, Written};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Money {
    pub billed: Decimal,
    pub effective: Decimal,
}

impl Money {
    fn add(&mut self, billed: Decimal, effective: Decimal) {
        self.billed += billed;
        self.effective += effective;
    }
}

/// One charge as the truth counts it.
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    pub provider: &'static str,
    pub service: &'static str,
    pub currency: &'static str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A one-time purchase: lands whole on its start day instead of being split.
    pub one_time: bool,
    pub billed: Decimal,
    pub effective: Decimal,
}

type ServiceKey = (&'static str, &'static str, &'static str);

/// The running truth of one generation run.
#[derive(Debug, Default)]
pub struct Truth {
    totals: BTreeMap<(&'static str, &'static str), Money>,
    services: BTreeMap<ServiceKey, Money>,
    daily: BTreeMap<(NaiveDate, &'static str, &'static str, &'static str), Money>,
    /// Metric rows written per metrics id (minutes with data).
    pub minutes: BTreeMap<String, u64>,
    pub billing_rows: u64,
    pub metric_rows: u64,
}

impl Truth {
    pub fn add(&mut self, c: Charge) {
        if c.billed.is_zero() && c.effective.is_zero() {
            // Still a row, but it moves no total; the service may appear with zeros.
            self.services
                .entry((c.provider, c.service, c.currency))
                .or_default();
            return;
        }
        self.totals
            .entry((c.provider, c.currency))
            .or_default()
            .add(c.billed, c.effective);
        self.services
            .entry((c.provider, c.service, c.currency))
            .or_default()
            .add(c.billed, c.effective);
        let last = c.end - TimeDelta::nanoseconds(1);
        if c.one_time || c.end <= c.start || c.start.date_naive() == last.date_naive() {
            self.day(c.start.date_naive(), &c)
                .add(c.billed, c.effective);
            return;
        }
        // The same function the records are split with, so each part is the same digits.
        for (day, part) in split_by_utc_day(c.billed, c.start, c.end) {
            self.day(day, &c).billed += part;
        }
        for (day, part) in split_by_utc_day(c.effective, c.start, c.end) {
            self.day(day, &c).effective += part;
        }
    }

    fn day(&mut self, day: NaiveDate, c: &Charge) -> &mut Money {
        self.daily
            .entry((day, c.provider, c.service, c.currency))
            .or_default()
    }

    /// The manifest document (`truth.json`).
    pub fn manifest(&self, cfg: &Config, catalog: &Catalog, files: &[Written]) -> Value {
        let money = |m: &Money| {
            json!({"billed_cost": m.billed.normalize().to_string(),
                   "effective_cost": m.effective.normalize().to_string()})
        };
        let with = |mut v: Value, m: &Money| {
            if let (Some(o), Value::Object(mo)) = (v.as_object_mut(), money(m)) {
                o.extend(mo);
            }
            v
        };
        let totals: Vec<Value> = self
            .totals
            .iter()
            .map(|((p, c), m)| with(json!({"provider": p, "currency": c}), m))
            .collect();
        let services: Vec<Value> = self
            .services
            .iter()
            .map(|((p, s, c), m)| with(json!({"provider": p, "service": s, "currency": c}), m))
            .collect();
        let daily: Vec<Value> = self
            .daily
            .iter()
            .map(|((d, p, s, c), m)| {
                with(
                    json!({"date": d.to_string(), "provider": p, "service": s, "currency": c}),
                    m,
                )
            })
            .collect();
        let resources: Vec<Value> = catalog
            .resources
            .iter()
            .map(|r| {
                json!({
                    "provider": r.provider,
                    "source": r.source.label(),
                    "resource_id": r.resource_id,
                    "name": r.name,
                    "service": r.service,
                    "kind": r.kind,
                    "is_ai": r.is_ai,
                    "currency": r.currency,
                    "pattern": r.pattern.map(|p| p.code()),
                    "expected_recommendation": r.pattern.and_then(|p| p.recommendation()),
                    "metrics_id": r.pattern.map(|_| r.metrics_id()),
                    "metric_minutes": r.pattern.map(|_| self.minutes.get(&r.metrics_id()).copied().unwrap_or(0)),
                })
            })
            .collect();
        json!({
            "generator": {
                "seed": cfg.seed,
                "start": cfg.start.to_string(),
                "days": cfg.days,
                "scale": cfg.scale,
                "metrics": cfg.metrics,
            },
            "rules": {
                "billed_and_effective": "Each file's `view` says which totals its rows count toward: \
                    `billed+effective` (both), `actual` (billed only: Azure actual cost), `amortized` \
                    (effective only: Azure amortized cost), `superseded` (neither: a restated CUR \
                    assembly that the period-level manifest replaces). So Azure billed totals are the \
                    sum over actual files and effective totals the sum over amortized files, never both.",
                "service": "The provider's service name as written: AWS product/ProductName, Azure \
                    MeterCategory, GCP service.description, FOCUS ServiceName.",
                "days": "UTC days; charges spanning days are split pro rata by time overlap, one-time \
                    purchases land on their start day.",
                "currency": "Amounts in different currencies are never added.",
                "gcp": "billed = effective = cost + credits[].amount; late rows add.",
            },
            "rows": {"billing": self.billing_rows, "metrics": self.metric_rows},
            "files": files,
            "totals": totals,
            "by_service": services,
            "daily": daily,
            "resources": resources,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("time")
    }

    fn charge(start: &str, end: &str, one_time: bool, billed: &str) -> Charge {
        Charge {
            provider: "aws",
            service: "Tax",
            currency: "USD",
            start: t(start),
            end: t(end),
            one_time,
            billed: billed.parse().expect("dec"),
            effective: Decimal::ZERO,
        }
    }

    #[test]
    fn a_month_long_charge_is_split_by_day_and_a_purchase_is_not() {
        let mut truth = Truth::default();
        // 31 days of March: 31.00 is 1.00 a day.
        truth.add(charge(
            "2024-03-01T00:00:00Z",
            "2024-04-01T00:00:00Z",
            false,
            "31.00",
        ));
        truth.add(charge(
            "2024-03-01T00:00:00Z",
            "2024-04-01T00:00:00Z",
            true,
            "5",
        ));
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        let key = |day| (d(day), "aws", "Tax", "USD");
        assert_eq!(
            truth.daily[&key("2024-03-01")].billed,
            "6".parse().expect("6")
        );
        assert_eq!(
            truth.daily[&key("2024-03-31")].billed,
            "1".parse().expect("1")
        );
        assert_eq!(truth.daily.len(), 31);
        assert_eq!(
            truth.totals[&("aws", "USD")].billed,
            "36".parse().expect("36")
        );
    }

    #[test]
    fn an_hour_stays_on_its_day_and_zero_rows_move_nothing() {
        let mut truth = Truth::default();
        truth.add(charge(
            "2024-03-05T23:00:00Z",
            "2024-03-06T00:00:00Z",
            false,
            "2.5",
        ));
        truth.add(charge(
            "2024-03-05T10:00:00Z",
            "2024-03-05T11:00:00Z",
            false,
            "0",
        ));
        assert_eq!(truth.daily.len(), 1);
        assert_eq!(truth.services.len(), 1);
    }
}
