//! Transaction-id index rows held back during a replay and written later,
//! all at once and in key order.
//!
//! A transaction id is a hash, so each batch's index rows land all over
//! the index's B-tree: a batch of 50,000 records dirties nearly every
//! leaf, and its commit writes the whole index again. Held back across
//! batches, the rows go in with one sorted pass, and into an empty index
//! (a replay from genesis) as appends that fill every page (reth's
//! transaction-lookup stage does the same with its ETL collector).

use heed::RwTxn;

use crate::error::StateError;
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::deferred::Deferred;
use crate::projection::env::Dbs;

/// Bytes of held rows (keys, values and their entries) past which they
/// are written at the next batch instead of at the end.
const MOST_HELD_BYTES: usize = 64 << 20;

/// Index rows of batches already committed without them.
#[derive(Debug, Default)]
pub(crate) struct HeldTrxRows {
    rows: Deferred,
}

impl HeldTrxRows {
    /// Holds `batch`'s rows, which come after every row held so far.
    pub(crate) fn hold(&mut self, batch: &Deferred) {
        self.rows.extend_from(batch);
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether enough is held to write it now.
    pub(crate) fn is_full(&self) -> bool {
        self.rows.held_bytes() >= MOST_HELD_BYTES
    }

    /// Writes the held rows in key order, the last one held for a key
    /// winning as a later put would, and holds nothing after.
    pub(crate) fn write(
        &mut self,
        txn: &mut RwTxn<'_>,
        dbs: &Dbs,
        path: &std::path::Path,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let empty = dbs.trxs.is_empty(txn).map_err(lmdb)?;
        let mut rows = std::mem::take(&mut self.rows);
        let mut puts = CursorPuts::new(dbs.trxs, txn).map_err(lmdb)?;
        rows.sort_by_key_prefix();
        let mut sorted = rows.pairs().peekable();
        while let Some((key, value)) = sorted.next() {
            if sorted.peek().is_some_and(|(next, _)| *next == key) {
                continue;
            }
            if empty {
                puts.append(key, value).map_err(lmdb)?;
            } else {
                puts.put(key, value).map_err(lmdb)?;
            }
        }
        Ok(())
    }
}
