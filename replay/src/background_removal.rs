//! Deleting a projection file that a replay replaced, after the replay.
//!
//! Deleting a file of hundreds of megabytes frees its cached pages and
//! its blocks, which takes the kernel a good part of a second on a slow
//! disk. Inside the swap that time would keep the token closed to
//! queries; on a thread of its own it overlaps with the token serving
//! again. The token's writer lock waits for it, so a checkpoint never sees
//! the old file in the dataset (on ZFS, freeing its blocks may still take
//! a few transaction groups after the unlink, as with any deletion).

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tracing::warn;

/// A directory being deleted on a thread of its own.
#[derive(Debug)]
pub(crate) struct BackgroundRemoval {
    dir: PathBuf,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl BackgroundRemoval {
    /// Starts deleting `dir` and everything in it.
    pub(crate) fn start(dir: &Path) -> std::io::Result<Self> {
        let owned = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("replay-removal".into())
            .spawn(move || remove_tree(&owned))?;
        Ok(BackgroundRemoval {
            dir: dir.to_path_buf(),
            thread: Some(thread),
        })
    }

    /// Waits until the directory is gone. A failure is only logged: what
    /// is left is removed again when the token is next opened.
    pub(crate) fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let removed = thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the removal thread panicked")));
        if let Err(error) = removed {
            warn!(dir = %self.dir.display(), %error, "could not remove what a replay replaced; it goes when the token is next opened");
        }
    }
}

impl Drop for BackgroundRemoval {
    fn drop(&mut self) {
        self.join();
    }
}

fn remove_tree(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_leaves_the_directory_gone() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("replay.old");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(dir.join("data.mdb"), vec![1u8; 1 << 20]).expect("write");
        BackgroundRemoval::start(&dir).expect("start").wait();
        assert!(!dir.exists());
    }
}
