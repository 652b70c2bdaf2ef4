//! Transaction-id index rows held back during a replay and written later,
//! all at once and in key order.
//!
//! A transaction id is a hash, so each batch's index rows land all over
//! the index's B-tree: a batch of 50,000 records dirties nearly every
//! leaf, and its commit writes the whole index again. Held back across
//! batches, the rows go in with one sorted pass (reth's transaction-lookup
//! stage does the same with its ETL collector). Each batch's rows are
//! sorted as they are held, and the write merges these sorted runs.
//!
//! The pass puts rather than appends (`MDB_APPEND`), even into an empty
//! index. An append fills every page, and then each id that comes later
//! (the undo window's batches, a live node's blocks) lands on a full page
//! and splits it. Plain sorted puts split pages in the middle, leaving
//! them about half full, with room for those ids (random inserts keep a
//! B-tree about two thirds full).
//! Measured with `honeygraph bench --only 3` (BENCHMARKS.md, run 18): the
//! replay about 4% faster, and its file 359 MB instead of 375 MB.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use heed::RwTxn;

use crate::error::StateError;
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::deferred::{key_prefix, Deferred};
use crate::projection::env::Dbs;

/// Bytes of held rows (keys, values and their entries) past which they
/// are written at the next batch instead of at the end.
const MOST_HELD_BYTES: usize = 64 << 20;

/// Index rows of batches already committed without them.
#[derive(Debug, Default)]
pub(crate) struct HeldTrxRows {
    /// Each batch's rows, sorted and laid out in key order, in the order
    /// the batches came.
    runs: Vec<Deferred>,
}

impl HeldTrxRows {
    /// Holds `batch`'s rows, which come after every row held so far. They
    /// are sorted now: in a replay the writer has the time, waiting for the
    /// contract's next batch, and one batch's rows fit the processor's
    /// caches, where all of them at the end would not.
    pub(crate) fn hold(&mut self, mut batch: Deferred) {
        if batch.is_empty() {
            return;
        }
        batch.sort_by_key_prefix();
        self.runs.push(batch);
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Whether enough is held to write it now.
    pub(crate) fn is_full(&self) -> bool {
        self.held_bytes() >= MOST_HELD_BYTES
    }

    /// [`Deferred::held_bytes`] of all the runs.
    fn held_bytes(&self) -> usize {
        self.runs.iter().map(Deferred::held_bytes).sum()
    }

    /// Writes the held rows in key order, merging the batches' sorted runs,
    /// the last one held for a key winning as a later put would, and holds
    /// nothing after.
    pub(crate) fn write(
        &mut self,
        txn: &mut RwTxn<'_>,
        dbs: &Dbs,
        path: &std::path::Path,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let runs = std::mem::take(&mut self.runs);
        let mut puts = CursorPuts::new(dbs.trxs, txn).map_err(lmdb)?;
        let mut merged = merge(&runs).peekable();
        while let Some((key, value)) = merged.next() {
            if merged.peek().is_some_and(|(next, _)| *next == key) {
                continue;
            }
            puts.put(key, value).map_err(lmdb)?;
        }
        Ok(())
    }
}

/// The pairs of sorted `runs` in key order; pairs with the same key come
/// in the order they were held (by run, then within the run).
fn merge(runs: &[Deferred]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut pairs: Vec<_> = runs.iter().map(Deferred::pairs).collect();
    let mut heads: BinaryHeap<Reverse<Head<'_>>> = pairs
        .iter_mut()
        .enumerate()
        .filter_map(|(run, run_pairs)| Head::next(run_pairs, run))
        .map(Reverse)
        .collect();
    std::iter::from_fn(move || {
        let Reverse(head) = heads.pop()?;
        if let Some(next) = Head::next(&mut pairs[head.run], head.run) {
            heads.push(Reverse(next));
        }
        Some((head.key, head.value))
    })
}

/// The next pair of one run in [`merge`].
#[derive(Debug)]
struct Head<'a> {
    /// The key's first eight bytes: most comparisons need no more.
    prefix: u64,
    key: &'a [u8],
    run: usize,
    value: &'a [u8],
}

impl<'a> Head<'a> {
    fn next(pairs: &mut impl Iterator<Item = (&'a [u8], &'a [u8])>, run: usize) -> Option<Self> {
        let (key, value) = pairs.next()?;
        Some(Head {
            prefix: key_prefix(key),
            key,
            run,
            value,
        })
    }
}

impl Ord for Head<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.key.cmp(other.key))
            .then(self.run.cmp(&other.run))
    }
}

// Equal as ordered: the value does not take part.
impl PartialEq for Head<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head<'_> {}

impl PartialOrd for Head<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Held in batches, the rows come out as one plain sort of all of
        /// them would put them: by key, and in the order held for a key.
        #[test]
        fn merged_runs_order_as_one_sort_of_every_row(
            batches in proptest::collection::vec(
                proptest::collection::vec(
                    // Keys are never empty (LMDB has none), so every pair
                    // has its own place in the buffer to break ties by.
                    (proptest::collection::vec(0u8..3, 1..10), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3)),
                    0..20,
                ),
                0..6,
            )
        ) {
            let mut held = HeldTrxRows::default();
            let mut all = Deferred::default();
            let mut bytes = 0;
            for batch in &batches {
                let mut rows = Deferred::default();
                for (key, value) in batch {
                    rows.push(key, value);
                    all.push(key, value);
                }
                bytes += rows.held_bytes();
                held.hold(rows);
            }
            proptest::prop_assert_eq!(held.is_empty(), all.is_empty());
            proptest::prop_assert_eq!(held.held_bytes(), bytes);
            let merged: Vec<(&[u8], &[u8])> = merge(&held.runs).collect();
            let sorted: Vec<(&[u8], &[u8])> = all.sorted().collect();
            proptest::prop_assert_eq!(merged, sorted);
        }
    }
}
