//! The storage the contract runs against.
//!
//! A [`Ledger`] is plain storage: it keeps what it is given and derives
//! nothing. Supply, holders, progress and the `stateHash` are kept by the
//! contract itself in [`Books`](super::Books), so every ledger agrees on them.

use crate::block::BlockNum;
use crate::contract::{Outcome, PowerDown};
use crate::error::StateError;
use crate::op::TokenOp;
use crate::projection::AccountState;

/// A successful `send`, borrowed from the operation that made it.
#[derive(Debug, Clone, Copy)]
pub struct TransferRecord<'a> {
    /// The `send` operation (block, transaction, index, timestamp).
    pub op: &'a TokenOp,
    /// Sender.
    pub from: &'a str,
    /// Receiver.
    pub to: &'a str,
    /// Amount in base units.
    pub amount: u64,
    /// Memo, already truncated to 2048 bytes.
    pub memo: &'a str,
}

/// Storage for one token's state. Implemented by the LMDB projection (inside
/// one write transaction) and by [`MemLedger`](super::MemLedger).
///
/// The contract always reads an account before it writes it, and writes a
/// value only when it changed.
pub trait Ledger {
    /// An account's figures; zeros for an account never seen.
    fn account(&mut self, name: &str) -> Result<AccountState, StateError>;

    /// Stores an account's figures; `old` is what [`Ledger::account`] gave.
    /// An all-zero `new` may be stored as absent.
    fn put_account(
        &mut self,
        name: &str,
        old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError>;

    /// What `from` currently grants to `to` (0 when nothing).
    fn grant(&mut self, from: &str, to: &str) -> Result<u64, StateError>;

    /// Sets what `from` grants to `to`; 0 deletes the pair.
    fn put_grant(&mut self, from: &str, to: &str, amount: u64) -> Result<(), StateError>;

    /// The account's pending power-down, if any.
    fn power_down(&mut self, account: &str) -> Result<Option<PowerDown>, StateError>;

    /// Sets (`Some`) or removes (`None`) the account's pending power-down.
    fn put_power_down(
        &mut self,
        account: &str,
        schedule: Option<&PowerDown>,
    ) -> Result<(), StateError>;

    /// Adds `account` to the installments due at `block`.
    fn add_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError>;

    /// Removes `account` from the installments due at `block`.
    fn remove_due(&mut self, block: BlockNum, account: &str) -> Result<(), StateError>;

    /// The first due installment at a block in `from..=through`, by block
    /// then account name.
    fn next_due(
        &mut self,
        from: BlockNum,
        through: BlockNum,
    ) -> Result<Option<(BlockNum, String)>, StateError>;

    /// Stores a transfer.
    fn record_transfer(&mut self, transfer: &TransferRecord<'_>) -> Result<(), StateError>;

    /// Stores the outcome of a logged operation.
    fn record_outcome(
        &mut self,
        op: &TokenOp,
        sender: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), StateError>;

    /// The effects that follow belong to block `block`: an operation's to
    /// its own block, an installment's to the block it is paid at. Storage
    /// that keeps history keys its rows by it; the default ignores it.
    /// Before the first call the effects are the genesis (block 0).
    fn set_block(&mut self, block: BlockNum) {
        let _ = block;
    }

    /// The token's totals after the latest account change, for history;
    /// the default ignores them.
    fn note_totals(&mut self, supply: u128, holders: u64) {
        let _ = (supply, holders);
    }
}
