//! Peak resident memory of this process, from `/proc` (Linux).

/// Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS; false
/// when the kernel does not allow it (the peak then covers the whole run).
pub(crate) fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `VmHWM` (peak RSS) in bytes, `None` off Linux.
pub(crate) fn peak() -> Option<u64> {
    status_kb("VmHWM:").map(|kb| kb * 1024)
}

/// `VmRSS` (current RSS) in bytes, `None` off Linux.
pub(crate) fn current() -> Option<u64> {
    status_kb("VmRSS:").map(|kb| kb * 1024)
}

/// Current (anonymous, file-backed) resident bytes: the heap and stacks,
/// and pages of mapped files (LMDB maps), `None` off Linux.
pub(crate) fn split() -> Option<(u64, u64)> {
    Some((status_kb("RssAnon:")? * 1024, status_kb("RssFile:")? * 1024))
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
