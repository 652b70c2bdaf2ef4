//! Running the contract away from the write transaction: a [`Ledger`] that
//! answers reads from memory (falling back to what LMDB held before the
//! pipeline wrote anything) and records every mutating call, so the calls
//! can be made again, in order, on an [`LmdbLedger`](super::store::LmdbLedger)
//! on another thread (see `pipeline`).
//!
//! Why the reads are right: every key the recorder has written is answered
//! from memory, and the writer only ever writes what the recorder recorded.
//! A key the recorder never wrote therefore still holds, in any snapshot,
//! the value it had before the pipeline started.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::Path;

use heed::RoTxn;

use crate::block::BlockNum;
use crate::contract::{Ledger, Outcome, PowerDown, TransferRecord};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::op::TokenOp;
use crate::projection::codec;
use crate::projection::env::Dbs;
use crate::projection::stored;
use crate::projection::AccountState;

/// A span of [`Calls::text`].
#[derive(Debug, Clone, Copy)]
struct Text {
    start: usize,
    len: usize,
}

/// Where an operation is in the chain: how the writer finds it in the batch.
type OpKey = (BlockNum, u32, u32);

fn op_key(op: &TokenOp) -> OpKey {
    (op.block, op.trx_index, op.op_index)
}

/// One mutating [`Ledger`] call.
#[derive(Debug, Clone, Copy)]
enum Call {
    SetBlock(BlockNum),
    NoteTotals(u128, u64),
    PutAccount(Text, AccountState, AccountState),
    PutGrant(Text, Text, u64),
    PutPowerDown(Text, Option<PowerDown>),
    AddDue(BlockNum, Text),
    RemoveDue(BlockNum, Text),
    Transfer {
        op: OpKey,
        from: Text,
        to: Text,
        amount: u64,
        memo: Text,
    },
    Outcome(OpKey, Option<Text>, Outcome),
}

/// The mutating calls of one batch, in order, with their strings in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    calls: Vec<Call>,
    text: String,
}

impl Calls {
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

    /// Makes the recorded calls on `ledger`, in order. `records` is the
    /// batch they were recorded from (the operations transfers and
    /// outcomes refer to).
    pub(crate) fn replay_into(
        &self,
        ledger: &mut impl Ledger,
        records: &[LogRecord],
        path: &Path,
    ) -> Result<(), StateError> {
        let mut ops = Ops { records, next: 0 };
        for call in &self.calls {
            match *call {
                Call::SetBlock(block) => ledger.set_block(block),
                Call::NoteTotals(supply, holders) => ledger.note_totals(supply, holders),
                Call::PutAccount(name, old, new) => {
                    ledger.put_account(self.str(name), &old, &new)?
                }
                Call::PutGrant(from, to, amount) => {
                    ledger.put_grant(self.str(from), self.str(to), amount)?
                }
                Call::PutPowerDown(account, schedule) => {
                    ledger.put_power_down(self.str(account), schedule.as_ref())?
                }
                Call::AddDue(block, account) => ledger.add_due(block, self.str(account))?,
                Call::RemoveDue(block, account) => ledger.remove_due(block, self.str(account))?,
                Call::Transfer {
                    op,
                    from,
                    to,
                    amount,
                    memo,
                } => ledger.record_transfer(&TransferRecord {
                    op: ops.find(op, path)?,
                    from: self.str(from),
                    to: self.str(to),
                    amount,
                    memo: self.str(memo),
                })?,
                Call::Outcome(op, sender, outcome) => ledger.record_outcome(
                    ops.find(op, path)?,
                    sender.map(|s| self.str(s)),
                    outcome,
                )?,
            }
        }
        Ok(())
    }
}

/// The batch's operations, looked up in chain order.
struct Ops<'r> {
    records: &'r [LogRecord],
    next: usize,
}

impl<'r> Ops<'r> {
    /// The operation at `key`: calls come in chain order, so the search
    /// goes on from the last one found (an op may be found twice: its
    /// transfer, then its outcome).
    fn find(&mut self, key: OpKey, path: &Path) -> Result<&'r TokenOp, StateError> {
        let start = self.next;
        for (i, record) in self.records.iter().enumerate().skip(start) {
            if let LogRecord::Op(op) = record {
                if op_key(op) == key {
                    self.next = i;
                    return Ok(op);
                }
            }
        }
        Err(StateError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "the pipelined apply recorded operation {key:?}, which is not in its batch"
            ),
        })
    }
}

/// What the recorder knows of the token's state: everything it read from
/// LMDB or wrote since the pipeline started. Kept from batch to batch.
#[derive(Debug, Default)]
pub(crate) struct Known {
    accounts: HashMap<String, AccountState, foldhash::fast::RandomState>,
    /// By grant key (`codec::grant_key`).
    grants: HashMap<Vec<u8>, u64, foldhash::fast::RandomState>,
    power_downs: HashMap<String, Option<PowerDown>, foldhash::fast::RandomState>,
    /// Due entries written since the start: present (true) or removed.
    due: BTreeMap<(BlockNum, String), bool>,
}

/// The [`Ledger`] the contract runs on in a pipelined apply.
pub(crate) struct Recorder<'a, 't> {
    known: &'a mut Known,
    txn: &'a RoTxn<'t, heed::WithoutTls>,
    dbs: &'a Dbs,
    path: &'a Path,
    calls: Calls,
    key: Vec<u8>,
}

impl<'a, 't> Recorder<'a, 't> {
    /// Reads what `known` does not hold through `txn`.
    pub(crate) fn new(
        known: &'a mut Known,
        txn: &'a RoTxn<'t, heed::WithoutTls>,
        dbs: &'a Dbs,
        path: &'a Path,
    ) -> Self {
        Recorder {
            known,
            txn,
            dbs,
            path,
            calls: Calls::default(),
            key: Vec::new(),
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

impl Ledger for Recorder<'_, '_> {
    fn account(&mut self, name: &str) -> Result<AccountState, StateError> {
        if let Some(state) = self.known.accounts.get(name) {
            return Ok(*state);
        }
        let state = stored::account(self.txn, self.dbs, self.path, name)?;
        self.known.accounts.insert(name.to_string(), state);
        Ok(state)
    }

    fn put_account(
        &mut self,
        name: &str,
        old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        match self.known.accounts.get_mut(name) {
            Some(state) => *state = *new,
            None => {
                self.known.accounts.insert(name.to_string(), *new);
            }
        }
        let name = self.calls.text(name);
        self.record(Call::PutAccount(name, *old, *new));
        Ok(())
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
        let call = Call::Transfer {
            op: op_key(t.op),
            from: self.calls.text(t.from),
            to: self.calls.text(t.to),
            amount: t.amount,
            memo: self.calls.text(t.memo),
        };
        self.record(call);
        Ok(())
    }

    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        let sender = sender.map(|s| self.calls.text(s));
        self.record(Call::Outcome(op_key(op), sender, outcome));
        Ok(())
    }

    fn set_block(&mut self, block: BlockNum) {
        self.record(Call::SetBlock(block));
    }

    fn note_totals(&mut self, supply: u128, holders: u64) {
        self.record(Call::NoteTotals(supply, holders));
    }
}
