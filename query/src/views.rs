//! The JSON (and GraphQL) shapes of interfaces.md, shared by REST and
//! GraphQL so both spell every field the same way.

use async_graphql::SimpleObject;
use serde::Serialize;
use state::amount::format_amount;
use state::projection::{AccountState, OpOutcome, Transfer};

/// An account's figures, formatted and raw.
#[derive(Debug, Clone, Serialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "Account")]
pub(crate) struct AccountView {
    pub(crate) account: String,
    pub(crate) balance: String,
    pub(crate) balance_raw: String,
    pub(crate) power: String,
    pub(crate) power_raw: String,
    pub(crate) granted_in: String,
    pub(crate) granted_in_raw: String,
    pub(crate) granted_out: String,
    pub(crate) granted_out_raw: String,
    /// Block the figures are at; null before the first applied block.
    pub(crate) block: Option<u64>,
}

impl AccountView {
    pub(crate) fn new(account: &str, s: &AccountState, decimals: u8, block: Option<u64>) -> Self {
        let fmt = |v: u64| format_amount(u128::from(v), decimals);
        AccountView {
            account: account.to_string(),
            balance: fmt(s.balance),
            balance_raw: s.balance.to_string(),
            power: fmt(s.power),
            power_raw: s.power.to_string(),
            granted_in: fmt(s.granted_in),
            granted_in_raw: s.granted_in.to_string(),
            granted_out: fmt(s.granted_out),
            granted_out_raw: s.granted_out.to_string(),
            block,
        }
    }
}

/// One rich-list entry of the REST API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RichView {
    pub(crate) account: String,
    pub(crate) balance: String,
    pub(crate) balance_raw: String,
    pub(crate) power: String,
    pub(crate) power_raw: String,
}

/// One transfer.
#[derive(Debug, Clone, Serialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "Transfer")]
pub(crate) struct TransferView {
    pub(crate) block: u64,
    pub(crate) trx_id: String,
    pub(crate) op_index: u32,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) amount: String,
    pub(crate) amount_raw: String,
    pub(crate) memo: String,
    pub(crate) timestamp: String,
}

impl TransferView {
    pub(crate) fn new(t: Transfer, decimals: u8) -> Self {
        TransferView {
            block: t.block,
            amount: format_amount(u128::from(t.amount), decimals),
            amount_raw: t.amount.to_string(),
            trx_id: t.trx_id,
            op_index: t.op_index,
            from: t.from,
            to: t.to,
            memo: t.memo,
            timestamp: t.timestamp,
        }
    }
}

/// The outcome of one operation (contract.md §6).
#[derive(Debug, Clone, Serialize, SimpleObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "OpOutcome")]
pub(crate) struct OpView {
    pub(crate) block: u64,
    pub(crate) trx_id: String,
    pub(crate) trx_index: u32,
    pub(crate) op_index: u32,
    pub(crate) name: String,
    pub(crate) sender: Option<String>,
    /// `applied`, `rejected` or `unsupported`.
    pub(crate) outcome: String,
    /// The contract's rejection reason, null unless rejected.
    pub(crate) reason: Option<String>,
}

impl From<OpOutcome> for OpView {
    fn from(o: OpOutcome) -> Self {
        OpView {
            block: o.block,
            outcome: o.outcome.kind().to_string(),
            reason: o.outcome.reason().map(str::to_string),
            trx_id: o.trx_id,
            trx_index: o.trx_index,
            op_index: o.op_index,
            name: o.name,
            sender: o.sender,
        }
    }
}

/// True when `id` looks like a Hive transaction id: 40 hex characters.
pub(crate) fn is_trx_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
