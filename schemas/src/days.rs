//! UTC days and the pro-rata split of a charge across them (ARCHITECTURE §4).
//!
//! A charge whose period `[start, end)` spans several UTC days is divided by time overlap.
//! One-time charges (purchases) land whole on their start day. The split is exact: each
//! day but the last gets its share rounded to `SHARE_SCALE` places and the last day takes
//! the remainder, so the parts always add up to the amount, to the last digit.

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::cost::{ChargeCategory, ChargeFrequency, CostRecord};

/// Decimal places kept on each non-final share of a split amount.
pub const SHARE_SCALE: u32 = 15;

/// The UTC days `[start, end)` touches, each with the seconds of overlap. A period of zero
/// or negative length counts as one instant on its start day.
pub fn utc_day_overlaps(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(NaiveDate, i64)> {
    let first = start.date_naive();
    if end <= start {
        return vec![(first, 0)];
    }
    let mut out = Vec::new();
    let mut day = first;
    loop {
        let day_start = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            break;
        };
        let next_start = next.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let (Some(ds), Some(ns)) = (day_start, next_start) else {
            break;
        };
        let lo = start.max(ds);
        let hi = end.min(ns);
        if hi > lo {
            out.push((day, (hi - lo).num_seconds().max(0)));
        }
        if ns >= end {
            break;
        }
        day = next;
    }
    if out.is_empty() {
        out.push((first, 0));
    }
    out
}

/// Splits `amount` over the UTC days of `[start, end)` by time overlap; the parts sum to
/// `amount` exactly (non-final shares keep `SHARE_SCALE` places, or the amount's own if
/// it has more).
pub fn split_by_utc_day(
    amount: Decimal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<(NaiveDate, Decimal)> {
    split_by_utc_day_at(amount, start, end, SHARE_SCALE.max(amount.scale()))
}

/// `amount` rounded to `places` decimal places, half away from zero.
pub fn round_half_away(amount: Decimal, places: u32) -> Decimal {
    if amount.scale() > places {
        amount.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
    } else {
        amount
    }
}

/// Splits `amount`, first rounded to `places` decimal places (half away from zero), over
/// the UTC days of `[start, end)` by time overlap. Every part has at most `places` places
/// and the parts sum to the rounded amount exactly, so a sum kept at `places` places
/// rounds each charge once, not once per day it touches.
pub fn split_by_utc_day_at(
    amount: Decimal,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    places: u32,
) -> Vec<(NaiveDate, Decimal)> {
    let amount = round_half_away(amount, places);
    let overlaps = utc_day_overlaps(start, end);
    let total: i64 = overlaps.iter().map(|(_, s)| *s).sum();
    if overlaps.len() == 1 || total == 0 {
        return vec![(overlaps[0].0, amount)];
    }
    let total = Decimal::from(total);
    let mut out = Vec::with_capacity(overlaps.len());
    let mut given = Decimal::ZERO;
    let last = overlaps.len() - 1;
    for (i, (day, secs)) in overlaps.into_iter().enumerate() {
        let part = if i == last {
            amount - given
        } else {
            round_half_away(amount * Decimal::from(secs) / total, places)
        };
        given += part;
        out.push((day, part));
    }
    out
}

impl CostRecord {
    /// Whether this record lands whole on its start day instead of being split: one-time
    /// purchases do (an upfront fee is not spread over the term it buys).
    pub fn lands_on_start_day(&self) -> bool {
        self.charge_frequency == Some(ChargeFrequency::OneTime)
            && self.charge_category == ChargeCategory::Purchase
    }

    /// Splits an amount of this record (billed, effective, a quantity) over UTC days.
    pub fn split_daily(&self, amount: Decimal) -> Vec<(NaiveDate, Decimal)> {
        if self.lands_on_start_day() {
            return vec![(self.charge_period_start.date_naive(), amount)];
        }
        split_by_utc_day(amount, self.charge_period_start, self.charge_period_end)
    }

    /// Splits an amount of this record over UTC days as [`split_by_utc_day_at`] does:
    /// rounded once to `places` (half away from zero), then shared at that scale.
    pub fn split_daily_at(&self, amount: Decimal, places: u32) -> Vec<(NaiveDate, Decimal)> {
        if self.lands_on_start_day() {
            return vec![(
                self.charge_period_start.date_naive(),
                round_half_away(amount, places),
            )];
        }
        split_by_utc_day_at(
            amount,
            self.charge_period_start,
            self.charge_period_end,
            places,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .expect("test time")
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimal")
    }

    #[test]
    fn a_charge_inside_one_day_stays_whole() {
        let parts = split_by_utc_day(
            d("2.40"),
            t("2024-03-05T10:00:00Z"),
            t("2024-03-05T11:00:00Z"),
        );
        assert_eq!(
            parts,
            vec![(
                NaiveDate::from_ymd_opt(2024, 3, 5).expect("date"),
                d("2.40")
            )]
        );
    }

    #[test]
    fn a_charge_over_midnight_splits_by_hours() {
        // 18:00 to 06:00 is 6 hours on each side: 24 splits as 12 + 12.
        let parts = split_by_utc_day(
            d("24"),
            t("2024-03-05T18:00:00Z"),
            t("2024-03-06T06:00:00Z"),
        );
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, d("12"));
        assert_eq!(parts[1].1, d("12"));
    }

    #[test]
    fn thirds_add_back_to_the_amount_exactly() {
        // Three days of one dollar each way: 1/3 does not terminate, the last day takes the rest.
        let start = Utc
            .with_ymd_and_hms(2024, 3, 1, 0, 0, 0)
            .single()
            .expect("time");
        let end = Utc
            .with_ymd_and_hms(2024, 3, 4, 0, 0, 0)
            .single()
            .expect("time");
        let parts = split_by_utc_day(d("1"), start, end);
        assert_eq!(parts.len(), 3);
        let sum: Decimal = parts.iter().map(|p| p.1).sum();
        assert_eq!(sum, d("1"));
        assert!((parts[0].1 - d("0.333333333333333")).abs() < d("0.000000000000001"));
    }

    #[test]
    fn an_end_exactly_at_midnight_does_not_touch_the_next_day() {
        let parts = split_by_utc_day(d("5"), t("2024-03-05T00:00:00Z"), t("2024-03-06T00:00:00Z"));
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn an_empty_period_lands_on_its_start_day() {
        let parts = split_by_utc_day(d("5"), t("2024-03-05T12:00:00Z"), t("2024-03-05T12:00:00Z"));
        assert_eq!(
            parts,
            vec![(NaiveDate::from_ymd_opt(2024, 3, 5).expect("date"), d("5"))]
        );
    }
}
