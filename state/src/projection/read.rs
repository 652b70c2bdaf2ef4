//! Queries over one read transaction: transfers, the rich list, outcomes.
//!
//! Page cursors are the hex of the last returned entry's key, so a page
//! continues exactly after the previous one even while new data commits.

use std::ops::Bound;
use std::path::Path;

use heed::RoTxn;

use crate::account::is_valid_account;
use crate::error::StateError;
use crate::projection::codec::{self, DecodeError, TRANSFER_KEY_LEN};
use crate::projection::env::{Dbs, Raw};
use crate::projection::transfer_chunks;
use crate::projection::{OpOutcome, RichEntry, RichPage, Transfer, TransferPage, TransferQuery};

/// The longest page we ever build in memory before trimming; callers cap
/// `limit` anyway, this only bounds the first allocation.
const MAX_PREALLOC: usize = 1024;

pub(crate) struct Reader<'a> {
    pub(crate) txn: &'a RoTxn<'a>,
    pub(crate) dbs: &'a Dbs,
    pub(crate) path: &'a Path,
}

fn bad_cursor(what: &str) -> StateError {
    StateError::InvalidArgument(format!("`{what}` is not a cursor this API gave out"))
}

impl Reader<'_> {
    fn lmdb(&self, e: heed::Error) -> StateError {
        StateError::lmdb(self.path, e)
    }

    fn corrupt(&self, what: &str, e: DecodeError) -> StateError {
        codec::corrupt(self.path, what, e)
    }

    pub(crate) fn transfers(&self, query: &TransferQuery) -> Result<TransferPage, StateError> {
        let empty = TransferPage {
            transfers: Vec::new(),
            next: None,
        };
        let cursor = match &query.cursor {
            None => None,
            Some(text) => {
                let mut key = [0u8; TRANSFER_KEY_LEN];
                hex::decode_to_slice(text, &mut key).map_err(|_| bad_cursor(text))?;
                Some(key)
            }
        };
        let low = codec::transfer_key(query.from_block.unwrap_or(0), 0, 0);
        let mut high = codec::transfer_key(query.to_block.unwrap_or(u64::MAX), u32::MAX, u32::MAX);
        let mut high_inclusive = true;
        if let Some(cursor) = cursor.filter(|c| *c <= high) {
            high = cursor;
            high_inclusive = false;
        }
        let names = [&query.account, &query.from, &query.to];
        if query.limit == 0
            || low > high
            || names
                .iter()
                .any(|n| n.as_deref().is_some_and(|n| !is_valid_account(n)))
        {
            return Ok(empty);
        }
        let wanted = query.limit.saturating_add(1);
        let mut found: Vec<([u8; TRANSFER_KEY_LEN], Transfer)> =
            Vec::with_capacity(wanted.min(MAX_PREALLOC));
        let upper = |key: &[u8]| {
            if high_inclusive {
                Bound::Included(key.to_vec())
            } else {
                Bound::Excluded(key.to_vec())
            }
        };

        // Scan one account's index when any account filter is set, else every transfer.
        let indexed = query
            .from
            .as_deref()
            .map(|a| (a, Some(codec::SENT)))
            .or_else(|| query.to.as_deref().map(|a| (a, Some(codec::RECEIVED))))
            .or_else(|| query.account.as_deref().map(|a| (a, None)));
        match indexed {
            None => {
                let range = (Bound::Included(low.to_vec()), upper(&high));
                let range = (as_slice(&range.0), as_slice(&range.1));
                let iter = self
                    .dbs
                    .transfers
                    .rev_range(self.txn, &range)
                    .map_err(|e| self.lmdb(e))?;
                for entry in iter {
                    let (key, value) = entry.map_err(|e| self.lmdb(e))?;
                    let transfer = self.decode_transfer(key, value)?;
                    found.push((transfer_key_array(key), transfer));
                    if found.len() >= wanted {
                        break;
                    }
                }
            }
            Some((account, direction)) => {
                // A chunk that starts below `low` may still hold entries
                // from `low` on, so the scan starts at the account's first.
                let mut from_key = Vec::new();
                let mut to_key = Vec::new();
                transfer_chunks::start_of_account(&mut from_key, account);
                codec::account_transfer_key(&mut to_key, account, &high);
                let range = (Bound::Included(from_key), upper(&to_key));
                let range = (as_slice(&range.0), as_slice(&range.1));
                let iter = self
                    .dbs
                    .account_transfers
                    .rev_range(self.txn, &range)
                    .map_err(|e| self.lmdb(e))?;
                let mut chunk = Vec::with_capacity(transfer_chunks::CHUNK_ENTRIES);
                'chunks: for row in iter {
                    let (key, value) = row.map_err(|e| self.lmdb(e))?;
                    transfer_chunks::read_chunk(self.path, key, value, &mut chunk)?;
                    for entry in chunk.iter().rev() {
                        let below_high = if high_inclusive {
                            entry.key <= high
                        } else {
                            entry.key < high
                        };
                        if !below_high {
                            continue;
                        }
                        if entry.key < low {
                            break 'chunks;
                        }
                        if direction.is_some_and(|d| entry.direction != d) {
                            continue;
                        }
                        let key = &entry.key[..];
                        let Some(value) = self
                            .dbs
                            .transfers
                            .get(self.txn, key)
                            .map_err(|e| self.lmdb(e))?
                        else {
                            return Err(self.corrupt(
                                "account transfer index",
                                DecodeError("points at no transfer"),
                            ));
                        };
                        let transfer = self.decode_transfer(key, value)?;
                        if !matches(query, &transfer) {
                            continue;
                        }
                        found.push((entry.key, transfer));
                        if found.len() >= wanted {
                            break 'chunks;
                        }
                    }
                }
            }
        }
        let next = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|(key, _)| hex::encode(key))
        } else {
            None
        };
        Ok(TransferPage {
            transfers: found.into_iter().map(|(_, t)| t).collect(),
            next,
        })
    }

    fn decode_transfer(&self, key: &[u8], value: &[u8]) -> Result<Transfer, StateError> {
        let (block, trx_index, op_index) =
            codec::decode_transfer_key(key).map_err(|e| self.corrupt("transfer key", e))?;
        let v = codec::decode_transfer(value).map_err(|e| self.corrupt("transfer record", e))?;
        Ok(Transfer {
            block,
            trx_id: v.trx_id,
            trx_index,
            op_index,
            from: v.from.to_string(),
            to: v.to.to_string(),
            amount: v.amount,
            memo: v.memo.to_string(),
            timestamp: v.timestamp.to_string(),
        })
    }

    pub(crate) fn richlist(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<RichPage, StateError> {
        let after = match after {
            None => None,
            Some(text) => {
                let key = hex::decode(text).map_err(|_| bad_cursor(text))?;
                let valid = codec::decode_rich_key(&key).is_ok_and(is_valid_account);
                if key.len() <= 16 || !valid {
                    return Err(bad_cursor(text));
                }
                Some(key)
            }
        };
        self.account_page(self.dbs.rich, limit, after.as_deref(), "rich-list", |key| {
            codec::decode_rich_key(key)
                .map(str::to_string)
                .map_err(|e| self.corrupt("rich-list key", e))
        })
    }

    pub(crate) fn accounts_by_name(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<RichPage, StateError> {
        let after = match after {
            None => None,
            Some(text) => Some(hex::decode(text).map_err(|_| bad_cursor(text))?),
        };
        self.account_page(
            self.dbs.accounts,
            limit,
            after.as_deref(),
            "account",
            |key| {
                std::str::from_utf8(key)
                    .map(str::to_string)
                    .map_err(|_| self.corrupt("account key", DecodeError("not UTF-8")))
            },
        )
    }

    /// One page of account records of `db` after the key `after`; `next`
    /// is the hex of the page's last key when more follow.
    fn account_page(
        &self,
        db: Raw,
        limit: usize,
        after: Option<&[u8]>,
        what: &str,
        account_of: impl Fn(&[u8]) -> Result<String, StateError>,
    ) -> Result<RichPage, StateError> {
        let range: (Bound<&[u8]>, Bound<&[u8]>) = match after {
            Some(key) => (Bound::Excluded(key), Bound::Unbounded),
            None => (Bound::Unbounded, Bound::Unbounded),
        };
        let mut entries = Vec::with_capacity(limit.min(MAX_PREALLOC));
        let mut last_key = Vec::new();
        let mut more = false;
        if limit > 0 {
            for entry in db.range(self.txn, &range).map_err(|e| self.lmdb(e))? {
                let (key, value) = entry.map_err(|e| self.lmdb(e))?;
                if entries.len() == limit {
                    more = true;
                    break;
                }
                let account = account_of(key)?;
                let state = codec::decode_account(value)
                    .map_err(|e| self.corrupt(&format!("{what} record"), e))?;
                entries.push(RichEntry { account, state });
                last_key.clear();
                last_key.extend_from_slice(key);
            }
        }
        Ok(RichPage {
            entries,
            next: more.then(|| hex::encode(&last_key)),
        })
    }

    pub(crate) fn ops(&self, trx_id: &str) -> Result<Vec<OpOutcome>, StateError> {
        // Hive prints ids in lowercase; accept any case for a 40-hex id.
        let normalized;
        let trx_id = if trx_id.len() == 40 && trx_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            normalized = trx_id.to_ascii_lowercase();
            normalized.as_str()
        } else {
            trx_id
        };
        let mut key = Vec::new();
        codec::trx_key(&mut key, trx_id);
        let mut out = Vec::new();
        let position = match self.dbs.trxs.get(self.txn, &key) {
            Ok(Some(position)) => position,
            Ok(None) | Err(heed::Error::Mdb(heed::MdbError::BadValSize)) => return Ok(out),
            Err(e) => return Err(self.lmdb(e)),
        };
        let (Some(block), Some(trx_index)) = (position.get(..8), position.get(8..12)) else {
            return Err(self.corrupt("transaction index", DecodeError("position length")));
        };
        let mut low = [0u8; TRANSFER_KEY_LEN];
        low[..8].copy_from_slice(block);
        low[8..12].copy_from_slice(trx_index);
        let mut high = low;
        high[12..].copy_from_slice(&u32::MAX.to_be_bytes());
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&low), Bound::Included(&high));
        type Decode = fn(&[u8], &[u8]) -> Result<OpOutcome, DecodeError>;
        // Applied sends have no outcome row: their transfer row is it.
        let tables: [(_, Decode, _); 2] = [
            (self.dbs.outcomes, codec::decode_outcome, "outcome record"),
            (
                self.dbs.transfers,
                codec::outcome_of_transfer,
                "transfer record",
            ),
        ];
        for (db, decode, what) in tables {
            for entry in db.range(self.txn, &range).map_err(|e| self.lmdb(e))? {
                let (key, value) = entry.map_err(|e| self.lmdb(e))?;
                out.push(decode(key, value).map_err(|e| self.corrupt(what, e))?);
            }
        }
        // A hashed (over-long) id could in theory collide: check the id itself.
        out.retain(|outcome| outcome.trx_id == trx_id);
        out.sort_unstable_by_key(|outcome| outcome.op_index);
        Ok(out)
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn transfer_key_array(key: &[u8]) -> [u8; TRANSFER_KEY_LEN] {
    let mut out = [0u8; TRANSFER_KEY_LEN];
    if let Some(src) = key.get(..TRANSFER_KEY_LEN) {
        out.copy_from_slice(src);
    }
    out
}

/// Every account filter of `query` holds for `t`.
fn matches(query: &TransferQuery, t: &Transfer) -> bool {
    query.from.as_ref().is_none_or(|f| *f == t.from)
        && query.to.as_ref().is_none_or(|to| *to == t.to)
        && query
            .account
            .as_ref()
            .is_none_or(|a| *a == t.from || *a == t.to)
}
