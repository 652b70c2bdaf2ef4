//! The undo journal: what each [`Projection::apply`](super::Projection::apply)
//! overwrote, so the projection can be unwound to an earlier log position in
//! time proportional to the changes undone, never to the token's history
//! (reth's `unwind`, ord's savepoints).
//!
//! Every `apply` writes one *frame* per block it ends, or per stretch of
//! at least [`FRAME_RECORDS`](super::FRAME_RECORDS) log records (see
//! `frame_stretches`), in the same write transaction as its effects,
//! under `frame BE || seq BE` in the `journal` database:
//!
//! - seq 0, the header: the log position and the meta record (books,
//!   pending events) as they were before the frame;
//! - seq 1.., one entry per key the frame overwrote, with the value it had
//!   before (or that it was absent), written once per key.
//!
//! What the entries do not carry is derived from the header: transfers,
//! outcomes and the per-account transfer index are append-only (their keys
//! are chain positions after the header's last operation; an account's
//! index chunks are cut back to the entries up to it, which gives back
//! the chunks it had, see `transfer_chunks`); history rows,
//! totals and expiry notes of blocks above the header's last touched block
//! are new; rich-list entries follow the accounts they are computed from.
//!
//! Frames older than [`ProjectionOptions::undo_blocks`](super::ProjectionOptions)
//! blocks go as new ones come; a rollback further back restores a checkpoint.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;

use heed::{RoTxn, RwTxn};

use crate::block::BlockNum;
use crate::contract::books::{holding, is_empty};
use crate::error::StateError;
use crate::projection::codec::{self, DecodeError};
use crate::projection::env::{Dbs, Raw};
use crate::projection::meta::StoredMeta;
use crate::projection::transfer_chunks;
use crate::projection::AccountState;

/// Which database a journal entry restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    /// Accounts; restoring one also moves its rich-list entry and drops its
    /// history rows above the frame's start.
    Accounts = 1,
    Grants = 2,
    PowerDowns = 3,
    Due = 4,
    Trxs = 5,
    History = 6,
    HistoryTotals = 7,
    HistoryExpiry = 8,
}

impl Table {
    fn from_tag(tag: u8) -> Option<Table> {
        Some(match tag {
            1 => Table::Accounts,
            2 => Table::Grants,
            3 => Table::PowerDowns,
            4 => Table::Due,
            5 => Table::Trxs,
            6 => Table::History,
            7 => Table::HistoryTotals,
            8 => Table::HistoryExpiry,
            _ => return None,
        })
    }

    fn db(self, dbs: &Dbs) -> Raw {
        match self {
            Table::Accounts => dbs.accounts,
            Table::Grants => dbs.grants,
            Table::PowerDowns => dbs.power_downs,
            Table::Due => dbs.due,
            Table::Trxs => dbs.trxs,
            Table::History => dbs.history,
            Table::HistoryTotals => dbs.history_totals,
            Table::HistoryExpiry => dbs.history_expiry,
        }
    }
}

fn corrupt(path: &Path, what: &str, e: DecodeError) -> StateError {
    StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("undo journal {what}: {}", e.0),
    }
}

fn entry_key(frame: u64, seq: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&frame.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The highest block a frame starting from `meta` may find rows of: rows,
/// totals and expiry notes above it are new in the frame.
fn touched_through(meta: &StoredMeta) -> BlockNum {
    let books = &meta.books;
    books
        .completed
        .unwrap_or(0)
        .max(books.last_op.map_or(0, |op| op.block))
}

/// The entries of the frame being written, collected while the ledger runs.
#[derive(Debug)]
pub(crate) struct FrameBuilder {
    /// Rows of blocks above this are new (see [`touched_through`]).
    pub(crate) touched_through: BlockNum,
    /// Hashed with foldhash, not std's SipHash: every key a recorded frame
    /// overwrites goes through this set, and with SipHash `bench --only 3`
    /// ran 1.5 billion more instructions (1% of the run; BENCHMARKS.md,
    /// run 24).
    seen: hashbrown::HashSet<(Table, Vec<u8>), foldhash::fast::RandomState>,
    entries: Vec<Vec<u8>>,
}

impl FrameBuilder {
    pub(crate) fn new(before: &StoredMeta) -> Self {
        FrameBuilder {
            touched_through: touched_through(before),
            seen: hashbrown::HashSet::default(),
            entries: Vec::new(),
        }
    }

    /// Records `key`'s value before the frame, unless it was recorded already.
    pub(crate) fn record(&mut self, table: Table, key: &[u8], old: Option<&[u8]>) {
        if self.seen.insert((table, key.to_vec())) {
            self.push(table, key, old);
        }
    }

    /// Records `key`'s current value in `table` (read from `txn`), once.
    pub(crate) fn record_current(
        &mut self,
        txn: &RwTxn<'_>,
        dbs: &Dbs,
        table: Table,
        key: &[u8],
        path: &Path,
    ) -> Result<(), StateError> {
        if self.seen.insert((table, key.to_vec())) {
            let old = table
                .db(dbs)
                .get(txn, key)
                .map_err(|e| StateError::lmdb(path, e))?;
            self.push(table, key, old);
        }
        Ok(())
    }

    fn push(&mut self, table: Table, key: &[u8], old: Option<&[u8]>) {
        let mut entry = Vec::with_capacity(6 + key.len() + old.map_or(0, <[u8]>::len));
        entry.push(table as u8);
        entry.push(u8::from(old.is_some()));
        entry.extend_from_slice(&(key.len() as u32).to_le_bytes());
        entry.extend_from_slice(key);
        if let Some(old) = old {
            entry.extend_from_slice(old);
        }
        self.entries.push(entry);
    }

    /// Records an account's figures before the frame.
    pub(crate) fn record_account(&mut self, name: &str, before: &AccountState) {
        let encoded = codec::encode_account(before);
        let old = (!is_empty(before)).then_some(&encoded[..]);
        self.record(Table::Accounts, name.as_bytes(), old);
    }

    /// Writes the frame numbered `before.journal_next`.
    pub(crate) fn write(
        self,
        txn: &mut RwTxn<'_>,
        dbs: &Dbs,
        path: &Path,
        before: &StoredMeta,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let frame = before.journal_next;
        let header = encode_header(before, path)?;
        dbs.journal
            .put(txn, &entry_key(frame, 0), &header)
            .map_err(lmdb)?;
        for (seq, entry) in self.entries.iter().enumerate() {
            let seq = u32::try_from(seq + 1).map_err(|_| StateError::Corrupt {
                path: path.to_path_buf(),
                detail: "an apply overwrote more keys than the undo journal can number".into(),
            })?;
            dbs.journal
                .put(txn, &entry_key(frame, seq), entry)
                .map_err(lmdb)?;
        }
        Ok(())
    }
}

/// `meta` as a header: pending events length u32 LE, the events, then the
/// meta record's JSON (which leaves the pending events out).
fn encode_header(meta: &StoredMeta, path: &Path) -> Result<Vec<u8>, StateError> {
    let json = serde_json::to_vec(meta).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("cannot encode an undo journal header: {e}"),
    })?;
    let pending = &meta.books.pending;
    let mut out = Vec::with_capacity(4 + pending.len() + json.len());
    out.extend_from_slice(&(pending.len() as u32).to_le_bytes());
    out.extend_from_slice(pending);
    out.extend_from_slice(&json);
    Ok(out)
}

fn decode_header(bytes: &[u8], path: &Path) -> Result<StoredMeta, StateError> {
    let bad = |what| corrupt(path, "header", DecodeError(what));
    let (len, rest) = bytes.split_at_checked(4).ok_or_else(|| bad("length"))?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| bad("length"))?) as usize;
    let (pending, json) = rest
        .split_at_checked(len)
        .ok_or_else(|| bad("pending events"))?;
    let mut meta: StoredMeta = serde_json::from_slice(json).map_err(|e| StateError::Corrupt {
        path: path.to_path_buf(),
        detail: format!("undo journal header: {e}"),
    })?;
    meta.books.pending = pending.to_vec();
    Ok(meta)
}

fn header(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    frame: u64,
) -> Result<Option<StoredMeta>, StateError> {
    dbs.journal
        .get(txn, &entry_key(frame, 0))
        .map_err(|e| StateError::lmdb(path, e))?
        .map(|bytes| decode_header(bytes, path))
        .transpose()
}

/// The oldest frame kept, if any.
fn oldest_frame(txn: &RoTxn<'_>, dbs: &Dbs, path: &Path) -> Result<Option<u64>, StateError> {
    let first = dbs
        .journal
        .first(txn)
        .map_err(|e| StateError::lmdb(path, e))?;
    first
        .map(|(key, _)| {
            key.get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt(path, "key", DecodeError("length")))
        })
        .transpose()
}

/// A log position at a block boundary at or below `target`, from which the
/// journal can unwind: the start of the newest frame that began at a block
/// boundary at or below `target`. `None` when the journal does not reach
/// that far, or when unwinding would land below `history_from` (history
/// retention has pruned rows the unwound blocks would need).
pub(crate) fn plan(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    current: &StoredMeta,
    target: BlockNum,
) -> Result<Option<u64>, StateError> {
    let Some(oldest) = oldest_frame(txn, dbs, path)? else {
        return Ok(None);
    };
    let mut frame = current.journal_next;
    while frame > oldest {
        frame -= 1;
        let Some(before) = header(txn, dbs, path, frame)? else {
            return Ok(None);
        };
        let at = before.books.cursor.as_ref().map_or(0, |c| c.num);
        if at <= target && before.books.open_block().is_none() {
            let below_horizon = current.history_from > 0 && at < current.history_from;
            return Ok((!below_horizon).then_some(before.log_records));
        }
    }
    Ok(None)
}

/// Undoes frames, newest first, until the projection stands at log
/// position `target` or below. Returns the meta record it stands at, or
/// `None` (having changed nothing the caller keeps: abort the transaction)
/// when a frame it needs is gone.
pub(crate) fn unwind(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    current: StoredMeta,
    target: u64,
) -> Result<Option<StoredMeta>, StateError> {
    let mut meta = current;
    while meta.log_records > target {
        let Some(frame) = meta.journal_next.checked_sub(1) else {
            return Ok(None);
        };
        let Some(before) = header(txn, dbs, path, frame)? else {
            return Ok(None);
        };
        undo_frame(txn, dbs, path, frame, &before)?;
        let history_from = meta.history_from.max(before.history_from);
        meta = StoredMeta {
            history_from,
            journal_next: frame,
            ..before
        };
        // History retention has pruned rows the blocks below its horizon need.
        if history_from > 0 && meta.books.cursor.as_ref().map_or(0, |c| c.num) < history_from {
            return Ok(None);
        }
    }
    Ok(Some(meta))
}

fn undo_frame(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    frame: u64,
    before: &StoredMeta,
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let through = touched_through(before);
    let first_new_block = through.saturating_add(1);
    let start = entry_key(frame, 1);
    let end = entry_key(frame.saturating_add(1), 0);
    let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&start), Bound::Excluded(&end));
    let mut entries: Vec<Vec<u8>> = Vec::new();
    for item in dbs.journal.range(txn, &range).map_err(lmdb)? {
        let (_, value) = item.map_err(lmdb)?;
        entries.push(value.to_vec());
    }
    let mut key = Vec::with_capacity(64);
    let mut upper = Vec::with_capacity(64);
    for entry in &entries {
        let (table, key_bytes, old) = decode_entry(entry, path)?;
        if table == Table::Accounts {
            let name = std::str::from_utf8(key_bytes)
                .map_err(|_| corrupt(path, "account", DecodeError("name is not UTF-8")))?;
            restore_account(txn, dbs, path, name, old)?;
            // History rows of the account in blocks the frame started.
            key.clear();
            key.extend_from_slice(key_bytes);
            key.push(0);
            key.extend_from_slice(&first_new_block.to_be_bytes());
            upper.clear();
            upper.extend_from_slice(key_bytes);
            upper.push(1);
            let rows: (Bound<&[u8]>, Bound<&[u8]>) =
                (Bound::Included(&key), Bound::Excluded(&upper));
            dbs.history.delete_range(txn, &rows).map_err(lmdb)?;
            continue;
        }
        let db = table.db(dbs);
        match old {
            Some(value) => db.put(txn, key_bytes, value).map_err(lmdb)?,
            None => {
                db.delete(txn, key_bytes).map_err(lmdb)?;
            }
        }
    }
    let new_blocks = first_new_block.to_be_bytes();
    let from: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&new_blocks), Bound::Unbounded);
    dbs.history_totals.delete_range(txn, &from).map_err(lmdb)?;
    dbs.history_expiry.delete_range(txn, &from).map_err(lmdb)?;
    undo_appended(txn, dbs, path, before)?;
    dbs.journal
        .delete_range(
            txn,
            &(
                Bound::Included(&entry_key(frame, 0)[..]),
                Bound::Excluded(&end[..]),
            ),
        )
        .map_err(lmdb)?;
    Ok(())
}

/// Deletes the transfers and outcomes after the header's last operation,
/// with the per-account transfer index entries of those transfers.
fn undo_appended(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    before: &StoredMeta,
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let last = before
        .books
        .last_op
        .map(|op| codec::transfer_key(op.block, op.trx_index, op.op_index));
    let after: (Bound<&[u8]>, Bound<&[u8]>) = match &last {
        Some(last) => (Bound::Excluded(&last[..]), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    };
    let mut accounts: BTreeSet<String> = BTreeSet::new();
    for item in dbs.transfers.range(txn, &after).map_err(lmdb)? {
        let (_, value) = item.map_err(lmdb)?;
        let transfer = codec::decode_transfer(value).map_err(|e| corrupt(path, "transfer", e))?;
        for account in [transfer.from, transfer.to] {
            if !accounts.contains(account) {
                accounts.insert(account.to_string());
            }
        }
    }
    for account in &accounts {
        transfer_chunks::truncate_after(txn, dbs.account_transfers, path, account, last.as_ref())?;
    }
    dbs.transfers.delete_range(txn, &after).map_err(lmdb)?;
    dbs.outcomes.delete_range(txn, &after).map_err(lmdb)?;
    Ok(())
}

/// Puts back an account's figures (absent when `old` is `None`) and moves
/// its rich-list entry from its current holding to the restored one.
fn restore_account(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    name: &str,
    old: Option<&[u8]>,
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let current = match dbs.accounts.get(txn, name.as_bytes()).map_err(lmdb)? {
        Some(bytes) => {
            codec::decode_account(bytes).map_err(|e| corrupt(path, "current account", e))?
        }
        None => AccountState::default(),
    };
    let restored = match old {
        Some(bytes) => {
            codec::decode_account(bytes).map_err(|e| corrupt(path, "account entry", e))?
        }
        None => AccountState::default(),
    };
    let mut key = Vec::with_capacity(64);
    if holding(&current) > 0 {
        codec::rich_key(&mut key, holding(&current), name);
        dbs.rich.delete(txn, &key).map_err(lmdb)?;
    }
    if is_empty(&restored) {
        dbs.accounts.delete(txn, name.as_bytes()).map_err(lmdb)?;
    } else {
        let encoded = codec::encode_account(&restored);
        dbs.accounts
            .put(txn, name.as_bytes(), &encoded)
            .map_err(lmdb)?;
        if holding(&restored) > 0 {
            codec::rich_key(&mut key, holding(&restored), name);
            dbs.rich.put(txn, &key, &encoded).map_err(lmdb)?;
        }
    }
    Ok(())
}

/// One decoded journal entry: the table, the key, the value before (if any).
type Entry<'a> = (Table, &'a [u8], Option<&'a [u8]>);

fn decode_entry<'a>(entry: &'a [u8], path: &Path) -> Result<Entry<'a>, StateError> {
    let bad = |what| corrupt(path, "entry", DecodeError(what));
    let (&tag, rest) = entry.split_first().ok_or_else(|| bad("empty"))?;
    let table = Table::from_tag(tag).ok_or_else(|| bad("unknown table"))?;
    let (&present, rest) = rest.split_first().ok_or_else(|| bad("presence flag"))?;
    let (len, rest) = rest.split_at_checked(4).ok_or_else(|| bad("key length"))?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| bad("key length"))?) as usize;
    let (key, value) = rest.split_at_checked(len).ok_or_else(|| bad("key"))?;
    let old = match present {
        0 => None,
        1 => Some(value),
        _ => return Err(bad("presence flag")),
    };
    Ok((table, key, old))
}

/// Drops every frame: the journal then reaches back to the next batch applied.
pub(crate) fn clear(txn: &mut RwTxn<'_>, dbs: &Dbs, path: &Path) -> Result<(), StateError> {
    if oldest_frame(txn, dbs, path)?.is_some() {
        dbs.journal
            .clear(txn)
            .map_err(|e| StateError::lmdb(path, e))?;
    }
    Ok(())
}

/// Drops the oldest frames a rollback to `limit` or above no longer needs:
/// those older than the newest frame that starts at a block boundary at or
/// below `limit` (the base such a rollback would unwind to).
pub(crate) fn prune(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    limit: BlockNum,
) -> Result<(), StateError> {
    /// Most frame headers one apply reads; the rest are looked at by later ones.
    const BUDGET: u64 = 256;
    let Some(oldest) = oldest_frame(txn, dbs, path)? else {
        return Ok(());
    };
    let mut base = None;
    for frame in oldest.saturating_add(1)..oldest.saturating_add(BUDGET) {
        let Some(before) = header(txn, dbs, path, frame)? else {
            break;
        };
        if before.books.cursor.as_ref().map_or(0, |c| c.num) > limit {
            break;
        }
        if before.books.open_block().is_none() {
            base = Some(frame);
        }
    }
    if let Some(base) = base {
        let start = entry_key(oldest, 0);
        let end = entry_key(base, 0);
        let frames: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&start), Bound::Excluded(&end));
        dbs.journal
            .delete_range(txn, &frames)
            .map_err(|e| StateError::lmdb(path, e))?;
    }
    Ok(())
}
