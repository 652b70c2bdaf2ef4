//! The contract's own bookkeeping: supply, holders, progress through the log
//! and the running `stateHash`.
//!
//! # `stateHash`
//!
//! The hash starts from the genesis and moves once per completed block that
//! had any operation or installment:
//!
//! ```text
//! genesis:  h0 = blake3("honeygraph stateHash v1" || CONTRACT_VERSION u32 LE || events(genesis))
//! block N:  h  = blake3(h_prev (32 bytes) || N u64 LE || events(N))
//! ```
//!
//! `events(..)` is the concatenation, in the order they happen, of these
//! records (integers little-endian, `str` = u32 LE byte length then the UTF-8
//! bytes):
//!
//! | tag | record | fields |
//! |---|---|---|
//! | `0x01` | outcome of a logged operation | trx_index u32, op_index u32, outcome kind u8, reason code u8 ([`Outcome::code`]) |
//! | `0x02` | an account's new figures | name str, balance u64, power u64, granted_in u64, granted_out u64 |
//! | `0x03` | a grant's new amount (0 = removed) | from str, to str, amount u64 |
//! | `0x04` | a power-down set or advanced | account str, start u64, interval u64, amount u64, paid u8 |
//! | `0x05` | a power-down removed (cancelled or completed) | account str |
//! | `0x06` | a transfer | from str, to str, amount u64, memo str |
//!
//! In a block, operations come in log order, each outcome record after the
//! records of its effects; the installments due at the block come last, by
//! account name. Genesis lists `0x02` records by account name.
//!
//! Because the events of a block are buffered in [`Books::pending`] (and
//! stored with the books), the hash is the same however the log is cut into
//! `apply` calls.

use serde::{Deserialize, Serialize};

use crate::block::{BlockNum, BlockRef};
use crate::contract::{Outcome, PowerDown, TransferRecord, CONTRACT_VERSION};
use crate::op::TokenOp;
use crate::projection::AccountState;

const HASH_DOMAIN: &[u8] = b"honeygraph stateHash v1";

/// Where an operation sits in the chain: block, transaction, operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpPosition {
    /// Block number.
    pub block: BlockNum,
    /// Transaction index in the block.
    pub trx_index: u32,
    /// Operation index in the transaction.
    pub op_index: u32,
}

impl OpPosition {
    /// The position of `op`.
    pub fn of(op: &TokenOp) -> OpPosition {
        OpPosition {
            block: op.block,
            trx_index: op.trx_index,
            op_index: op.op_index,
        }
    }
}

/// Figures and progress the contract keeps for a token, whatever the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Books {
    /// The last `BlockEnd` applied.
    pub cursor: Option<BlockRef>,
    /// Highest block whose effects are final (installments paid, hash moved).
    /// May be above the cursor: an operation at block b completes b - 1.
    pub completed: Option<BlockNum>,
    /// The last operation applied.
    pub last_op: Option<OpPosition>,
    /// Running hash (see the module documentation).
    #[serde(with = "hex_32")]
    pub state_hash: [u8; 32],
    /// Sum over accounts of `balance + power`.
    #[serde(with = "u128_string")]
    pub supply: u128,
    /// Accounts with `balance + power > 0`.
    pub holders: u64,
    /// Accounts with any non-zero figure.
    pub accounts: u64,
    /// Encoded events of the block in progress, not yet in `state_hash`.
    #[serde(skip)]
    pub pending: Vec<u8>,
}

impl Books {
    /// The block that has operations applied but is not complete yet.
    pub fn open_block(&self) -> Option<BlockNum> {
        let last = self.last_op?.block;
        match self.completed {
            Some(done) if last <= done => None,
            _ => Some(last),
        }
    }

    /// `state_hash` as 64 lowercase hex characters.
    pub fn state_hash_hex(&self) -> String {
        hex::encode(self.state_hash)
    }

    /// Updates supply, holders and the account count for one account change.
    pub fn account_changed(&mut self, old: &AccountState, new: &AccountState) {
        let (old_total, new_total) = (holding(old), holding(new));
        self.supply = self.supply - old_total + new_total;
        match (old_total > 0, new_total > 0) {
            (false, true) => self.holders += 1,
            (true, false) => self.holders = self.holders.saturating_sub(1),
            _ => {}
        }
        match (is_empty(old), is_empty(new)) {
            (true, false) => self.accounts += 1,
            (false, true) => self.accounts = self.accounts.saturating_sub(1),
            _ => {}
        }
    }

    /// Hashes the genesis events buffered in `pending` into the first `state_hash`.
    pub fn seal_genesis(&mut self) {
        let mut hasher = blake3::Hasher::new();
        hasher.update(HASH_DOMAIN);
        hasher.update(&CONTRACT_VERSION.to_le_bytes());
        hasher.update(&self.pending);
        self.state_hash = *hasher.finalize().as_bytes();
        self.pending.clear();
    }

    /// Moves `state_hash` over block `block` if it had any event.
    pub fn seal_block(&mut self, block: BlockNum) {
        if self.pending.is_empty() {
            return;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&self.state_hash);
        hasher.update(&block.to_le_bytes());
        hasher.update(&self.pending);
        self.state_hash = *hasher.finalize().as_bytes();
        self.pending.clear();
    }

    /// Event `0x01`.
    pub fn note_outcome(&mut self, op: &TokenOp, outcome: Outcome) {
        self.pending.push(0x01);
        self.pending.extend_from_slice(&op.trx_index.to_le_bytes());
        self.pending.extend_from_slice(&op.op_index.to_le_bytes());
        self.pending.extend_from_slice(&outcome.code());
    }

    /// Event `0x02`.
    pub fn note_account(&mut self, name: &str, state: &AccountState) {
        self.pending.push(0x02);
        self.put_str(name);
        for figure in [
            state.balance,
            state.power,
            state.granted_in,
            state.granted_out,
        ] {
            self.pending.extend_from_slice(&figure.to_le_bytes());
        }
    }

    /// Event `0x03`.
    pub fn note_grant(&mut self, from: &str, to: &str, amount: u64) {
        self.pending.push(0x03);
        self.put_str(from);
        self.put_str(to);
        self.pending.extend_from_slice(&amount.to_le_bytes());
    }

    /// Event `0x04` (`Some`) or `0x05` (`None`).
    pub fn note_power_down(&mut self, account: &str, schedule: Option<&PowerDown>) {
        match schedule {
            Some(s) => {
                self.pending.push(0x04);
                self.put_str(account);
                for figure in [s.start, s.interval, s.amount] {
                    self.pending.extend_from_slice(&figure.to_le_bytes());
                }
                self.pending.push(s.paid);
            }
            None => {
                self.pending.push(0x05);
                self.put_str(account);
            }
        }
    }

    /// Event `0x06`.
    pub fn note_transfer(&mut self, transfer: &TransferRecord<'_>) {
        self.pending.push(0x06);
        self.put_str(transfer.from);
        self.put_str(transfer.to);
        self.pending
            .extend_from_slice(&transfer.amount.to_le_bytes());
        self.put_str(transfer.memo);
    }

    fn put_str(&mut self, s: &str) {
        // Names and memos are far below 4 GiB; saturate rather than wrap.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        self.pending.extend_from_slice(&len.to_le_bytes());
        self.pending.extend_from_slice(s.as_bytes());
    }
}

/// `balance + power`, the figure supply, holders and the rich list count.
pub fn holding(state: &AccountState) -> u128 {
    u128::from(state.balance) + u128::from(state.power)
}

/// True when every figure is zero (the account need not be stored).
pub fn is_empty(state: &AccountState) -> bool {
    *state == AccountState::default()
}

mod hex_32 {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(de::Error::custom)?;
        Ok(out)
    }
}

mod u128_string {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(balance: u64, power: u64) -> AccountState {
        AccountState {
            balance,
            power,
            ..AccountState::default()
        }
    }

    #[test]
    fn totals_follow_account_changes() {
        let mut books = Books::default();
        books.account_changed(&state(0, 0), &state(5, 0));
        books.account_changed(&state(0, 0), &state(0, 7));
        assert_eq!((books.supply, books.holders, books.accounts), (12, 2, 2));
        books.account_changed(&state(5, 0), &state(0, 0));
        assert_eq!((books.supply, books.holders, books.accounts), (7, 1, 1));
        let granted_only = AccountState {
            granted_in: 3,
            ..AccountState::default()
        };
        books.account_changed(&state(0, 0), &granted_only);
        assert_eq!((books.supply, books.holders, books.accounts), (7, 1, 2));
    }

    #[test]
    fn empty_blocks_leave_the_hash_alone() {
        let mut books = Books::default();
        books.seal_genesis();
        let genesis = books.state_hash;
        books.seal_block(5);
        assert_eq!(books.state_hash, genesis);
        books.note_account("alice", &state(1, 0));
        books.seal_block(5);
        assert_ne!(books.state_hash, genesis);
        assert!(books.pending.is_empty());
    }

    #[test]
    fn serde_round_trip_keeps_everything_but_pending() {
        let mut books = Books {
            supply: u128::from(u64::MAX) * 3,
            holders: 2,
            ..Books::default()
        };
        books.seal_genesis();
        let text = serde_json::to_string(&books).expect("serializes");
        let back: Books = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, books);
    }
}
