//! Transaction-id index rows held back during a replay and written later,
//! all at once and in key order.
//!
//! A transaction id is a hash, so each batch's index rows land all over
//! the index's B-tree: a batch of 50,000 records dirties nearly every
//! leaf, and its commit writes the whole index again. Held back across
//! batches, the rows go in with one sorted pass (reth's transaction-lookup
//! stage does the same with its ETL collector). Each batch's rows are
//! sorted as they are held, and the write merges these sorted runs.
//! The merge runs on a thread of its own, a part at a time ahead of the
//! puts: it is about half of the write's work, and at the end of a replay,
//! where the write comes, the contract's core is mostly idle (the write took
//! 83-116 ms instead of 149-160 ms, BENCHMARKS.md run 21).
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
use std::sync::mpsc::{sync_channel, SyncSender};

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
        let runs = &runs;
        std::thread::scope(|scope| {
            let (parts, merged) = sync_channel::<Part<'_>>(PARTS_AHEAD);
            let merger = std::thread::Builder::new()
                .name("held-rows-merge".into())
                .spawn_scoped(scope, move || send_merged(runs, &parts));
            if merger.is_err() {
                // No second thread: merge here, as the puts go.
                return for_each_merged(runs, |key, value| puts.put(key, value).map_err(lmdb));
            }
            for part in merged {
                for (key, value) in part {
                    puts.put(key, value).map_err(lmdb)?;
                }
            }
            Ok(())
        })
    }
}

/// Held rows the merging thread hands to the writer at a time.
const PART_ROWS: usize = 8_192;

/// Parts the merging thread may be ahead of the writer by.
const PARTS_AHEAD: usize = 4;

/// A run of merged rows, in key order.
type Part<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Merges `runs` (see [`for_each_merged`]) into parts of [`PART_ROWS`] for
/// the writer. Stops when the writer stops taking parts.
fn send_merged<'a>(runs: &'a [Deferred], parts: &SyncSender<Part<'a>>) {
    let mut part = Vec::with_capacity(PART_ROWS);
    let merged = for_each_merged::<WriterGone>(runs, |key, value| {
        part.push((key, value));
        if part.len() == PART_ROWS {
            let full = std::mem::replace(&mut part, Vec::with_capacity(PART_ROWS));
            parts.send(full).map_err(|_| WriterGone)?;
        }
        Ok(())
    });
    if merged.is_ok() && !part.is_empty() {
        let _ = parts.send(part);
    }
}

/// The writer stopped taking merged rows (it failed, and says why).
struct WriterGone;

/// Gives each row of `runs` to `each` in key order, once for each key: the
/// last one held for a key wins, as a later put would.
fn for_each_merged<'a, E>(
    runs: &'a [Deferred],
    mut each: impl FnMut(&'a [u8], &'a [u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut merged = merge(runs).peekable();
    while let Some((key, value)) = merged.next() {
        if merged.peek().is_some_and(|(next, _)| *next == key) {
            continue;
        }
        each(key, value)?;
    }
    Ok(())
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
    use std::collections::BTreeMap;

    use super::*;
    use crate::projection::env::{create_dbs, open_env};
    use crate::projection::ProjectionOptions;

    /// (key, value) pairs.
    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    /// Holds `batches` (each a list of (key, value)), writes them into a
    /// fresh index and returns what the index then holds, or the error.
    fn write_held(batches: &[Rows]) -> Result<Rows, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let env = open_env(dir.path(), &ProjectionOptions::default()).map_err(|e| e.to_string())?;
        let dbs = create_dbs(&env).map_err(|e| e.to_string())?;
        let mut held = HeldTrxRows::default();
        for batch in batches {
            let mut rows = Deferred::default();
            for (key, value) in batch {
                rows.push(key, value);
            }
            held.hold(rows);
        }
        let mut wtxn = env.write_txn().map_err(|e| e.to_string())?;
        held.write(&mut wtxn, &dbs, dir.path())
            .map_err(|e| e.to_string())?;
        if !held.is_empty() {
            return Err("rows are still held after the write".into());
        }
        wtxn.commit().map_err(|e| e.to_string())?;
        let rtxn = env.read_txn().map_err(|e| e.to_string())?;
        let stored = dbs
            .trxs
            .iter(&rtxn)
            .map_err(|e| e.to_string())?
            .map(|row| row.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        Ok(stored)
    }

    /// Ids spread like hashes: (a counter's blake3, a value naming the batch).
    fn hashed_rows(batch: u8, from: u32, count: u32) -> Rows {
        (from..from + count)
            .map(|i| {
                let key = blake3::hash(&i.to_be_bytes()).as_bytes()[..21].to_vec();
                (key, vec![batch; 12])
            })
            .collect()
    }

    /// Many parts' worth of rows, with keys held again by later batches:
    /// the index ends holding each key once, with the last value held, as
    /// puts of every batch in turn would leave it.
    #[test]
    fn the_write_stores_every_key_once_with_its_last_value_across_parts() {
        let parts = u32::try_from(PART_ROWS * (PARTS_AHEAD + 3)).unwrap_or(u32::MAX);
        let batches = vec![
            hashed_rows(1, 0, parts / 2),
            hashed_rows(2, parts / 4, parts / 2),
            hashed_rows(3, parts / 2, parts / 2 + 7),
        ];
        let mut model = BTreeMap::new();
        for batch in &batches {
            for (key, value) in batch {
                model.insert(key.clone(), value.clone());
            }
        }
        let expected: Vec<_> = model.into_iter().collect();
        assert!(expected.len() > PART_ROWS * PARTS_AHEAD);
        assert_eq!(write_held(&batches), Ok(expected));
    }

    /// A put LMDB refuses (a key longer than it takes) ends the write with
    /// that error, while the merging thread is still ahead of the writer
    /// with parts to send: the write returns instead of waiting for it.
    #[test]
    fn a_refused_put_ends_the_write_with_its_error() {
        let many = u32::try_from(PART_ROWS * (PARTS_AHEAD + 3)).unwrap_or(u32::MAX);
        let mut batch = hashed_rows(1, 0, many);
        // Sorts first, so the writer fails on the first part.
        batch.push((vec![0u8; 600], vec![1; 12]));
        let written = write_held(&[batch]);
        let error = written.expect_err("a 600-byte key cannot be stored");
        assert!(error.starts_with("LMDB error in"), "{error}");
    }

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
