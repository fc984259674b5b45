//! The rules' thresholds and lookbacks: every field documented, every default in
//! [`RecommendationConfig::default`], unknown keys refused.

use serde::{Deserialize, Serialize};

/// Settings of the recommendation rules (`[recommendations]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecommendationConfig {
    /// Length of the rolling metric window, in hours (720 = 30 days).
    pub lookback_hours: u32,
    /// Share of the window's minutes that must be present before any verdict (0–1).
    pub min_coverage: f64,
    /// Days of cost (the latest days that have any) the current cost averages over.
    pub cost_days: u32,
    /// Hours in a month, for monthly cost and savings (730 = 8,760 / 12).
    pub hours_per_month: u32,
    /// Days after which an idle endpoint is to be decommissioned rather than scaled to
    /// zero: with less history, removing it is too bold a call.
    pub decommission_after_days: u32,
    /// Days until a recommendation expires unless a recompute confirms it again.
    pub ttl_days: u32,
    /// Hours of metrics (the window's length) before a rightsize or autoscale verdict: a
    /// day's shape is not yet a habit. Idle verdicts need no minimum (scale to zero is
    /// reversible), schedules need the whole week observed, commitments
    /// `commitment.min_window_days`.
    pub min_window_hours: u32,
    pub idle: IdleConfig,
    pub rightsize: RightsizeConfig,
    pub schedule: ScheduleConfig,
    pub autoscale: AutoscaleConfig,
    pub commitment: CommitmentConfig,
    pub priority: PriorityConfig,
}

/// When an endpoint is idle (decommission / scale to zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdleConfig {
    /// Idle at or below this many requests per minute on average (0.01 ≈ 14 a day).
    pub requests_per_minute_max: f64,
    /// And, where GPU utilization is measured, below this average (percent).
    pub gpu_util_below_pct: f64,
}

/// When a GPU endpoint is oversized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RightsizeConfig {
    /// Oversized below this average GPU utilization while serving (percent).
    pub gpu_active_below_pct: f64,
    /// Utilization the smaller capacity should run at (percent).
    pub target_gpu_pct: f64,
    /// Never suggest less than this fraction of today's capacity (one size down halves
    /// the price on every provider's GPU families).
    pub min_capacity_fraction: f64,
}

/// When an endpoint has hours of the week with no traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// An hour of the week is idle at or below this many requests per minute.
    pub idle_requests_per_minute: f64,
    /// Recommend a schedule from this many idle hours a week.
    pub min_idle_hours_per_week: u32,
    /// An hour of the week counts as observed with this many minutes present (summed
    /// over the weeks in the window).
    pub min_slot_minutes: i64,
    /// Observed hours of the week needed to judge (168 = a full week).
    pub min_observed_hours: u32,
}

/// When throughput is bursty enough for autoscaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoscaleConfig {
    /// Bursty when p99 requests per active minute is at least this multiple of the mean.
    pub peak_to_mean_min: f64,
    /// Only endpoints running at least this many replicas on average (one replica cannot
    /// scale down).
    pub min_replicas: f64,
    /// Capacity kept above the mean demand, as a multiple.
    pub headroom: f64,
}

/// When steady on-demand spend should be a commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommitmentConfig {
    /// Share of the recent cost that must be on demand (0–1).
    pub min_on_demand_share: f64,
    /// Largest coefficient of variation of the daily cost.
    pub max_daily_cv: f64,
    /// Demand is steady when the quietest hour of the week runs at this share of the mean.
    pub min_flatness: f64,
    /// Days of cost needed.
    pub min_cost_days: u32,
    /// Days of metrics needed: a one-year commitment rests on more than a day of demand.
    pub min_window_days: u32,
    /// Discount of a one-year commitment with no upfront payment, per provider (0–1):
    /// AWS Savings Plans, Azure reservations, GCP committed use discounts.
    pub aws_discount: f64,
    pub azure_discount: f64,
    pub gcp_discount: f64,
    /// Discount used for other providers.
    pub other_discount: f64,
}

/// Priority from monthly savings (in the finding's own currency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityConfig {
    pub high_monthly_savings: f64,
    pub medium_monthly_savings: f64,
}

impl Default for RecommendationConfig {
    fn default() -> Self {
        RecommendationConfig {
            lookback_hours: 720,
            min_coverage: 0.9,
            cost_days: 7,
            hours_per_month: 730,
            decommission_after_days: 7,
            ttl_days: 30,
            min_window_hours: 24,
            idle: IdleConfig::default(),
            rightsize: RightsizeConfig::default(),
            schedule: ScheduleConfig::default(),
            autoscale: AutoscaleConfig::default(),
            commitment: CommitmentConfig::default(),
            priority: PriorityConfig::default(),
        }
    }
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            requests_per_minute_max: 0.01,
            gpu_util_below_pct: 5.0,
        }
    }
}

impl Default for RightsizeConfig {
    fn default() -> Self {
        RightsizeConfig {
            gpu_active_below_pct: 30.0,
            target_gpu_pct: 60.0,
            min_capacity_fraction: 0.5,
        }
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            idle_requests_per_minute: 0.05,
            min_idle_hours_per_week: 24,
            min_slot_minutes: 45,
            min_observed_hours: 168,
        }
    }
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            peak_to_mean_min: 4.0,
            min_replicas: 2.0,
            headroom: 1.25,
        }
    }
}

impl Default for CommitmentConfig {
    fn default() -> Self {
        CommitmentConfig {
            min_on_demand_share: 0.9,
            max_daily_cv: 0.1,
            min_flatness: 0.85,
            min_cost_days: 7,
            min_window_days: 7,
            aws_discount: 0.25,
            azure_discount: 0.30,
            gcp_discount: 0.20,
            other_discount: 0.20,
        }
    }
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            high_monthly_savings: 1000.0,
            medium_monthly_savings: 100.0,
        }
    }
}

impl RecommendationConfig {
    /// Checks ranges; the message names the key (the first problem of
    /// [`RecommendationConfig::problems`]).
    pub fn validate(&self) -> Result<(), String> {
        match self.problems().into_iter().next() {
            Some((_, why)) => Err(why),
            None => Ok(()),
        }
    }

    /// Every key whose value cannot be meant, as (key path under `recommendations`, why).
    /// Numbers must be finite (TOML has `nan` and `inf`), shares within 0–1, percentages
    /// within 0–100, counts and rates at least 0, and no two keys may contradict each
    /// other (a rule that could never, or would always, speak).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut bad = |key: &str, why: String| {
            out.push((
                format!("recommendations.{key}"),
                format!("recommendations.{key} {why}"),
            ));
        };
        let shares = [
            ("min_coverage", self.min_coverage),
            (
                "commitment.min_on_demand_share",
                self.commitment.min_on_demand_share,
            ),
            ("commitment.aws_discount", self.commitment.aws_discount),
            ("commitment.azure_discount", self.commitment.azure_discount),
            ("commitment.gcp_discount", self.commitment.gcp_discount),
            ("commitment.other_discount", self.commitment.other_discount),
            ("commitment.min_flatness", self.commitment.min_flatness),
            (
                "rightsize.min_capacity_fraction",
                self.rightsize.min_capacity_fraction,
            ),
        ];
        for (key, v) in shares {
            if !(0.0..=1.0).contains(&v) {
                bad(key, format!("must be between 0 and 1, not {v}"));
            }
        }
        let percents = [
            ("idle.gpu_util_below_pct", self.idle.gpu_util_below_pct),
            (
                "rightsize.gpu_active_below_pct",
                self.rightsize.gpu_active_below_pct,
            ),
        ];
        for (key, v) in percents {
            if !(0.0..=100.0).contains(&v) {
                bad(key, format!("must be a percentage from 0 to 100, not {v}"));
            }
        }
        if !(self.rightsize.target_gpu_pct > 0.0 && self.rightsize.target_gpu_pct <= 100.0) {
            bad(
                "rightsize.target_gpu_pct",
                format!(
                    "must be a percentage above 0 and at most 100, not {}",
                    self.rightsize.target_gpu_pct
                ),
            );
        }
        let non_negative = [
            (
                "idle.requests_per_minute_max",
                self.idle.requests_per_minute_max,
            ),
            (
                "schedule.idle_requests_per_minute",
                self.schedule.idle_requests_per_minute,
            ),
            (
                "autoscale.peak_to_mean_min",
                self.autoscale.peak_to_mean_min,
            ),
            ("autoscale.min_replicas", self.autoscale.min_replicas),
            ("commitment.max_daily_cv", self.commitment.max_daily_cv),
            (
                "priority.high_monthly_savings",
                self.priority.high_monthly_savings,
            ),
            (
                "priority.medium_monthly_savings",
                self.priority.medium_monthly_savings,
            ),
        ];
        for (key, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                bad(
                    key,
                    format!("must be a finite number of at least 0, not {v}"),
                );
            }
        }
        if !(self.autoscale.headroom.is_finite() && self.autoscale.headroom >= 1.0) {
            bad(
                "autoscale.headroom",
                format!("must be at least 1, not {}", self.autoscale.headroom),
            );
        }
        for (key, v) in [
            ("lookback_hours", self.lookback_hours),
            ("hours_per_month", self.hours_per_month),
            ("cost_days", self.cost_days),
        ] {
            if v == 0 {
                bad(key, "must be positive, not 0".into());
            }
        }
        if !(0..=60).contains(&self.schedule.min_slot_minutes) {
            bad(
                "schedule.min_slot_minutes",
                format!(
                    "must be from 0 to 60 (minutes of an hour), not {}",
                    self.schedule.min_slot_minutes
                ),
            );
        }
        for (key, v) in [
            (
                "schedule.min_observed_hours",
                self.schedule.min_observed_hours,
            ),
            (
                "schedule.min_idle_hours_per_week",
                self.schedule.min_idle_hours_per_week,
            ),
        ] {
            if v > 168 {
                bad(
                    key,
                    format!("must be at most 168 (the hours of a week), not {v}"),
                );
            }
        }
        // Contradictions: a GPU "oversized" at or above the utilization it should be
        // brought to; medium priority above high.
        if self.rightsize.gpu_active_below_pct >= self.rightsize.target_gpu_pct {
            bad(
                "rightsize.gpu_active_below_pct",
                format!(
                    "({}) must be below rightsize.target_gpu_pct ({}): an endpoint cannot be \
                     oversized at the utilization it is to be sized for",
                    self.rightsize.gpu_active_below_pct, self.rightsize.target_gpu_pct
                ),
            );
        }
        if self.priority.medium_monthly_savings > self.priority.high_monthly_savings {
            bad(
                "priority.medium_monthly_savings",
                format!(
                    "({}) must be at most priority.high_monthly_savings ({})",
                    self.priority.medium_monthly_savings, self.priority.high_monthly_savings
                ),
            );
        }
        out
    }
}
