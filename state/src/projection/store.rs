//! The contract's [`Ledger`] over one LMDB write transaction.
//!
//! Accounts are cached for the length of the transaction and written back
//! once, with their rich-list entry, by [`LmdbLedger::flush`]: an account
//! touched by many operations of a batch costs one write. Each cached
//! account also carries its history rows and its per-account transfer index
//! entries, which arrive in chain order and so come out in key order
//! without a sort. The transaction index (which the contract never reads
//! back) is buffered and sorted at the flush. Sorted puts walk the B-tree
//! along hot pages instead of jumping to a random leaf each time.
//! What ends up on disk depends only on what was written, never on the order
//! of writes. Every account change also goes to the history index, keyed by
//! the block the engine says the effects belong to.

use std::collections::HashMap;
use std::path::Path;

use heed::{PutFlags, RwTxn};

use crate::block::BlockNum;
use crate::contract::books::{holding, is_empty};
use crate::contract::{Ledger, Outcome, PowerDown, TransferRecord};
use crate::error::StateError;
use crate::op::TokenOp;
use crate::projection::codec::{self, DecodeError, StoredTrxId};
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::env::Dbs;
use crate::projection::history::{push_row, HistoryBuffer};
use crate::projection::journal::{FrameBuilder, Table};
use crate::projection::stored;
use crate::projection::AccountState;

#[derive(Debug, Clone)]
struct Cached {
    stored: AccountState,
    current: AccountState,
    /// Written by the contract (and so in the history and the journal).
    touched: bool,
    /// The figures after each block of this transaction that wrote them:
    /// the account's history rows, kept here rather than in a map of their
    /// own so a write costs one lookup.
    rows: Vec<(BlockNum, AccountState)>,
    /// The account's entries in the per-account transfer index (transfer
    /// key, direction), in chain order: kept per account, they come out in
    /// key order without a sort.
    transfers: Vec<([u8; codec::TRANSFER_KEY_LEN], u8)>,
}

pub(crate) struct LmdbLedger<'t, 'e> {
    txn: &'t mut RwTxn<'e>,
    dbs: &'t Dbs,
    path: &'t Path,
    cache: HashMap<String, Cached, foldhash::fast::RandomState>,
    trxs: Deferred,
    last_trx: Option<[u8; 12]>,
    history: HistoryBuffer,
    /// Whether history rows note what they supersede (retention is on).
    history_expiry: bool,
    /// The undo journal frame of this transaction (none for the genesis).
    journal: Option<FrameBuilder>,
    /// The last trx id given a stored form, and its bytes if hex.
    last_trx_id: (String, Option<[u8; 20]>),
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Key-value pairs kept in one buffer until they are written in key order.
#[derive(Default)]
struct Deferred {
    bytes: Vec<u8>,
    /// (start in `bytes`, key length, value length)
    entries: Vec<(usize, usize, usize)>,
}

impl Deferred {
    fn push(&mut self, key: &[u8], value: &[u8]) {
        self.entries
            .push((self.bytes.len(), key.len(), value.len()));
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
    }

    /// The pairs in key order; a later pair for the same key comes after an earlier one.
    fn sorted(&mut self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.sort();
        self.pairs()
    }

    /// Puts the pairs in key order (see [`Deferred::sorted`]).
    fn sort(&mut self) {
        let bytes = &self.bytes;
        let key = |&(start, key_len, _): &(usize, usize, usize)| &bytes[start..start + key_len];
        // Ties go by position in the buffer, which keeps the order of writes
        // to the same key (the last one wins) without a slower stable sort.
        self.entries
            .sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.0.cmp(&b.0)));
    }

    /// The pairs in their current order.
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let bytes = &self.bytes;
        self.entries
            .iter()
            .map(move |&(start, key_len, value_len)| {
                let key_end = start + key_len;
                (&bytes[start..key_end], &bytes[key_end..key_end + value_len])
            })
    }
}

impl<'t, 'e> LmdbLedger<'t, 'e> {
    /// A ledger over `txn`; `history_expiry` when history retention is on;
    /// `journal` collects what the transaction overwrites.
    pub(crate) fn new(
        txn: &'t mut RwTxn<'e>,
        dbs: &'t Dbs,
        path: &'t Path,
        history_expiry: bool,
        journal: Option<FrameBuilder>,
    ) -> Self {
        LmdbLedger {
            txn,
            dbs,
            path,
            cache: HashMap::default(),
            trxs: Deferred::default(),
            last_trx: None,
            history: HistoryBuffer::default(),
            history_expiry,
            journal,
            last_trx_id: (String::new(), None),
            key: Vec::with_capacity(64),
            value: Vec::with_capacity(256),
        }
    }

    /// `trx_id` in its stored form, worked out once for the transfer, the
    /// outcome and the index entry of the same operation.
    fn stored_trx_id<'a>(&mut self, trx_id: &'a str) -> StoredTrxId<'a> {
        let (last, hex) = &mut self.last_trx_id;
        if last.as_str() == trx_id && !last.is_empty() {
            return hex.map_or(StoredTrxId::Text(trx_id), StoredTrxId::Hex);
        }
        let stored = StoredTrxId::of(trx_id);
        last.clear();
        last.push_str(trx_id);
        *hex = match stored {
            StoredTrxId::Hex(raw) => Some(raw),
            StoredTrxId::Text(_) => None,
        };
        stored
    }

    /// `name`'s entry in the account cache, read from the database on first use.
    fn cached(&mut self, name: &str) -> Result<&mut Cached, StateError> {
        if !self.cache.contains_key(name) {
            let stored = stored::account(self.txn, self.dbs, self.path, name)?;
            let entry = Cached {
                stored,
                current: stored,
                touched: false,
                rows: Vec::new(),
                transfers: Vec::new(),
            };
            self.cache.insert(name.to_string(), entry);
        }
        match self.cache.get_mut(name) {
            Some(cached) => Ok(cached),
            None => Err(StateError::Corrupt {
                path: self.path.to_path_buf(),
                detail: format!("account `{name}` vanished from the ledger's cache"),
            }),
        }
    }

    fn lmdb(&self, e: heed::Error) -> StateError {
        StateError::lmdb(self.path, e)
    }

    /// The journal frame, once [`LmdbLedger::flush`] has run.
    pub(crate) fn into_journal(self) -> Option<FrameBuilder> {
        self.journal
    }

    /// Notes `self.key`'s value in `table` before this transaction, if journaling.
    fn journal_key(&mut self, table: Table) -> Result<(), StateError> {
        match &mut self.journal {
            Some(journal) => {
                journal.record_current(self.txn, self.dbs, table, &self.key, self.path)
            }
            None => Ok(()),
        }
    }

    fn corrupt(&self, what: &str, e: DecodeError) -> StateError {
        codec::corrupt(self.path, what, e)
    }

    /// Writes every changed account with its rich-list entry, and the
    /// buffered outcomes and transfer index entries, each in key order.
    pub(crate) fn flush(&mut self) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(self.path, e);
        let cache = std::mem::take(&mut self.cache);
        let mut touched: Vec<(String, Cached)> = cache
            .into_iter()
            .filter(|(_, c)| c.touched || !c.transfers.is_empty())
            .collect();
        touched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(journal) = &mut self.journal {
            for (name, cached) in touched.iter().filter(|(_, c)| c.touched) {
                journal.record_account(name, &cached.stored);
            }
        }
        let mut rich_deletes = Deferred::default();
        let mut rich_puts = Deferred::default();
        for (
            name,
            Cached {
                stored, current, ..
            },
        ) in touched.iter().filter(|(_, c)| c.stored != c.current)
        {
            if is_empty(current) {
                self.dbs
                    .accounts
                    .delete(self.txn, name.as_bytes())
                    .map_err(lmdb)?;
            } else {
                self.dbs
                    .accounts
                    .put(self.txn, name.as_bytes(), &codec::encode_account(current))
                    .map_err(lmdb)?;
            }
            let (before, after) = (holding(stored), holding(current));
            if before > 0 && before != after {
                codec::rich_key(&mut self.key, before, name);
                rich_deletes.push(&self.key, &[]);
            }
            if after > 0 {
                codec::rich_key(&mut self.key, after, name);
                rich_puts.push(&self.key, &codec::encode_account(current));
            }
        }
        for (key, _) in rich_deletes.sorted() {
            self.dbs.rich.delete(self.txn, key).map_err(lmdb)?;
        }
        for (key, value) in rich_puts.sorted() {
            self.dbs.rich.put(self.txn, key, value).map_err(lmdb)?;
        }
        let mut trxs = std::mem::take(&mut self.trxs);
        trxs.sort();
        if let Some(journal) = &mut self.journal {
            // Before any put: what each key held before this transaction.
            for (key, _) in trxs.pairs() {
                journal.record_current(self.txn, self.dbs, Table::Trxs, key, self.path)?;
            }
        }
        let mut puts = CursorPuts::new(self.dbs.trxs, self.txn).map_err(lmdb)?;
        for (key, value) in trxs.pairs() {
            puts.put(key, value).map_err(lmdb)?;
        }
        drop(puts);
        let mut puts = CursorPuts::new(self.dbs.account_transfers, self.txn).map_err(lmdb)?;
        for (name, cached) in &touched {
            for (transfer, direction) in &cached.transfers {
                codec::account_transfer_key(&mut self.key, name, transfer);
                puts.put(&self.key, &[*direction]).map_err(lmdb)?;
            }
        }
        drop(puts);
        self.history.flush(
            self.txn,
            self.dbs,
            self.path,
            self.history_expiry,
            self.journal.as_mut(),
            touched
                .iter()
                .map(|(name, c)| (name.as_str(), c.rows.as_slice())),
        )
    }
}

impl Ledger for LmdbLedger<'_, '_> {
    fn set_block(&mut self, block: BlockNum) {
        self.history.set_block(block);
    }

    fn note_totals(&mut self, supply: u128, holders: u64) {
        self.history.totals(supply, holders);
    }

    fn account(&mut self, name: &str) -> Result<AccountState, StateError> {
        // Most reads hit the cache: one lookup instead of `cached`'s two.
        match self.cache.get(name) {
            Some(cached) => Ok(cached.current),
            None => Ok(self.cached(name)?.current),
        }
    }

    fn put_account(
        &mut self,
        name: &str,
        _old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        let block = self.history.block();
        let cached = self.cached(name)?;
        cached.current = *new;
        cached.touched = true;
        push_row(&mut cached.rows, block, new);
        Ok(())
    }

    fn grant(&mut self, from: &str, to: &str) -> Result<u64, StateError> {
        codec::grant_key(&mut self.key, from, to);
        stored::grant(self.txn, self.dbs, self.path, &self.key)
    }

    fn put_grant(&mut self, from: &str, to: &str, amount: u64) -> Result<(), StateError> {
        codec::grant_key(&mut self.key, from, to);
        self.journal_key(Table::Grants)?;
        let result = if amount == 0 {
            self.dbs.grants.delete(self.txn, &self.key).map(drop)
        } else {
            self.dbs
                .grants
                .put(self.txn, &self.key, &amount.to_le_bytes())
        };
        result.map_err(|e| self.lmdb(e))
    }

    fn power_down(&mut self, account: &str) -> Result<Option<PowerDown>, StateError> {
        stored::power_down(self.txn, self.dbs, self.path, account)
    }

    fn put_power_down(
        &mut self,
        account: &str,
        schedule: Option<&PowerDown>,
    ) -> Result<(), StateError> {
        self.key.clear();
        self.key.extend_from_slice(account.as_bytes());
        self.journal_key(Table::PowerDowns)?;
        let result = match schedule {
            Some(s) => {
                self.dbs
                    .power_downs
                    .put(self.txn, account.as_bytes(), &codec::encode_power_down(s))
            }
            None => self
                .dbs
                .power_downs
                .delete(self.txn, account.as_bytes())
                .map(drop),
        };
        result.map_err(|e| self.lmdb(e))
    }

    fn add_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        codec::due_key(&mut self.key, block, account);
        self.journal_key(Table::Due)?;
        self.dbs
            .due
            .put(self.txn, &self.key, &[])
            .map_err(|e| self.lmdb(e))
    }

    fn remove_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        codec::due_key(&mut self.key, block, account);
        self.journal_key(Table::Due)?;
        self.dbs
            .due
            .delete(self.txn, &self.key)
            .map(drop)
            .map_err(|e| self.lmdb(e))
    }

    fn next_due(
        &mut self,
        from: BlockNum,
        through: BlockNum,
    ) -> Result<Option<(BlockNum, String)>, StateError> {
        let start = from.to_be_bytes();
        let first = self
            .dbs
            .due
            .get_greater_than_or_equal_to(self.txn, &start[..])
            .map_err(|e| self.lmdb(e))?;
        let Some((key, _)) = first else {
            return Ok(None);
        };
        let (block, account) =
            codec::decode_due_key(key).map_err(|e| self.corrupt("due index key", e))?;
        Ok((block <= through).then_some((block, account)))
    }

    fn record_transfer(&mut self, t: &TransferRecord<'_>) -> Result<(), StateError> {
        let op = t.op;
        let key = codec::transfer_key(op.block, op.trx_index, op.op_index);
        let trx_id = self.stored_trx_id(&op.trx_id);
        codec::encode_transfer(
            &mut self.value,
            trx_id,
            &op.timestamp,
            t.from,
            t.to,
            t.amount,
            t.memo,
        );
        // Operations arrive in strictly increasing chain order (the engine
        // checks it), so every transfer key is the largest so far.
        self.dbs
            .transfers
            .put_with_flags(self.txn, PutFlags::APPEND, &key, &self.value)
            .map_err(|e| StateError::lmdb(self.path, e))?;
        for (account, direction) in [(t.from, codec::SENT), (t.to, codec::RECEIVED)] {
            self.cached(account)?.transfers.push((key, direction));
        }
        Ok(())
    }

    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        let key = codec::transfer_key(op.block, op.trx_index, op.op_index);
        let trx_id = self.stored_trx_id(&op.trx_id);
        codec::encode_outcome(&mut self.value, outcome, trx_id, &op.name, sender);
        // Positions strictly increase (the engine checks it): append.
        self.dbs
            .outcomes
            .put_with_flags(self.txn, PutFlags::APPEND, &key, &self.value)
            .map_err(|e| StateError::lmdb(self.path, e))?;
        let position = codec::trx_position(op.block, op.trx_index);
        if self.last_trx != Some(position) {
            self.last_trx = Some(position);
            codec::trx_key_of(&mut self.key, trx_id);
            self.trxs.push(&self.key, &position);
        }
        Ok(())
    }
}
