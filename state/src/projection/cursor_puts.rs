//! Puts in ascending key order through one LMDB cursor.
//!
//! `Database::put` opens a fresh cursor for every call, so LMDB walks the
//! B-tree from the root each time. A put through a cursor that already
//! stands on a leaf first checks that leaf (`mdb_cursor_set`), so a run of
//! sorted puts mostly skips the descent, its key comparisons and the
//! dirty-page lookups of the pages on the way: the replay's history and
//! per-account transfer rows go in about twice as fast.

use heed::types::Bytes;
use heed::{PutFlags, RwIter, RwTxn};

use crate::projection::env::Raw;

/// One cursor on a database of the write transaction it borrows.
pub(crate) struct CursorPuts<'t> {
    cursor: RwIter<'t, Bytes, Bytes>,
}

impl<'t> CursorPuts<'t> {
    /// A cursor on `db`, not yet positioned (the first put searches from the root).
    pub(crate) fn new(db: Raw, txn: &'t mut RwTxn<'_>) -> heed::Result<Self> {
        Ok(CursorPuts {
            cursor: db.iter_mut(txn)?,
        })
    }

    /// Stores `value` under `key`, replacing any value it had, like
    /// `Database::put`. Keys in ascending order are the fast case; any order
    /// is correct.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) -> heed::Result<()> {
        // SAFETY: heed marks cursor puts unsafe because a put may move the
        // pages that values read earlier through this cursor point into.
        // This cursor is never read from: it only writes, and `key` and
        // `value` are the caller's own buffers, never slices of this
        // database. No flag is passed, so this is an ordinary insert or
        // overwrite of `key` (not MDB_CURRENT), whatever the cursor stands on.
        #[allow(unsafe_code)]
        unsafe {
            self.cursor
                .put_current_with_options::<Bytes>(PutFlags::empty(), key, value)
        }
    }
}
