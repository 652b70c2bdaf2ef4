//! An in-memory ledger: the contract without LMDB, for tests, benches and
//! cross-checking the projection.

use std::collections::{BTreeMap, BTreeSet};

use crate::block::BlockNum;
use crate::contract::{
    apply_records, genesis_books, Books, Ledger, Outcome, PowerDown, TransferRecord,
    CONTRACT_VERSION,
};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::op::TokenOp;
use crate::projection::{AccountState, ApplySummary, Meta, OpOutcome, Transfer};
use crate::token::TokenConfig;

/// A token's whole state in ordinary maps. [`MemLedger::new`] applies the
/// genesis and [`MemLedger::apply`] runs the same code as
/// [`Projection::apply`](crate::Projection::apply), so both give the same
/// balances, transfers, outcomes and `stateHash` for the same log.
#[derive(Debug, Clone)]
pub struct MemLedger {
    config: TokenConfig,
    books: Books,
    log_records: u64,
    accounts: BTreeMap<String, AccountState>,
    grants: BTreeMap<(String, String), u64>,
    power_downs: BTreeMap<String, PowerDown>,
    due: BTreeSet<(BlockNum, String)>,
    transfers: BTreeMap<(BlockNum, u32, u32), Transfer>,
    outcomes: BTreeMap<(String, u32), OpOutcome>,
}

impl MemLedger {
    /// A ledger holding `config`'s genesis.
    pub fn new(config: &TokenConfig) -> Self {
        let mut ledger = MemLedger {
            config: config.clone(),
            books: Books::default(),
            log_records: 0,
            accounts: BTreeMap::new(),
            grants: BTreeMap::new(),
            power_downs: BTreeMap::new(),
            due: BTreeSet::new(),
            transfers: BTreeMap::new(),
            outcomes: BTreeMap::new(),
        };
        // The in-memory ledger has no failing storage.
        ledger.books = genesis_books(&mut ledger, config).expect("MemLedger storage never fails");
        ledger
    }

    /// Applies log records, like [`Projection::apply`](crate::Projection::apply).
    /// A refused sequence (out of order) changes nothing.
    pub fn apply(&mut self, records: &[LogRecord]) -> Result<ApplySummary, StateError> {
        let mut books = std::mem::take(&mut self.books);
        let config = self.config.clone();
        let result = apply_records(self, &mut books, &config, records);
        self.books = books;
        if result.is_ok() {
            self.log_records += records.len() as u64;
        }
        result
    }

    /// The contract's books (progress, totals, `stateHash`, pending events).
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// The bookkeeping in the projection's shape; `log_records` counts the
    /// records applied.
    pub fn meta(&self) -> Meta {
        Meta {
            cursor: self.books.cursor.clone(),
            log_records: self.log_records,
            state_hash: self.books.state_hash_hex(),
            supply: self.books.supply,
            holders: self.books.holders,
            accounts: self.books.accounts,
            contract_version: CONTRACT_VERSION,
            earliest_block: self.config.start_block.saturating_sub(1),
        }
    }

    /// An account's figures (zeros when unknown).
    pub fn account_state(&self, name: &str) -> AccountState {
        self.accounts.get(name).copied().unwrap_or_default()
    }

    /// Every stored account (all with some non-zero figure), by name.
    pub fn accounts(&self) -> &BTreeMap<String, AccountState> {
        &self.accounts
    }

    /// Every grant, by (from, to).
    pub fn grants(&self) -> &BTreeMap<(String, String), u64> {
        &self.grants
    }

    /// Every pending power-down, by account.
    pub fn power_downs(&self) -> &BTreeMap<String, PowerDown> {
        &self.power_downs
    }

    /// Every transfer, oldest first, by (block, trx index, op index).
    pub fn transfers(&self) -> &BTreeMap<(BlockNum, u32, u32), Transfer> {
        &self.transfers
    }

    /// Every outcome, by (trx id, op index).
    pub fn outcomes(&self) -> &BTreeMap<(String, u32), OpOutcome> {
        &self.outcomes
    }
}

impl Ledger for MemLedger {
    fn account(&mut self, name: &str) -> Result<AccountState, StateError> {
        Ok(self.account_state(name))
    }

    fn put_account(
        &mut self,
        name: &str,
        _old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        if *new == AccountState::default() {
            self.accounts.remove(name);
        } else {
            self.accounts.insert(name.to_string(), *new);
        }
        Ok(())
    }

    fn grant(&mut self, from: &str, to: &str) -> Result<u64, StateError> {
        Ok(self
            .grants
            .get(&(from.to_string(), to.to_string()))
            .copied()
            .unwrap_or(0))
    }

    fn put_grant(&mut self, from: &str, to: &str, amount: u64) -> Result<(), StateError> {
        let key = (from.to_string(), to.to_string());
        if amount == 0 {
            self.grants.remove(&key);
        } else {
            self.grants.insert(key, amount);
        }
        Ok(())
    }

    fn power_down(&mut self, account: &str) -> Result<Option<PowerDown>, StateError> {
        Ok(self.power_downs.get(account).copied())
    }

    fn put_power_down(
        &mut self,
        account: &str,
        schedule: Option<&PowerDown>,
    ) -> Result<(), StateError> {
        match schedule {
            Some(s) => self.power_downs.insert(account.to_string(), *s),
            None => self.power_downs.remove(account),
        };
        Ok(())
    }

    fn add_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        self.due.insert((block, account.to_string()));
        Ok(())
    }

    fn remove_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError> {
        self.due.remove(&(block, account.to_string()));
        Ok(())
    }

    fn next_due(
        &mut self,
        from: BlockNum,
        through: BlockNum,
    ) -> Result<Option<(BlockNum, String)>, StateError> {
        Ok(self
            .due
            .range((from, String::new())..)
            .next()
            .filter(|(block, _)| *block <= through)
            .cloned())
    }

    fn record_transfer(&mut self, t: &TransferRecord<'_>) -> Result<(), StateError> {
        let op = t.op;
        self.transfers.insert(
            (op.block, op.trx_index, op.op_index),
            Transfer {
                block: op.block,
                trx_id: op.trx_id.clone(),
                trx_index: op.trx_index,
                op_index: op.op_index,
                from: t.from.to_string(),
                to: t.to.to_string(),
                amount: t.amount,
                memo: t.memo.to_string(),
                timestamp: op.timestamp.clone(),
            },
        );
        Ok(())
    }

    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError> {
        self.outcomes.insert(
            (op.trx_id.clone(), op.op_index),
            OpOutcome {
                block: op.block,
                trx_id: op.trx_id.clone(),
                trx_index: op.trx_index,
                op_index: op.op_index,
                name: op.name.clone(),
                sender: sender.map(str::to_string),
                outcome,
            },
        );
        Ok(())
    }
}
