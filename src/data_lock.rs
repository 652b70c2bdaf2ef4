//! One process at a time owns a data directory: the event logs take no lock
//! of their own, so `serve` and the offline commands (replay, rollback,
//! snapshot) hold an exclusive lock on `DATA_PATH/honeygraph.lock`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::Context;

/// Name of the lock file inside `DATA_PATH`.
const LOCK_FILE: &str = "honeygraph.lock";

/// Held for as long as the process works on the data directory; the lock
/// goes with the file handle (also when the process is killed).
#[derive(Debug)]
pub(crate) struct DataLock {
    _file: File,
}

/// Takes the lock, or `None` when another process (a running server) holds it.
pub(crate) fn try_lock(data_path: &Path) -> anyhow::Result<Option<DataLock>> {
    std::fs::create_dir_all(data_path)
        .with_context(|| format!("cannot create DATA_PATH {}", data_path.display()))?;
    let path = data_path.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DataLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Takes the lock or explains who has it.
pub(crate) fn lock(data_path: &Path) -> anyhow::Result<DataLock> {
    try_lock(data_path)?.with_context(|| {
        format!(
            "another honeygraph process is using DATA_PATH {} (a running `honeygraph serve`?)",
            data_path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock(dir.path()).expect("first lock");
        let second = OpenOptions::new()
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .expect("open");
        assert!(matches!(second.try_lock(), Err(TryLockError::WouldBlock)));
        assert!(lock(dir.path()).is_err());
        drop(first);
        assert!(try_lock(dir.path()).expect("no error").is_some());
    }
}
