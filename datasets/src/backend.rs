//! The [`DatasetBackend`] trait both backends implement, and its value types.
//!
//! Datasets are named relative to the backend: `HIVE` and `HIVE/log`, never
//! the full `pool/parent/HIVE`. Snapshot names are the part after `@`.

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::error::DatasetError;

/// Which backend is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// ZFS datasets under `ZFS_PARENT`.
    Zfs,
    /// Plain directories under `DATA_PATH/tokens`.
    Plain,
}

/// One snapshot of one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The dataset, relative to the backend.
    pub dataset: String,
    /// The snapshot name (after `@`).
    pub name: String,
    /// When it was taken, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Space only this snapshot holds (ZFS `used`; for plain directories the
    /// size of the copy, which is all its own).
    pub used_bytes: Option<u64>,
    /// Data the snapshot refers to (ZFS `referenced`; plain: size of the copy).
    pub referenced_bytes: Option<u64>,
}

/// What a send stream holds, and so how it must be received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Everything up to the snapshot; the target must not exist yet.
    Full,
    /// The changes since a base snapshot the target already has.
    Incremental,
}

/// A store of datasets: ZFS ([`crate::ZfsBackend`]) or plain directories
/// ([`crate::PlainBackend`]). Both give the same observable behaviour, except
/// where a method's documentation says otherwise.
pub trait DatasetBackend: Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;

    /// Creates `dataset` (and any missing ancestors) and its `children`
    /// (names relative to `dataset`), keeping whatever already exists.
    /// New ZFS datasets get `compression=lz4` (or `on` where the pool rejects
    /// lz4) and `atime=off`. Returns the dataset's mountpoint.
    fn create(&self, dataset: &str, children: &[&str]) -> Result<PathBuf, DatasetError>;

    /// Destroys `dataset`, its descendants and all their snapshots.
    /// [`DatasetError::NotFound`] if it does not exist. ZFS refuses (with the
    /// command's error) while a clone elsewhere depends on one of its snapshots.
    fn destroy(&self, dataset: &str) -> Result<(), DatasetError>;

    /// Whether `dataset` exists.
    fn exists(&self, dataset: &str) -> Result<bool, DatasetError>;

    /// All datasets, descendants included, sorted (`["A", "A/log", "A/state"]`).
    fn list(&self) -> Result<Vec<String>, DatasetError>;

    /// Where `dataset`'s files are (mounting a ZFS dataset that is not mounted).
    fn mountpoint(&self, dataset: &str) -> Result<PathBuf, DatasetError>;

    /// Takes the recursive snapshot `dataset@snapshot`: the dataset and all its
    /// descendants at one instant.
    fn snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError>;

    /// The snapshots of `dataset` itself (not of its descendants), oldest first.
    fn list_snapshots(&self, dataset: &str) -> Result<Vec<SnapshotInfo>, DatasetError>;

    /// Destroys `dataset@snapshot` and the same-named snapshots of its
    /// descendants.
    fn destroy_snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError>;

    /// Rolls `dataset` and all its descendants back to `snapshot`.
    ///
    /// Like `zfs rollback -r`, every snapshot of those datasets **newer** than
    /// `snapshot` is destroyed (it describes a future that no longer exists);
    /// they are returned as `dataset@name`. Fails before changing anything if
    /// the dataset or one of its descendants has no such snapshot (a
    /// descendant created after the snapshot was taken).
    fn rollback(&self, dataset: &str, snapshot: &str) -> Result<Vec<String>, DatasetError>;

    /// Creates `target` (which must not exist; its parent must) holding the
    /// contents of `dataset@snapshot`, descendants included. A ZFS clone
    /// shares blocks with, and depends on, its origin snapshot (destroy the
    /// clone before the origin); a plain clone is an independent copy.
    /// Returns the target's mountpoint.
    fn clone_snapshot(
        &self,
        dataset: &str,
        snapshot: &str,
        target: &str,
    ) -> Result<PathBuf, DatasetError>;

    /// Writes a replication stream of `dataset@snapshot` (descendants and
    /// earlier snapshots included) to `out`: full when `from` is `None`,
    /// else the changes since `dataset@from` (`zfs send -R [-i from]`).
    ///
    /// The plain backend writes a tar stream holding the snapshot's whole
    /// contents either way; an incremental one is flagged as such and names
    /// its base, so it is received with the same checks as ZFS's.
    fn send(
        &self,
        dataset: &str,
        snapshot: &str,
        from: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<(), DatasetError>;

    /// Receives a stream written by [`DatasetBackend::send`] of the same
    /// backend kind into `target`.
    ///
    /// [`StreamKind::Full`]: `target` must not exist (checked first, so an
    /// existing dataset is never overwritten); it is created with the sent
    /// snapshot(s). [`StreamKind::Incremental`]: `target` must exist and hold
    /// the stream's base snapshot; any change made to `target` since its
    /// newest snapshot is discarded (`zfs receive -F`), then the new snapshot
    /// is added and becomes the live contents.
    fn receive(
        &self,
        target: &str,
        kind: StreamKind,
        input: &mut dyn Read,
    ) -> Result<(), DatasetError>;

    /// Sets (`Some(bytes)`) or removes (`None`) the dataset's quota, which
    /// covers its descendants and snapshots. Writers then fail with
    /// `EDQUOT` ([`crate::is_out_of_space`]) once it is reached. The plain
    /// backend cannot enforce one and answers [`DatasetError::Unsupported`].
    fn set_quota(&self, dataset: &str, bytes: Option<u64>) -> Result<(), DatasetError>;

    /// The dataset's quota, `None` when it has none.
    fn quota(&self, dataset: &str) -> Result<Option<u64>, DatasetError>;
}
