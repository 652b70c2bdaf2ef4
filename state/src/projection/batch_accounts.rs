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
//!
//! The transfer entries of all accounts go into one buffer in chain order,
//! and are grouped by account only when the batch is written
//! ([`BatchAccounts::into_sorted`]). Pushing each entry onto its own
//! account's list wrote to a thousand places at once, each a cache miss;
//! the one buffer fills in order, and the grouping runs on the writer's
//! thread in a pipelined apply, off the contract's.

use hashbrown::hash_map::EntryRef;
use hashbrown::HashMap;

use std::ops::Range;

use crate::block::BlockNum;
use crate::error::StateError;
use crate::projection::deferred::room_for;
use crate::projection::history::{push_row, HistoryRow};
use crate::projection::op_rows::TransferKey;
use crate::projection::transfer_chunks::IndexEntry;
use crate::projection::AccountState;

/// One account in a batch.
#[derive(Debug, Clone, Default)]
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
    /// How many transfer entries it has.
    transfer_count: usize,
}

/// An account's place in one batch's [`BatchAccounts`], given by
/// [`BatchAccounts::slot`]: a caller that keeps it writes the account
/// again without looking its name up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(u32);

/// An entry in the per-account transfer index, of the account at `slot`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransferEntry {
    slot: Slot,
    /// The entry as the index stores it.
    pub(crate) index: IndexEntry,
}

/// The accounts of one batch, by name.
#[derive(Debug, Default)]
pub(crate) struct BatchAccounts {
    slots: HashMap<String, Slot, foldhash::fast::RandomState>,
    /// By slot.
    accounts: Vec<BatchAccount>,
    /// Every account's transfer entries, in chain order.
    entries: Vec<TransferEntry>,
}

/// How many accounts and transfer entries a [`BatchAccounts`] holds (see
/// [`BatchAccounts::with_room`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AccountsRoom {
    accounts: usize,
    entries: usize,
}

/// A batch's accounts with something to write, in name order, each with
/// its transfer entries in chain order (which is key order).
#[derive(Debug, Default)]
pub(crate) struct SortedAccounts {
    /// Each account, and where its entries are in `entries`.
    pub(crate) accounts: Vec<(String, BatchAccount, Range<usize>)>,
    entries: Vec<TransferEntry>,
}

impl SortedAccounts {
    /// The entries at `range` (an account's, from [`SortedAccounts::accounts`]).
    pub(crate) fn entries(&self, range: &Range<usize>) -> &[TransferEntry] {
        &self.entries[range.clone()]
    }

    /// The block of the first entry at `range` (an account's first
    /// transfer of the batch).
    pub(crate) fn first_block(&self, range: &Range<usize>) -> Option<BlockNum> {
        self.entries(range).first().map(|e| e.index.block())
    }
}

impl BatchAccounts {
    /// Empty, with room for a batch like the one `room` measured. Grown
    /// entry by entry, the entries (about 90,000 a 50,000-record replay
    /// batch) copied themselves at each doubling, 4% of the contract's
    /// thread (BENCHMARKS.md, run 26).
    pub(crate) fn with_room(room: AccountsRoom) -> Self {
        let accounts = room_for::<BatchAccount>(room.accounts);
        BatchAccounts {
            slots: HashMap::with_capacity_and_hasher(accounts, Default::default()),
            accounts: Vec::with_capacity(accounts),
            entries: Vec::with_capacity(room_for::<TransferEntry>(room.entries)),
        }
    }

    /// What it holds.
    pub(crate) fn room(&self) -> AccountsRoom {
        AccountsRoom {
            accounts: self.accounts.len(),
            entries: self.entries.len(),
        }
    }

    /// Whether no account is in it.
    pub(crate) fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// `name`'s slot; `stored` gives its figures before the batch on first use.
    pub(crate) fn slot(
        &mut self,
        name: &str,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<Slot, StateError> {
        let count = self.accounts.len();
        // One lookup, and the name is only copied for a new entry.
        match self.slots.entry_ref(name) {
            EntryRef::Occupied(entry) => Ok(*entry.get()),
            EntryRef::Vacant(entry) => {
                let slot = Slot(u32::try_from(count).map_err(|_| {
                    StateError::InvalidArgument(format!(
                        "a batch touched more than {} accounts; apply it in smaller batches",
                        u32::MAX
                    ))
                })?);
                let stored = stored()?;
                self.accounts.push(BatchAccount {
                    stored,
                    current: stored,
                    ..BatchAccount::default()
                });
                Ok(*entry.insert(slot))
            }
        }
    }

    /// The account at `slot`.
    pub(crate) fn at(&mut self, slot: Slot) -> Result<&mut BatchAccount, StateError> {
        let count = self.accounts.len();
        self.accounts.get_mut(slot.0 as usize).ok_or_else(|| {
            // Only a bug in this crate gets here: a slot of another batch.
            StateError::InvalidArgument(format!(
                "internal error: account slot {} of a batch of {count} accounts",
                slot.0
            ))
        })
    }

    /// `name`'s entry; `stored` gives its figures before the batch on first use.
    pub(crate) fn entry(
        &mut self,
        name: &str,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<&mut BatchAccount, StateError> {
        let slot = self.slot(name, stored)?;
        self.at(slot)
    }

    /// Notes `new` as `name`'s figures after `block`.
    pub(crate) fn put(
        &mut self,
        name: &str,
        block: BlockNum,
        new: &AccountState,
        stored: impl FnOnce() -> Result<AccountState, StateError>,
    ) -> Result<(), StateError> {
        let slot = self.slot(name, stored)?;
        self.put_at(slot, block, new)
    }

    /// Notes `new` as the figures after `block` of the account at `slot`.
    pub(crate) fn put_at(
        &mut self,
        slot: Slot,
        block: BlockNum,
        new: &AccountState,
    ) -> Result<(), StateError> {
        let account = self.at(slot)?;
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
        let slot = self.slot(name, stored)?;
        self.note_transfer_at(slot, block, key, direction)
    }

    /// [`BatchAccounts::note_transfer`] of the account at `slot`.
    pub(crate) fn note_transfer_at(
        &mut self,
        slot: Slot,
        block: BlockNum,
        key: TransferKey,
        direction: u8,
    ) -> Result<(), StateError> {
        let account = self.at(slot)?;
        account.transfer_count += 1;
        let entry = TransferEntry {
            slot,
            index: IndexEntry {
                key,
                direction,
                state: account.current,
            },
        };
        // The entry answers for the block until a later change: no row.
        if account.rows.last().is_some_and(|r| r.block == block) {
            account.rows.pop();
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The accounts with something to write, in name order, with their
    /// transfer entries grouped by account.
    pub(crate) fn into_sorted(self) -> SortedAccounts {
        let BatchAccounts {
            slots,
            mut accounts,
            entries,
        } = self;
        let mut sorted: Vec<(String, Slot)> = slots
            .into_iter()
            .filter(|(_, slot)| {
                let a = &accounts[slot.0 as usize];
                a.touched || a.transfer_count > 0
            })
            .collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // A counting sort by account, stable so each account's entries
        // stay in chain order: where each slot's entries start, then each
        // entry to the next free place of its slot.
        let mut next = vec![0usize; accounts.len()];
        let mut start = 0;
        let accounts = sorted
            .into_iter()
            .map(|(name, slot)| {
                let account = std::mem::take(&mut accounts[slot.0 as usize]);
                next[slot.0 as usize] = start;
                let range = start..start + account.transfer_count;
                start = range.end;
                (name, account, range)
            })
            .collect();
        let mut grouped = entries.clone();
        for entry in &entries {
            // Every entry's account has entries, so it is in `accounts`.
            let at = &mut next[entry.slot.0 as usize];
            grouped[*at] = *entry;
            *at += 1;
        }
        SortedAccounts {
            accounts,
            entries: grouped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::codec::transfer_key;

    fn figures(balance: u64) -> AccountState {
        AccountState {
            balance,
            ..AccountState::default()
        }
    }

    /// What the writer gets: each account once, in name order, with its own
    /// entries in chain order, however the accounts' transfers interleave.
    #[test]
    fn entries_come_out_grouped_by_account_in_chain_order() {
        let mut batch = BatchAccounts::default();
        let unread = || Ok(AccountState::default());
        // carol, then bob, then alice are first seen; dave only gets a power-up.
        let transfers = [
            ("carol", "bob", 7),
            ("bob", "alice", 8),
            ("carol", "alice", 8),
            ("alice", "carol", 9),
        ];
        for (n, (from, to, block)) in transfers.into_iter().enumerate() {
            let key = transfer_key(block, n as u32, 0);
            for (name, direction) in [(from, 0u8), (to, 1u8)] {
                let balance = 100 * block + n as u64;
                batch.put(name, block, &figures(balance), unread).unwrap();
                batch
                    .note_transfer(name, block, key, direction, unread)
                    .unwrap();
            }
        }
        batch.put("dave", 9, &figures(5), unread).unwrap();
        batch.entry("erin", unread).unwrap(); // read, never written: nothing to write

        let sorted = batch.into_sorted();
        // (block, direction, balance after) of each entry.
        type Entries = Vec<(BlockNum, u8, u64)>;
        let got: Vec<(&str, Option<BlockNum>, Entries)> = sorted
            .accounts
            .iter()
            .map(|(name, _, range)| {
                let entries = sorted
                    .entries(range)
                    .iter()
                    .map(|e| (e.index.block(), e.index.direction, e.index.state.balance))
                    .collect();
                (name.as_str(), sorted.first_block(range), entries)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "alice",
                    Some(8),
                    vec![(8, 1, 801), (8, 1, 802), (9, 0, 903)]
                ),
                ("bob", Some(7), vec![(7, 1, 700), (8, 0, 801)]),
                (
                    "carol",
                    Some(7),
                    vec![(7, 0, 700), (8, 0, 802), (9, 1, 903)]
                ),
                ("dave", None, vec![]),
            ]
        );
        // A block whose last change was a transfer keeps no history row.
        let dave = &sorted.accounts[3].1;
        assert_eq!(dave.rows.len(), 1);
        assert!(sorted.accounts[..3]
            .iter()
            .all(|(_, a, _)| a.rows.is_empty()));
    }
}
