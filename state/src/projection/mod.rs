//! The LMDB projection of one token: balances, grants, power-downs,
//! transfers, outcomes and the cursor, in one heed environment.
//!
//! Invariant 2 of architecture.md: [`Projection::apply`] commits the effects
//! of the records, the cursor and the log position in one write transaction.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::block::{BlockNum, BlockRef};
use crate::contract::Outcome;
use crate::error::StateError;
use crate::log::LogRecord;
use crate::token::TokenConfig;

/// An account's figures in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Liquid balance.
    pub balance: u64,
    /// Own staked power.
    pub power: u64,
    /// Power others granted to this account.
    pub granted_in: u64,
    /// Power this account granted away.
    pub granted_out: u64,
}

/// The projection's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Last block fully applied, or `None` before the first batch.
    pub cursor: Option<BlockRef>,
    /// Number of log records applied (the log position the projection is at).
    pub log_records: u64,
    /// Running hash over every block's applied effects, 64 hex characters.
    pub state_hash: String,
    /// Sum over accounts of `balance + power`.
    pub supply: u128,
    /// Accounts with `balance + power > 0`.
    pub holders: u64,
    /// Number of accounts with any non-zero figure.
    pub accounts: u64,
    /// Contract version the projection was built with.
    pub contract_version: u32,
}

/// One transfer (a successful `send`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Block number.
    pub block: BlockNum,
    /// Transaction id.
    pub trx_id: String,
    /// Index of the transaction in the block.
    pub trx_index: u32,
    /// Index of the operation in the transaction.
    pub op_index: u32,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Amount in base units.
    pub amount: u64,
    /// Memo, at most 2048 bytes.
    pub memo: String,
    /// Block timestamp.
    pub timestamp: String,
}

/// Filter and page of a transfers query. Results are newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferQuery {
    /// Transfers from or to this account.
    pub account: Option<String>,
    /// Transfers from this account.
    pub from: Option<String>,
    /// Transfers to this account.
    pub to: Option<String>,
    /// Lowest block, inclusive.
    pub from_block: Option<BlockNum>,
    /// Highest block, inclusive.
    pub to_block: Option<BlockNum>,
    /// Page size (callers cap it).
    pub limit: usize,
    /// Opaque cursor from a previous page's `next`.
    pub cursor: Option<String>,
}

/// One page of transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPage {
    /// The transfers, newest first.
    pub transfers: Vec<Transfer>,
    /// Cursor of the next page, `None` on the last page.
    pub next: Option<String>,
}

/// One entry of the rich list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichEntry {
    /// Account name.
    pub account: String,
    /// Its figures.
    pub state: AccountState,
}

/// One page of the rich list, by `balance + power` descending, ties by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichPage {
    /// The accounts.
    pub entries: Vec<RichEntry>,
    /// Cursor of the next page, `None` on the last page.
    pub next: Option<String>,
}

/// The stored outcome of one logged operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    /// Block number.
    pub block: BlockNum,
    /// Transaction id.
    pub trx_id: String,
    /// Index of the transaction in the block.
    pub trx_index: u32,
    /// Index of the operation in the transaction.
    pub op_index: u32,
    /// Operation name (id without prefix).
    pub name: String,
    /// Sender, if any.
    pub sender: Option<String>,
    /// What happened.
    pub outcome: Outcome,
}

/// What one `apply` call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Operations applied.
    pub applied: u64,
    /// Operations rejected.
    pub rejected: u64,
    /// Operations unsupported.
    pub unsupported: u64,
    /// Blocks completed (BlockEnd records).
    pub blocks: u64,
}

/// A token's LMDB projection. Cheap to clone (shares the environment).
#[derive(Debug, Clone)]
pub struct Projection {
    _private: (),
}

impl Projection {
    /// Opens the projection in `dir`, creating it and applying the genesis of
    /// `config` if it is new.
    pub fn open(_dir: &Path, _config: &TokenConfig) -> Result<Self, StateError> {
        todo!()
    }

    /// Applies log records in one write transaction and records that the
    /// projection now stands at log position `log_records_after`.
    pub fn apply(&self, _records: &[LogRecord], _log_records_after: u64) -> Result<ApplySummary, StateError> {
        todo!()
    }

    /// The bookkeeping.
    pub fn meta(&self) -> Result<Meta, StateError> {
        todo!()
    }

    /// An account's figures (zeros for an unknown account) and the cursor they are at.
    pub fn account(&self, _name: &str) -> Result<(AccountState, Option<BlockRef>), StateError> {
        todo!()
    }

    /// A page of transfers, newest first.
    pub fn transfers(&self, _query: &TransferQuery) -> Result<TransferPage, StateError> {
        todo!()
    }

    /// A page of the rich list.
    pub fn richlist(&self, _limit: usize, _after: Option<&str>) -> Result<RichPage, StateError> {
        todo!()
    }

    /// Outcomes of a transaction's operations for this token, by op index.
    pub fn ops(&self, _trx_id: &str) -> Result<Vec<OpOutcome>, StateError> {
        todo!()
    }
}
