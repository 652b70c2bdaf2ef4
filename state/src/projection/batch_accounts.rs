//! The accounts one batch touches: each one's figures before and after,
//! its history rows and its entries in the per-account transfer index.
//!
//! An entry carries the account's figures right after its transfer, and
//! a block whose last change to the account was a transfer needs no
//! history row of its own: the entry answers for it (see `history`).
//!
//! A write transaction's ledger keeps one, reading figures it lacks from
//! the transaction; the recorder of a pipelined apply builds one on the
//! contract's thread and hands it to the writer whole, so the writer does
//! no per-operation lookup.

use hashbrown::hash_map::EntryRef;
use hashbrown::HashMap;

use crate::block::BlockNum;
use crate::error::StateError;
use crate::projection::history::{push_row, HistoryRow};
use crate::projection::op_rows::TransferKey;
use crate::projection::AccountState;

/// One account in a batch.
#[derive(Debug, Clone)]
pub(crate) struct BatchAccount {
    /// The figures before the batch.
    pub(crate) stored: AccountState,
    /// The figures now.
    pub(crate) current: AccountState,
    /// Written by the contract (and so in the history and the journal).
    pub(crate) touched: bool,
    /// The figures after each block of the batch that wrote them, but
    /// for blocks whose last change was a transfer (its entry has them):
    /// the account's history rows, kept here rather than in a map of their
    /// own so a write costs one lookup.
    pub(crate) rows: Vec<HistoryRow>,
    /// The account's entries in the per-account transfer index (transfer
    /// key, direction, figures right after the transfer), in chain order:
    /// kept per account, they come out in key order without a sort.
    pub(crate) transfers: Vec<(TransferKey, u8, AccountState)>,
}

/// The accounts of one batch, by name.
#[derive(Debug, Default)]
pub(crate) struct BatchAccounts {
    accounts: HashMap<String, BatchAccount, foldhash::fast::RandomState>,
}

impl BatchAccounts {
    /// Whether no account is in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// `name`'s entry; `stored` gives its figures before the batch on first use.
    pub(crate) fn entry(
        &mut self,
        name: &str,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<&mut BatchAccount, StateError> {
        // One lookup, and the name is only copied for a new entry.
        match self.accounts.entry_ref(name) {
            EntryRef::Occupied(entry) => Ok(entry.into_mut()),
            EntryRef::Vacant(entry) => {
                let stored = stored()?;
                Ok(entry.insert(BatchAccount {
                    stored,
                    current: stored,
                    touched: false,
                    rows: Vec::new(),
                    transfers: Vec::new(),
                }))
            }
        }
    }

    /// Notes `new` as `name`'s figures after `block`.
    pub(crate) fn put(
        &mut self,
        name: &str,
        block: BlockNum,
        new: &AccountState,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<(), StateError> {
        let account = self.entry(name, stored)?;
        account.current = *new;
        account.touched = true;
        push_row(&mut account.rows, block, new);
        Ok(())
    }

    /// Notes a transfer of `name`'s in the given direction, in `block`,
    /// with the figures the account has now (after the transfer).
    pub(crate) fn note_transfer(
        &mut self,
        name: &str,
        block: BlockNum,
        key: TransferKey,
        direction: u8,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<(), StateError> {
        let account = self.entry(name, stored)?;
        account.transfers.push((key, direction, account.current));
        // The entry answers for the block until a later change: no row.
        if account.rows.last().is_some_and(|r| r.block == block) {
            account.rows.pop();
        }
        Ok(())
    }

    /// The accounts with something to write, in name order.
    pub(crate) fn into_sorted(self) -> Vec<(String, BatchAccount)> {
        let mut touched: Vec<(String, BatchAccount)> = self
            .accounts
            .into_iter()
            .filter(|(_, a)| a.touched || !a.transfers.is_empty())
            .collect();
        touched.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        touched
    }
}
