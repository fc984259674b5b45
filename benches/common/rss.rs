//! Peak memory of the bench process (Linux `/proc`), shared by the benches that report it.

/// A `/proc/self/status` field in kB (`VmHWM`, `VmRSS`).
pub fn status_kb(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); false where unsupported.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
