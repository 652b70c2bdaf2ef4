//! The rows a batch's operations add: transfers, outcomes (but for
//! applied sends, whose transfer row stands in for it) and the
//! transaction index, encoded as the operations come.
//!
//! The same code serves a write transaction's ledger and the recorder of a
//! pipelined apply: there the encoding happens on the contract's thread,
//! and the writer only puts the bytes.

use crate::contract::rules::SEND;
use crate::contract::{Outcome, TransferRecord};
use crate::op::TokenOp;
use crate::projection::codec::{self, StoredTrxId};
use crate::projection::deferred::{Deferred, Room};

/// A transfer's key: where its operation is in the chain.
pub(crate) type TransferKey = [u8; codec::TRANSFER_KEY_LEN];

/// Encoded transfer, outcome and transaction-index rows of one batch.
#[derive(Debug, Default)]
pub(crate) struct OpRows {
    /// In chain order, which is key order.
    pub(crate) transfers: Deferred,
    /// In chain order, which is key order.
    pub(crate) outcomes: Deferred,
    /// Trx key -> position, in chain order (sorted before they are written).
    pub(crate) trxs: Deferred,
    /// Position of the last operation's transaction: an index entry is
    /// written for a transaction's first operation only.
    last_trx: Option<[u8; 12]>,
    /// The last trx id given a stored form, and its bytes if hex.
    last_trx_id: (String, Option<[u8; 20]>),
    key: Vec<u8>,
    value: Vec<u8>,
}

/// How much an [`OpRows`] holds (see [`OpRows::with_room`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OpRoom {
    transfers: Room,
    outcomes: Room,
    trxs: Room,
}

impl OpRows {
    /// Empty, with `room` reserved: a batch like the last one then fills
    /// its buffers without growing them (each growth copies them).
    pub(crate) fn with_room(room: OpRoom) -> Self {
        OpRows {
            transfers: Deferred::with_room(room.transfers),
            outcomes: Deferred::with_room(room.outcomes),
            trxs: Deferred::with_room(room.trxs),
            ..OpRows::default()
        }
    }

    /// What it holds.
    pub(crate) fn room(&self) -> OpRoom {
        OpRoom {
            transfers: self.transfers.room(),
            outcomes: self.outcomes.room(),
            trxs: self.trxs.room(),
        }
    }

    /// Whether no operation added a row.
    pub(crate) fn is_empty(&self) -> bool {
        self.transfers.is_empty() && self.outcomes.is_empty() && self.trxs.is_empty()
    }

    /// Adds the transfer's row; returns its key for the per-account index.
    pub(crate) fn transfer(&mut self, t: &TransferRecord<'_>) -> TransferKey {
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
        self.transfers.push(&key, &self.value);
        key
    }

    /// Adds the operation's outcome row and, for the first operation of a
    /// transaction, its entry in the transaction index. An applied `send`
    /// gets no outcome row: its transfer row says all of it (see
    /// [`codec::outcome_of_transfer`]).
    pub(crate) fn outcome(&mut self, op: &TokenOp, sender: Option<&str>, outcome: Outcome) {
        let key = codec::transfer_key(op.block, op.trx_index, op.op_index);
        let trx_id = self.stored_trx_id(&op.trx_id);
        if !(outcome == Outcome::Applied && op.name == SEND) {
            codec::encode_outcome(&mut self.value, outcome, trx_id, &op.name, sender);
            self.outcomes.push(&key, &self.value);
        }
        let position = codec::trx_position(op.block, op.trx_index);
        if self.last_trx != Some(position) {
            self.last_trx = Some(position);
            codec::trx_key_of(&mut self.key, trx_id);
            self.trxs.push(&self.key, &position);
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
}
