//! Actual versus amortized: which view a file holds, and both costs of each row.
//!
//! The rules, from Microsoft's description of the two datasets (the actual cost dataset has
//! commitment purchases and gives commitment-covered usage a zero price; the amortized one
//! has no purchase records, prices covered usage at the prorated commitment, and adds
//! `UnusedReservation` / `UnusedSavingsPlan` rows), checked against the FinOps toolkit's
//! actual and amortized samples of one EA account:
//!
//! | row                                   | actual file: billed / effective | amortized file: billed / effective |
//! |---------------------------------------|---------------------------------|------------------------------------|
//! | commitment purchase (or its refund)   | cost / 0                        | cost / 0 (Azure leaves these out)  |
//! | commitment-covered usage              | cost (0) / cost (0)             | 0 / cost                           |
//! | unused reservation / savings plan     | 0 / cost (not in actual data)   | 0 / cost                           |
//! | anything else                         | cost / cost                     | cost / cost                        |
//!
//! So a purchase is counted once in each view: in cash on its day (billed), and spread over
//! the usage and unused rows that the amortized file carries (effective).

use rust_decimal::Decimal;

/// The dataset a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Actual,
    Amortized,
}

impl View {
    /// The suffix appended to `x_Source`, so two views of one period stay apart.
    pub fn suffix(self) -> &'static str {
        match self {
            View::Actual => "#actual",
            View::Amortized => "#amortized",
        }
    }
}

/// What part a row plays for commitment discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Nothing to do with a commitment: both views are the row's cost.
    Plain,
    /// A reservation or savings plan bought (or refunded): cash, amortized elsewhere.
    CommitmentPurchase,
    /// Usage covered by a reservation or savings plan.
    CoveredUsage,
    /// The unused part of a commitment (amortized data only).
    Unused,
}

/// What one row says about the view of its file, on its own.
pub fn evidence(role: Role, cost: Decimal, quantity: Option<Decimal>) -> Option<View> {
    let used = quantity.is_some_and(|q| !q.is_zero());
    match role {
        Role::Unused => Some(View::Amortized),
        // Amortized data prices covered usage; actual data gives it a zero price. A row
        // that used nothing costs nothing in either view, so it says nothing.
        Role::CoveredUsage if cost.is_zero() && !used => None,
        Role::CoveredUsage if cost.is_zero() => Some(View::Actual),
        Role::CoveredUsage => Some(View::Amortized),
        // Only actual data has commitment purchases at their price.
        Role::CommitmentPurchase if !cost.is_zero() => Some(View::Actual),
        Role::CommitmentPurchase | Role::Plain => None,
    }
}

/// The view a file's name suggests, for files whose content cannot tell (no commitment
/// rows). Export names and folders usually say `ActualCost` or `AmortizedCost`.
pub fn name_hint(path: &str) -> Option<View> {
    let p = path.to_ascii_lowercase();
    let amortized = p.contains("amortized") || p.contains("amortised");
    let actual = p.contains("actual");
    match (actual, amortized) {
        (true, false) => Some(View::Actual),
        (false, true) => Some(View::Amortized),
        _ => None,
    }
}

/// Billed and effective cost of a row with this role and cost, in a file of this view.
pub fn costs(view: View, role: Role, cost: Decimal) -> (Decimal, Decimal) {
    match (role, view) {
        (Role::Plain, _) => (cost, cost),
        (Role::CommitmentPurchase, _) => (cost, Decimal::ZERO),
        (Role::CoveredUsage, View::Actual) => (cost, cost),
        (Role::CoveredUsage, View::Amortized) | (Role::Unused, _) => (Decimal::ZERO, cost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    #[test]
    fn a_reservation_purchase_is_cash_in_both_views_and_never_effective() {
        // The real actual sample: a Reservation purchase of 3.25 (Frequency Recurring).
        assert_eq!(
            costs(View::Actual, Role::CommitmentPurchase, d("3.25")),
            (d("3.25"), d("0"))
        );
        assert_eq!(
            evidence(Role::CommitmentPurchase, d("3.25"), Some(d("1"))),
            Some(View::Actual)
        );
        // Should an amortized file carry one, it still counts once, in cash.
        assert_eq!(
            costs(View::Amortized, Role::CommitmentPurchase, d("3.25")),
            (d("3.25"), d("0"))
        );
        // A refund of the purchase mirrors it.
        assert_eq!(
            costs(View::Actual, Role::CommitmentPurchase, d("-1.5")),
            (d("-1.5"), d("0"))
        );
    }

    #[test]
    fn covered_usage_is_free_in_cash_and_priced_when_amortized() {
        // The real amortized sample: 8 hours of D2 v2 under ProdDS1VMReservation, 0.493152.
        assert_eq!(
            costs(View::Amortized, Role::CoveredUsage, d("0.493152")),
            (d("0"), d("0.493152"))
        );
        assert_eq!(
            evidence(Role::CoveredUsage, d("0.493152"), Some(d("1"))),
            Some(View::Amortized)
        );
        // The same usage in actual data has a zero price.
        assert_eq!(
            costs(View::Actual, Role::CoveredUsage, d("0")),
            (d("0"), d("0"))
        );
        assert_eq!(
            evidence(Role::CoveredUsage, d("0"), Some(d("2"))),
            Some(View::Actual)
        );
        // Zero use at zero cost is the same in both views: no evidence.
        assert_eq!(evidence(Role::CoveredUsage, d("0"), Some(d("0"))), None);
        assert_eq!(evidence(Role::CoveredUsage, d("0"), None), None);
    }

    #[test]
    fn unused_commitment_is_effective_only() {
        assert_eq!(
            costs(View::Amortized, Role::Unused, d("12.5")),
            (d("0"), d("12.5"))
        );
        assert_eq!(
            evidence(Role::Unused, d("12.5"), Some(d("1"))),
            Some(View::Amortized)
        );
        assert_eq!(
            evidence(Role::Unused, d("0"), Some(d("1"))),
            Some(View::Amortized)
        );
    }

    #[test]
    fn plain_rows_refunds_and_rounding_are_the_same_in_both_views() {
        for v in [View::Actual, View::Amortized] {
            assert_eq!(costs(v, Role::Plain, d("-4.2")), (d("-4.2"), d("-4.2")));
            assert_eq!(costs(v, Role::Plain, d("0.01")), (d("0.01"), d("0.01")));
        }
        assert_eq!(evidence(Role::Plain, d("9"), Some(d("1"))), None);
        assert_eq!(
            evidence(Role::CommitmentPurchase, d("0"), Some(d("1"))),
            None
        );
    }

    #[test]
    fn file_names_hint_only_when_unambiguous() {
        assert_eq!(
            name_hint("exports/Foo_AmortizedCost/part_0.csv"),
            Some(View::Amortized)
        );
        assert_eq!(
            name_hint("data/EA_ActualCost_Small.csv"),
            Some(View::Actual)
        );
        assert_eq!(name_hint("data/part_0_0001.csv"), None);
        assert_eq!(name_hint("actual/amortized.csv"), None);
    }
}
