//! The one error type of this crate, worded for an operator to read.

use std::io;
use std::path::PathBuf;

use crate::backend::BackendKind;

/// What kind of name failed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A dataset name relative to the backend (`HIVE`, `HIVE/log`).
    Dataset,
    /// A snapshot name (the part after `@`).
    Snapshot,
    /// The `ZFS_PARENT` setting (`pool/path`).
    ZfsParent,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Dataset => "dataset name",
            NameKind::Snapshot => "snapshot name",
            NameKind::ZfsParent => "ZFS parent dataset name",
        })
    }
}

/// What went wrong with a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A dataset or snapshot name was rejected before anything ran.
    #[error("invalid {kind} {name:?}: {reason}")]
    InvalidName {
        /// Which kind of name.
        kind: NameKind,
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The dataset does not exist.
    #[error("dataset {dataset:?} does not exist")]
    NotFound {
        /// The dataset, relative to the backend.
        dataset: String,
    },

    /// The dataset already exists (where a new one was required).
    #[error("dataset {dataset:?} already exists")]
    AlreadyExists {
        /// The dataset, relative to the backend.
        dataset: String,
    },

    /// The snapshot does not exist on this dataset.
    #[error("dataset {dataset:?} has no snapshot {snapshot:?}")]
    SnapshotNotFound {
        /// The dataset, relative to the backend.
        dataset: String,
        /// The snapshot name.
        snapshot: String,
    },

    /// A snapshot with this name already exists.
    #[error("snapshot {dataset}@{snapshot} already exists")]
    SnapshotExists {
        /// The dataset, relative to the backend.
        dataset: String,
        /// The snapshot name.
        snapshot: String,
    },

    /// The dataset (or its pool, or its quota) is full.
    #[error("out of space in {location}: {detail} (free space or raise the quota, then retry)")]
    OutOfSpace {
        /// Dataset or path that is full.
        location: String,
        /// What the system said.
        detail: String,
    },

    /// A `zfs`/`zpool` command ran and failed.
    #[error("command `{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, as run (no shell involved).
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },

    /// A `zfs`/`zpool` command could not be started at all.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        source: io::Error,
    },

    /// A `zfs` command printed something this crate cannot parse.
    #[error("unexpected output from `{command}`: {detail}")]
    UnexpectedOutput {
        /// The command line.
        command: String,
        /// What was wrong with it.
        detail: String,
    },

    /// The dataset exists but is not mounted where files can be written.
    #[error("dataset {dataset:?} is not mounted: {reason}")]
    NotMounted {
        /// The dataset, relative to the backend.
        dataset: String,
        /// Why (mountpoint `none`/`legacy`, mount failed, ...).
        reason: String,
    },

    /// A file-system operation of the plain backend failed.
    #[error("{action} {path:?}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// Reading or writing a send stream failed (the reader or writer given
    /// to `send`/`receive`, not the dataset).
    #[error("{action}: {source}")]
    Stream {
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },

    /// A send stream could not be received.
    #[error("invalid send stream: {reason}")]
    InvalidStream {
        /// What is wrong with it.
        reason: String,
    },

    /// The backend cannot do this.
    #[error("the {backend:?} backend does not support {what}")]
    Unsupported {
        /// Which backend.
        backend: BackendKind,
        /// What was asked, and what to do instead.
        what: String,
    },
}

impl DatasetError {
    /// Whether this error means "no space left" (full pool, quota reached or
    /// full file system), so a caller can report it and retry after space is
    /// freed.
    pub fn is_out_of_space(&self) -> bool {
        match self {
            DatasetError::OutOfSpace { .. } => true,
            DatasetError::Io { source, .. }
            | DatasetError::Stream { source, .. }
            | DatasetError::Spawn { source, .. } => is_out_of_space(source),
            _ => false,
        }
    }

    /// Builds an [`DatasetError::Io`], or [`DatasetError::OutOfSpace`] when
    /// the error is ENOSPC/EDQUOT.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        if is_out_of_space(&source) {
            DatasetError::OutOfSpace {
                location: path.display().to_string(),
                detail: format!("{action}: {source}"),
            }
        } else {
            DatasetError::Io {
                action,
                path,
                source,
            }
        }
    }
}

/// Whether an I/O error from a writer means the disk or quota is full
/// (`ENOSPC` or `EDQUOT`; ZFS reports a reached quota as `EDQUOT`).
pub fn is_out_of_space(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(code) if code == libc::ENOSPC || code == libc::EDQUOT)
}

/// Whether a `zfs` command's stderr says it ran out of space or hit a quota.
pub(crate) fn stderr_says_out_of_space(stderr: &str) -> bool {
    let lower = stderr.to_ascii_lowercase();
    ["out of space", "quota exceeded", "no space left"]
        .iter()
        .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_edquot_are_out_of_space() {
        assert!(is_out_of_space(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_out_of_space(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(!is_out_of_space(&io::Error::from_raw_os_error(
            libc::EACCES
        )));
        assert!(!is_out_of_space(&io::Error::other("no code")));
    }

    #[test]
    fn io_helper_classifies_full_disks() {
        let full = DatasetError::io("writing", "/x", io::Error::from_raw_os_error(libc::EDQUOT));
        assert!(matches!(full, DatasetError::OutOfSpace { .. }));
        assert!(full.is_out_of_space());
        let other = DatasetError::io("writing", "/x", io::Error::from_raw_os_error(libc::EACCES));
        assert!(matches!(other, DatasetError::Io { .. }));
        assert!(!other.is_out_of_space());
    }

    #[test]
    fn zfs_quota_messages_are_recognised() {
        assert!(stderr_says_out_of_space(
            "cannot receive new filesystem stream: out of space"
        ));
        assert!(stderr_says_out_of_space(
            "write failed: Disk quota exceeded"
        ));
        assert!(!stderr_says_out_of_space(
            "cannot open 'x': dataset does not exist"
        ));
    }
}
