//! Per-token datasets: one ZFS dataset (via the `zfs` CLI) or one plain
//! directory per token, behind the [`DatasetBackend`] trait. This crate knows
//! nothing of tokens' contents, LMDB or Hive: it creates, snapshots, rolls
//! back, clones, sends and receives named datasets.
//!
//! (Skeleton: the datasets helper fills this in; the entry points below are
//! the contract other crates use.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong with a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Placeholder until the backend lands.
    #[error("{0}")]
    Other(String),
}

/// Which backend is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// ZFS datasets under `ZFS_PARENT`.
    Zfs,
    /// Plain directories under `DATA_PATH/tokens`.
    Plain,
}

/// A store of datasets.
pub trait DatasetBackend: Send + Sync + std::fmt::Debug {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
}

/// The directories of one token's dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLayout {
    /// The token's dataset root (`<parent>/<symbol>` mountpoint or `DATA_PATH/tokens/<symbol>`).
    pub root: PathBuf,
    /// Where the event log lives (`.../log`).
    pub log_dir: PathBuf,
    /// Where the LMDB projection lives (`.../state`).
    pub state_dir: PathBuf,
}

/// Chooses the backend: ZFS when `zfs_parent` is set and `zfs` works, else
/// plain directories under `data_path` (with a log line saying so).
pub fn open_backend(_zfs_parent: Option<&str>, _data_path: &Path) -> Result<Arc<dyn DatasetBackend>, DatasetError> {
    todo!()
}

/// Creates (if missing) the token's dataset with its `log` and `state` children.
pub fn ensure_token_layout(_backend: &dyn DatasetBackend, _symbol: &str) -> Result<TokenLayout, DatasetError> {
    todo!()
}

/// Destroys the token's dataset and everything in it (snapshots included).
pub fn destroy_token(_backend: &dyn DatasetBackend, _symbol: &str) -> Result<(), DatasetError> {
    todo!()
}
