//! The default per-token schema of interfaces.md, served at `/:token/graphql`.
//! The token's entry comes in as request data. `block` arguments read the
//! history index: the answer as it was after that block.

use std::sync::Arc;

use async_graphql::{Context, Object};
use state::projection::{Projection, TransferQuery};
use state::TokenEntry;

use crate::context::open_projection;
use crate::error::ApiError;
use crate::graphql::types::{
    block_arg, gql_error, AccountConnection, GqlResult, MetaView, PageInfo, TokenObj,
    TransferConnection,
};
use crate::reads::{self, MAX_LIMIT};
use crate::views::{AccountView, OpView};

/// Query root of the per-token schema.
pub(crate) struct TokenQuery;

fn entry(ctx: &Context<'_>) -> GqlResult<Arc<TokenEntry>> {
    ctx.data::<Arc<TokenEntry>>().cloned()
}

fn open(ctx: &Context<'_>) -> GqlResult<(Arc<TokenEntry>, Projection)> {
    let entry = entry(ctx)?;
    let projection = open_projection(&entry).map_err(gql_error)?;
    Ok((entry, projection))
}

/// `first` must be 0 to 1000: a larger page is an error, not a silent clamp,
/// so a client never mistakes a short page for the end of the list.
fn page_size(first: i32) -> GqlResult<usize> {
    usize::try_from(first)
        .ok()
        .filter(|n| *n <= MAX_LIMIT)
        .ok_or_else(|| {
            gql_error(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("`first` must be from 0 to {MAX_LIMIT}, got {first}"),
            ))
        })
}

/// Complexity of a page: its size times the fields asked of each node.
fn page_complexity(first: i32, child_complexity: usize) -> usize {
    let size = usize::try_from(first).unwrap_or(0).min(MAX_LIMIT);
    size.saturating_mul(child_complexity).saturating_add(1)
}

#[Object]
impl TokenQuery {
    /// The token's definition and totals; with `block`, the supply and
    /// holders (and `account`s) as they were after that block.
    async fn token(&self, ctx: &Context<'_>, block: Option<i64>) -> GqlResult<TokenObj> {
        let entry = entry(ctx)?;
        match block_arg("block", block)? {
            None => Ok(TokenObj::new(entry)),
            Some(block) => {
                let projection = open_projection(&entry).map_err(gql_error)?;
                projection
                    .check_history_block(block)
                    .map_err(|e| gql_error(ApiError::from_state(e)))?;
                Ok(TokenObj::at(entry, block))
            }
        }
    }

    /// An account's figures (zeros when unknown); with `block`, as they were
    /// after that block (`block` in the answer is then that block).
    async fn account(
        &self,
        ctx: &Context<'_>,
        name: String,
        block: Option<i64>,
    ) -> GqlResult<AccountView> {
        let (entry, projection) = open(ctx)?;
        let block = block_arg("block", block)?;
        reads::account(&entry, &projection, &name, block).map_err(gql_error)
    }

    /// The rich list: accounts by `balance + power` descending. With
    /// `block`, the rich list as it was after that block: an expensive read
    /// of every account's history, refused (`UNSUPPORTED_QUERY`) for tokens
    /// with more than 100000 accounts.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
        after: Option<String>,
        block: Option<i64>,
    ) -> GqlResult<AccountConnection> {
        let (entry, projection) = open(ctx)?;
        let block = block_arg("block", block)?;
        let page = reads::richlist(&entry, projection, page_size(first)?, after, block)
            .await
            .map_err(gql_error)?;
        Ok(AccountConnection {
            nodes: page.accounts,
            page_info: PageInfo::new(page.next),
        })
    }

    /// Transfers, newest first, filtered by account, sender, receiver and
    /// blocks; `block` keeps those made at or before it (as `toBlock` does,
    /// but a block above the indexed one is an error).
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        account: Option<String>,
        from: Option<String>,
        to: Option<String>,
        from_block: Option<i64>,
        to_block: Option<i64>,
        #[graphql(default = 100)] first: i32,
        after: Option<String>,
        block: Option<i64>,
    ) -> GqlResult<TransferConnection> {
        let (entry, projection) = open(ctx)?;
        let query = TransferQuery {
            account,
            from,
            to,
            from_block: block_arg("fromBlock", from_block)?,
            to_block: block_arg("toBlock", to_block)?,
            limit: page_size(first)?,
            cursor: after,
        };
        let at = block_arg("block", block)?;
        let (nodes, next) = reads::transfers(&entry, projection, query, at)
            .await
            .map_err(gql_error)?;
        Ok(TransferConnection {
            nodes,
            page_info: PageInfo::new(next),
        })
    }

    /// Outcomes of a transaction's operations for this token (empty when none).
    async fn ops(&self, ctx: &Context<'_>, trx_id: String) -> GqlResult<Vec<OpView>> {
        let (_, projection) = open(ctx)?;
        reads::ops(&projection, &trx_id).map_err(gql_error)
    }

    /// Where the projection stands (graph-node's `_meta`).
    #[graphql(name = "_meta")]
    async fn meta(&self, ctx: &Context<'_>) -> GqlResult<MetaView> {
        let (entry, projection) = open(ctx)?;
        MetaView::read(&entry, &projection)
    }
}
