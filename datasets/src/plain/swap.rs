//! Replacing a live directory with a prepared one, crash-safely.
//!
//! A directory tree cannot be swapped atomically, so the swap goes through
//! named steps that [`recover_dir`] can finish or undo after a crash:
//!
//! 1. the caller fills `.hg-tmp-<name>` next to the live `<name>`;
//! 2. the live snapshot store, if kept, moves into it;
//! 3. `.hg-tmp-<name>` is renamed `.hg-new-<name>` (from here on the swap
//!    rolls forward);
//! 4. `<name>` is renamed `.hg-old-<name>`;
//! 5. `.hg-new-<name>` is renamed `<name>`;
//! 6. `.hg-old-<name>` is removed.

use std::fs;
use std::path::{Path, PathBuf};

use super::tree::{self, NEW_PREFIX, OLD_PREFIX, RECV_PREFIX, SNAPSHOTS_DIR, TMP_PREFIX};
use crate::error::DatasetError;

/// Where the caller prepares the replacement of `live` (removing any stale
/// leftover there first).
pub(crate) fn prepare(live: &Path) -> Result<PathBuf, DatasetError> {
    let tmp = tree::sibling(live, TMP_PREFIX);
    tree::remove_tree(&tmp)?;
    Ok(tmp)
}

/// Swaps the prepared tree in for `live`; with `keep_snapshots`, the live
/// tree's snapshot store moves over to the new one.
pub(crate) fn commit(live: &Path, keep_snapshots: bool) -> Result<(), DatasetError> {
    let tmp = tree::sibling(live, TMP_PREFIX);
    let new = tree::sibling(live, NEW_PREFIX);
    let old = tree::sibling(live, OLD_PREFIX);
    let parent = live.parent().unwrap_or(live);
    tree::remove_tree(&old)?;
    if keep_snapshots && live.join(SNAPSHOTS_DIR).exists() {
        tree::rename(&live.join(SNAPSHOTS_DIR), &tmp.join(SNAPSHOTS_DIR))?;
    }
    tree::rename(&tmp, &new)?;
    tree::sync_dir(parent)?;
    tree::rename(live, &old)?;
    tree::rename(&new, live)?;
    tree::sync_dir(parent)?;
    tree::remove_tree(&old)
}

/// Finishes or undoes whatever an interrupted swap, snapshot, destroy or
/// receive left in `dir`.
pub(crate) fn recover_dir(dir: &Path) -> Result<(), DatasetError> {
    for name in &entry_names(dir) {
        if let Some(leaf) = name.strip_prefix(TMP_PREFIX) {
            let tmp = dir.join(name);
            let live = dir.join(leaf);
            // Interrupted between steps 2 and 3: give the snapshot store back.
            if tmp.join(SNAPSHOTS_DIR).exists()
                && live.is_dir()
                && !live.join(SNAPSHOTS_DIR).exists()
            {
                tree::rename(&tmp.join(SNAPSHOTS_DIR), &live.join(SNAPSHOTS_DIR))?;
            }
            tracing::info!(path = %tmp.display(), "removing an unfinished copy left by an interrupted operation");
            tree::remove_tree(&tmp)?;
        } else if let Some(leaf) = name.strip_prefix(NEW_PREFIX) {
            let live = dir.join(leaf);
            let old = dir.join(format!("{OLD_PREFIX}{leaf}"));
            tracing::info!(path = %live.display(), "finishing an interrupted rollback");
            if live.exists() {
                tree::remove_tree(&old)?;
                tree::rename(&live, &old)?;
            }
            tree::rename(&dir.join(name), &live)?;
            tree::sync_dir(dir)?;
        } else if name.starts_with(RECV_PREFIX) {
            tree::remove_tree(&dir.join(name))?;
        }
    }
    // Rolling forward above may have made new `.hg-old-` entries.
    for name in &entry_names(dir) {
        if name.starts_with(OLD_PREFIX) {
            tree::remove_tree(&dir.join(name))?;
        }
    }
    Ok(())
}

/// The names in `dir` (none if it cannot be read: nothing to recover there).
fn entry_names(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Result<(tempfile::TempDir, PathBuf), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let live = dir.path().join("T");
        fs::create_dir_all(live.join(SNAPSHOTS_DIR).join("s1"))?;
        fs::write(live.join("f"), b"old")?;
        Ok((dir, live))
    }

    fn prepared(live: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
        let tmp = prepare(live)?;
        fs::create_dir(&tmp)?;
        fs::write(tmp.join("f"), b"new")?;
        Ok(tmp)
    }

    #[test]
    fn commit_replaces_and_keeps_the_store() -> Result<(), Box<dyn std::error::Error>> {
        let (dir, live) = setup()?;
        prepared(&live)?;
        commit(&live, true)?;
        assert_eq!(fs::read(live.join("f"))?, b"new");
        assert!(live.join(SNAPSHOTS_DIR).join("s1").is_dir());
        assert_eq!(fs::read_dir(dir.path())?.count(), 1, "no leftovers");
        Ok(())
    }

    #[test]
    fn recovery_undoes_an_unfinished_copy() -> Result<(), Box<dyn std::error::Error>> {
        let (dir, live) = setup()?;
        let tmp = prepared(&live)?;
        // Crash after the store moved into the copy (step 2).
        fs::rename(live.join(SNAPSHOTS_DIR), tmp.join(SNAPSHOTS_DIR))?;
        recover_dir(dir.path())?;
        assert_eq!(fs::read(live.join("f"))?, b"old");
        assert!(live.join(SNAPSHOTS_DIR).join("s1").is_dir());
        assert!(!tmp.exists());
        Ok(())
    }

    #[test]
    fn recovery_rolls_a_committed_swap_forward() -> Result<(), Box<dyn std::error::Error>> {
        for crash_after_step in [3, 4] {
            let (dir, live) = setup()?;
            let tmp = prepared(&live)?;
            fs::rename(live.join(SNAPSHOTS_DIR), tmp.join(SNAPSHOTS_DIR))?;
            fs::rename(&tmp, tree::sibling(&live, NEW_PREFIX))?;
            if crash_after_step == 4 {
                fs::rename(&live, tree::sibling(&live, OLD_PREFIX))?;
            }
            recover_dir(dir.path())?;
            assert_eq!(
                fs::read(live.join("f"))?,
                b"new",
                "crash after step {crash_after_step}"
            );
            assert!(live.join(SNAPSHOTS_DIR).join("s1").is_dir());
            assert_eq!(fs::read_dir(dir.path())?.count(), 1, "no leftovers");
        }
        Ok(())
    }
}
