//! Hour-of-week idle windows → stop the endpoint in them.
//!
//! ```sql
//! SELECT resource FROM signals
//! WHERE coverage >= min_coverage
//!   AND observed_hours_of_week >= schedule.min_observed_hours
//!   AND COUNT(how WHERE rate(how) <= schedule.idle_requests_per_minute)
//!       >= schedule.min_idle_hours_per_week
//! -- savings: cost × idle_hours / 168
//! ```

use burnrate_schemas::{Action, Effort, RecommendationType};
use rust_decimal::Decimal;

use super::{RecommendationConfig, Verdict};
use crate::signals::Signals;
use crate::signals::hour_of_week::{HOURS_PER_WEEK, windows};

pub fn check(s: &Signals, cfg: &RecommendationConfig) -> Option<Verdict> {
    let c = &cfg.schedule;
    if s.profile.observed(c.min_slot_minutes) < c.min_observed_hours as usize {
        return None;
    }
    let idle = s
        .profile
        .idle_hours(c.min_slot_minutes, c.idle_requests_per_minute);
    if idle.len() < c.min_idle_hours_per_week as usize || idle.len() >= HOURS_PER_WEEK {
        return None;
    }
    let hours = idle.len() as u32;
    Some(Verdict {
        kind: RecommendationType::Schedule,
        fraction: Decimal::from(hours) / Decimal::from(HOURS_PER_WEEK as u32),
        action: Action::Schedule {
            idle_windows: windows(&idle),
            idle_hours_per_week: hours,
        },
        effort: Effort::Medium,
        base_confidence: 0.9,
        title: format!(
            "Stop {} in its {hours} idle hours a week",
            s.cost.resource_id
        ),
        description: format!(
            "{hours} of the week's 168 hours carry at most {} requests a minute; stopping the \
             endpoint in those windows (UTC) saves their share of its cost.",
            c.idle_requests_per_minute
        ),
    })
}
