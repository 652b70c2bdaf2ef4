//! The `meta` database: the contract's books, the log position and the
//! contract version, written in the same transaction as the effects.

use std::path::Path;

use heed::{RoTxn, RwTxn};
use serde::{Deserialize, Serialize};

use crate::block::BlockNum;
use crate::contract::Books;
use crate::error::StateError;
use crate::projection::env::Dbs;

const META_KEY: &[u8] = b"meta";
const PENDING_KEY: &[u8] = b"pending";

/// What `meta` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredMeta {
    pub(crate) books: Books,
    pub(crate) log_records: u64,
    pub(crate) contract_version: u32,
    /// Layout of the history index (0: written before there was one).
    #[serde(default)]
    pub(crate) history_layout: u32,
    /// Highest retention horizon reached: history below it may be gone.
    #[serde(default)]
    pub(crate) history_from: BlockNum,
    /// Number of the next undo journal frame.
    #[serde(default)]
    pub(crate) journal_next: u64,
}

fn lmdb(path: &Path) -> impl Fn(heed::Error) -> StateError + '_ {
    move |e| StateError::lmdb(path, e)
}

/// Reads the meta record with the pending block events, `None` for a new projection.
pub(crate) fn load(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
) -> Result<Option<StoredMeta>, StateError> {
    let Some(bytes) = dbs.meta.get(txn, META_KEY).map_err(lmdb(path))? else {
        return Ok(None);
    };
    let mut meta: StoredMeta = serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("projection meta record: {e}"),
    })?;
    if let Some(pending) = dbs.meta.get(txn, PENDING_KEY).map_err(lmdb(path))? {
        meta.books.pending = pending.to_vec();
    }
    Ok(Some(meta))
}

/// Writes the meta record and the pending block events.
pub(crate) fn store(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    meta: &StoredMeta,
) -> Result<(), StateError> {
    let bytes = serde_json::to_vec(meta).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("cannot encode the projection meta record: {e}"),
    })?;
    dbs.meta.put(txn, META_KEY, &bytes).map_err(lmdb(path))?;
    if meta.books.pending.is_empty() {
        dbs.meta.delete(txn, PENDING_KEY).map_err(lmdb(path))?;
    } else {
        dbs.meta
            .put(txn, PENDING_KEY, &meta.books.pending)
            .map_err(lmdb(path))?;
    }
    Ok(())
}
