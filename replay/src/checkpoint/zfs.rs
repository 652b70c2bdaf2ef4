//! Checkpoints on ZFS: the recursive snapshot `SYMBOL@b<block>`, with its
//! metadata in `<token root>/checkpoints/b<block>.json`.
//!
//! The metadata is written before the snapshot and removed after it, so a
//! crash leaves at worst a metadata file without a snapshot, which
//! [`CheckpointStore::list`] ignores and [`CheckpointStore::clean`] removes.
//! Reading a snapshot's files (for a replay that keeps the live projection)
//! goes through a temporary clone `SYMBOL/restore-b<block>`, since zfs-fuse
//! has no `.zfs/snapshot` directory.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datasets::{state_dataset, DatasetBackend};
use state::Projection;

use super::{block_of_name, CheckpointInfo, CheckpointStore};
use crate::crash::{CrashHook, CrashPoint};
use crate::error::ReplayError;
use crate::fsutil;

const CLONE_PREFIX: &str = "restore-";

/// Checkpoints as ZFS snapshots.
#[derive(Debug)]
pub(crate) struct ZfsStore {
    backend: Arc<dyn DatasetBackend>,
    symbol: String,
    meta_dir: PathBuf,
}

impl ZfsStore {
    pub(crate) fn new(backend: Arc<dyn DatasetBackend>, symbol: &str, meta_dir: PathBuf) -> Self {
        ZfsStore {
            backend,
            symbol: symbol.to_string(),
            meta_dir,
        }
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.meta_dir.join(format!("{name}.json"))
    }

    fn snapshot_names(&self) -> Result<BTreeSet<String>, ReplayError> {
        Ok(self
            .backend
            .list_snapshots(&self.symbol)?
            .into_iter()
            .map(|s| s.name)
            .filter(|n| block_of_name(n).is_some())
            .collect())
    }

    /// Every file in the metadata directory: (file name, path).
    fn meta_files(&self) -> Result<Vec<(String, PathBuf)>, ReplayError> {
        let entries = match fs::read_dir(&self.meta_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ReplayError::io("reading directory", &self.meta_dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| ReplayError::io("reading directory", &self.meta_dir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            out.push((file, entry.path()));
        }
        Ok(out)
    }

    fn clone_name(&self, name: &str) -> String {
        format!("{}/{CLONE_PREFIX}{name}", self.symbol)
    }
}

impl CheckpointStore for ZfsStore {
    fn list(&self) -> Result<Vec<CheckpointInfo>, ReplayError> {
        let snapshots = self.snapshot_names()?;
        let mut out = Vec::new();
        for (file, path) in self.meta_files()? {
            let Some(name) = file.strip_suffix(".json") else {
                continue;
            };
            if !snapshots.contains(name) {
                continue;
            }
            if let Some(info) = fsutil::read_json::<CheckpointInfo>(&path)? {
                out.push(info);
            }
        }
        out.sort_by_key(|c| c.block);
        Ok(out)
    }

    fn take(
        &self,
        _projection: &Projection,
        info: &CheckpointInfo,
        crash: &CrashHook,
    ) -> Result<(), ReplayError> {
        fsutil::create_dir(&self.meta_dir)?;
        if self.snapshot_names()?.contains(&info.name) {
            // A snapshot without metadata is no checkpoint of ours: replace it.
            self.backend.destroy_snapshot(&self.symbol, &info.name)?;
        }
        let meta = self.meta_path(&info.name);
        fsutil::write_json(&meta, info)?;
        crash.check(CrashPoint::CheckpointBeforePublish)?;
        if let Err(e) = self.backend.snapshot(&self.symbol, &info.name) {
            if let Err(cleanup) = fsutil::remove_file(&meta) {
                tracing::warn!(file = %meta.display(), %cleanup, "could not remove the metadata of a failed checkpoint");
            }
            return Err(e.into());
        }
        Ok(())
    }

    fn destroy(&self, name: &str) -> Result<(), ReplayError> {
        if self.snapshot_names()?.contains(name) {
            self.backend.destroy_snapshot(&self.symbol, name)?;
        }
        fsutil::remove_file(&self.meta_path(name))
    }

    fn restore_live(&self, info: &CheckpointInfo, _state_dir: &Path) -> Result<(), ReplayError> {
        // Only the state child: the log is cut by the EventLog, never rolled back.
        self.backend
            .rollback(&state_dataset(&self.symbol), &info.name)?;
        Ok(())
    }

    fn materialize(&self, info: &CheckpointInfo, dir: &Path) -> Result<(), ReplayError> {
        let clone = self.clone_name(&info.name);
        if self.backend.exists(&clone)? {
            self.backend.destroy(&clone)?;
        }
        let mount =
            self.backend
                .clone_snapshot(&state_dataset(&self.symbol), &info.name, &clone)?;
        let copied = fsutil::copy_file(&mount.join("data.mdb"), &dir.join("data.mdb"));
        let destroyed = self.backend.destroy(&clone);
        copied?;
        destroyed?;
        Ok(())
    }

    fn clean(&self) -> Result<(), ReplayError> {
        let prefix = format!("{}/{CLONE_PREFIX}", self.symbol);
        for dataset in self.backend.list()? {
            if dataset.starts_with(&prefix) && !dataset[prefix.len()..].contains('/') {
                self.backend.destroy(&dataset)?;
            }
        }
        let snapshots = self.snapshot_names()?;
        for (file, path) in self.meta_files()? {
            let orphan = match file.strip_suffix(".json") {
                Some(name) => !snapshots.contains(name),
                None => file.ends_with(".tmp"),
            };
            if orphan {
                fsutil::remove_file(&path)?;
            }
        }
        Ok(())
    }
}
