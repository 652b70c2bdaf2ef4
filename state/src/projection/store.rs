//! The contract's [`Ledger`] over one LMDB write transaction.
//!
//! Accounts are kept for the length of the transaction and written back
//! once, with their rich-list entry, by [`LmdbLedger::flush`]: an account
//! touched by many operations of a batch costs one write. Each account
//! also carries its history rows and its per-account transfer index
//! entries, which arrive in chain order and so come out in key order
//! without a sort. The transfer and outcome rows are buffered in chain
//! order (key order) and appended at the flush; the transaction index
//! (which the contract never reads back) is buffered and sorted there.
//! Sorted puts walk the B-tree along hot pages instead of jumping to a
//! random leaf each time.
//! What ends up on disk depends only on what was written, never on the order
//! of writes. Every account change also goes to the history index, keyed by
//! the block the engine says the effects belong to.
//!
//! The batch's accounts and its operations' rows are kept in the same
//! forms a pipelined apply's recorder builds ([`BatchAccounts`],
//! [`OpRows`]), so the writer of a pipelined apply can take them over
//! whole.

use std::path::Path;

use heed::RwTxn;

use crate::block::BlockNum;
use crate::contract::books::{holding, is_empty};
use crate::contract::{Ledger, Outcome, PowerDown, TransferRecord};
use crate::error::StateError;
use crate::op::TokenOp;
use crate::projection::batch_accounts::{BatchAccount, BatchAccounts};
use crate::projection::codec::{self, DecodeError};
use crate::projection::cursor_puts::CursorPuts;
use crate::projection::deferred::Deferred;
use crate::projection::env::Dbs;
use crate::projection::held_trx_rows::HeldTrxRows;
use crate::projection::history::HistoryBuffer;
use crate::projection::journal::{FrameBuilder, Table};
use crate::projection::op_rows::OpRows;
use crate::projection::stored;
use crate::projection::transfer_chunks::ChunkWriter;
use crate::projection::AccountState;

/// The contract's [`Ledger`] over one write transaction.
pub(crate) struct LmdbLedger<'t, 'e> {
    txn: &'t mut RwTxn<'e>,
    dbs: &'t Dbs,
    path: &'t Path,
    accounts: BatchAccounts,
    rows: OpRows,
    history: HistoryBuffer,
    /// Whether history rows note what they supersede (retention is on).
    history_expiry: bool,
    /// The undo journal frame of this transaction (none for the genesis).
    journal: Option<FrameBuilder>,
    chunks: ChunkWriter,
    key: Vec<u8>,
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
            accounts: BatchAccounts::default(),
            rows: OpRows::default(),
            history: HistoryBuffer::default(),
            history_expiry,
            journal,
            chunks: ChunkWriter::default(),
            key: Vec::with_capacity(64),
        }
    }

    /// Takes in what a recorder prepared on the contract's thread: the
    /// batch's accounts and operation rows (see `recorder`). The ledger
    /// must not hold any yet.
    pub(crate) fn take_prepared(
        &mut self,
        accounts: BatchAccounts,
        rows: OpRows,
    ) -> Result<(), StateError> {
        if !self.accounts.is_empty() || !self.rows.is_empty() {
            // Only a bug in this crate gets here, never the data: the calls
            // made before this one write neither accounts nor rows.
            return Err(StateError::WriterStopped {
                path: self.path.to_path_buf(),
                detail: "internal error: a batch's gathered accounts and rows met ones the writer \
                         already held; nothing of this batch was written"
                    .into(),
            });
        }
        self.accounts = accounts;
        self.rows = rows;
        Ok(())
    }

    /// Takes the batch's transaction-id index rows out, so the flush
    /// writes none (a replay holds them, see `held_trx_rows`).
    pub(crate) fn take_trx_rows(&mut self) -> Deferred {
        std::mem::take(&mut self.rows.trxs)
    }

    /// Writes rows held from earlier batches in this transaction.
    pub(crate) fn write_held_trx_rows(&mut self, held: &mut HeldTrxRows) -> Result<(), StateError> {
        held.write(self.txn, self.dbs, self.path)
    }

    fn lmdb(&self, e: heed::Error) -> StateError {
        StateError::lmdb(self.path, e)
    }

    /// Adds to the transfer index through `chunks`, which earlier ledgers
    /// of the same transaction used (see [`ChunkWriter`]).
    pub(crate) fn with_chunk_writer(mut self, chunks: ChunkWriter) -> Self {
        self.chunks = chunks;
        self
    }

    /// The journal frame, once [`LmdbLedger::flush`] has run, and the chunk
    /// writer, for the next ledger of the same transaction.
    pub(crate) fn into_parts(self) -> (Option<FrameBuilder>, ChunkWriter) {
        (self.journal, self.chunks)
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

    /// Writes the buffered transfers and outcomes, every changed account
    /// with its rich-list entry, the transaction index, the per-account
    /// transfer index and the history rows, each in key order.
    pub(crate) fn flush(&mut self) -> Result<(), StateError> {
        let lmdb = |e| StateError::lmdb(self.path, e);
        // Operations arrive in strictly increasing chain order (the engine
        // checks it), so each row's key is the largest so far: appends.
        let OpRows {
            transfers,
            outcomes,
            mut trxs,
            ..
        } = std::mem::take(&mut self.rows);
        for (db, rows) in [
            (self.dbs.transfers, transfers),
            (self.dbs.outcomes, outcomes),
        ] {
            let mut puts = CursorPuts::new(db, self.txn).map_err(lmdb)?;
            for (key, value) in rows.pairs() {
                puts.append(key, value).map_err(lmdb)?;
            }
        }
        let touched = std::mem::take(&mut self.accounts).into_sorted();
        if let Some(journal) = &mut self.journal {
            for (name, account, _) in touched.accounts.iter().filter(|(_, a, _)| a.touched) {
                journal.record_account(name, &account.stored);
            }
        }
        let changed = || {
            touched
                .accounts
                .iter()
                .filter(|(_, a, _)| a.stored != a.current)
        };
        // Emptied accounts are rare: they are deleted first, then the rest
        // put in name order through one cursor (see `cursor_puts`).
        for (name, _, _) in changed().filter(|(_, a, _)| is_empty(&a.current)) {
            self.dbs
                .accounts
                .delete(self.txn, name.as_bytes())
                .map_err(lmdb)?;
        }
        let mut puts = CursorPuts::new(self.dbs.accounts, self.txn).map_err(lmdb)?;
        for (name, account, _) in changed().filter(|(_, a, _)| !is_empty(&a.current)) {
            puts.put(name.as_bytes(), &codec::encode_account(&account.current))
                .map_err(lmdb)?;
        }
        drop(puts);
        let mut rich_deletes = Deferred::default();
        let mut rich_puts = Deferred::default();
        for (
            name,
            BatchAccount {
                stored, current, ..
            },
            _,
        ) in changed()
        {
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
        let mut puts = CursorPuts::new(self.dbs.rich, self.txn).map_err(lmdb)?;
        for (key, value) in rich_puts.sorted() {
            puts.put(key, value).map_err(lmdb)?;
        }
        drop(puts);
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
        for (name, _, entries) in &touched.accounts {
            let entries = touched.entries(entries).iter().map(|e| e.index);
            self.chunks.append(
                self.txn,
                self.dbs.account_transfers,
                self.path,
                name,
                entries,
            )?;
        }
        self.history.flush(
            self.txn,
            self.dbs,
            self.path,
            self.history_expiry,
            self.journal.as_mut(),
            touched.accounts.iter().map(|(name, c, entries)| {
                (
                    name.as_str(),
                    c.rows.as_slice(),
                    touched.first_block(entries),
                )
            }),
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
        let (txn, dbs, path) = (&*self.txn, self.dbs, self.path);
        let account = self
            .accounts
            .entry(name, || stored::account(txn, dbs, path, name))?;
        Ok(account.current)
    }

    fn put_account(
        &mut self,
        name: &str,
        _old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        let block = self.history.block();
        let (txn, dbs, path) = (&*self.txn, self.dbs, self.path);
        self.accounts
            .put(name, block, new, || stored::account(txn, dbs, path, name))
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
        let key = self.rows.transfer(t);
        let (txn, dbs, path) = (&*self.txn, self.dbs, self.path);
        for (account, direction) in [(t.from, codec::SENT), (t.to, codec::RECEIVED)] {
            self.accounts
                .note_transfer(account, t.op.block, key, direction, || {
                    stored::account(txn, dbs, path, account)
                })?;
        }
        Ok(())
    }

    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        self.rows.outcome(op, sender, outcome);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::env::{create_dbs, open_env};
    use crate::projection::ProjectionOptions;

    /// The writer of a pipelined apply takes a batch's gathered accounts
    /// only into a ledger that holds none: anything else is a bug, and it
    /// is refused before a row is written.
    #[test]
    fn prepared_accounts_are_refused_by_a_ledger_that_holds_some(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let env = open_env(dir.path(), &ProjectionOptions::default())?;
        let dbs = create_dbs(&env)?;
        let mut wtxn = env.write_txn()?;
        let mut ledger = LmdbLedger::new(&mut wtxn, &dbs, dir.path(), false, None);
        ledger.take_prepared(BatchAccounts::default(), OpRows::default())?;

        let rich = AccountState {
            balance: 5,
            ..AccountState::default()
        };
        ledger.put_account("alice", &AccountState::default(), &rich)?;
        let refused = ledger.take_prepared(BatchAccounts::default(), OpRows::default());
        assert!(
            matches!(&refused, Err(StateError::WriterStopped { detail, .. }) if detail.contains("internal error")),
            "{refused:?}"
        );
        Ok(())
    }
}
