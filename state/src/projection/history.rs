//! The history index: every account's figures and the token's totals as
//! they were after each block that changed them, for queries "as of block N".
//!
//! Three databases, written by the same write transaction as the effects
//! (so a checkpoint or a rollback carries history with the state, and a
//! replay of the log rebuilds it exactly):
//!
//! - `history`: `account \0 block BE` -> the account's figures after that
//!   block (the `accounts` layout). The genesis is block 0. There is no
//!   row for a block whose last change to the account was a transfer:
//!   the account's last entry of that block in the per-account transfer
//!   index (`account_transfers`), which carries the figures the account
//!   had right after the transfer, stands in for it. That spares two rows
//!   a transfer, most of what a token's history costs to write.
//! - `history_totals`: `block BE` -> supply u128 LE, holders u64 LE.
//! - `history_expiry` (only while retention is on): `B BE || account \0 P BE`
//!   -> (): the row of `account` at block P is superseded by its row at B,
//!   so it may go once the horizon reaches B. Rows are only superseded by
//!   rows, so at most one row an account outlives the horizon this way
//!   (transfer entries are kept whatever the retention).
//!
//! A read as of N is the later of the account's last row and its last
//! transfer entry at or below N: two B-tree seeks. When a block has both,
//! the row is the later change (it is only written when the account's
//! last change in the block was not a transfer).
//!
//! What is stored does not depend on where the log was cut into batches:
//! a batch that ends inside a block may write a row for it that the next
//! batch, finding the account's last change there a transfer, deletes.

use std::ops::Bound;

use heed::RwTxn;

use crate::account::is_valid_account;
use crate::block::BlockNum;
use crate::contract::books::holding;
use crate::error::StateError;
use crate::projection::codec::{self, corrupt, DecodeError};
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::env::{Dbs, Raw};
use crate::projection::journal::{FrameBuilder, Table};
use crate::projection::read::Reader;
use crate::projection::transfer_chunks;
use crate::projection::{AccountState, RichEntry, RichPage};

/// Version of the history layout; a projection written with another one is
/// refused so it is rebuilt from the log. Layout 2: per-account transfer
/// entries carry the account's figures, and stand in for the history row
/// of a block whose last change to the account was a transfer; an applied
/// `send` has no outcome row, its transfer row stands in for it. Layout 3:
/// the figures of a per-account transfer entry are varints. Layout 4: the
/// per-account transfer index keeps an account's entries in chunks
/// (`transfer_chunks`).
pub(crate) const HISTORY_LAYOUT: u32 = 4;

/// Most accounts a rich list as of a block reads (it holds them all in memory).
pub const MAX_HISTORICAL_RICHLIST_ACCOUNTS: usize = 100_000;

/// Most superseded rows one `apply` deletes; the rest go in later ones
/// (rows left over are harmless, only the horizon decides what is answered).
const PRUNE_BUDGET: usize = 20_000;

/// The token's totals after a block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) supply: u128,
    pub(crate) holders: u64,
}

const TOTALS_LEN: usize = 24;

fn encode_totals(t: &Totals) -> [u8; TOTALS_LEN] {
    let mut out = [0u8; TOTALS_LEN];
    out[..16].copy_from_slice(&t.supply.to_le_bytes());
    out[16..].copy_from_slice(&t.holders.to_le_bytes());
    out
}

fn decode_totals(bytes: &[u8]) -> Result<Totals, DecodeError> {
    let bytes: &[u8; TOTALS_LEN] = bytes
        .try_into()
        .map_err(|_| DecodeError("history totals length"))?;
    let (supply, holders) = bytes.split_at(16);
    Ok(Totals {
        supply: u128::from_le_bytes(supply.try_into().map_err(|_| DecodeError("supply"))?),
        holders: u64::from_le_bytes(holders.try_into().map_err(|_| DecodeError("holders"))?),
    })
}

/// `account \0 block BE`. Account names never hold a 0 byte, so the rows of
/// one account are contiguous and no name's rows sort inside another's.
fn history_key(out: &mut Vec<u8>, account: &str, block: BlockNum) {
    out.clear();
    out.extend_from_slice(account.as_bytes());
    out.push(0);
    out.extend_from_slice(&block.to_be_bytes());
}

/// The account and block of a `history` key.
fn decode_history_key(key: &[u8]) -> Result<(&str, BlockNum), DecodeError> {
    let split = key
        .len()
        .checked_sub(9)
        .ok_or(DecodeError("history key length"))?;
    let (name, rest) = key.split_at(split);
    if rest[0] != 0 {
        return Err(DecodeError("history key separator"));
    }
    let block = rest[1..]
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| DecodeError("history key block"))?;
    let name =
        std::str::from_utf8(name).map_err(|_| DecodeError("history account is not UTF-8"))?;
    Ok((name, block))
}

fn expiry_key(out: &mut Vec<u8>, superseded_at: BlockNum, account: &str, row: BlockNum) {
    out.clear();
    out.extend_from_slice(&superseded_at.to_be_bytes());
    history_key_append(out, account, row);
}

fn history_key_append(out: &mut Vec<u8>, account: &str, block: BlockNum) {
    out.extend_from_slice(account.as_bytes());
    out.push(0);
    out.extend_from_slice(&block.to_be_bytes());
}

/// An account's figures after one block of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryRow {
    /// The block.
    pub(crate) block: BlockNum,
    /// The figures after it.
    pub(crate) state: AccountState,
}

/// Notes `state` as `rows`' figures after `block`: rows come in block
/// order, and the last write within a block wins.
pub(crate) fn push_row(rows: &mut Vec<HistoryRow>, block: BlockNum, state: &AccountState) {
    match rows.last_mut() {
        Some(last) if last.block == block => last.state = *state,
        _ => rows.push(HistoryRow {
            block,
            state: *state,
        }),
    }
}

/// What [`HistoryBuffer::flush`] writes for one account: its name, its
/// rows (none for a block whose last change to it was a transfer) and the
/// block of its first transfer entry of the batch.
pub(crate) type AccountRows<'a> = (&'a str, &'a [HistoryRow], Option<BlockNum>);

/// The block the history of one write transaction is at, and its totals
/// rows (one per block, the last write wins). The account rows live with
/// the ledger's cached accounts (see [`push_row`]), which saves keeping a
/// second map keyed by name.
#[derive(Debug, Default)]
pub(crate) struct HistoryBuffer {
    block: BlockNum,
    /// The first block of the batch: the only one a batch before may have
    /// written rows of (when the log was cut inside it).
    first: Option<BlockNum>,
    totals: Vec<(BlockNum, Totals)>,
}

impl HistoryBuffer {
    pub(crate) fn set_block(&mut self, block: BlockNum) {
        self.block = block;
        self.first.get_or_insert(block);
    }

    /// The block the effects being applied belong to.
    pub(crate) fn block(&self) -> BlockNum {
        self.block
    }

    pub(crate) fn totals(&mut self, supply: u128, holders: u64) {
        let totals = Totals { supply, holders };
        match self.totals.last_mut() {
            Some((block, last)) if *block == self.block => *last = totals,
            _ => self.totals.push((self.block, totals)),
        }
    }

    /// Writes `accounts`' rows (accounts in name order, each one's rows in
    /// block order: key order), but for blocks whose last change to the
    /// account was a transfer, and the totals rows; with `expiry`, also
    /// notes which older row each new one supersedes. With a `journal`,
    /// rows the frame may overwrite (blocks it did not start) are noted first.
    pub(crate) fn flush<'a>(
        &mut self,
        txn: &mut RwTxn<'_>,
        dbs: &Dbs,
        path: &std::path::Path,
        expiry: bool,
        mut journal: Option<&mut FrameBuilder>,
        accounts: impl Iterator<Item = AccountRows<'a>> + Clone,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let mut key = Vec::with_capacity(64);
        let touched_through = journal.as_ref().map(|j| j.touched_through);
        // A batch before this one may have ended inside this batch's first
        // block and written a row of it for an account whose last change in
        // that block is now a transfer: the row goes, so what is stored does
        // not depend on where the log was cut into batches.
        if let Some(first) = self.first.take() {
            for (name, rows, first_entry) in accounts.clone() {
                let ends_with_transfer =
                    first_entry == Some(first) && rows.first().is_none_or(|r| r.block != first);
                if !ends_with_transfer {
                    continue;
                }
                history_key(&mut key, name, first);
                if dbs.history.get(txn, &key).map_err(lmdb)?.is_none() {
                    continue;
                }
                let overwrites = journal.as_ref().is_some_and(|j| first <= j.touched_through);
                // With retention, the row also noted the one it superseded;
                // that note goes too (the account's next row notes it again).
                if expiry {
                    if let Some(row) = previous_row(txn, dbs.history, &key, name, path)? {
                        let mut note = Vec::with_capacity(64);
                        expiry_key(&mut note, first, name, row);
                        if let Some(journal) = journal.as_deref_mut().filter(|_| overwrites) {
                            journal.record_current(txn, dbs, Table::HistoryExpiry, &note, path)?;
                        }
                        dbs.history_expiry.delete(txn, &note).map_err(lmdb)?;
                    }
                }
                if let Some(journal) = journal.as_deref_mut().filter(|_| overwrites) {
                    journal.record_current(txn, dbs, Table::History, &key, path)?;
                }
                dbs.history.delete(txn, &key).map_err(lmdb)?;
            }
        }
        // Everything that reads the history table comes before the first
        // row is written, so the rows can then go in through one cursor.
        // The rows of one account are distinct keys, and no other account's
        // rows change what an account's previous row is: the reads see what
        // they saw when they were interleaved with the puts.
        if expiry || touched_through.is_some() {
            for (name, rows, _) in accounts.clone() {
                note_superseded(txn, dbs, path, expiry, journal.as_deref_mut(), name, rows)?;
            }
        }
        let mut puts = CursorPuts::new(dbs.history, txn).map_err(lmdb)?;
        for (name, rows, _) in accounts {
            for row in rows {
                history_key(&mut key, name, row.block);
                puts.put(&key, &codec::encode_account(&row.state))
                    .map_err(lmdb)?;
            }
        }
        drop(puts);
        let totals = std::mem::take(&mut self.totals);
        if let Some(journal) = journal {
            for (block, _) in totals.iter().filter(|(b, _)| Some(*b) <= touched_through) {
                let key = block.to_be_bytes();
                journal.record_current(txn, dbs, Table::HistoryTotals, &key, path)?;
            }
        }
        let mut puts = CursorPuts::new(dbs.history_totals, txn).map_err(lmdb)?;
        for (block, totals) in totals {
            puts.put(&block.to_be_bytes(), &encode_totals(&totals))
                .map_err(lmdb)?;
        }
        Ok(())
    }
}

/// For one account's new rows: with `expiry`, notes the older row each
/// one supersedes; with a `journal`, records what the rows of blocks it
/// did not start (and their expiry notes) overwrite.
fn note_superseded(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &std::path::Path,
    expiry: bool,
    mut journal: Option<&mut FrameBuilder>,
    name: &str,
    rows: &[HistoryRow],
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let mut key = Vec::with_capacity(64);
    let mut other = Vec::with_capacity(64);
    let mut previous: Option<BlockNum> = None;
    for block in rows.iter().map(|r| &r.block) {
        let overwrites = journal
            .as_ref()
            .is_some_and(|j| *block <= j.touched_through);
        if !expiry && !overwrites {
            // Rows come in block order: the later ones overwrite nothing either.
            break;
        }
        history_key(&mut key, name, *block);
        if expiry {
            let superseded = match previous {
                Some(row) => Some(row),
                None => previous_row(txn, dbs.history, &key, name, path)?,
            };
            if let Some(row) = superseded {
                expiry_key(&mut other, *block, name, row);
                if let Some(journal) = journal.as_deref_mut().filter(|_| overwrites) {
                    journal.record_current(txn, dbs, Table::HistoryExpiry, &other, path)?;
                }
                dbs.history_expiry.put(txn, &other, &[]).map_err(lmdb)?;
            }
        }
        if let Some(journal) = journal.as_deref_mut().filter(|_| overwrites) {
            journal.record_current(txn, dbs, Table::History, &key, path)?;
        }
        previous = Some(*block);
    }
    Ok(())
}

/// The block of `name`'s last row strictly below `key` (its row at some block).
fn previous_row(
    txn: &RwTxn<'_>,
    db: Raw,
    key: &[u8],
    name: &str,
    path: &std::path::Path,
) -> Result<Option<BlockNum>, StateError> {
    let Some((found, _)) = db
        .get_lower_than(txn, key)
        .map_err(|e| StateError::lmdb(path, e))?
    else {
        return Ok(None);
    };
    let (found_name, block) =
        decode_history_key(found).map_err(|e| corrupt(path, "history key", e))?;
    Ok((found_name == name).then_some(block))
}

/// Deletes history no query at or above `horizon` needs: account rows
/// superseded at or below it (up to a budget) and totals rows older than
/// the newest one at or below it.
pub(crate) fn prune(
    txn: &mut RwTxn<'_>,
    dbs: &Dbs,
    path: &std::path::Path,
    horizon: BlockNum,
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let upper = horizon.checked_add(1).map(u64::to_be_bytes);
    let range: (Bound<&[u8]>, Bound<&[u8]>) = match &upper {
        Some(upper) => (Bound::Unbounded, Bound::Excluded(upper.as_slice())),
        None => (Bound::Unbounded, Bound::Unbounded),
    };
    let mut expired: Vec<Vec<u8>> = Vec::new();
    for entry in dbs.history_expiry.range(txn, &range).map_err(lmdb)? {
        let (key, _) = entry.map_err(lmdb)?;
        expired.push(key.to_vec());
        if expired.len() >= PRUNE_BUDGET {
            break;
        }
    }
    for key in &expired {
        let row = key
            .get(8..)
            .ok_or_else(|| corrupt(path, "history expiry key", DecodeError("length")))?;
        dbs.history.delete(txn, row).map_err(lmdb)?;
        dbs.history_expiry.delete(txn, key).map_err(lmdb)?;
    }
    let newest = dbs
        .history_totals
        .get_lower_than_or_equal_to(txn, &horizon.to_be_bytes())
        .map_err(lmdb)?
        .map(|(key, _)| key.to_vec());
    if let Some(newest) = newest {
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Unbounded, Bound::Excluded(&newest));
        dbs.history_totals.delete_range(txn, &range).map_err(lmdb)?;
    }
    Ok(())
}

/// A key and its value, as read.
type Row<'a> = (&'a [u8], &'a [u8]);

impl Reader<'_> {
    /// `name`'s figures after block `block` (zeros if it had none then):
    /// the later of its last history row and its last per-account transfer
    /// entry at or below the block. A block has both only when the
    /// account's last change in it was not a transfer; the row wins then.
    pub(crate) fn account_at(
        &self,
        name: &str,
        block: BlockNum,
    ) -> Result<AccountState, StateError> {
        let row = self.last_row_at(name, block)?;
        let entry = self.last_entry_at(name, block)?;
        Ok(match (row, entry) {
            (Some((row_block, _)), Some((entry_block, state))) if entry_block > row_block => state,
            (Some((_, state)), _) | (None, Some((_, state))) => state,
            (None, None) => AccountState::default(),
        })
    }

    /// `name`'s last history row at or below `block`.
    fn last_row_at(
        &self,
        name: &str,
        block: BlockNum,
    ) -> Result<Option<(BlockNum, AccountState)>, StateError> {
        let mut key = Vec::with_capacity(name.len() + 9);
        history_key(&mut key, name, block);
        let Some((found_key, value)) = self.last_at_or_below(self.dbs.history, &key)? else {
            return Ok(None);
        };
        let (found_name, found_block) =
            decode_history_key(found_key).map_err(|e| corrupt(self.path, "history key", e))?;
        if found_name != name {
            return Ok(None);
        }
        let state =
            codec::decode_account(value).map_err(|e| corrupt(self.path, "history record", e))?;
        Ok(Some((found_block, state)))
    }

    /// `name`'s last per-account transfer entry at or below `block`, with
    /// the figures it carries.
    fn last_entry_at(
        &self,
        name: &str,
        block: BlockNum,
    ) -> Result<Option<(BlockNum, AccountState)>, StateError> {
        let target = codec::transfer_key(block, u32::MAX, u32::MAX);
        let found = transfer_chunks::last_at_or_below(
            self.txn,
            self.dbs.account_transfers,
            self.path,
            name,
            &target,
        )?;
        Ok(found.map(|entry| (entry.block(), entry.state)))
    }

    /// The last row (key, value) of `db` at or below `key`.
    fn last_at_or_below(&self, db: Raw, key: &[u8]) -> Result<Option<Row<'_>>, StateError> {
        match db.get_lower_than_or_equal_to(self.txn, key) {
            Ok(found) => Ok(found),
            // A name LMDB cannot even look up (longer than a key may be) is unknown.
            Err(heed::Error::Mdb(heed::MdbError::BadValSize)) => Ok(None),
            Err(e) => Err(StateError::lmdb(self.path, e)),
        }
    }

    /// Adds the account names of `db` (keys `account \0 ...`) to `names`,
    /// one seek per account; refuses more than
    /// [`MAX_HISTORICAL_RICHLIST_ACCOUNTS`] names in all.
    fn names_in(
        &self,
        db: Raw,
        what: &str,
        names: &mut std::collections::BTreeSet<String>,
        name_of: impl Fn(&[u8]) -> Result<&str, DecodeError>,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(self.path, e);
        let mut seek: Vec<u8> = Vec::new();
        loop {
            // LMDB refuses an empty key: the first seek is `first`.
            let next = if seek.is_empty() {
                db.first(self.txn)
            } else {
                db.get_greater_than_or_equal_to(self.txn, &seek)
            }
            .map_err(lmdb)?;
            let Some((key, _)) = next else {
                return Ok(());
            };
            let name = name_of(key).map_err(|e| corrupt(self.path, what, e))?;
            if !names.contains(name) {
                if names.len() >= MAX_HISTORICAL_RICHLIST_ACCOUNTS {
                    return Err(StateError::Unsupported(format!(
                        "a rich list as of a block reads every account and this token has more \
                         than {MAX_HISTORICAL_RICHLIST_ACCOUNTS}; ask for accounts one by one"
                    )));
                }
                names.insert(name.to_string());
            }
            // Past every key of `name`: its separator 0 becomes 1.
            seek.clear();
            seek.extend_from_slice(name.as_bytes());
            seek.push(1);
        }
    }

    /// The totals after block `block`.
    pub(crate) fn totals_at(&self, block: BlockNum) -> Result<Totals, StateError> {
        let found = self
            .dbs
            .history_totals
            .get_lower_than_or_equal_to(self.txn, &block.to_be_bytes())
            .map_err(|e| StateError::lmdb(self.path, e))?;
        match found {
            Some((_, value)) => {
                decode_totals(value).map_err(|e| corrupt(self.path, "history totals", e))
            }
            None => Ok(Totals::default()),
        }
    }

    /// The rich list after block `block`: one seek per account that has
    /// history, all of them sorted in memory, so it is refused for tokens
    /// with more than [`MAX_HISTORICAL_RICHLIST_ACCOUNTS`] accounts.
    pub(crate) fn richlist_at(
        &self,
        block: BlockNum,
        limit: usize,
        after: Option<&str>,
    ) -> Result<RichPage, StateError> {
        let after = match after {
            None => None,
            Some(text) => {
                let key = hex::decode(text).ok().filter(|key| {
                    key.len() > 16 && codec::decode_rich_key(key).is_ok_and(is_valid_account)
                });
                Some(key.ok_or_else(|| {
                    StateError::InvalidArgument(format!(
                        "`{text}` is not a cursor this API gave out"
                    ))
                })?)
            }
        };
        // Every account with history has a history row or a transfer entry.
        let mut names = std::collections::BTreeSet::new();
        self.names_in(self.dbs.history, "history key", &mut names, |key| {
            decode_history_key(key).map(|(name, _)| name)
        })?;
        self.names_in(
            self.dbs.account_transfers,
            "account transfer key",
            &mut names,
            |key| codec::decode_account_transfer_key(key).map(|(name, _)| name),
        )?;
        let mut holders: Vec<(Vec<u8>, RichEntry)> = Vec::new();
        for name in names {
            let state = self.account_at(&name, block)?;
            if holding(&state) > 0 {
                let mut rich = Vec::new();
                codec::rich_key(&mut rich, holding(&state), &name);
                holders.push((
                    rich,
                    RichEntry {
                        account: name,
                        state,
                    },
                ));
            }
        }
        holders.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let start = match &after {
            Some(after) => holders.partition_point(|(key, _)| key <= after),
            None => 0,
        };
        let rest = holders.get(start..).unwrap_or_default();
        let page: Vec<_> = rest.iter().take(limit).collect();
        let next = (rest.len() > page.len() && !page.is_empty())
            .then(|| page.last().map(|(key, _)| hex::encode(key)))
            .flatten();
        Ok(RichPage {
            entries: page.into_iter().map(|(_, e)| e.clone()).collect(),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_of_one_account_are_contiguous_and_by_block() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        history_key(&mut a, "ab", u64::MAX);
        history_key(&mut b, "abc", 0);
        history_key(&mut c, "abc", 256);
        assert!(a < b && b < c);
        assert_eq!(decode_history_key(&c), Ok(("abc", 256)));
        assert!(decode_history_key(&c[..8]).is_err());
    }

    fn rows(p: &crate::Projection) -> (u64, u64, u64) {
        let inner = &*p.inner;
        let txn = inner.env.read_txn().expect("read txn");
        let count = |db: Raw| db.len(&txn).expect("count");
        (
            count(inner.dbs.history),
            count(inner.dbs.history_totals),
            count(inner.dbs.history_expiry),
        )
    }

    /// 200 blocks, in batches of 40: in each, alice (even blocks) or bob
    /// (odd ones) sends 1 unit to the other, or powers 1 unit up.
    fn ping_pong(p: &crate::Projection, op: &str) {
        use crate::block::BlockRef;
        use crate::log::LogRecord;
        use crate::op::TokenOp;
        let mut records = Vec::new();
        for block in 1..=200u64 {
            let (from, to) = if block % 2 == 0 {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            records.push(LogRecord::Op(TokenOp {
                block,
                trx_index: 0,
                op_index: 0,
                trx_id: format!("{block:040x}"),
                timestamp: "2025-01-01T00:00:00".into(),
                name: op.into(),
                required_auths: vec![from.into()],
                required_posting_auths: vec![],
                json: format!("{{\"to\":\"{to}\",\"amount\":1}}"),
            }));
            records.push(LogRecord::BlockEnd(BlockRef {
                num: block,
                id: format!("{block:08x}{}", "00".repeat(16)),
                timestamp: "2025-01-01T00:00:00".into(),
            }));
            if block % 40 == 0 {
                let len = records.len() as u64;
                p.apply(&records, len).expect("applies");
                records.clear();
            }
        }
    }

    fn two_accounts() -> crate::TokenConfig {
        let mut config = crate::token::preset("LARYNX").expect("preset");
        config.start_block = 1;
        config.genesis.balances.insert("alice".into(), 100);
        config.genesis.balances.insert("bob".into(), 100);
        config
    }

    #[test]
    fn transfer_entries_stand_in_for_the_history_rows_of_their_blocks() {
        let dir = tempfile::tempdir().expect("dir");
        let p = crate::Projection::open(dir.path(), &two_accounts()).expect("opens");
        ping_pong(&p, "send");
        // only the genesis rows: every later change was a transfer
        assert_eq!(rows(&p), (2, 201, 0));
        for block in 0..=200u64 {
            // bob sends in odd blocks, alice in even ones
            let alice = if block % 2 == 1 { 101 } else { 100 };
            let at = |name| p.account_at(name, block).expect("as of").balance;
            assert_eq!(
                (at("alice"), at("bob")),
                (alice, 200 - alice),
                "block {block}"
            );
        }
    }

    fn op(block: u64, op_index: u32, name: &str, from: &str, json: &str) -> crate::log::LogRecord {
        crate::log::LogRecord::Op(crate::op::TokenOp {
            block,
            trx_index: 0,
            op_index,
            trx_id: format!("{block:040x}"),
            timestamp: "2025-01-01T00:00:00".into(),
            name: name.into(),
            required_auths: vec![from.into()],
            required_posting_auths: vec![],
            json: json.into(),
        })
    }

    fn block_end(block: u64) -> crate::log::LogRecord {
        crate::log::LogRecord::BlockEnd(crate::block::BlockRef {
            num: block,
            id: format!("{block:08x}{}", "00".repeat(16)),
            timestamp: "2025-01-01T00:00:00".into(),
        })
    }

    #[test]
    fn a_block_cut_between_batches_stores_what_one_batch_would() {
        let send = r#"{"to":"bob","amount":1}"#;
        let up = r#"{"amount":1}"#;
        // alice's last change in block 1 is a transfer, then a power-up
        let logs = [
            vec![
                op(1, 0, "power_up", "alice", up),
                op(1, 1, "send", "alice", send),
            ],
            vec![
                op(1, 0, "send", "alice", send),
                op(1, 1, "power_up", "alice", up),
            ],
        ];
        let cases = logs
            .into_iter()
            .flat_map(|ops| [(ops.clone(), None), (ops, Some(1000))])
            .enumerate();
        for (case, (first_ops, history_blocks)) in cases {
            let mut records = first_ops;
            records.push(block_end(1));
            records.push(op(2, 0, "send", "bob", r#"{"to":"alice","amount":1}"#));
            records.push(block_end(2));
            let (one_dir, cut_dir) = (
                tempfile::tempdir().expect("dir"),
                tempfile::tempdir().expect("dir"),
            );
            // with retention, the expiry notes must agree as well
            let options = crate::projection::ProjectionOptions {
                history_blocks,
                ..Default::default()
            };
            let open = |dir: &std::path::Path| {
                crate::Projection::open_with(dir, &two_accounts(), &options).expect("opens")
            };
            let (one, cut) = (open(one_dir.path()), open(cut_dir.path()));
            one.apply(&records, records.len() as u64).expect("applies");
            cut.apply(&records[..1], 1).expect("applies");
            cut.apply(&records[1..], records.len() as u64)
                .expect("applies");
            assert_eq!(
                cut.raw_tables().expect("tables"),
                one.raw_tables().expect("tables"),
                "case {case}"
            );
            // a row for alice at block 1 only when her last change there was a power-up
            assert_eq!(rows(&one).0, 2 + (case / 2) as u64, "case {case}");
            for p in [&one, &cut] {
                let alice = p.account_at("alice", 1).expect("as of");
                assert_eq!((alice.balance, alice.power), (98, 1), "case {case}");
                assert_eq!(p.account_at("bob", 1).expect("as of").balance, 101);
                assert_eq!(p.account_at("alice", 2).expect("as of").balance, 99);
            }
        }
    }

    #[test]
    fn retention_deletes_superseded_rows_and_keeps_the_horizon_answerable() {
        let config = two_accounts();
        let (all_dir, kept_dir) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let all = crate::Projection::open(all_dir.path(), &config).expect("opens");
        let options = crate::projection::ProjectionOptions {
            history_blocks: Some(10),
            ..Default::default()
        };
        let kept = crate::Projection::open_with(kept_dir.path(), &config, &options).expect("opens");
        ping_pong(&all, "power_up");
        ping_pong(&kept, "power_up");
        // genesis and one row a block, no expiry index without retention
        assert_eq!(rows(&all), (2 + 200, 201, 0));
        // the horizon is 190: alice's rows at 190..=200 (even blocks), bob's
        // at 189..=199 (odd ones, the one at 189 answers for 190), and the
        // expiry entries that wait for the rows above 190
        assert_eq!(rows(&kept), (12, 11, 10));
        for p in [&all, &kept] {
            for name in ["alice", "bob"] {
                assert_eq!(
                    p.account_at(name, 190).expect("at horizon"),
                    all.account_at(name, 190).expect("all")
                );
            }
            assert_eq!(p.supply_at(190).expect("supply"), (200, 2));
        }
        assert_eq!(all.account_at("alice", 190).expect("as of").power, 95);
    }

    #[test]
    fn totals_round_trip() {
        let t = Totals {
            supply: u128::from(u64::MAX) * 5,
            holders: 7,
        };
        assert_eq!(decode_totals(&encode_totals(&t)), Ok(t));
        assert!(decode_totals(&[0; 23]).is_err());
    }
}
