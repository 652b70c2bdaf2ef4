//! Checkpoints of a token's projection, taken at block boundaries and named
//! `b<block>`, with the log position and `stateHash` they stand at.
//!
//! Two stores implement [`CheckpointStore`]:
//! - [`zfs::ZfsStore`]: a recursive snapshot `SYMBOL@b<block>` of the token
//!   dataset; restoring rolls back only `SYMBOL/state` (the log is cut by
//!   [`state::EventLog`], never by ZFS). The metadata lives in
//!   `<token root>/checkpoints/b<block>.json`, written before the snapshot, so
//!   listing needs no mount of a snapshot.
//! - [`plain::PlainStore`]: a compacted LMDB copy plus `checkpoint.json` in
//!   `<token root>/checkpoints/b<block>/`, published by a rename.
//!
//! `checkpoints/` is an ordinary directory inside the token's top dataset:
//! the plain datasets backend lists only directories carrying its marker, so
//! it is not mistaken for a dataset, and it goes away with the token.

pub(crate) mod plain;
pub(crate) mod zfs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datasets::{BackendKind, DatasetBackend, TokenLayout};
use serde::{Deserialize, Serialize};
use state::Projection;

use crate::crash::CrashHook;
use crate::error::ReplayError;

/// Directory (inside the token's root) holding checkpoints or their metadata.
pub(crate) const CHECKPOINTS_DIR: &str = "checkpoints";

/// One checkpoint of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    /// `b<block>`.
    pub name: String,
    /// The block the projection had fully applied.
    pub block: u64,
    /// That block's id.
    pub block_id: String,
    /// Log records the projection had applied (the log position to replay from).
    pub log_records: u64,
    /// The projection's `stateHash` at that block.
    pub state_hash: String,
    /// When it was taken, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Size of the projection it holds (LMDB bytes when it was taken); 0
    /// for checkpoints written before the size was recorded.
    #[serde(default)]
    pub bytes: u64,
}

/// The name of the checkpoint at `block`.
pub fn checkpoint_name(block: u64) -> String {
    format!("b{block}")
}

/// The block of a checkpoint name, `None` when it is not `b<digits>`.
pub(crate) fn block_of_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix('b')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Where and how a token's checkpoints are kept.
pub(crate) trait CheckpointStore: Send + Sync + std::fmt::Debug {
    /// Every complete checkpoint, by block ascending.
    fn list(&self) -> Result<Vec<CheckpointInfo>, ReplayError>;

    /// Takes the checkpoint `info` of `projection`. The caller holds the
    /// writer lock, so no write transaction is open.
    fn take(
        &self,
        projection: &Projection,
        info: &CheckpointInfo,
        crash: &CrashHook,
    ) -> Result<(), ReplayError>;

    /// Removes a checkpoint (nothing if it does not exist).
    fn destroy(&self, name: &str) -> Result<(), ReplayError>;

    /// Puts the checkpoint's projection in place of the live one in
    /// `state_dir`. The projection's environment must be closed.
    fn restore_live(&self, info: &CheckpointInfo, state_dir: &Path) -> Result<(), ReplayError>;

    /// Writes the checkpoint's projection as `dir/data.mdb`, leaving the live
    /// one alone.
    fn materialize(&self, info: &CheckpointInfo, dir: &Path) -> Result<(), ReplayError>;

    /// Removes what an interrupted checkpoint or replay left behind.
    fn clean(&self) -> Result<(), ReplayError>;
}

/// The store that fits the backend.
pub(crate) fn open_store(
    backend: &Arc<dyn DatasetBackend>,
    symbol: &str,
    layout: &TokenLayout,
) -> Box<dyn CheckpointStore> {
    let dir: PathBuf = layout.root.join(CHECKPOINTS_DIR);
    match backend.kind() {
        BackendKind::Zfs => Box::new(zfs::ZfsStore::new(Arc::clone(backend), symbol, dir)),
        BackendKind::Plain => Box::new(plain::PlainStore::new(dir)),
    }
}

/// Checks that a checkpoint fits the log: the log holds exactly
/// `log_records` records up to its block. A checkpoint that does not (taken
/// before the log was cut below it, say) would replay the wrong records.
pub(crate) fn check_fits_log(
    symbol: &str,
    log: &state::EventLog,
    info: &CheckpointInfo,
) -> Result<(), ReplayError> {
    let through = log.records_through_block(info.block)?;
    if through != info.log_records {
        return Err(ReplayError::BadCheckpoint {
            symbol: symbol.to_string(),
            name: info.name.clone(),
            detail: format!(
                "it stands at log record {} but the log holds {through} records up to block {}",
                info.log_records, info.block
            ),
        });
    }
    Ok(())
}

/// Checks that a restored projection is the one the metadata describes.
pub(crate) fn check_restored(
    symbol: &str,
    projection: &Projection,
    info: &CheckpointInfo,
) -> Result<(), ReplayError> {
    let meta = projection.meta()?;
    let cursor = meta.cursor.as_ref().map(|c| (c.num, c.id.as_str()));
    if cursor != Some((info.block, info.block_id.as_str()))
        || meta.log_records != info.log_records
        || meta.state_hash != info.state_hash
    {
        return Err(ReplayError::BadCheckpoint {
            symbol: symbol.to_string(),
            name: info.name.clone(),
            detail: format!(
                "its projection stands at block {:?}, log record {}, stateHash {} but its metadata \
                 says block {} ({}), log record {}, stateHash {}",
                meta.cursor.map(|c| c.num),
                meta.log_records,
                meta.state_hash,
                info.block,
                info.block_id,
                info.log_records,
                info.state_hash
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_block() {
        assert_eq!(checkpoint_name(120), "b120");
        assert_eq!(block_of_name("b120"), Some(120));
        assert_eq!(block_of_name("b"), None);
        assert_eq!(block_of_name("b12x"), None);
        assert_eq!(block_of_name("b120.tmp"), None);
        assert_eq!(block_of_name("x120"), None);
    }
}
