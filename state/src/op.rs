//! The operation record that a token's event log stores.

use serde::{Deserialize, Serialize};

use crate::block::BlockNum;

/// One custom_json operation that belongs to a token (contract.md §1), valid
/// or not, exactly as the chain carried it. The log stores these in chain
/// order: block, then transaction index, then operation index. The
/// default is an empty operation at block 0, a placeholder to fill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenOp {
    /// Block number the operation is in.
    pub block: BlockNum,
    /// Index of the transaction within the block.
    pub trx_index: u32,
    /// Index of the operation within the transaction.
    pub op_index: u32,
    /// Transaction id (40 hex characters).
    pub trx_id: String,
    /// Block timestamp, e.g. `2025-07-08T23:09:27`.
    pub timestamp: String,
    /// Operation name: the custom_json id with the token's `opPrefix` removed.
    pub name: String,
    /// `required_auths` of the custom_json operation.
    pub required_auths: Vec<String>,
    /// `required_posting_auths` of the custom_json operation.
    pub required_posting_auths: Vec<String>,
    /// The raw `json` string of the custom_json operation, unparsed.
    pub json: String,
}

/// Which key signed an operation (contract.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authority {
    /// `required_posting_auths` was non-empty.
    Posting,
    /// Only `required_auths` was given.
    Active,
}

impl TokenOp {
    /// The sender and its authority: posting wins when present (contract.md §2).
    /// `None` when both auth lists are empty.
    pub fn sender(&self) -> Option<(&str, Authority)> {
        if let Some(first) = self.required_posting_auths.first() {
            return Some((first.as_str(), Authority::Posting));
        }
        self.required_auths
            .first()
            .map(|first| (first.as_str(), Authority::Active))
    }
}
