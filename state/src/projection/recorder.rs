//! Running the contract away from the write transaction: a [`Ledger`] that
//! answers reads from memory (falling back to what LMDB held before the
//! pipeline wrote anything) and keeps what each batch writes, so an
//! [`LmdbLedger`] on another thread (see `pipeline`) can write it:
//!
//! - the batch's accounts (figures before and after, history rows,
//!   per-account transfer entries) and its operations' rows (transfers,
//!   outcomes, transaction index), gathered and encoded here, on the
//!   contract's thread, in the same forms the ledger itself gathers them;
//! - every other mutating call (grants, power-downs, due entries, blocks
//!   and totals), recorded to be made again on the ledger, in order.
//!
//! Why the reads are right: every key the recorder has written is answered
//! from memory, and the writer only ever writes what the recorder recorded.
//! A key the recorder never wrote therefore still holds, in any snapshot,
//! the value it had before the pipeline started.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;

use hashbrown::hash_map::EntryRef;
use heed::RoTxn;

use crate::block::BlockNum;
use crate::contract::{Ledger, Outcome, PowerDown, TransferRecord};
use crate::error::StateError;
use crate::op::TokenOp;
use crate::projection::batch_accounts::{AccountsRoom, BatchAccounts, Slot};
use crate::projection::codec;
use crate::projection::deferred::room_after;
use crate::projection::env::Dbs;
use crate::projection::op_rows::{OpRoom, OpRows};
use crate::projection::store::LmdbLedger;
use crate::projection::stored;
use crate::projection::AccountState;

/// A span of [`Calls::text`].
#[derive(Debug, Clone, Copy)]
struct Text {
    start: usize,
    len: usize,
}

/// One mutating [`Ledger`] call the writer makes again. Account writes,
/// transfers and outcomes are not among them: the recorder gathers those
/// into the batch's [`BatchAccounts`] and [`OpRows`] itself.
#[derive(Debug, Clone, Copy)]
enum Call {
    SetBlock(BlockNum),
    NoteTotals(u128, u64),
    PutGrant(Text, Text, u64),
    PutPowerDown(Text, Option<PowerDown>),
    AddDue(BlockNum, Text),
    RemoveDue(BlockNum, Text),
}

/// What one batch writes: the calls to make again, in order, with their
/// strings in one buffer, and the accounts and rows already gathered.
#[derive(Debug)]
pub(crate) struct Calls {
    calls: Vec<Call>,
    text: String,
    accounts: BatchAccounts,
    rows: OpRows,
}

/// How much a batch's [`Calls`] held: the next batch reserves as much up
/// front, so its buffers do not grow (and copy themselves) call by call.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CallsRoom {
    calls: usize,
    text: usize,
    accounts: AccountsRoom,
    rows: OpRoom,
}

impl Calls {
    fn with_room(room: CallsRoom) -> Self {
        const MOST: usize = 1 << 20;
        Calls {
            calls: Vec::with_capacity(room_after(room.calls, MOST)),
            text: String::with_capacity(room_after(room.text, MOST)),
            accounts: BatchAccounts::with_room(room.accounts),
            rows: OpRows::with_room(room.rows),
        }
    }

    /// What it holds.
    pub(crate) fn room(&self) -> CallsRoom {
        CallsRoom {
            calls: self.calls.len(),
            text: self.text.len(),
            accounts: self.accounts.room(),
            rows: self.rows.room(),
        }
    }

    fn text(&mut self, s: &str) -> Text {
        let start = self.text.len();
        self.text.push_str(s);
        Text {
            start,
            len: s.len(),
        }
    }

    fn str(&self, t: Text) -> &str {
        // Spans only ever come from `text` on this same buffer.
        self.text.get(t.start..t.start + t.len).unwrap_or_default()
    }

    /// Makes the recorded calls on `ledger`, in order, and hands it the
    /// gathered accounts and rows.
    pub(crate) fn replay_into(self, ledger: &mut LmdbLedger<'_, '_>) -> Result<(), StateError> {
        for call in &self.calls {
            match *call {
                Call::SetBlock(block) => ledger.set_block(block),
                Call::NoteTotals(supply, holders) => ledger.note_totals(supply, holders),
                Call::PutGrant(from, to, amount) => {
                    ledger.put_grant(self.str(from), self.str(to), amount)?
                }
                Call::PutPowerDown(account, schedule) => {
                    ledger.put_power_down(self.str(account), schedule.as_ref())?
                }
                Call::AddDue(block, account) => ledger.add_due(block, self.str(account))?,
                Call::RemoveDue(block, account) => ledger.remove_due(block, self.str(account))?,
            }
        }
        ledger.take_prepared(self.accounts, self.rows)
    }
}

/// What the recorder knows of the token's state: everything it read from
/// LMDB or wrote since the pipeline started. Kept from batch to batch.
#[derive(Debug, Default)]
pub(crate) struct Known {
    accounts: KnownAccounts,
    /// The number of the batch being recorded (counting from 1).
    batch: u64,
    /// By grant key (`codec::grant_key`).
    grants: HashMap<Vec<u8>, u64, foldhash::fast::RandomState>,
    power_downs: HashMap<String, Option<PowerDown>, foldhash::fast::RandomState>,
    /// Due entries written since the start: present (true) or removed.
    due: BTreeMap<(BlockNum, String), bool>,
}

/// What the recorder knows of accounts, by name.
type KnownAccounts = hashbrown::HashMap<String, KnownAccount, foldhash::fast::RandomState>;

/// An account as the recorder knows it.
#[derive(Debug, Clone, Copy)]
struct KnownAccount {
    state: AccountState,
    /// Its slot in the accounts of the batch numbered here, if that batch
    /// has it: a write then needs no second lookup by name.
    in_batch: Option<(u64, Slot)>,
}

impl KnownAccount {
    /// Its slot in the accounts of the batch `batch` is gathering, made
    /// with the figures known so far as the ones before the batch.
    fn slot(
        &mut self,
        name: &str,
        batch: u64,
        accounts: &mut BatchAccounts,
    ) -> Result<Slot, StateError> {
        if let Some((of, slot)) = self.in_batch {
            if of == batch {
                return Ok(slot);
            }
        }
        let before = self.state;
        let slot = accounts.slot(name, || Ok(before))?;
        self.in_batch = Some((batch, slot));
        Ok(slot)
    }
}

/// The [`Ledger`] the contract runs on in a pipelined apply.
pub(crate) struct Recorder<'a, 't> {
    known: &'a mut Known,
    txn: &'a RoTxn<'t, heed::WithoutTls>,
    dbs: &'a Dbs,
    path: &'a Path,
    calls: Calls,
    /// The block effects belong to (the last `set_block`).
    block: BlockNum,
    key: Vec<u8>,
    just_stored: RecentSlots,
}

/// The accounts the last two `put_account` calls of a recorder wrote, with
/// their slots: a send records its transfer right after storing both
/// parties, and finding them here saves two map lookups an operation.
#[derive(Debug, Default)]
struct RecentSlots {
    names: [String; 2],
    slots: [Option<Slot>; 2],
    /// Which of the two the next note replaces.
    next: usize,
}

impl RecentSlots {
    fn find(&self, name: &str) -> Option<Slot> {
        self.names
            .iter()
            .zip(self.slots)
            .find_map(|(noted, slot)| slot.filter(|_| noted == name))
    }

    fn note(&mut self, name: &str, slot: Slot) {
        let at = self.next;
        self.next = 1 - at;
        self.names[at].clear();
        self.names[at].push_str(name);
        self.slots[at] = Some(slot);
    }
}

impl<'a, 't> Recorder<'a, 't> {
    /// Reads what `known` does not hold through `txn`; reserves `room`.
    pub(crate) fn new(
        known: &'a mut Known,
        txn: &'a RoTxn<'t, heed::WithoutTls>,
        dbs: &'a Dbs,
        path: &'a Path,
        room: CallsRoom,
    ) -> Self {
        known.batch += 1;
        Recorder {
            known,
            txn,
            dbs,
            path,
            calls: Calls::with_room(room),
            block: 0,
            key: Vec::new(),
            just_stored: RecentSlots::default(),
        }
    }

    /// The calls recorded.
    pub(crate) fn into_calls(self) -> Calls {
        self.calls
    }

    fn record(&mut self, call: Call) {
        self.calls.calls.push(call);
    }
}

/// What the recorder knows of `name`, read through `txn` on first use.
fn known_account<'k>(
    accounts: &'k mut KnownAccounts,
    txn: &RoTxn<'_, heed::WithoutTls>,
    dbs: &Dbs,
    path: &Path,
    name: &str,
) -> Result<&'k mut KnownAccount, StateError> {
    // One lookup, and the name is only copied for a new entry.
    match accounts.entry_ref(name) {
        EntryRef::Occupied(entry) => Ok(entry.into_mut()),
        EntryRef::Vacant(entry) => {
            let state = stored::account(txn, dbs, path, name)?;
            Ok(entry.insert(KnownAccount {
                state,
                in_batch: None,
            }))
        }
    }
}

impl Ledger for Recorder<'_, '_> {
    fn account(&mut self, name: &str) -> Result<AccountState, StateError> {
        let known = &mut self.known.accounts;
        Ok(known_account(known, self.txn, self.dbs, self.path, name)?.state)
    }

    fn put_account(
        &mut self,
        name: &str,
        _old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        let Known {
            accounts, batch, ..
        } = &mut *self.known;
        let known = known_account(accounts, self.txn, self.dbs, self.path, name)?;
        // The batch's first write of an account notes what it was before
        // the batch: what the recorder knew until now.
        let slot = known.slot(name, *batch, &mut self.calls.accounts)?;
        known.state = *new;
        self.just_stored.note(name, slot);
        self.calls.accounts.put_at(slot, self.block, new)
    }

    fn grant(&mut self, from: &str, to: &str) -> Result<u64, StateError> {
        codec::grant_key(&mut self.key, from, to);
        if let Some(amount) = self.known.grants.get(self.key.as_slice()) {
            return Ok(*amount);
        }
        let amount = stored::grant(self.txn, self.dbs, self.path, &self.key)?;
        self.known.grants.insert(self.key.clone(), amount);
        Ok(amount)
    }

    fn put_grant(&mut self, from: &str, to: &str, amount: u64) -> Result<(), StateError> {
        codec::grant_key(&mut self.key, from, to);
        self.known.grants.insert(self.key.clone(), amount);
        let (from, to) = (self.calls.text(from), self.calls.text(to));
        self.record(Call::PutGrant(from, to, amount));
        Ok(())
    }

    fn power_down(&mut self, account: &str) -> Result<Option<PowerDown>, StateError> {
        if let Some(schedule) = self.known.power_downs.get(account) {
            return Ok(*schedule);
        }
        let schedule = stored::power_down(self.txn, self.dbs, self.path, account)?;
        self.known.power_downs.insert(account.to_string(), schedule);
        Ok(schedule)
    }

    fn put_power_down(
        &mut self,
        account: &str,
        schedule: Option<&PowerDown>,
    ) -> Result<(), StateError> {
        self.known
            .power_downs
            .insert(account.to_string(), schedule.copied());
        let account = self.calls.text(account);
        self.record(Call::PutPowerDown(account, schedule.copied()));
        Ok(())
    }

    fn add_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        self.known.due.insert((block, account.to_string()), true);
        let account = self.calls.text(account);
        self.record(Call::AddDue(block, account));
        Ok(())
    }

    fn remove_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        self.known.due.insert((block, account.to_string()), false);
        let account = self.calls.text(account);
        self.record(Call::RemoveDue(block, account));
        Ok(())
    }

    fn next_due(
        &mut self,
        from: BlockNum,
        through: BlockNum,
    ) -> Result<Option<(BlockNum, String)>, StateError> {
        let written = self
            .known
            .due
            .range((from, String::new())..)
            .take_while(|((block, _), _)| *block <= through)
            .find(|(_, present)| **present)
            .map(|(key, _)| key.clone());
        // The first entry LMDB held before the pipeline that was not removed since.
        let start = from.to_be_bytes();
        let mut stored = None;
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&start), Bound::Unbounded);
        let entries = self
            .dbs
            .due
            .range(self.txn, &range)
            .map_err(|e| StateError::lmdb(self.path, e))?;
        for entry in entries {
            let (key, _) = entry.map_err(|e| StateError::lmdb(self.path, e))?;
            let (block, account) = codec::decode_due_key(key)
                .map_err(|e| codec::corrupt(self.path, "due index key", e))?;
            if block > through {
                break;
            }
            if self.known.due.get(&(block, account.clone())) != Some(&false) {
                stored = Some((block, account));
                break;
            }
        }
        Ok(match (written, stored) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    fn record_transfer(&mut self, t: &TransferRecord<'_>) -> Result<(), StateError> {
        let key = self.calls.rows.transfer(t);
        let Known {
            accounts, batch, ..
        } = &mut *self.known;
        for (name, direction) in [(t.from, codec::SENT), (t.to, codec::RECEIVED)] {
            // A recorder's batch gives a name one slot, so a noted one is it.
            let slot = match self.just_stored.find(name) {
                Some(slot) => slot,
                None => known_account(accounts, self.txn, self.dbs, self.path, name)?.slot(
                    name,
                    *batch,
                    &mut self.calls.accounts,
                )?,
            };
            self.calls
                .accounts
                .note_transfer_at(slot, t.op.block, key, direction)?;
        }
        Ok(())
    }

    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        self.calls.rows.outcome(op, sender, outcome);
        Ok(())
    }

    fn set_block(&mut self, block: BlockNum) {
        self.block = block;
        self.record(Call::SetBlock(block));
    }

    fn note_totals(&mut self, supply: u128, holders: u64) {
        self.record(Call::NoteTotals(supply, holders));
    }
}
