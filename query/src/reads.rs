//! Reads of one token's projection, shared by REST and GraphQL: input
//! checks, page caps and the conversion to views.

use poem::http::StatusCode;
use serde::Serialize;
use state::account::is_valid_account;
use state::amount::format_amount;
use state::projection::{Projection, TransferQuery};
use state::{StateError, TokenEntry};

use crate::error::{blocking, ApiError};
use crate::views::{is_trx_id, AccountView, OpView, RichView, TransferView};

/// Default page size of lists.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Largest page size of lists.
pub(crate) const MAX_LIMIT: usize = 1000;

/// `GET /:token/state`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StateView {
    pub(crate) symbol: String,
    pub(crate) last_block: Option<u64>,
    pub(crate) last_block_id: Option<String>,
    pub(crate) last_block_timestamp: Option<String>,
    pub(crate) irreversible_block: u64,
    pub(crate) supply: String,
    pub(crate) supply_raw: String,
    pub(crate) holders: u64,
    pub(crate) log_length: u64,
    pub(crate) status: &'static str,
    pub(crate) state_hash: String,
    /// Earliest block a query with `block` may ask for.
    pub(crate) earliest_block: u64,
    pub(crate) error: Option<String>,
}

pub(crate) fn token_state(
    entry: &TokenEntry,
    projection: &Projection,
) -> Result<StateView, ApiError> {
    let meta = projection.meta().map_err(ApiError::from_state)?;
    let (symbol, decimals) = entry.with_config(|c| (c.symbol.clone(), c.decimals));
    let (status, error) = entry.status();
    let cursor = meta.cursor;
    Ok(StateView {
        symbol,
        last_block: cursor.as_ref().map(|c| c.num),
        last_block_id: cursor.as_ref().map(|c| c.id.clone()),
        last_block_timestamp: cursor.map(|c| c.timestamp),
        irreversible_block: entry.chain_heads().1,
        supply: format_amount(meta.supply, decimals),
        supply_raw: meta.supply.to_string(),
        holders: meta.holders,
        log_length: meta.log_records,
        status: status.as_str(),
        state_hash: meta.state_hash,
        earliest_block: meta.earliest_block,
        error,
    })
}

/// One account (zeros when unknown), now or as it was after block `block`;
/// 400 `INVALID_ACCOUNT` for a bad name, and the history errors of
/// [`ApiError::from_state`] for a block out of range.
pub(crate) fn account(
    entry: &TokenEntry,
    projection: &Projection,
    name: &str,
    block: Option<u64>,
) -> Result<AccountView, ApiError> {
    if !is_valid_account(name) {
        return Err(ApiError::invalid_account(name));
    }
    let (state, at) = match block {
        Some(block) => {
            let state = projection
                .account_at(name, block)
                .map_err(ApiError::from_state)?;
            (state, Some(block))
        }
        None => {
            let (state, cursor) = projection.account(name).map_err(ApiError::from_state)?;
            (state, cursor.map(|c| c.num))
        }
    };
    Ok(AccountView::new(name, &state, entry.decimals(), at))
}

/// Supply and holders, now or after block `block`.
pub(crate) fn supply(projection: &Projection, block: Option<u64>) -> Result<(u128, u64), ApiError> {
    match block {
        Some(block) => projection.supply_at(block).map_err(ApiError::from_state),
        None => {
            let meta = projection.meta().map_err(ApiError::from_state)?;
            Ok((meta.supply, meta.holders))
        }
    }
}

/// A page of the rich list with the block it is at.
pub(crate) struct RichList {
    pub(crate) accounts: Vec<AccountView>,
    pub(crate) next: Option<String>,
}

impl RichList {
    pub(crate) fn rest_views(&self) -> Vec<RichView> {
        self.accounts
            .iter()
            .map(|a| RichView {
                account: a.account.clone(),
                balance: a.balance.clone(),
                balance_raw: a.balance_raw.clone(),
                power: a.power.clone(),
                power_raw: a.power_raw.clone(),
            })
            .collect()
    }
}

/// A page of the rich list, now or as it was after block `at` (an
/// expensive read: see [`Projection::richlist_at`]).
pub(crate) async fn richlist(
    entry: &TokenEntry,
    projection: Projection,
    limit: usize,
    after: Option<String>,
    at: Option<u64>,
) -> Result<RichList, ApiError> {
    let decimals = entry.decimals();
    blocking(move || {
        let (block, page) = match at {
            Some(at) => (
                Some(at),
                projection.richlist_at(at, limit, after.as_deref()),
            ),
            None => {
                let block = projection
                    .meta()
                    .map_err(ApiError::from_state)?
                    .cursor
                    .map(|c| c.num);
                (block, projection.richlist(limit, after.as_deref()))
            }
        };
        let page = page.map_err(ApiError::from_state)?;
        Ok(RichList {
            accounts: page
                .entries
                .iter()
                .map(|e| AccountView::new(&e.account, &e.state, decimals, block))
                .collect(),
            next: page.next,
        })
    })
    .await
}

/// A page of transfers, newest first; with `at`, only those made at or
/// before block `at`. Transfers are never pruned, so only a block above the
/// cursor is refused.
pub(crate) async fn transfers(
    entry: &TokenEntry,
    projection: Projection,
    mut query: TransferQuery,
    at: Option<u64>,
) -> Result<(Vec<TransferView>, Option<String>), ApiError> {
    for name in [&query.account, &query.from, &query.to]
        .into_iter()
        .flatten()
    {
        if !is_valid_account(name) {
            return Err(ApiError::invalid_account(name));
        }
    }
    let decimals = entry.decimals();
    blocking(move || {
        if let Some(at) = at {
            match projection.check_history_block(at) {
                Ok(()) | Err(StateError::HistoryPruned { .. }) => {}
                Err(e) => return Err(ApiError::from_state(e)),
            }
            query.to_block = Some(query.to_block.map_or(at, |to| to.min(at)));
        }
        let page = projection.transfers(&query).map_err(ApiError::from_state)?;
        let views = page
            .transfers
            .into_iter()
            .map(|t| TransferView::new(t, decimals))
            .collect();
        Ok((views, page.next))
    })
    .await
}

/// Outcomes of a transaction's operations; 400 when `trx_id` is not 40 hex.
pub(crate) fn ops(projection: &Projection, trx_id: &str) -> Result<Vec<OpView>, ApiError> {
    if !is_trx_id(trx_id) {
        return Err(ApiError::bad_request(
            "INVALID_TRX_ID",
            format!("`{trx_id}` is not a transaction id (40 hex characters)"),
        ));
    }
    let ops = projection.ops(trx_id).map_err(ApiError::from_state)?;
    Ok(ops.into_iter().map(OpView::from).collect())
}

/// 404 `OP_NOT_FOUND` for a transaction with no operation of this token.
pub(crate) fn op_not_found(trx_id: &str, symbol: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "OP_NOT_FOUND",
        format!("transaction {trx_id} has no operation of token {symbol}"),
    )
}
