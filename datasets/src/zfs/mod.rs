//! The ZFS backend: datasets under a parent dataset (`ZFS_PARENT`), driven
//! through the `zfs` CLI.

mod cli;
mod snapshots;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::backend::{BackendKind, DatasetBackend, SnapshotInfo, StreamKind};
use crate::error::{DatasetError, NameKind};
use crate::name::{self, validate_dataset_name, validate_snapshot_name, validate_zfs_parent};
use cli::{is_missing, Cli};

/// When `zfs create` fails to mount a new dataset with less than this much
/// space available, the failure is reported as out of space (zfs-fuse then
/// says only "failed to create mountpoint").
const LOW_SPACE_BYTES: u64 = 1 << 20;

/// Datasets under one ZFS parent dataset, through the `zfs` CLI.
#[derive(Debug)]
pub struct ZfsBackend {
    parent: String,
    cli: Cli,
    /// `lz4`, or `on` once the pool has rejected lz4 (zfs-fuse does).
    compression: OnceLock<&'static str>,
}

/// What `zfs` says about the configured parent dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParentStatus {
    /// The parent dataset exists.
    Present,
    /// It does not, but its pool does (so it can be created).
    MissingInExistingPool,
    /// Neither it nor its pool exists.
    PoolMissing,
}

impl ZfsBackend {
    /// Uses the existing dataset `parent` with the `zfs`/`zpool` on `PATH`.
    pub fn open(parent: &str) -> Result<Self, DatasetError> {
        let backend = Self::with_programs(parent, "zfs", "zpool")?;
        backend
            .cli
            .zfs(&["list", "-H", "-o", "name", parent])
            .map_err(|err| {
                if is_missing(&err) {
                    DatasetError::NotFound {
                        dataset: parent.to_owned(),
                    }
                } else {
                    err
                }
            })?;
        Ok(backend)
    }

    /// Uses `parent` with the given `zfs` and `zpool` programs, without
    /// checking anything but the name (tests use this to run a fake `zfs`).
    pub fn with_programs(
        parent: &str,
        zfs: impl Into<PathBuf>,
        zpool: impl Into<PathBuf>,
    ) -> Result<Self, DatasetError> {
        validate_zfs_parent(parent)?;
        Ok(Self {
            parent: parent.to_owned(),
            cli: Cli::new(zfs.into(), zpool.into()),
            compression: OnceLock::new(),
        })
    }

    /// The parent dataset (`ZFS_PARENT`).
    pub fn parent(&self) -> &str {
        &self.parent
    }

    /// Reads a property of `dataset` as `zfs get` shows it (`lz4`, `off`,
    /// `/mnt/x`); sizes and times in exact numbers (`-p`).
    pub fn property(&self, dataset: &str, property: &str) -> Result<String, DatasetError> {
        let full = self.full(dataset)?;
        // ZFS property names (native or `module:name` user properties) start with a letter.
        if !property.starts_with(|c: char| c.is_ascii_lowercase())
            || !property.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '.' | '_')
            })
        {
            return Err(DatasetError::InvalidName {
                kind: NameKind::Dataset,
                name: property.to_owned(),
                reason: "not a ZFS property name".to_owned(),
            });
        }
        let out = self
            .cli
            .zfs(&["get", "-H", "-p", "-o", "value", property, &full])
            .map_err(|e| self.not_found(e, dataset))?;
        Ok(out.trim().to_owned())
    }

    /// What `zfs` says about the parent dataset and its pool.
    pub(crate) fn parent_status(&self) -> Result<ParentStatus, DatasetError> {
        if self.exists_full(&self.parent)? {
            return Ok(ParentStatus::Present);
        }
        let pool = self.parent.split('/').next().unwrap_or(&self.parent);
        match self.cli.zpool(&["list", "-H", "-o", "name", pool]) {
            Ok(_) => Ok(ParentStatus::MissingInExistingPool),
            Err(DatasetError::Command { ref stderr, .. }) if stderr.contains("no such pool") => {
                Ok(ParentStatus::PoolMissing)
            }
            Err(err) => Err(err),
        }
    }

    /// Creates the parent dataset and its missing ancestors (not the pool).
    pub(crate) fn create_parent(&self) -> Result<(), DatasetError> {
        let components: Vec<&str> = self.parent.split('/').collect();
        for depth in 2..=components.len() {
            let full = components[..depth].join("/");
            if !self.exists_full(&full)? {
                self.create_full(&full)?;
            }
        }
        Ok(())
    }

    /// `parent/dataset`, validated.
    fn full(&self, dataset: &str) -> Result<String, DatasetError> {
        validate_dataset_name(dataset)?;
        let full = format!("{}/{dataset}", self.parent);
        check_length(&full, NameKind::Dataset, dataset)?;
        Ok(full)
    }

    /// `parent/dataset@snapshot`, validated.
    fn full_snapshot(&self, dataset: &str, snapshot: &str) -> Result<String, DatasetError> {
        let full = self.full(dataset)?;
        validate_snapshot_name(snapshot)?;
        let full = format!("{full}@{snapshot}");
        check_length(&full, NameKind::Snapshot, snapshot)?;
        Ok(full)
    }

    /// The name relative to the parent of a full name `zfs` printed.
    fn relative<'a>(&self, full: &'a str) -> Option<&'a str> {
        full.strip_prefix(self.parent.as_str())?.strip_prefix('/')
    }

    fn not_found(&self, err: DatasetError, dataset: &str) -> DatasetError {
        if is_missing(&err) {
            DatasetError::NotFound {
                dataset: dataset.to_owned(),
            }
        } else {
            err
        }
    }

    fn exists_full(&self, full: &str) -> Result<bool, DatasetError> {
        match self.cli.zfs(&["list", "-H", "-o", "name", full]) {
            Ok(_) => Ok(true),
            Err(err) if is_missing(&err) => Ok(false),
            Err(err) => Err(err),
        }
    }

    fn compression(&self) -> &'static str {
        self.compression.get().copied().unwrap_or("lz4")
    }

    /// `zfs create` with our properties, falling back from lz4 to `on`.
    fn create_full(&self, full: &str) -> Result<(), DatasetError> {
        self.with_properties(full, |options| {
            let mut args = vec!["create"];
            args.extend(options.iter().map(String::as_str));
            args.push(full);
            args.into_iter().map(str::to_owned).collect()
        })
    }

    /// `zfs clone` with our properties, falling back from lz4 to `on`.
    fn clone_full(&self, origin: &str, full: &str) -> Result<(), DatasetError> {
        self.with_properties(full, |options| {
            let mut args = vec!["clone".to_owned()];
            args.extend(options.iter().cloned());
            args.push(origin.to_owned());
            args.push(full.to_owned());
            args
        })
    }

    /// Runs a command that creates `full` with `-o compression=... -o
    /// atime=off`, retrying with `compression=on` when the pool rejects lz4,
    /// and undoing a dataset that was created but could not be mounted.
    fn with_properties(
        &self,
        full: &str,
        build: impl Fn(&[String]) -> Vec<String>,
    ) -> Result<(), DatasetError> {
        loop {
            let compression = self.compression();
            let options = [
                "-o".to_owned(),
                format!("compression={compression}"),
                "-o".to_owned(),
                "atime=off".to_owned(),
            ];
            let args = build(&options);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match self.cli.zfs(&args) {
                Ok(_) => {
                    let _ = self.compression.set(compression);
                    return Ok(());
                }
                Err(DatasetError::Command { ref stderr, .. })
                    if compression == "lz4" && stderr.contains("'compression' must be one of") =>
                {
                    tracing::info!(
                        dataset = full,
                        "the pool rejects compression=lz4 (zfs-fuse): using compression=on"
                    );
                    let _ = self.compression.set("on");
                }
                Err(DatasetError::Command { ref stderr, .. })
                    if stderr.contains("dataset already exists") =>
                {
                    return Ok(());
                }
                Err(DatasetError::Command {
                    command,
                    status,
                    stderr,
                }) if stderr.contains("successfully created, but not mounted") => {
                    return Err(self.undo_unmounted(full, command, status, stderr));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// A dataset was created but not mounted: destroy it again so the call
    /// has no effect, and say whether space was the reason.
    fn undo_unmounted(
        &self,
        full: &str,
        command: String,
        status: String,
        stderr: String,
    ) -> DatasetError {
        let available = name::parent_of(full)
            .and_then(|parent| {
                self.cli
                    .zfs(&["get", "-H", "-p", "-o", "value", "available", parent])
                    .ok()
            })
            .and_then(|out| out.trim().parse::<u64>().ok());
        if let Err(err) = self.cli.zfs_retrying_busy(&["destroy", "-r", full]) {
            tracing::warn!(dataset = full, error = %err, "could not remove a dataset that was created but not mounted");
        }
        match available {
            Some(bytes) if bytes < LOW_SPACE_BYTES => DatasetError::OutOfSpace {
                location: command,
                detail: format!("{stderr} ({bytes} bytes available)"),
            },
            _ => DatasetError::Command {
                command,
                status,
                stderr,
            },
        }
    }

    /// Creates every missing prefix of the relative name `dataset`.
    fn ensure_chain(&self, dataset: &str) -> Result<(), DatasetError> {
        let mut prefix = String::new();
        for component in dataset.split('/') {
            prefix = name::join(&prefix, component);
            let full = self.full(&prefix)?;
            if !self.exists_full(&full)? {
                self.create_full(&full)?;
            }
        }
        Ok(())
    }

    /// Unmounts `dataset` and its descendants (deepest first) and mounts them
    /// again (parents first). zfs-fuse keeps stale directory entries after
    /// an incremental receive replaces files: they are listed but cannot be
    /// opened until the file system is mounted anew.
    fn remount_subtree(&self, dataset: &str) -> Result<(), DatasetError> {
        let names = self.subtree(dataset)?;
        for name in names.iter().rev() {
            let full = self.full(name)?;
            self.cli.zfs_retrying_busy(&["unmount", &full])?;
        }
        for name in &names {
            let full = self.full(name)?;
            self.cli.zfs_retrying_busy(&["mount", &full])?;
        }
        Ok(())
    }

    /// The relative names of `dataset` and its descendants, parents first.
    fn subtree(&self, dataset: &str) -> Result<Vec<String>, DatasetError> {
        let full = self.full(dataset)?;
        let out = self
            .cli
            .zfs(&["list", "-H", "-o", "name", "-r", "-t", "filesystem", &full])
            .map_err(|e| self.not_found(e, dataset))?;
        let mut names: Vec<String> = out
            .lines()
            .filter_map(|l| self.relative(l.trim()))
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }
}

fn check_length(full: &str, kind: NameKind, name: &str) -> Result<(), DatasetError> {
    if full.len() > name::ZFS_MAX_NAME_LEN {
        return Err(DatasetError::InvalidName {
            kind,
            name: name.to_owned(),
            reason: format!(
                "{full:?} is longer than ZFS's {} characters",
                name::ZFS_MAX_NAME_LEN
            ),
        });
    }
    Ok(())
}

impl DatasetBackend for ZfsBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Zfs
    }

    fn create(&self, dataset: &str, children: &[&str]) -> Result<PathBuf, DatasetError> {
        self.full(dataset)?;
        for child in children {
            self.full(&name::join(dataset, child))?;
        }
        self.ensure_chain(dataset)?;
        for child in children {
            self.ensure_chain(&name::join(dataset, child))?;
        }
        self.mountpoint(dataset)
    }

    fn destroy(&self, dataset: &str) -> Result<(), DatasetError> {
        let full = self.full(dataset)?;
        if !self.exists_full(&full)? {
            return Err(DatasetError::NotFound {
                dataset: dataset.to_owned(),
            });
        }
        self.cli
            .zfs_retrying_busy(&["destroy", "-r", &full])
            .map(|_| ())
    }

    fn exists(&self, dataset: &str) -> Result<bool, DatasetError> {
        let full = self.full(dataset)?;
        self.exists_full(&full)
    }

    fn list(&self) -> Result<Vec<String>, DatasetError> {
        let out = self.cli.zfs(&[
            "list",
            "-H",
            "-o",
            "name",
            "-r",
            "-t",
            "filesystem",
            &self.parent,
        ])?;
        let mut names: Vec<String> = out
            .lines()
            .filter_map(|l| self.relative(l.trim()))
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok(names)
    }

    fn mountpoint(&self, dataset: &str) -> Result<PathBuf, DatasetError> {
        let full = self.full(dataset)?;
        let out = self
            .cli
            .zfs(&[
                "get",
                "-H",
                "-o",
                "property,value",
                "mountpoint,mounted",
                &full,
            ])
            .map_err(|e| self.not_found(e, dataset))?;
        let value = |property: &str| {
            out.lines().find_map(|line| {
                line.split_once('\t')
                    .filter(|(p, _)| *p == property)
                    .map(|(_, v)| v.trim())
            })
        };
        let mountpoint = value("mountpoint").unwrap_or("-");
        if !mountpoint.starts_with('/') {
            return Err(DatasetError::NotMounted {
                dataset: dataset.to_owned(),
                reason: format!(
                    "its mountpoint is {mountpoint:?}; set ZFS_PARENT's mountpoint to a directory"
                ),
            });
        }
        if value("mounted") != Some("yes") {
            self.cli
                .zfs_retrying_busy(&["mount", &full])
                .map_err(|err| DatasetError::NotMounted {
                    dataset: dataset.to_owned(),
                    reason: err.to_string(),
                })?;
        }
        Ok(PathBuf::from(mountpoint))
    }

    fn snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError> {
        self.take_snapshot(dataset, snapshot)
    }

    fn list_snapshots(&self, dataset: &str) -> Result<Vec<SnapshotInfo>, DatasetError> {
        self.snapshots_of(dataset)
    }

    fn destroy_snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError> {
        self.remove_snapshot(dataset, snapshot)
    }

    fn rollback(&self, dataset: &str, snapshot: &str) -> Result<Vec<String>, DatasetError> {
        self.rollback_subtree(dataset, snapshot)
    }

    fn clone_snapshot(
        &self,
        dataset: &str,
        snapshot: &str,
        target: &str,
    ) -> Result<PathBuf, DatasetError> {
        self.clone_subtree(dataset, snapshot, target)
    }

    fn send(
        &self,
        dataset: &str,
        snapshot: &str,
        from: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<(), DatasetError> {
        let full = self.full_snapshot(dataset, snapshot)?;
        let base = from
            .map(|from| self.full_snapshot(dataset, from))
            .transpose()?;
        self.require_snapshot(dataset, snapshot)?;
        let mut args = vec!["send", "-R"];
        if let (Some(base), Some(from)) = (base.as_deref(), from) {
            self.require_snapshot(dataset, from)?;
            args.extend(["-i", base]);
        }
        args.push(&full);
        self.cli.zfs_to_writer(&args, out)
    }

    fn receive(
        &self,
        target: &str,
        kind: StreamKind,
        input: &mut dyn Read,
    ) -> Result<(), DatasetError> {
        let full = self.full(target)?;
        let exists = self.exists_full(&full)?;
        let args = match kind {
            StreamKind::Full => {
                if exists {
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
                vec!["receive", full.as_str()]
            }
            StreamKind::Incremental => {
                if !exists {
                    return Err(DatasetError::NotFound {
                        dataset: target.to_owned(),
                    });
                }
                vec!["receive", "-F", full.as_str()]
            }
        };
        self.cli.zfs_from_reader(&args, input)?;
        if kind == StreamKind::Incremental {
            self.remount_subtree(target)?;
        }
        self.mountpoint(target).map(|_| ())
    }

    fn set_quota(&self, dataset: &str, bytes: Option<u64>) -> Result<(), DatasetError> {
        let full = self.full(dataset)?;
        let setting = match bytes {
            Some(bytes) => format!("quota={bytes}"),
            None => "quota=none".to_owned(),
        };
        self.cli
            .zfs(&["set", &setting, &full])
            .map(|_| ())
            .map_err(|e| self.not_found(e, dataset))
    }

    fn quota(&self, dataset: &str) -> Result<Option<u64>, DatasetError> {
        let value = self.property(dataset, "quota")?;
        match value.as_str() {
            "0" | "none" | "-" => Ok(None),
            other => other
                .parse()
                .map(Some)
                .map_err(|_| DatasetError::UnexpectedOutput {
                    command: format!("zfs get -H -p -o value quota {}/{dataset}", self.parent),
                    detail: format!("quota {other:?} is not a number"),
                }),
        }
    }
}
