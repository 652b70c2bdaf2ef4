//! The per-account transfer index (`account_transfers`), stored in chunks.
//!
//! Every transfer gives its sender and its recipient an entry: the
//! transfer's key, the direction, and the account's figures right after
//! it. One LMDB row an entry made this the table a replay spent most on:
//! each batch inserted two rows a transfer into the middle of every
//! account's range, splitting pages and leaving them half full. So an
//! account's entries are kept [`CHUNK_ENTRIES`] to a row:
//!
//! - key: `account \0 transfer-key` of the chunk's first entry;
//! - value: its entries in key order, each the block as a varint delta
//!   from the previous entry's (the first one's from the key's, so 0),
//!   the transaction and operation indexes as varints, the direction
//!   byte, and the four figures as varints.
//!
//! An account's last chunk is filled up before another one starts. The
//! chunks are therefore a function of the account's entries alone: they do
//! not depend on how the log was cut into batches, and cutting entries off
//! the end ([`truncate_after`]) gives back exactly the rows the account
//! had before they were added, which is how a rollback undoes them.

use std::ops::Bound;
use std::path::Path;

use hashbrown::HashMap;
use heed::{RoTxn, RwTxn};

use crate::block::BlockNum;
use crate::error::StateError;
use crate::projection::codec::{self, corrupt, DecodeError, RECEIVED, SENT, TRANSFER_KEY_LEN};
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::env::Raw;
use crate::projection::op_rows::TransferKey;
use crate::projection::varint;
use crate::projection::AccountState;

/// Most entries one row holds. A block's apply rewrites each account's
/// last chunk, so this bounds that copy (about a kilobyte) as well as
/// the decoding a point read does.
pub(crate) const CHUNK_ENTRIES: usize = 64;

/// One entry of an account's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// The transfer's key.
    pub(crate) key: TransferKey,
    /// [`SENT`] or [`RECEIVED`].
    pub(crate) direction: u8,
    /// The account's figures right after the transfer.
    pub(crate) state: AccountState,
}

impl IndexEntry {
    /// The block of the transfer.
    pub(crate) fn block(&self) -> BlockNum {
        block_of(&self.key)
    }
}

fn block_of(key: &TransferKey) -> BlockNum {
    codec::transfer_key_parts(key).0
}

/// The entries of one chunk, in key order, each with the length of the
/// value up to its end (a prefix that is a valid chunk by itself).
pub(crate) struct ChunkEntries<'v> {
    rest: &'v [u8],
    consumed: usize,
    previous: Option<TransferKey>,
    first: TransferKey,
    count: usize,
}

/// Reads the chunk stored under `key` (`account \0 transfer-key`) with `value`.
pub(crate) fn entries<'v>(key: &[u8], value: &'v [u8]) -> Result<ChunkEntries<'v>, DecodeError> {
    let first = key
        .len()
        .checked_sub(TRANSFER_KEY_LEN)
        .and_then(|at| key.get(at..))
        .and_then(|tail| TransferKey::try_from(tail).ok())
        .ok_or(DecodeError("account transfer key length"))?;
    if value.is_empty() {
        return Err(DecodeError("account transfer chunk is empty"));
    }
    Ok(ChunkEntries {
        rest: value,
        consumed: 0,
        previous: None,
        first,
        count: 0,
    })
}

impl ChunkEntries<'_> {
    fn decode_next(&mut self) -> Result<IndexEntry, DecodeError> {
        if self.count == CHUNK_ENTRIES {
            return Err(DecodeError("account transfer chunk holds too many entries"));
        }
        let mut bytes = self.rest;
        let base = block_of(self.previous.as_ref().unwrap_or(&self.first));
        let block = base
            .checked_add(varint::take(&mut bytes)?)
            .ok_or(DecodeError("account transfer entry block overflows"))?;
        let index = |bytes: &mut &[u8]| {
            u32::try_from(varint::take(bytes)?)
                .map_err(|_| DecodeError("account transfer entry index overflows"))
        };
        let trx_index = index(&mut bytes)?;
        let op_index = index(&mut bytes)?;
        let key = codec::transfer_key(block, trx_index, op_index);
        let direction = match bytes.split_first() {
            Some((&d @ (SENT | RECEIVED), tail)) => {
                bytes = tail;
                d
            }
            _ => return Err(DecodeError("account transfer entry direction")),
        };
        let state = AccountState {
            balance: varint::take(&mut bytes)?,
            power: varint::take(&mut bytes)?,
            granted_in: varint::take(&mut bytes)?,
            granted_out: varint::take(&mut bytes)?,
        };
        match self.previous {
            None if key != self.first => {
                return Err(DecodeError(
                    "account transfer chunk does not start at its key",
                ))
            }
            Some(previous) if key <= previous => {
                return Err(DecodeError("account transfer entries out of order"))
            }
            _ => {}
        }
        self.consumed += self.rest.len() - bytes.len();
        self.rest = bytes;
        self.previous = Some(key);
        self.count += 1;
        Ok(IndexEntry {
            key,
            direction,
            state,
        })
    }
}

impl Iterator for ChunkEntries<'_> {
    /// An entry and the length of the value up to its end.
    type Item = Result<(IndexEntry, usize), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let entry = self.decode_next();
        if entry.is_err() {
            // One error ends the walk: what follows cannot be found.
            self.rest = &[];
        }
        Some(entry.map(|e| (e, self.consumed)))
    }
}

/// Appends `entry` to a chunk value whose last entry is in
/// `previous_block` (at most `entry`'s block: the caller checks the order).
fn encode_entry(out: &mut Vec<u8>, previous_block: BlockNum, entry: &IndexEntry) {
    let mut bytes = [0u8; 1 + 7 * varint::MAX_LEN];
    let (block, trx_index, op_index) = codec::transfer_key_parts(&entry.key);
    let mut len = varint::put(&mut bytes, 0, block - previous_block);
    len = varint::put(&mut bytes, len, u64::from(trx_index));
    len = varint::put(&mut bytes, len, u64::from(op_index));
    bytes[len] = entry.direction;
    len += 1;
    for figure in [
        entry.state.balance,
        entry.state.power,
        entry.state.granted_in,
        entry.state.granted_out,
    ] {
        len = varint::put(&mut bytes, len, figure);
    }
    out.extend_from_slice(&bytes[..len]);
}

/// [`entries`] of a stored chunk, a damaged one reported as corruption of
/// the projection at `path`.
fn stored_entries<'v>(
    path: &'v Path,
    key: &[u8],
    value: &'v [u8],
) -> Result<impl Iterator<Item = Result<(IndexEntry, usize), StateError>> + 'v, StateError> {
    let damaged = move |e| corrupt(path, "account transfer chunk", e);
    Ok(entries(key, value)
        .map_err(damaged)?
        .map(move |entry| entry.map_err(damaged)))
}

/// Decodes the chunk stored under `key` with `value` into `out` (cleared
/// first), its entries in key order.
pub(crate) fn read_chunk(
    path: &Path,
    key: &[u8],
    value: &[u8],
    out: &mut Vec<IndexEntry>,
) -> Result<(), StateError> {
    out.clear();
    for entry in stored_entries(path, key, value)? {
        out.push(entry?.0);
    }
    Ok(())
}

/// `account \0`: below every key of `account`.
pub(crate) fn start_of_account(out: &mut Vec<u8>, account: &str) {
    out.clear();
    out.extend_from_slice(account.as_bytes());
    out.push(0);
}

/// `account \0` followed by sixteen `0xff`: above every key of `account`.
fn past_account(out: &mut Vec<u8>, account: &str) {
    codec::account_transfer_key(out, account, &[0xff; TRANSFER_KEY_LEN]);
}

/// Whether `key` is one of `account`'s (`account \0 transfer-key`).
fn is_of(key: &[u8], account: &str) -> bool {
    key.len() == account.len() + 1 + TRANSFER_KEY_LEN
        && key.starts_with(account.as_bytes())
        && key[account.len()] == 0
}

/// Adds entries to accounts' chunks, for the length of one write
/// transaction. It remembers each account's last chunk as it left it, so
/// the next frame of the same transaction (a recorded batch has one a
/// block) adds to it without reading and decoding it again: the 1,200
/// one-block frames of a replay's undo window spent about a third of
/// their time on that. Nothing else may change the table while it is in
/// use (an unwind comes before it, in its own writer's absence).
///
/// A writer made by [`ChunkWriter::for_transaction`] also keeps a
/// remembered chunk that is not full until [`ChunkWriter::finish`], which
/// must come before the commit: each frame would otherwise store the
/// chunk again (24,000 puts of a growing row in a replay's window, for
/// 1,000 accounts). Nothing reads the table in the writer's transaction
/// (reads go through read transactions), and a frame's undo entry for it
/// is a position, not a copy of the rows.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    tails: HashMap<String, Tail, foldhash::fast::RandomState>,
    /// How many accounts' tails it remembers at most.
    most_tails: usize,
    /// The tail of an account beyond `most_tails`, not remembered.
    spare: Tail,
    /// Whether remembered chunks are stored at `finish` rather than
    /// after each append.
    deferred: bool,
}

impl Default for ChunkWriter {
    fn default() -> Self {
        ChunkWriter::remembering(MOST_TAILS)
    }
}

/// Accounts whose last chunk a [`ChunkWriter`] remembers at most (about a
/// kilobyte each).
const MOST_TAILS: usize = 4_096;

/// An account's last chunk as stored: its key and value, how many entries
/// it holds (0 when the next entry starts a chunk), and the account's last
/// entry.
#[derive(Debug, Default)]
struct Tail {
    key: Vec<u8>,
    value: Vec<u8>,
    count: usize,
    last: Option<TransferKey>,
}

impl Tail {
    /// Reads `account`'s last chunk from `db`.
    fn read(
        &mut self,
        txn: &RwTxn<'_>,
        db: Raw,
        path: &Path,
        account: &str,
    ) -> Result<(), StateError> {
        past_account(&mut self.key, account);
        self.value.clear();
        self.count = 0;
        self.last = None;
        let stored = db
            .get_lower_than_or_equal_to(txn, &self.key)
            .map_err(|e| StateError::lmdb(path, e))?;
        let Some((key, value)) = stored.filter(|(key, _)| is_of(key, account)) else {
            return Ok(());
        };
        for entry in stored_entries(path, key, value)? {
            let (entry, _) = entry?;
            self.last = Some(entry.key);
            self.count += 1;
        }
        if self.count < CHUNK_ENTRIES {
            self.value.extend_from_slice(value);
            self.key.clear();
            self.key.extend_from_slice(key);
        } else {
            // Full: the next entry starts a chunk.
            self.count = 0;
        }
        Ok(())
    }
}

impl ChunkWriter {
    /// A writer that remembers the last chunks of `most_tails` accounts.
    fn remembering(most_tails: usize) -> Self {
        ChunkWriter {
            tails: HashMap::default(),
            most_tails,
            spare: Tail::default(),
            deferred: false,
        }
    }

    /// A writer for the frames of one transaction, which stores the last
    /// chunks it remembers at [`ChunkWriter::finish`] only.
    pub(crate) fn for_transaction() -> Self {
        ChunkWriter {
            deferred: true,
            ..ChunkWriter::default()
        }
    }

    /// Stores every chunk kept back (see [`ChunkWriter::for_transaction`]),
    /// in key order. Must come before the transaction commits.
    pub(crate) fn finish(
        self,
        txn: &mut RwTxn<'_>,
        db: Raw,
        path: &Path,
    ) -> Result<(), StateError> {
        if !self.deferred {
            return Ok(()); // it stored every chunk as it went
        }
        let lmdb = |e| StateError::lmdb(path, e);
        // A deferring writer stores no remembered chunk after an append,
        // so every one holding entries is kept back.
        let mut unstored: Vec<&Tail> = self.tails.values().filter(|tail| tail.count > 0).collect();
        // The map's order is random; in key order the puts walk the leaves
        // in turn, as the frames' puts (in account order) did.
        unstored.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let mut puts = CursorPuts::new(db, txn).map_err(lmdb)?;
        for tail in unstored {
            puts.put(&tail.key, &tail.value).map_err(lmdb)?;
        }
        Ok(())
    }

    /// Adds `new` (in key order, every key after the account's stored
    /// ones) to `account`'s chunks in `db`. Entries out of order are
    /// refused; what was put before the refusal is left to the caller's
    /// transaction, which is then aborted (and this writer with it).
    pub(crate) fn append(
        &mut self,
        txn: &mut RwTxn<'_>,
        db: Raw,
        path: &Path,
        account: &str,
        new: impl IntoIterator<Item = IndexEntry>,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let mut new = new.into_iter().peekable();
        if new.peek().is_none() {
            return Ok(());
        }
        let (tail, remembered) = match self.tails.get_mut(account) {
            Some(remembered) => (remembered, true),
            None => {
                let remembered = self.tails.len() < self.most_tails;
                let tail = if remembered {
                    self.tails.entry_ref(account).or_default()
                } else {
                    &mut self.spare
                };
                tail.read(txn, db, path, account)?;
                (tail, remembered)
            }
        };
        let mut previous_block = tail.last.as_ref().map_or(0, block_of);
        for entry in new {
            if tail.last.is_some_and(|last| entry.key <= last) {
                return Err(corrupt(
                    path,
                    "account transfer index",
                    DecodeError("a new entry is not after the account's last one"),
                ));
            }
            if tail.count == 0 {
                codec::account_transfer_key(&mut tail.key, account, &entry.key);
                previous_block = entry.block();
            }
            encode_entry(&mut tail.value, previous_block, &entry);
            previous_block = entry.block();
            tail.last = Some(entry.key);
            tail.count += 1;
            if tail.count == CHUNK_ENTRIES {
                // Stored full: the next entry starts a chunk, as
                // `Tail::read` would have it.
                db.put(txn, &tail.key, &tail.value).map_err(lmdb)?;
                tail.value.clear();
                tail.count = 0;
            }
        }
        let kept_back = self.deferred && remembered;
        if tail.count > 0 && !kept_back {
            db.put(txn, &tail.key, &tail.value).map_err(lmdb)?;
        }
        Ok(())
    }
}

/// Removes `account`'s entries after `last` (all of them when `None`),
/// leaving its chunks as they were before those entries were added.
pub(crate) fn truncate_after(
    txn: &mut RwTxn<'_>,
    db: Raw,
    path: &Path,
    account: &str,
    last: Option<&TransferKey>,
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let mut low = Vec::new();
    let mut high = Vec::new();
    past_account(&mut high, account);
    // Chunks that start after `last` hold nothing older.
    match last {
        Some(last) => codec::account_transfer_key(&mut low, account, last),
        None => start_of_account(&mut low, account),
    }
    let low_bound = match last {
        Some(_) => Bound::Excluded(low.as_slice()),
        None => Bound::Included(low.as_slice()),
    };
    db.delete_range(txn, &(low_bound, Bound::Included(high.as_slice())))
        .map_err(lmdb)?;
    let Some(last) = last else {
        return Ok(());
    };
    // The chunk `last` falls in keeps its entries up to `last`.
    let kept = match db.get_lower_than_or_equal_to(txn, &low).map_err(lmdb)? {
        Some((key, value)) if is_of(key, account) => {
            let mut kept = value.len();
            for entry in stored_entries(path, key, value)? {
                let (entry, end) = entry?;
                if entry.key > *last {
                    break;
                }
                kept = end;
            }
            (kept < value.len()).then(|| (key.to_vec(), value[..kept].to_vec()))
        }
        _ => None,
    };
    if let Some((key, value)) = kept {
        db.put(txn, &key, &value).map_err(lmdb)?;
    }
    Ok(())
}

/// `account`'s last entry at or below `target`.
pub(crate) fn last_at_or_below(
    txn: &RoTxn<'_>,
    db: Raw,
    path: &Path,
    account: &str,
    target: &TransferKey,
) -> Result<Option<IndexEntry>, StateError> {
    let mut key = Vec::with_capacity(account.len() + 1 + TRANSFER_KEY_LEN);
    codec::account_transfer_key(&mut key, account, target);
    let found = match db.get_lower_than_or_equal_to(txn, &key) {
        Ok(found) => found,
        // A name LMDB cannot even look up (longer than a key may be) is unknown.
        Err(heed::Error::Mdb(heed::MdbError::BadValSize)) => return Ok(None),
        Err(e) => return Err(StateError::lmdb(path, e)),
    };
    let Some((key, value)) = found.filter(|(key, _)| is_of(key, account)) else {
        return Ok(None);
    };
    let mut best = None;
    for entry in stored_entries(path, key, value)? {
        let (entry, _) = entry?;
        if entry.key > *target {
            break;
        }
        best = Some(entry);
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use heed::{Env, WithoutTls};
    use proptest::prelude::*;

    use super::*;
    use crate::projection::env::{create_dbs, open_env};
    use crate::projection::ProjectionOptions;

    type Rows = Vec<(Vec<u8>, Vec<u8>)>;

    struct Table {
        _dir: tempfile::TempDir,
        env: Env<WithoutTls>,
        db: Raw,
    }

    fn table() -> Table {
        let dir = tempfile::tempdir().expect("temp dir");
        let env = open_env(dir.path(), &ProjectionOptions::default()).expect("env");
        let db = create_dbs(&env).expect("dbs").account_transfers;
        Table { _dir: dir, env, db }
    }

    impl Table {
        fn append(&self, account: &str, new: &[IndexEntry]) -> Result<(), StateError> {
            let mut wtxn = self.env.write_txn().expect("txn");
            ChunkWriter::default().append(
                &mut wtxn,
                self.db,
                Path::new("test"),
                account,
                new.iter().copied(),
            )?;
            wtxn.commit().expect("commit");
            Ok(())
        }

        fn truncate(&self, account: &str, last: Option<&TransferKey>) {
            let mut wtxn = self.env.write_txn().expect("txn");
            truncate_after(&mut wtxn, self.db, Path::new("test"), account, last).expect("truncate");
            wtxn.commit().expect("commit");
        }

        fn rows(&self) -> Rows {
            let rtxn = self.env.read_txn().expect("txn");
            self.db
                .iter(&rtxn)
                .expect("iter")
                .map(|row| row.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("row"))
                .collect()
        }

        fn put_raw(&self, key: &[u8], value: &[u8]) {
            let mut wtxn = self.env.write_txn().expect("txn");
            self.db.put(&mut wtxn, key, value).expect("put");
            wtxn.commit().expect("commit");
        }

        fn last_at_or_below(&self, account: &str, target: &TransferKey) -> Option<IndexEntry> {
            let rtxn = self.env.read_txn().expect("txn");
            last_at_or_below(&rtxn, self.db, Path::new("test"), account, target).expect("read")
        }
    }

    fn entry(block: u64, trx: u32, op: u32, balance: u64) -> IndexEntry {
        IndexEntry {
            key: codec::transfer_key(block, trx, op),
            direction: if balance.is_multiple_of(2) {
                SENT
            } else {
                RECEIVED
            },
            state: AccountState {
                balance,
                power: balance / 3,
                granted_in: 0,
                granted_out: u64::MAX - balance,
            },
        }
    }

    /// Entries in strictly increasing key order from (gap, trx, op, balance) steps.
    fn ordered(steps: &[(u64, u32, u32, u64)]) -> Vec<IndexEntry> {
        let mut block = 0;
        let mut out: Vec<IndexEntry> = Vec::new();
        for &(gap, trx, op, balance) in steps {
            block += gap;
            let next = entry(block, trx, op, balance);
            match out.last() {
                Some(last) if next.key <= last.key => {
                    block += 1;
                    out.push(entry(block, trx, op, balance));
                }
                _ => out.push(next),
            }
        }
        out
    }

    /// Every chunk of `account` decoded: its entries, each chunk apart.
    fn chunks_of(rows: &Rows, account: &str) -> Vec<Vec<IndexEntry>> {
        rows.iter()
            .filter(|(key, _)| is_of(key, account))
            .map(|(key, value)| {
                entries(key, value)
                    .expect("chunk")
                    .map(|e| e.expect("entry").0)
                    .collect()
            })
            .collect()
    }

    fn steps() -> impl Strategy<Value = Vec<(u64, u32, u32, u64)>> {
        prop::collection::vec((0u64..3, 0u32..4, 0u32..3, any::<u64>()), 0..300)
    }

    proptest! {
        /// However an account's entries were cut into appends, its rows are
        /// the same, decode to its entries in order, and every chunk but
        /// the last is full; other accounts' rows are not touched.
        #[test]
        fn chunks_do_not_depend_on_how_the_entries_were_batched(
            steps in steps(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
            neighbour in steps(),
        ) {
            let all = ordered(&steps);
            let others = ordered(&neighbour);
            let whole = table();
            whole.append("bob", &all).expect("append");
            let batched = table();
            batched.append("bo", &others).expect("append");
            batched.append("bobby", &others).expect("append");
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(all.len() + 1)).collect();
            cuts.push(0);
            cuts.push(all.len());
            cuts.sort_unstable();
            for pair in cuts.windows(2) {
                batched.append("bob", &all[pair[0]..pair[1]]).expect("append");
            }
            let rows = batched.rows();
            let bob: Rows = rows.iter().filter(|(k, _)| is_of(k, "bob")).cloned().collect();
            prop_assert_eq!(&bob, &whole.rows());
            let chunks = chunks_of(&rows, "bob");
            prop_assert_eq!(chunks.concat(), all.clone());
            if let Some((_, full)) = chunks.split_last() {
                prop_assert!(full.iter().all(|c| c.len() == CHUNK_ENTRIES));
            }
            prop_assert_eq!(chunks_of(&rows, "bo").concat(), others.clone());
            prop_assert_eq!(chunks_of(&rows, "bobby").concat(), others);
        }

        /// Appends to several accounts in turn, all through one writer in
        /// one transaction (as a recorded batch's frames go), leave the
        /// rows that each account's entries appended at once leave, whether
        /// the writer remembers every account's last chunk, some, or none,
        /// and whether it stores them as it goes or when it finishes.
        #[test]
        fn one_writer_across_a_transaction_leaves_the_rows_of_separate_appends(
            steps in prop::collection::vec(steps(), 3),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            stored_first in 0usize..100,
            most_tails in 0usize..4,
            deferred in any::<bool>(),
        ) {
            let accounts = ["bo", "bob", "bobby"];
            let all: Vec<Vec<IndexEntry>> = steps.iter().map(|s| ordered(s)).collect();
            let whole = table();
            for (account, entries) in accounts.iter().zip(&all) {
                whole.append(account, entries).expect("append");
            }
            // Some entries stored by an earlier transaction, the rest in
            // pieces, one account after another.
            let shared = table();
            let mut pieces: Vec<Vec<&[IndexEntry]>> = Vec::new();
            for (account, entries) in accounts.iter().zip(&all) {
                let first = stored_first.min(entries.len());
                shared.append(account, &entries[..first]).expect("append");
                let rest = &entries[first..];
                let mut at: Vec<usize> = cuts.iter().map(|c| c.index(rest.len() + 1)).collect();
                at.push(0);
                at.push(rest.len());
                at.sort_unstable();
                pieces.push(at.windows(2).map(|w| &rest[w[0]..w[1]]).collect());
            }
            let mut wtxn = shared.env.write_txn().expect("txn");
            let mut writer = ChunkWriter {
                deferred,
                ..ChunkWriter::remembering(most_tails)
            };
            let turns = pieces.iter().map(Vec::len).max().unwrap_or(0);
            for turn in 0..turns {
                for (account, account_pieces) in accounts.iter().zip(&pieces) {
                    if let Some(piece) = account_pieces.get(turn) {
                        writer
                            .append(&mut wtxn, shared.db, Path::new("test"), account, piece.iter().copied())
                            .expect("append");
                    }
                }
            }
            writer.finish(&mut wtxn, shared.db, Path::new("test")).expect("finish");
            wtxn.commit().expect("commit");
            prop_assert_eq!(shared.rows(), whole.rows());
        }

        /// Cutting an account's entries after any key gives back exactly the
        /// rows it had with only the entries up to that key.
        #[test]
        fn truncating_gives_back_the_rows_of_the_shorter_history(
            steps in steps(),
            keep in any::<prop::sample::Index>(),
            neighbour in steps(),
        ) {
            let all = ordered(&steps);
            let others = ordered(&neighbour);
            let kept = keep.index(all.len() + 1);
            let shorter = table();
            shorter.append("bob", &all[..kept]).expect("append");
            shorter.append("bobby", &others).expect("append");
            let cut = table();
            cut.append("bob", &all).expect("append");
            cut.append("bobby", &others).expect("append");
            cut.truncate("bob", kept.checked_sub(1).map(|i| &all[i].key));
            prop_assert_eq!(cut.rows(), shorter.rows());
            // And entries can follow again as if nothing had been cut.
            cut.append("bob", &all[kept..]).expect("append");
            shorter.append("bob", &all[kept..]).expect("append");
            prop_assert_eq!(cut.rows(), shorter.rows());
        }

        /// A point read finds the last entry at or below any key.
        #[test]
        fn last_at_or_below_finds_what_a_scan_of_the_entries_would(
            steps in steps(),
            targets in prop::collection::vec((0u64..700, 0u32..5, 0u32..4), 1..20),
        ) {
            let all = ordered(&steps);
            let t = table();
            t.append("bob", &all).expect("append");
            t.append("bobby", &all).expect("append");
            for (block, trx, op) in targets {
                let target = codec::transfer_key(block, trx, op);
                let expected = all.iter().rev().find(|e| e.key <= target).copied();
                prop_assert_eq!(t.last_at_or_below("bob", &target), expected);
            }
            prop_assert_eq!(t.last_at_or_below("carol", &[0xff; TRANSFER_KEY_LEN]), None);
        }

        /// Any bytes under a chunk key decode to entries or an error, never a panic.
        #[test]
        fn arbitrary_chunk_values_never_panic(value in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut key = Vec::new();
            codec::account_transfer_key(&mut key, "bob", &codec::transfer_key(5, 0, 0));
            if let Ok(walk) = entries(&key, &value) {
                let _ = walk.count();
            }
        }
    }

    #[test]
    fn an_entry_that_is_not_after_the_stored_ones_is_refused() {
        let t = table();
        t.append("bob", &[entry(5, 0, 0, 1), entry(5, 1, 0, 2)])
            .expect("append");
        let before = t.rows();
        for stale in [entry(5, 1, 0, 9), entry(4, 0, 0, 9)] {
            assert!(matches!(
                t.append("bob", &[stale]),
                Err(StateError::Corrupt { .. })
            ));
        }
        assert!(t
            .append("bob", &[entry(6, 0, 0, 1), entry(6, 0, 0, 2)])
            .is_err());
        assert_eq!(t.rows(), before);
    }

    #[test]
    fn damaged_chunks_are_refused() {
        let good = [entry(5, 0, 0, 300), entry(7, 2, 1, 5)];
        let t = table();
        t.append("bob", &good).expect("append");
        let (key, value) = t.rows().remove(0);
        let decode = |key: &[u8], value: &[u8]| -> Result<Vec<IndexEntry>, DecodeError> {
            entries(key, value)?.map(|e| e.map(|(e, _)| e)).collect()
        };
        assert_eq!(decode(&key, &value), Ok(good.to_vec()));
        // Every cut inside the second entry.
        let first_len = entries(&key, &value)
            .expect("chunk")
            .next()
            .expect("entry")
            .expect("valid")
            .1;
        for len in first_len + 1..value.len() {
            assert!(decode(&key, &value[..len]).is_err(), "cut at {len}");
        }
        assert!(decode(&key, &[]).is_err());
        assert!(decode(&key[..TRANSFER_KEY_LEN - 1], &value).is_err());
        // The key names another first entry (the first entry's block is
        // the key's, so only its indexes can disagree).
        let mut other = Vec::new();
        codec::account_transfer_key(&mut other, "bob", &codec::transfer_key(5, 1, 0));
        assert!(decode(&other, &value).is_err());
        // A bad direction.
        let mut bad = value.clone();
        bad[3] = 7;
        assert!(decode(&key, &bad).is_err());
        // The second entry a repeat of the first (block delta 0, same indexes).
        let mut repeat = value[..first_len].to_vec();
        repeat.extend_from_slice(&value[..first_len]);
        assert!(decode(&key, &repeat).is_err());
        // More entries than a chunk holds.
        let many: Vec<IndexEntry> = (0..=CHUNK_ENTRIES as u64)
            .map(|b| entry(b, 0, 0, b))
            .collect();
        let mut long = Vec::new();
        let mut previous = 0;
        for e in &many {
            encode_entry(&mut long, previous, e);
            previous = e.block();
        }
        codec::account_transfer_key(&mut other, "bob", &many[0].key);
        assert!(decode(&other, &long).is_err());
        let mut full = Vec::new();
        let mut previous = 0;
        for e in &many[..CHUNK_ENTRIES] {
            encode_entry(&mut full, previous, e);
            previous = e.block();
        }
        assert_eq!(decode(&other, &full).map(|v| v.len()), Ok(CHUNK_ENTRIES));
        // A damaged chunk stops an append rather than being built on.
        t.put_raw(&key, &value[..value.len() - 1]);
        assert!(t.append("bob", &[entry(9, 0, 0, 1)]).is_err());
    }

    #[test]
    fn a_chunk_holds_at_most_its_share_and_the_next_starts_at_its_entry() {
        let all: Vec<IndexEntry> = (0..(2 * CHUNK_ENTRIES + 1) as u64)
            .map(|b| entry(b * 1_000, 1, 2, b))
            .collect();
        let t = table();
        t.append("bob", &all).expect("append");
        let rows = t.rows();
        assert_eq!(rows.len(), 3);
        let mut expected_key = Vec::new();
        codec::account_transfer_key(&mut expected_key, "bob", &all[CHUNK_ENTRIES].key);
        assert_eq!(rows[1].0, expected_key);
        assert_eq!(chunks_of(&rows, "bob")[2], vec![all[2 * CHUNK_ENTRIES]]);
        let by_block: BTreeMap<u64, u64> =
            all.iter().map(|e| (e.block(), e.state.balance)).collect();
        assert_eq!(by_block.len(), all.len());
    }
}
