//! # utilization
//!
//! ```sql
//! -- Average utilizations over present minutes only (never a missing minute as 0).
//! SELECT resource,
//!        AVG(gpu_utilization_pct)                               AS gpu_avg,        -- NULL if never measured
//!        AVG(gpu_utilization_pct) FILTER (WHERE requests > 0)   AS gpu_active_avg, -- while serving
//!        AVG(gpu_memory_utilization_pct) AS gpu_memory_avg,
//!        AVG(cpu_utilization_pct)        AS cpu_avg,
//!        AVG(memory_utilization_pct)     AS memory_avg,
//!        BOOL_OR(accelerator = 'none')   AS cpu_only                               -- GPU not applicable
//! FROM metric_minutes WHERE minute IN window GROUP BY resource
//! ```

use burnrate_schemas::HourStats;

/// A resource's GPU, as far as the metrics tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gpu {
    /// The resource has no accelerator (`accelerator = none`): GPU findings never apply.
    NotApplicable,
    /// It may have one, but no minute measured it: no GPU finding either.
    NotMeasured,
    /// Percent, over minutes that measured it; `active_avg` over minutes with requests.
    Measured { avg: f64, active_avg: Option<f64> },
}

/// Averages of the utilization metrics (percent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utilization {
    pub gpu: Gpu,
    pub gpu_memory_avg: Option<f64>,
    pub cpu_avg: Option<f64>,
    pub memory_avg: Option<f64>,
}

/// `sum / n` of a milli-unit sum, or `None` when nothing was measured.
pub fn avg_milli(sum: i64, n: i32) -> Option<f64> {
    (n > 0).then(|| sum as f64 / 1000.0 / f64::from(n))
}

impl Utilization {
    pub fn of(s: &HourStats) -> Utilization {
        let gpu = if s.gpu_minutes > 0 {
            Gpu::Measured {
                avg: avg_milli(s.gpu_milli, s.gpu_minutes).unwrap_or(0.0),
                active_avg: avg_milli(s.gpu_active_milli, s.gpu_active_minutes),
            }
        } else if s.cpu_only_minutes > 0 {
            Gpu::NotApplicable
        } else {
            Gpu::NotMeasured
        };
        Utilization {
            gpu,
            gpu_memory_avg: avg_milli(s.gpu_memory_milli, s.gpu_memory_minutes),
            cpu_avg: avg_milli(s.cpu_milli, s.cpu_minutes),
            memory_avg: avg_milli(s.memory_milli, s.memory_minutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_use_present_minutes_and_absent_gpu_stays_absent() {
        // Case B17, ep-gpu-busy: 65.0, 60.0, 70.0, 62.0 over its 4 present minutes → 64.25.
        let s = HourStats {
            minutes: 4,
            gpu_minutes: 4,
            gpu_milli: 65_000 + 60_000 + 70_000 + 62_000,
            ..HourStats::default()
        };
        assert_eq!(
            Utilization::of(&s).gpu,
            Gpu::Measured {
                avg: 64.25,
                active_avg: None
            }
        );
        let cpu = HourStats {
            minutes: 10,
            cpu_only_minutes: 10,
            cpu_minutes: 10,
            cpu_milli: 15_000,
            ..HourStats::default()
        };
        let u = Utilization::of(&cpu);
        assert_eq!(u.gpu, Gpu::NotApplicable);
        assert_eq!(u.cpu_avg, Some(1.5));
        assert_eq!(u.memory_avg, None);
        let unknown = HourStats {
            minutes: 3,
            ..HourStats::default()
        };
        assert_eq!(Utilization::of(&unknown).gpu, Gpu::NotMeasured);
    }
}
