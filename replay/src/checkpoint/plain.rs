//! Checkpoints without ZFS: `checkpoints/b<block>/` holds a compacted copy
//! of the LMDB environment (`data.mdb`) and `checkpoint.json`.
//!
//! A checkpoint is built as `b<block>.tmp/` and renamed into place once
//! fsynced, so a crash leaves no checkpoint or a whole one; `.tmp`
//! directories are removed by [`CheckpointStore::clean`]. Destroying renames
//! to `.tmp` first for the same reason.

use std::fs;
use std::path::{Path, PathBuf};

use state::Projection;

use super::{block_of_name, CheckpointInfo, CheckpointStore};
use crate::crash::{CrashHook, CrashPoint};
use crate::error::ReplayError;
use crate::fsutil;

const META_FILE: &str = "checkpoint.json";
const DATA_FILE: &str = "data.mdb";
const TMP_SUFFIX: &str = ".tmp";

/// Checkpoints as directories of LMDB copies.
#[derive(Debug)]
pub(crate) struct PlainStore {
    dir: PathBuf,
}

impl PlainStore {
    pub(crate) fn new(dir: PathBuf) -> Self {
        PlainStore { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn tmp_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{TMP_SUFFIX}"))
    }
}

impl CheckpointStore for PlainStore {
    fn list(&self) -> Result<Vec<CheckpointInfo>, ReplayError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ReplayError::io("reading directory", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| ReplayError::io("reading directory", &self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if block_of_name(&name).is_none() {
                continue;
            }
            if let Some(info) = fsutil::read_json::<CheckpointInfo>(&entry.path().join(META_FILE))?
            {
                out.push(info);
            }
        }
        out.sort_by_key(|c| c.block);
        Ok(out)
    }

    fn take(
        &self,
        projection: &Projection,
        info: &CheckpointInfo,
        crash: &CrashHook,
    ) -> Result<(), ReplayError> {
        fsutil::create_dir(&self.dir)?;
        let tmp = self.tmp_path(&info.name);
        fsutil::remove_dir(&tmp)?;
        projection.copy_to(&tmp)?;
        fsutil::write_json(&tmp.join(META_FILE), info)?;
        fsutil::sync_dir(&tmp)?;
        crash.check(CrashPoint::CheckpointBeforePublish)?;
        let path = self.path(&info.name);
        fs::rename(&tmp, &path).map_err(|e| ReplayError::io("publishing checkpoint", &path, e))?;
        fsutil::sync_dir(&self.dir)
    }

    fn destroy(&self, name: &str) -> Result<(), ReplayError> {
        let path = self.path(name);
        if !path.exists() {
            return Ok(());
        }
        let tmp = self.tmp_path(name);
        fsutil::remove_dir(&tmp)?;
        fs::rename(&path, &tmp).map_err(|e| ReplayError::io("retiring checkpoint", &path, e))?;
        fsutil::sync_dir(&self.dir)?;
        fsutil::remove_dir(&tmp)
    }

    fn restore_live(&self, info: &CheckpointInfo, state_dir: &Path) -> Result<(), ReplayError> {
        let src = self.path(&info.name).join(DATA_FILE);
        let tmp = state_dir.join("data.mdb.restore");
        fsutil::copy_file(&src, &tmp)?;
        let live = state_dir.join(DATA_FILE);
        fs::rename(&tmp, &live)
            .map_err(|e| ReplayError::io("restoring checkpoint into", &live, e))?;
        fsutil::sync_dir(state_dir)
    }

    fn materialize(&self, info: &CheckpointInfo, dir: &Path) -> Result<(), ReplayError> {
        fsutil::copy_file(&self.path(&info.name).join(DATA_FILE), &dir.join(DATA_FILE))
    }

    fn clean(&self) -> Result<(), ReplayError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ReplayError::io("reading directory", &self.dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| ReplayError::io("reading directory", &self.dir, e))?;
            if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                fsutil::remove_dir(&entry.path())?;
            }
        }
        Ok(())
    }
}
