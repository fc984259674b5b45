//! Recommendations: what the job finds ([`Finding`]), what the store keeps of it over time
//! ([`Recommendation`], with its lifecycle), and what webhooks announce ([`Event`]).
//!
//! The split matters. The job recomputes findings from costs and metrics whenever they
//! change, and knows nothing of people; the store owns the lifecycle (a user's "accepted"
//! survives every recompute, a finding that stops holding is marked withdrawn, never
//! deleted). Both sides agree on one id per (provider, resource, type), so a recompute
//! updates the same recommendation instead of making a new one.
//!
//! Money is `Decimal` in the finding's currency (a resource billed in EUR is saved from in
//! EUR); confidence is a `Decimal` in `[0, 1]` so findings are plain ordered data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::cost::Provider;

/// The kinds of recommendation. The wire names are the case vocabulary
/// (`../shared/cases/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationType {
    /// Low GPU utilization while serving: move to a smaller accelerator or instance.
    Rightsize,
    /// Steady on-demand spend: a savings plan, reservation or committed-use discount.
    PurchaseCommitment,
    /// Hour-of-week windows with no requests: stop the endpoint in them.
    Schedule,
    /// Bursty throughput on fixed capacity: scale between a minimum and a maximum.
    Autoscale,
    /// Idle over the whole lookback: remove the endpoint.
    Decommission,
    /// Idle over an observed window shorter than the decommission horizon: scale it to
    /// zero (reversible) rather than delete it.
    ScaleToZero,
}

impl RecommendationType {
    pub const ALL: [RecommendationType; 6] = [
        RecommendationType::Rightsize,
        RecommendationType::PurchaseCommitment,
        RecommendationType::Schedule,
        RecommendationType::Autoscale,
        RecommendationType::Decommission,
        RecommendationType::ScaleToZero,
    ];

    /// The wire name (`rightsize`, `purchase_commitment`, ...).
    pub fn code(self) -> &'static str {
        match self {
            RecommendationType::Rightsize => "rightsize",
            RecommendationType::PurchaseCommitment => "purchase_commitment",
            RecommendationType::Schedule => "schedule",
            RecommendationType::Autoscale => "autoscale",
            RecommendationType::Decommission => "decommission",
            RecommendationType::ScaleToZero => "scale_to_zero",
        }
    }

    pub fn from_code(code: &str) -> Option<RecommendationType> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// How urgent a recommendation is, from its savings (see the rules' config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub fn code(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

/// How much work acting on a recommendation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    Low,
    Medium,
    High,
}

/// The commitment a pricing-model recommendation suggests, in each provider's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Commitment {
    /// AWS (Compute / SageMaker) Savings Plan.
    SavingsPlan,
    /// Azure reservation (or AWS/OCI reserved capacity).
    Reservation,
    /// GCP committed use discount.
    CommittedUse,
}

/// One hour-of-week window, `[start_hour, end_hour)` on `day` (0 = Monday, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HourWindow {
    pub day: u8,
    pub start_hour: u8,
    pub end_hour: u8,
}

/// What to do, as data a script can act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Serve from a smaller accelerator or instance, about `capacity_fraction` of today's.
    Rightsize {
        current_instance: Option<String>,
        capacity_fraction: Decimal,
    },
    /// Commit to `hourly_commitment` (in the finding's currency) for `term_years`.
    PurchaseCommitment {
        commitment: Commitment,
        term_years: u8,
        hourly_commitment: Decimal,
        discount: Decimal,
    },
    /// Stop the endpoint in these windows (UTC), `idle_hours_per_week` in total.
    Schedule {
        idle_windows: Vec<HourWindow>,
        idle_hours_per_week: u32,
    },
    /// Scale between `min_replicas` and `max_replicas` instead of a fixed `current_replicas`.
    Autoscale {
        current_replicas: Option<u32>,
        min_replicas: u32,
        max_replicas: u32,
    },
    Decommission,
    ScaleToZero,
}

/// What the job finds for one resource and type: the computed part of a recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub provider: Provider,
    /// The billing resource id when the metrics were matched to one, else the metrics id.
    pub resource_id: String,
    #[serde(rename = "type")]
    pub kind: RecommendationType,
    pub title: String,
    pub description: String,
    pub currency: String,
    /// The resource's cost per month at its recent daily rate.
    #[serde(serialize_with = "two_places_ser")]
    pub current_monthly_cost: Decimal,
    /// Never more than `current_monthly_cost`, never negative.
    #[serde(serialize_with = "two_places_ser")]
    pub estimated_monthly_savings: Decimal,
    /// In `[0, 1]`; lowered by missing minutes.
    pub confidence: Decimal,
    pub priority: Priority,
    pub effort: Effort,
    pub action: Action,
    /// The signal values the verdict rests on, by name (decimals as strings).
    pub supporting_data: BTreeMap<String, String>,
}

impl Finding {
    /// The recommendation id this finding updates.
    pub fn id(&self) -> String {
        recommendation_id(self.provider, &self.resource_id, self.kind)
    }

    /// Whether `other` says something different enough to announce: another kind, action,
    /// priority, effort or currency, or a cost or savings more than 5% apart. Signal values
    /// drift a little with every minute; a receiver wants to hear when the advice changes,
    /// not when an average moves in its second decimal.
    pub fn materially_differs(&self, other: &Finding) -> bool {
        let apart = |a: Decimal, b: Decimal| {
            let scale = a.abs().max(b.abs());
            !scale.is_zero() && (a - b).abs() * Decimal::from(20) > scale
        };
        self.kind != other.kind
            || self.action != other.action
            || self.priority != other.priority
            || self.effort != other.effort
            || self.currency != other.currency
            || self.resource_id != other.resource_id
            || apart(self.current_monthly_cost, other.current_monthly_cost)
            || apart(
                self.estimated_monthly_savings,
                other.estimated_monthly_savings,
            )
    }

    /// Savings as a percentage of the current cost (0 when there is no cost).
    pub fn savings_percent(&self) -> Decimal {
        if self.current_monthly_cost.is_zero() {
            return Decimal::ZERO;
        }
        (self.estimated_monthly_savings * Decimal::ONE_HUNDRED / self.current_monthly_cost)
            .round_dp(2)
    }
}

/// `d` written with two decimal places at least (`2482.0` as `2482.00`, `75` as `75.00`):
/// how recommendations show money and percentages. Only the scale grows, so the value is
/// the same exact decimal; a value with more places (none is computed so) keeps them
/// rather than being rounded.
pub fn two_places(d: Decimal) -> Decimal {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

fn two_places_ser<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    Serialize::serialize(&two_places(*d), s)
}

/// A stable id for (provider, resource, type): `rec_` and 16 hex digits of FNV-1a 64 over
/// the three, so every process and every release names the same recommendation alike.
pub fn recommendation_id(
    provider: Provider,
    resource_id: &str,
    kind: RecommendationType,
) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [provider.code(), resource_id, kind.code()] {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("rec_{h:016x}")
}

/// Where a person has taken a recommendation. Survives every recompute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
    Implemented,
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Accepted,
        Status::Rejected,
        Status::Implemented,
        Status::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Implemented => "implemented",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Whether the job still finds the recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The latest computation finds it.
    Active,
    /// It held once and no longer does; kept with its last finding and history.
    Withdrawn,
    /// Its `expires_at` passed without a newer computation confirming it.
    Expired,
}

/// One entry of a recommendation's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// `created`, `updated`, `withdrawn`, `expired`, `reactivated` or `status:<status>`.
    pub event: String,
    pub status: Status,
    pub state: State,
    /// The reason given with a status change (a rejection's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A recommendation as the store keeps it and the API serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub id: String,
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(serialize_with = "two_places_ser")]
    pub savings_percent: Decimal,
    pub status: Status,
    /// Why it was rejected (or dismissed), when a reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub state: State,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Grows by one with every change a webhook announces; events are named by it.
    pub revision: u64,
    pub history: Vec<HistoryEntry>,
}

/// What a webhook announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "recommendation.created")]
    Created,
    #[serde(rename = "recommendation.updated")]
    Updated,
    #[serde(rename = "recommendation.withdrawn")]
    Withdrawn,
    #[serde(rename = "recommendation.status_changed")]
    StatusChanged,
}

impl EventKind {
    pub fn code(self) -> &'static str {
        match self {
            EventKind::Created => "recommendation.created",
            EventKind::Updated => "recommendation.updated",
            EventKind::Withdrawn => "recommendation.withdrawn",
            EventKind::StatusChanged => "recommendation.status_changed",
        }
    }
}

/// One webhook event. Its id is derived from the recommendation id and revision, so the
/// same change produces the same event id however often it is computed or sent, and a
/// receiver deduplicates by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub recommendation: Recommendation,
}

impl Event {
    pub fn new(
        kind: EventKind,
        occurred_at: DateTime<Utc>,
        recommendation: Recommendation,
    ) -> Event {
        Event {
            id: format!("evt_{}_{}", recommendation.id, recommendation.revision),
            kind,
            occurred_at,
            recommendation,
        }
    }
}

/// An event that could not be delivered to one webhook URL after every retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub event_id: String,
    #[serde(rename = "event_type")]
    pub kind: EventKind,
    pub url: String,
    pub attempts: u32,
    /// The last failure: an HTTP status and body excerpt, or the transport error.
    pub last_error: String,
    pub failed_at: DateTime<Utc>,
    pub event: Event,
    /// When a person asked for it to be sent again (`POST .../redeliver`): the letter stays
    /// listed until that delivery succeeds (the letter goes) or fails again (a new letter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redelivery_requested_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = recommendation_id(Provider::Aws, "ep-1", RecommendationType::Rightsize);
        // FNV-1a 64 of "aws\0ep-1\0rightsize\0", worked out with a second implementation
        // (Python: h=0xcbf29ce484222325; h^=b; h=(h*0x100000001b3)%2**64 per byte).
        assert_eq!(a, "rec_c72697cba348956e");
        assert_ne!(
            a,
            recommendation_id(Provider::Aws, "ep-1", RecommendationType::Schedule)
        );
        assert_ne!(
            a,
            recommendation_id(Provider::Gcp, "ep-1", RecommendationType::Rightsize)
        );
        // The separator keeps ("ep", "-1...") and ("ep-", "1...") apart.
        assert_ne!(
            recommendation_id(Provider::Aws, "a", RecommendationType::Rightsize),
            recommendation_id(Provider::Aws, "a\0", RecommendationType::Rightsize)
        );
        assert!(a.starts_with("rec_") && a.len() == 20);
    }

    #[test]
    fn only_material_changes_differ() {
        let f = Finding {
            provider: Provider::Aws,
            resource_id: "ep".into(),
            kind: RecommendationType::Decommission,
            title: "t".into(),
            description: "d".into(),
            currency: "USD".into(),
            current_monthly_cost: Decimal::from(1000),
            estimated_monthly_savings: Decimal::from(1000),
            confidence: Decimal::ONE,
            priority: Priority::Medium,
            effort: Effort::Low,
            action: Action::Decommission,
            supporting_data: BTreeMap::new(),
        };
        let mut g = f.clone();
        g.supporting_data.insert("coverage".into(), "0.97".into());
        g.confidence = Decimal::new(9, 1);
        g.description = "other words".into();
        // Apart when the gap exceeds 5% of the larger: 1,052 − 1,000 = 52 ≤ 52.6, but
        // 1,053 − 1,000 = 53 > 52.65.
        g.estimated_monthly_savings = Decimal::from(1052);
        assert!(!f.materially_differs(&g));
        g.estimated_monthly_savings = Decimal::from(1053);
        assert!(f.materially_differs(&g));
        let mut h = f.clone();
        h.priority = Priority::High;
        assert!(f.materially_differs(&h));
    }

    #[test]
    fn money_and_percentages_show_two_places_and_keep_their_value() {
        let f = Finding {
            provider: Provider::Aws,
            resource_id: "ep".into(),
            kind: RecommendationType::Rightsize,
            title: "t".into(),
            description: "d".into(),
            currency: "USD".into(),
            // 2482.0 and 1241: the shapes the rules' rounding leaves.
            current_monthly_cost: Decimal::new(24820, 1),
            estimated_monthly_savings: Decimal::from(1241),
            confidence: Decimal::ONE,
            priority: Priority::Medium,
            effort: Effort::Low,
            action: Action::Decommission,
            supporting_data: BTreeMap::new(),
        };
        // 1241 / 2482 = 50%.
        assert_eq!(f.savings_percent(), Decimal::from(50));
        let doc = serde_json::to_value(&f).expect("json");
        assert_eq!(doc["current_monthly_cost"], "2482.00");
        assert_eq!(doc["estimated_monthly_savings"], "1241.00");
        let back: Finding = serde_json::from_value(doc).expect("back");
        assert_eq!(back, f);
        assert!(!back.materially_differs(&f));
        // 2/3 of the cost: 66.666... rounded to 66.67; 75 as 75.00.
        let mut g = f.clone();
        g.current_monthly_cost = Decimal::from(3);
        g.estimated_monthly_savings = Decimal::from(2);
        assert_eq!(g.savings_percent().to_string(), "66.67");
        assert_eq!(two_places(Decimal::from(75)).to_string(), "75.00");
        assert_eq!(two_places(Decimal::new(500, 1)).to_string(), "50.00");
        // Never rounds: more places are kept.
        assert_eq!(two_places(Decimal::new(12345, 4)).to_string(), "1.2345");
    }

    #[test]
    fn codes_round_trip_and_match_serde() {
        for t in RecommendationType::ALL {
            assert_eq!(RecommendationType::from_code(t.code()), Some(t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::json!(t.code()))
            );
        }
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.code()))
            );
        }
    }
}
