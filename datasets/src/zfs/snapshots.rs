//! ZFS snapshots: take, list, destroy, roll back to, clone.

use std::collections::HashMap;
use std::path::PathBuf;

use super::cli::is_missing;
use super::ZfsBackend;
use crate::backend::{DatasetBackend, SnapshotInfo};
use crate::error::DatasetError;
use crate::name;

impl ZfsBackend {
    pub(super) fn take_snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError> {
        let full = self.full_snapshot(dataset, snapshot)?;
        match self.cli.zfs(&["snapshot", "-r", &full]) {
            Ok(_) => Ok(()),
            Err(DatasetError::Command { ref stderr, .. }) if stderr.contains("already exists") => {
                Err(DatasetError::SnapshotExists {
                    dataset: dataset.to_owned(),
                    snapshot: snapshot.to_owned(),
                })
            }
            Err(err) => Err(self.not_found(err, dataset)),
        }
    }

    /// Snapshot names of `dataset` itself, oldest first.
    fn snapshot_names(&self, dataset: &str) -> Result<Vec<String>, DatasetError> {
        let full = self.full(dataset)?;
        let out = self
            .cli
            .zfs(&[
                "list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", &full,
            ])
            .map_err(|e| self.not_found(e, dataset))?;
        let prefix = format!("{full}@");
        Ok(out
            .lines()
            .filter_map(|l| l.trim().strip_prefix(prefix.as_str()))
            .map(str::to_owned)
            .collect())
    }

    pub(super) fn require_snapshot(
        &self,
        dataset: &str,
        snapshot: &str,
    ) -> Result<(), DatasetError> {
        if self.snapshot_names(dataset)?.iter().any(|n| n == snapshot) {
            Ok(())
        } else {
            Err(DatasetError::SnapshotNotFound {
                dataset: dataset.to_owned(),
                snapshot: snapshot.to_owned(),
            })
        }
    }

    pub(super) fn snapshots_of(&self, dataset: &str) -> Result<Vec<SnapshotInfo>, DatasetError> {
        let names = self.snapshot_names(dataset)?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let full = self.full(dataset)?;
        let fulls: Vec<String> = names.iter().map(|n| format!("{full}@{n}")).collect();
        let mut args = vec![
            "get",
            "-H",
            "-p",
            "-o",
            "name,property,value",
            "creation,used,referenced",
        ];
        args.extend(fulls.iter().map(String::as_str));
        let out = self.cli.zfs(&args)?;
        let mut values: HashMap<(&str, &str), &str> = HashMap::new();
        for line in out.lines() {
            let mut fields = line.split('\t');
            if let (Some(name), Some(property), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            {
                values.insert((name, property), value.trim());
            }
        }
        let number = |snapshot: &str, property: &str| {
            values
                .get(&(snapshot, property))
                .and_then(|v| v.parse::<u64>().ok())
        };
        Ok(names
            .iter()
            .zip(&fulls)
            .map(|(name, full)| SnapshotInfo {
                dataset: dataset.to_owned(),
                name: name.clone(),
                created_unix: number(full, "creation").unwrap_or(0),
                used_bytes: number(full, "used"),
                referenced_bytes: number(full, "referenced"),
            })
            .collect())
    }

    pub(super) fn remove_snapshot(
        &self,
        dataset: &str,
        snapshot: &str,
    ) -> Result<(), DatasetError> {
        let full = self.full_snapshot(dataset, snapshot)?;
        self.require_snapshot(dataset, snapshot)?;
        self.cli
            .zfs_retrying_busy(&["destroy", "-r", &full])
            .map(|_| ())
    }

    /// For each dataset of the subtree (parents first), its snapshot names
    /// oldest first.
    fn subtree_snapshots(&self, dataset: &str) -> Result<Vec<(String, Vec<String>)>, DatasetError> {
        let subtree = self.subtree(dataset)?;
        let full = self.full(dataset)?;
        let out = self
            .cli
            .zfs(&["list", "-H", "-o", "name", "-t", "snapshot", "-r", &full])
            .map_err(|e| self.not_found(e, dataset))?;
        let mut by_dataset: HashMap<&str, Vec<String>> = HashMap::new();
        for line in out.lines() {
            if let Some((ds, snap)) = line.trim().split_once('@') {
                if let Some(rel) = self.relative(ds) {
                    by_dataset.entry(rel).or_default().push(snap.to_owned());
                }
            }
        }
        Ok(subtree
            .into_iter()
            .map(|ds| {
                let snaps = by_dataset.remove(ds.as_str()).unwrap_or_default();
                (ds, snaps)
            })
            .collect())
    }

    pub(super) fn rollback_subtree(
        &self,
        dataset: &str,
        snapshot: &str,
    ) -> Result<Vec<String>, DatasetError> {
        self.full_snapshot(dataset, snapshot)?;
        let subtree = self.subtree_snapshots(dataset)?;
        // Check everything first, so a missing snapshot changes nothing.
        let mut destroyed = Vec::new();
        for (ds, snaps) in &subtree {
            let Some(at) = snaps.iter().position(|s| s == snapshot) else {
                return Err(DatasetError::SnapshotNotFound {
                    dataset: ds.clone(),
                    snapshot: snapshot.to_owned(),
                });
            };
            destroyed.extend(snaps[at + 1..].iter().map(|s| format!("{ds}@{s}")));
        }
        for (ds, _) in &subtree {
            let full = self.full_snapshot(ds, snapshot)?;
            self.cli.zfs_retrying_busy(&["rollback", "-r", &full])?;
        }
        Ok(destroyed)
    }

    pub(super) fn clone_subtree(
        &self,
        dataset: &str,
        snapshot: &str,
        target: &str,
    ) -> Result<PathBuf, DatasetError> {
        name::validate_dataset_name(target)?;
        self.full_snapshot(dataset, snapshot)?;
        let target_full = self.full(target)?;
        if self.exists_full(&target_full)? {
            return Err(DatasetError::AlreadyExists {
                dataset: target.to_owned(),
            });
        }
        if let Some(parent) = name::parent_of(target) {
            if !self.exists(parent)? {
                return Err(DatasetError::NotFound {
                    dataset: parent.to_owned(),
                });
            }
        }
        let subtree = self.subtree_snapshots(dataset)?;
        if !subtree
            .first()
            .is_some_and(|(_, snaps)| snaps.iter().any(|s| s == snapshot))
        {
            return Err(DatasetError::SnapshotNotFound {
                dataset: dataset.to_owned(),
                snapshot: snapshot.to_owned(),
            });
        }
        for (ds, snaps) in &subtree {
            // Descendants created after the snapshot have no part in it.
            if !snaps.iter().any(|s| s == snapshot) {
                continue;
            }
            let suffix = ds.strip_prefix(dataset).unwrap_or_default();
            let clone_full = format!("{target_full}{suffix}");
            let origin = self.full_snapshot(ds, snapshot)?;
            if let Err(err) = self.clone_full(&origin, &clone_full) {
                if let Err(undo) = self.cli.zfs_retrying_busy(&["destroy", "-r", &target_full]) {
                    if !is_missing(&undo) {
                        tracing::warn!(dataset = target, error = %undo, "could not remove a partial clone");
                    }
                }
                return Err(err);
            }
        }
        self.mountpoint(target)
    }
}
