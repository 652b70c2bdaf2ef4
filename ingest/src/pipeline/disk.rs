//! Naming a full disk. LMDB reports a write that the disk could not take
//! whole as "Input/output error", which does not tell an operator to free
//! space; so when a batch fails, the free space under the token's data is
//! checked and a full disk is said in so many words.

use std::path::Path;

/// Below this many free bytes the disk counts as full: LMDB writes whole
/// pages and the log whole frames, so a few KiB left is as good as none.
const FULL_BELOW: u64 = 1 << 20;

/// `error`, followed by a note when the filesystem holding `dir` is (nearly) full.
pub(crate) fn explain(error: String, dir: &Path) -> String {
    match free_bytes(dir) {
        Some(free) if free < FULL_BELOW => format!(
            "{error} (no space left on the disk holding {}: {} KiB free; free space, then roll the token back to its cursor to resume)",
            dir.display(),
            free / 1024
        ),
        _ => error,
    }
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_room_adds_nothing() {
        let dir = std::env::temp_dir();
        assert!(free_bytes(&dir).is_some_and(|f| f > 0));
        // The test machine's temp dir has more than 1 MiB free.
        assert_eq!(explain("boom".into(), &dir), "boom");
        // A path that does not exist cannot be checked: the error stands.
        assert_eq!(
            explain("boom".into(), Path::new("/nonexistent/honeygraph")),
            "boom"
        );
    }
}
