//! NVIDIA dcgm-exporter (prefix `DCGM_FI_`).
//!
//! The resource is the GPU: its `UUID` label, else `Hostname/gpu<index>`, else the scrape
//! target. On Kubernetes each pod using a GPU gets its own copy of the device series
//! (`pod`, `namespace`, `container` labels) with the *same* device value, so a device
//! value is taken once per GPU (the first series seen) and never summed over pods. The
//! `modelName` label (`Tesla T4`, `NVIDIA A10G`) becomes the sample's accelerator.
//!
//! | field | metric |
//! |---|---|
//! | GPU utilization | `DCGM_FI_DEV_GPU_UTIL` (percent, 0–100; outside is rejected) |
//! | GPU memory utilization | `DCGM_FI_DEV_FB_USED / (FB_USED + FB_FREE)` (MiB) |
//!
//! DCGM writes "blank" sentinels where it has no reading (see DCGM's `dcgm_structs.h`):
//! `DCGM_INT32_BLANK` = 0x7ffffff0 and the three codes above it, `DCGM_INT64_BLANK` =
//! 0x7ffffffffffffff0 and above (exporters also print 9223372036854775794 and u64::MAX
//! 18446744073709551615), and `DCGM_FP64_BLANK` = 2^47 = 140737488355328.0 and the three
//! codes above it. They, and NaN, mean "no data" and are dropped, in every DCGM family.
//! `DCGM_FI_DEV_FB_USED_PERCENT` is not used: its scale (ratio or percent) differs
//! between DCGM versions.

use super::prometheus::Sample;
use super::scrape::{Scrape, Use, first};

/// Whether a DCGM value is one of DCGM's "blank" sentinels (or NaN).
pub fn is_blank(v: f64) -> bool {
    const INT32_BLANK: f64 = 2_147_483_632.0;
    const FP64_BLANK: f64 = 140_737_488_355_328.0;
    // 0x7ffffffffffffff0 rounds to 2^63 as an f64, which is what a parsed sentinel becomes.
    const INT64_BLANK: f64 = 9_223_372_036_854_775_792.0;
    v.is_nan()
        || v >= INT64_BLANK
        || (INT32_BLANK..=INT32_BLANK + 3.0).contains(&v)
        || (FP64_BLANK..=FP64_BLANK + 3.0).contains(&v)
}

fn resource(s: &Sample, target: &str) -> String {
    if let Some(uuid) = s.label("UUID").filter(|u| !u.is_empty()) {
        return uuid.to_string();
    }
    match (s.label("Hostname"), s.label("gpu")) {
        (Some(h), Some(g)) => format!("{h}/gpu{g}"),
        _ => target.to_string(),
    }
}

pub(crate) fn apply(
    s: &Sample,
    line: u64,
    target: &str,
    scrape: &mut Scrape,
) -> Result<Use, String> {
    let name = s.name.as_str();
    if !matches!(
        name,
        "DCGM_FI_DEV_GPU_UTIL" | "DCGM_FI_DEV_FB_USED" | "DCGM_FI_DEV_FB_FREE"
    ) {
        return Ok(Use::Ignored);
    }
    if s.value < 0.0 {
        return Err(format!("{name} cannot be negative: {}", s.value));
    }
    if name == "DCGM_FI_DEV_GPU_UTIL" && s.value > 100.0 {
        return Err(format!("{name} is a percent of one GPU, got {}", s.value));
    }
    let obs = scrape.entry(&resource(s, target), line);
    if obs.accelerator.is_none() {
        obs.accelerator = s.label("modelName").map(str::to_string);
    }
    let slot = match name {
        "DCGM_FI_DEV_GPU_UTIL" => &mut obs.gpu_utilization_pct,
        "DCGM_FI_DEV_FB_USED" => &mut obs.gpu_memory_used,
        _ => &mut obs.gpu_memory_free,
    };
    first(slot, s.value);
    Ok(Use::Gauge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_are_the_documented_sentinels_only() {
        for v in [
            9_223_372_036_854_775_794.0,
            18_446_744_073_709_551_615.0,
            2_147_483_632.0,
            2_147_483_635.0,
            140_737_488_355_328.0,
            f64::NAN,
        ] {
            assert!(is_blank(v), "{v} is a blank");
        }
        for v in [
            0.0,
            100.0,
            15109.0,
            128_996_013.0,
            2_147_483_631.0,
            2_147_483_636.0,
        ] {
            assert!(!is_blank(v), "{v} is a reading");
        }
    }
}
