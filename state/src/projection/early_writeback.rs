//! Writing a work copy's committed pages to disk on a thread of its own,
//! while the writer goes on.
//!
//! A replay's work copy commits without syncing, and is synced once,
//! whole, before it is swapped in. Left to that sync, every page of it
//! goes to disk at the very end, with nothing else running. Started when
//! the writer turns to the last part of a replay (the held
//! transaction-id rows and the journal's window), where the contract has
//! at most the window left to apply and its core is mostly idle, the sync
//! of what is committed by then runs there, and the final sync only has
//! the pages written after it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::{Scope, ScopedJoinHandle};

use crate::error::StateError;
use crate::projection::env::data_file;

/// A sync of the data file running in the background, or none.
#[derive(Debug, Default)]
pub(crate) struct EarlyWriteback<'scope> {
    running: Option<(PathBuf, ScopedJoinHandle<'scope, std::io::Result<()>>)>,
}

impl<'scope> EarlyWriteback<'scope> {
    /// Starts syncing the data file of the environment in `dir`, unless a
    /// sync already started. Without a thread to run it on, it does nothing:
    /// the final sync does the work.
    pub(crate) fn start(&mut self, scope: &'scope Scope<'scope, '_>, dir: &Path) {
        if self.running.is_some() {
            return;
        }
        let file = data_file(dir);
        let path = file.clone();
        let spawned = std::thread::Builder::new()
            .name("early-writeback".into())
            .spawn_scoped(scope, move || File::open(&path)?.sync_data());
        if let Ok(handle) = spawned {
            self.running = Some((file, handle));
        }
    }

    /// Waits for the sync, if one started. Its failure fails the writer
    /// too: the replay stops right there, rather than relying on the
    /// final sync to report the same failed write-back.
    pub(crate) fn finish(self) -> Result<(), StateError> {
        let Some((file, handle)) = self.running else {
            return Ok(());
        };
        match handle.join() {
            Ok(synced) => synced.map_err(|e| StateError::io(file, e)),
            Err(_) => Err(StateError::io(
                file,
                std::io::Error::other("the background sync panicked"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync_in(dir: &Path, starts: usize) -> Result<(), StateError> {
        std::thread::scope(|scope| {
            let mut writeback = EarlyWriteback::default();
            for _ in 0..starts {
                writeback.start(scope, dir);
            }
            writeback.finish()
        })
    }

    #[test]
    fn a_writeback_never_started_has_nothing_to_report() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        assert!(sync_in(dir.path(), 0).is_ok());
    }

    #[test]
    fn a_sync_started_more_than_once_runs_once_and_finishes_ok() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("data.mdb"), b"pages").expect("a data file");
        assert!(sync_in(dir.path(), 3).is_ok());
    }

    /// Its failure is reported by `finish`, naming the file.
    #[test]
    fn a_sync_that_fails_is_an_error_naming_the_data_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let error = sync_in(dir.path(), 1).expect_err("there is no data file to sync");
        let message = error.to_string();
        assert!(
            message.contains(&dir.path().join("data.mdb").display().to_string()),
            "{message}"
        );
    }
}
