//! Writing a replay's new projection to disk while it is still being built.
//!
//! The work copy's commits do not wait for the disk (it is fsynced as a
//! whole before the swap). Left alone, the kernel would write all of it at
//! that last fsync, a few hundred milliseconds at the end of the replay
//! with the cores idle. A thread of its own asks for what is committed so
//! far to be written after each transaction instead, overlapping the disk
//! with the rest of the build; the last fsync then has only the last
//! transactions left to write.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use crate::error::ReplayError;

/// Syncs one file on request, on a thread of its own.
#[derive(Debug)]
pub(crate) struct EarlySync {
    path: PathBuf,
    nudges: Option<SyncSender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl EarlySync {
    /// Starts the thread for `path`, which must exist.
    pub(crate) fn start(path: &Path) -> Result<Self, ReplayError> {
        let file = File::open(path).map_err(|e| ReplayError::io("opening", path, e))?;
        // One pending nudge is enough: a sync writes everything dirty at the
        // time it starts, so nudges that arrive meanwhile need only one more.
        let (nudges, waiting) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("replay-early-sync".into())
            .spawn(move || sync_on_nudge(&file, &waiting))
            .map_err(|e| ReplayError::io("starting a thread to sync", path, e))?;
        Ok(EarlySync {
            path: path.to_path_buf(),
            nudges: Some(nudges),
            thread: Some(thread),
        })
    }

    /// Asks for what is committed so far to be written; never waits.
    pub(crate) fn nudge(&self) {
        if let Some(nudges) = &self.nudges {
            match nudges.try_send(()) {
                // Full: a sync is already due. Disconnected: the thread
                // stopped on an error, which `finish` reports.
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }

    /// Waits for the thread's last sync; the first error it met, if any.
    /// The caller still fsyncs the file: this only makes that quick.
    pub(crate) fn finish(mut self) -> Result<(), ReplayError> {
        self.stop()
            .map_err(|e| ReplayError::io("syncing early", &self.path, e))
    }

    fn stop(&mut self) -> std::io::Result<()> {
        drop(self.nudges.take());
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the sync thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for EarlySync {
    fn drop(&mut self) {
        // A build that failed drops it: its error is the one that matters.
        let _ = self.stop();
    }
}

fn sync_on_nudge(file: &File, nudges: &Receiver<()>) -> std::io::Result<()> {
    while nudges.recv().is_ok() {
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn nudges_never_block_and_finish_reports_success() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data.mdb");
        let mut file = File::create(&path).expect("create");
        let sync = EarlySync::start(&path).expect("start");
        for _ in 0..100 {
            file.write_all(&[7u8; 4096]).expect("write");
            sync.nudge();
        }
        sync.finish().expect("finish");
        assert_eq!(std::fs::read(&path).expect("read").len(), 100 * 4096);
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = EarlySync::start(&dir.path().join("absent.mdb")).expect_err("absent");
        assert!(err.to_string().contains("absent.mdb"), "{err}");
    }
}
