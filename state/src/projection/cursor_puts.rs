//! Puts in ascending key order through one LMDB cursor.
//!
//! `Database::put` opens a fresh cursor for every call, so LMDB walks the
//! B-tree from the root each time. A put through a cursor that already
//! stands on a leaf first checks that leaf (`mdb_cursor_set`), so a run of
//! sorted puts mostly skips the descent, its key comparisons and the
//! dirty-page lookups of the pages on the way: the replay's history rows
//! (and the per-account transfer rows, before they were kept in chunks)
//! went in about twice as fast. A frame's accounts and rich-list entries
//! go through one too: that took about 2.4 billion instructions off LMDB's
//! searches in `bench --only 3`'s four replays (BENCHMARKS.md, run 24).

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

    /// Stores `value` under `key`, which must be greater than every key in
    /// the database (LMDB's `MDB_APPEND`): LMDB only compares it with the
    /// last key instead of searching the leaf for its place, and a full
    /// leaf is not split in half. A key out of order is refused with
    /// `MDB_KEYEXIST` and nothing is written.
    pub(crate) fn append(&mut self, key: &[u8], value: &[u8]) -> heed::Result<()> {
        // SAFETY: as in `put`: the cursor is never read from, and `key` and
        // `value` are never slices of this database. MDB_APPEND only adds a
        // check that `key` sorts last.
        #[allow(unsafe_code)]
        unsafe {
            self.cursor
                .put_current_with_options::<Bytes>(PutFlags::APPEND, key, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::CursorPuts;
    use crate::projection::env::{create_dbs, open_env};
    use crate::projection::ProjectionOptions;

    proptest! {
        /// Whatever the order, and however often a key comes back, the
        /// table ends as a map that took the puts one by one would.
        #[test]
        fn cursor_puts_store_what_plain_puts_would(
            first in prop::collection::vec((prop::collection::vec(0u8..4, 1..6), any::<u8>()), 0..2000),
            second in prop::collection::vec((prop::collection::vec(0u8..4, 1..6), any::<u8>()), 0..2000),
            sort_second in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let env = open_env(dir.path(), &ProjectionOptions::default())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let db = create_dbs(&env).map_err(|e| TestCaseError::fail(e.to_string()))?.history;
            let mut model = BTreeMap::new();
            let mut second = second;
            if sort_second {
                second.sort();
            }
            // Two transactions: the second one's cursor starts on a tree that exists.
            for batch in [first, second] {
                let mut wtxn = env.write_txn().map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut puts = CursorPuts::new(db, &mut wtxn).map_err(|e| TestCaseError::fail(e.to_string()))?;
                for (key, value) in &batch {
                    let value = vec![*value; usize::from(*value % 7) + 1];
                    puts.put(key, &value).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    model.insert(key.clone(), value);
                }
                drop(puts);
                wtxn.commit().map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            let rtxn = env.read_txn().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let stored: Vec<(Vec<u8>, Vec<u8>)> = db
                .iter(&rtxn)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .map(|row| row.map(|(k, v)| (k.to_vec(), v.to_vec())))
                .collect::<Result<_, _>>()
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
            prop_assert_eq!(stored, expected);
        }
    }
}
