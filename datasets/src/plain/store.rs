//! The snapshot store of one top-level plain dataset:
//! `<top>/.snapshots/<name>/{manifest.json,data/}`.
//!
//! A snapshot taken on `<top>/<sub>` copies that subtree into `data/` and
//! records `<sub>` in its manifest; it then stands for the same-named
//! snapshots of `<sub>` and all its descendants, as `zfs snapshot -r` does.
//! Destroying the snapshot of one descendant only (or rolling that
//! descendant back past it) removes that part of the copy and lists it as
//! excluded. One store holds one namespace: two sibling datasets of a token
//! cannot each have their own snapshot of the same name.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::tree::{self, OLD_PREFIX, SNAPSHOTS_DIR, TMP_PREFIX};
use crate::error::DatasetError;

const MANIFEST: &str = "manifest.json";
const DATA: &str = "data";
const FORMAT: u32 = 1;

/// What one snapshot holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// Layout version of the store.
    pub(crate) format: u32,
    /// The snapshotted dataset, relative to the top-level one (`""`: itself).
    pub(crate) dataset: String,
    /// Descendants whose part was destroyed since.
    pub(crate) excluded: Vec<String>,
    /// Seconds since the epoch at creation.
    pub(crate) created_unix: u64,
    /// Creation order within the store.
    pub(crate) seq: u64,
    /// Size of `data/`.
    pub(crate) referenced_bytes: u64,
}

/// Whether `a` is `b` or one of its ancestors (`""` is the top level).
pub(crate) fn is_ancestor_or_self(a: &str, b: &str) -> bool {
    a.is_empty() || a == b || (b.starts_with(a) && b.as_bytes().get(a.len()) == Some(&b'/'))
}

impl Manifest {
    /// Whether this snapshot holds the sub-dataset `sub` of the top level.
    pub(crate) fn covers(&self, sub: &str) -> bool {
        is_ancestor_or_self(&self.dataset, sub)
            && !self.excluded.iter().any(|e| is_ancestor_or_self(e, sub))
    }
}

/// The store of one top-level dataset.
#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of the top-level dataset at `top`.
    pub(crate) fn of(top: &Path) -> Self {
        Self {
            dir: top.join(SNAPSHOTS_DIR),
        }
    }

    /// All snapshots, oldest first.
    pub(crate) fn list(&self) -> Result<Vec<(String, Manifest)>, DatasetError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(DatasetError::io("reading directory", &self.dir, e)),
        };
        let mut snapshots = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| DatasetError::io("reading directory", &self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path().join(MANIFEST);
            let text =
                fs::read_to_string(&path).map_err(|e| DatasetError::io("reading", &path, e))?;
            let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
                DatasetError::io(
                    "parsing",
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })?;
            snapshots.push((name, manifest));
        }
        snapshots.sort_by_key(|(_, m)| m.seq);
        Ok(snapshots)
    }

    /// The snapshot `name` if it holds `sub`.
    pub(crate) fn find(&self, name: &str, sub: &str) -> Result<Option<Manifest>, DatasetError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|(n, m)| n == name && m.covers(sub))
            .map(|(_, m)| m))
    }

    /// Where the snapshot `name` keeps the contents of `sub`.
    pub(crate) fn data_of(&self, name: &str, manifest: &Manifest, sub: &str) -> PathBuf {
        let mut path = self.dir.join(name).join(DATA);
        let below = sub
            .strip_prefix(manifest.dataset.as_str())
            .unwrap_or(sub)
            .trim_start_matches('/');
        if !below.is_empty() {
            path.push(below);
        }
        path
    }

    /// Copies `source` (the sub-dataset `sub`) into the new snapshot `name`:
    /// into a temporary directory first, renamed into place when complete.
    /// `Ok(false)` if a snapshot of that name exists.
    pub(crate) fn create(
        &self,
        name: &str,
        sub: &str,
        source: &Path,
    ) -> Result<bool, DatasetError> {
        let existing = self.list()?;
        if existing.iter().any(|(n, _)| n == name) {
            return Ok(false);
        }
        fs::create_dir_all(&self.dir)
            .map_err(|e| DatasetError::io("creating directory", &self.dir, e))?;
        let tmp = self.dir.join(format!("{TMP_PREFIX}{name}"));
        tree::remove_tree(&tmp)?;
        let result = (|| {
            fs::create_dir(&tmp).map_err(|e| DatasetError::io("creating directory", &tmp, e))?;
            let referenced_bytes = tree::copy_tree(source, &tmp.join(DATA))?;
            let manifest = Manifest {
                format: FORMAT,
                dataset: sub.to_owned(),
                excluded: Vec::new(),
                created_unix: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                seq: existing
                    .iter()
                    .map(|(_, m)| m.seq)
                    .max()
                    .map_or(1, |s| s + 1),
                referenced_bytes,
            };
            write_manifest(&tmp, &manifest)?;
            tree::sync_dir(&tmp)?;
            tree::rename(&tmp, &self.dir.join(name))?;
            tree::sync_dir(&self.dir)
        })();
        if result.is_err() {
            // Free the space of a half-made copy (a full disk is the usual cause).
            let _ = tree::remove_tree(&tmp);
        }
        result.map(|()| true)
    }

    /// Removes the snapshot `name` entirely.
    pub(crate) fn remove(&self, name: &str) -> Result<(), DatasetError> {
        let old = self.dir.join(format!("{OLD_PREFIX}{name}"));
        tree::remove_tree(&old)?;
        tree::rename(&self.dir.join(name), &old)?;
        tree::sync_dir(&self.dir)?;
        tree::remove_tree(&old)
    }

    /// Drops the part of snapshot `name` that holds `sub` (and below).
    pub(crate) fn exclude(
        &self,
        name: &str,
        manifest: &Manifest,
        sub: &str,
    ) -> Result<(), DatasetError> {
        let data = self.data_of(name, manifest, sub);
        let mut updated = manifest.clone();
        updated.excluded.push(sub.to_owned());
        updated.referenced_bytes = manifest
            .referenced_bytes
            .saturating_sub(tree::tree_size(&data)?);
        write_manifest(&self.dir.join(name), &updated)?;
        tree::remove_tree(&data)
    }

    /// Removes every snapshot's part of `sub`, as destroying `sub` does.
    pub(crate) fn forget(&self, sub: &str) -> Result<(), DatasetError> {
        for (name, manifest) in self.list()? {
            if is_ancestor_or_self(sub, &manifest.dataset) {
                self.remove(&name)?;
            } else if manifest.covers(sub) {
                self.exclude(&name, &manifest, sub)?;
            }
        }
        Ok(())
    }
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), DatasetError> {
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| {
        DatasetError::io(
            "encoding the manifest for",
            dir,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let tmp = dir.join(format!("{MANIFEST}.new"));
    fs::write(&tmp, text).map_err(|e| DatasetError::io("writing", &tmp, e))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| DatasetError::io("syncing", &tmp, e))?;
    tree::rename(&tmp, &dir.join(MANIFEST))?;
    tree::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestry() {
        assert!(is_ancestor_or_self("", "log"));
        assert!(is_ancestor_or_self("log", "log"));
        assert!(is_ancestor_or_self("log", "log/x"));
        assert!(!is_ancestor_or_self("log", "logs"));
        assert!(!is_ancestor_or_self("log/x", "log"));
    }

    #[test]
    fn coverage_respects_exclusions() {
        let manifest = Manifest {
            format: FORMAT,
            dataset: String::new(),
            excluded: vec!["state".to_owned()],
            created_unix: 0,
            seq: 1,
            referenced_bytes: 0,
        };
        assert!(manifest.covers(""));
        assert!(manifest.covers("log"));
        assert!(!manifest.covers("state"));
        assert!(!manifest.covers("state/x"));
    }
}
