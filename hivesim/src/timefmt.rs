//! Block timestamps, printed as Hive prints them (`2025-07-08T00:00:03`, UTC, no zone).

/// Unix time of 2025-07-08T00:00:00Z, the time of the first simulated block.
pub(crate) const GENESIS_UNIX: u64 = 1_751_932_800;

/// Seconds between blocks, as on Hive.
pub(crate) const BLOCK_SECONDS: u64 = 3;

/// Unix time of block `num` on a chain whose first block is `first_block`.
pub(crate) fn block_time(first_block: u64, num: u64) -> u64 {
    if num >= first_block {
        GENESIS_UNIX + (num - first_block) * BLOCK_SECONDS
    } else {
        GENESIS_UNIX.saturating_sub((first_block - num) * BLOCK_SECONDS)
    }
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SS`.
pub(crate) fn format(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_hive() {
        assert_eq!(format(GENESIS_UNIX), "2025-07-08T00:00:00");
        assert_eq!(format(block_time(10, 11)), "2025-07-08T00:00:03");
        assert_eq!(format(GENESIS_UNIX + 86_400 * 366), "2026-07-09T00:00:00");
        assert_eq!(format(951_782_400), "2000-02-29T00:00:00");
    }
}
