//! The history index: every account's figures and the token's totals as
//! they were after each block that changed them, for queries "as of block N".
//!
//! Three databases, written by the same write transaction as the effects
//! (so a checkpoint or a rollback carries history with the state, and a
//! replay of the log rebuilds it exactly):
//!
//! - `history`: `account \0 block BE` -> the account's figures after that
//!   block (the `accounts` layout). The genesis is block 0.
//! - `history_totals`: `block BE` -> supply u128 LE, holders u64 LE.
//! - `history_expiry` (only while retention is on): `B BE || account \0 P BE`
//!   -> (): the row of `account` at block P is superseded by its row at B,
//!   so it may go once the horizon reaches B.
//!
//! A read as of N is the last row at or below N: one B-tree seek.

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
use crate::projection::{AccountState, RichEntry, RichPage};

/// Version of the history layout; a projection written with another one is
/// refused so it is rebuilt from the log.
pub(crate) const HISTORY_LAYOUT: u32 = 1;

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

/// Notes `state` as `rows`' figures after `block`: rows come in block
/// order, and the last write within a block wins.
pub(crate) fn push_row(
    rows: &mut Vec<(BlockNum, AccountState)>,
    block: BlockNum,
    state: &AccountState,
) {
    match rows.last_mut() {
        Some((last, figures)) if *last == block => *figures = *state,
        _ => rows.push((block, *state)),
    }
}

/// The block the history of one write transaction is at, and its totals
/// rows (one per block, the last write wins). The account rows live with
/// the ledger's cached accounts (see [`push_row`]), which saves keeping a
/// second map keyed by name.
#[derive(Debug, Default)]
pub(crate) struct HistoryBuffer {
    block: BlockNum,
    totals: Vec<(BlockNum, Totals)>,
}

impl HistoryBuffer {
    pub(crate) fn set_block(&mut self, block: BlockNum) {
        self.block = block;
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
    /// block order: key order) and the totals rows; with `expiry`, also
    /// notes which older row each new one supersedes. With a `journal`,
    /// rows the frame may overwrite (blocks it did not start) are noted first.
    pub(crate) fn flush<'a>(
        &mut self,
        txn: &mut RwTxn<'_>,
        dbs: &Dbs,
        path: &std::path::Path,
        expiry: bool,
        mut journal: Option<&mut FrameBuilder>,
        accounts: impl Iterator<Item = (&'a str, &'a [(BlockNum, AccountState)])> + Clone,
    ) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(path, e);
        let mut key = Vec::with_capacity(64);
        // Everything that reads the history table comes before the first
        // row is written, so the rows can then go in through one cursor.
        // The rows of one account are distinct keys, and no other account's
        // rows change what an account's previous row is: the reads see what
        // they saw when they were interleaved with the puts.
        let touched_through = journal.as_ref().map(|j| j.touched_through);
        if expiry || touched_through.is_some() {
            for (name, rows) in accounts.clone() {
                note_superseded(txn, dbs, path, expiry, journal.as_deref_mut(), name, rows)?;
            }
        }
        let mut puts = CursorPuts::new(dbs.history, txn).map_err(lmdb)?;
        for (name, rows) in accounts {
            for (block, state) in rows {
                history_key(&mut key, name, *block);
                puts.put(&key, &codec::encode_account(state))
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
    rows: &[(BlockNum, AccountState)],
) -> Result<(), StateError> {
    let lmdb = |e| StateError::lmdb(path, e);
    let mut key = Vec::with_capacity(64);
    let mut other = Vec::with_capacity(64);
    let mut previous: Option<BlockNum> = None;
    for (block, _) in rows {
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

impl Reader<'_> {
    /// `name`'s figures after block `block` (zeros if it had none then).
    pub(crate) fn account_at(
        &self,
        name: &str,
        block: BlockNum,
    ) -> Result<AccountState, StateError> {
        let mut key = Vec::with_capacity(name.len() + 9);
        history_key(&mut key, name, block);
        let found = match self.dbs.history.get_lower_than_or_equal_to(self.txn, &key) {
            Ok(found) => found,
            // A name LMDB cannot even look up (longer than a key may be) is unknown.
            Err(heed::Error::Mdb(heed::MdbError::BadValSize)) => None,
            Err(e) => return Err(StateError::lmdb(self.path, e)),
        };
        let Some((found_key, value)) = found else {
            return Ok(AccountState::default());
        };
        let (found_name, _) =
            decode_history_key(found_key).map_err(|e| corrupt(self.path, "history key", e))?;
        if found_name != name {
            return Ok(AccountState::default());
        }
        codec::decode_account(value).map_err(|e| corrupt(self.path, "history record", e))
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
        let lmdb = |e| StateError::lmdb(self.path, e);
        let mut holders: Vec<(Vec<u8>, RichEntry)> = Vec::new();
        let mut seek: Vec<u8> = Vec::new();
        let mut seen = 0usize;
        loop {
            // LMDB refuses an empty key: the first seek is `first`.
            let next = if seek.is_empty() {
                self.dbs.history.first(self.txn)
            } else {
                self.dbs
                    .history
                    .get_greater_than_or_equal_to(self.txn, &seek)
            }
            .map_err(lmdb)?;
            let Some((key, _)) = next else { break };
            let (name, _) =
                decode_history_key(key).map_err(|e| corrupt(self.path, "history key", e))?;
            seen += 1;
            if seen > MAX_HISTORICAL_RICHLIST_ACCOUNTS {
                return Err(StateError::Unsupported(format!(
                    "a rich list as of a block reads every account and this token has more \
                     than {MAX_HISTORICAL_RICHLIST_ACCOUNTS}; ask for accounts one by one"
                )));
            }
            let name = name.to_string();
            let state = self.account_at(&name, block)?;
            if holding(&state) > 0 {
                let mut rich = Vec::new();
                codec::rich_key(&mut rich, holding(&state), &name);
                holders.push((
                    rich,
                    RichEntry {
                        account: name.clone(),
                        state,
                    },
                ));
            }
            // Past every row of `name`: its separator 0 becomes 1.
            seek.clear();
            seek.extend_from_slice(name.as_bytes());
            seek.push(1);
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

    /// 200 blocks, each moving 1 unit between alice and bob.
    fn ping_pong(p: &crate::Projection) {
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
                name: "send".into(),
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

    #[test]
    fn retention_deletes_superseded_rows_and_keeps_the_horizon_answerable() {
        let mut config = crate::token::preset("LARYNX").expect("preset");
        config.start_block = 1;
        config.genesis.balances.insert("alice".into(), 100);
        config.genesis.balances.insert("bob".into(), 100);
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
        ping_pong(&all);
        ping_pong(&kept);
        // genesis and 200 blocks of two accounts, no expiry index without retention
        assert_eq!(rows(&all), (2 + 400, 201, 0));
        // the horizon is 190: rows at 190..=200 and the expiry entries that wait for them
        let (history, totals, expiry) = rows(&kept);
        assert_eq!((history, totals), (22, 11));
        assert_eq!(expiry, 20);
        for p in [&all, &kept] {
            assert_eq!(
                p.account_at("alice", 190).expect("at horizon"),
                all.account_at("alice", 190).expect("all")
            );
            assert_eq!(p.supply_at(190).expect("supply"), (200, 2));
        }
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
