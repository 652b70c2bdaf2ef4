//! Per-token datasets: one ZFS dataset (via the `zfs` CLI) or one plain
//! directory per token, behind the [`DatasetBackend`] trait. This crate knows
//! nothing of tokens' contents, LMDB or Hive: it creates, destroys, lists,
//! snapshots, rolls back, clones, sends and receives named datasets, and sets
//! quotas where the backend can.
//!
//! - [`open_backend`] picks the backend from `ZFS_PARENT` and `DATA_PATH`.
//! - [`ensure_token_layout`] gives a token its `<symbol>/{log,state}` datasets.
//! - [`ZfsBackend`] drives `zfs` (no shell; every name is validated by the
//!   [`name`] rules first; a failed command's error carries its command line
//!   and stderr).
//! - [`PlainBackend`] does the same with directories; snapshots are copies
//!   in the token's `.snapshots/`, send streams are tar archives.
//!
//! A full disk or quota shows as [`DatasetError::OutOfSpace`] from this
//! crate and as `ENOSPC`/`EDQUOT` from writers ([`is_out_of_space`]).

mod backend;
mod error;
mod layout;
pub mod name;
mod open;
mod plain;
mod zfs;

pub use backend::{BackendKind, DatasetBackend, SnapshotInfo, StreamKind};
pub use error::{is_out_of_space, DatasetError, NameKind};
pub use layout::{
    destroy_token, ensure_token_layout, log_dataset, state_dataset, TokenLayout, LOG_CHILD,
    STATE_CHILD,
};
pub use open::{open_backend, PLAIN_DIR};
pub use plain::PlainBackend;
pub use zfs::ZfsBackend;
