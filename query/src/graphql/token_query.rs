//! The default per-token schema of interfaces.md, served at `/:token/graphql`.
//! The token's entry comes in as request data.

use std::sync::Arc;

use async_graphql::{Context, Object};
use state::projection::{Projection, TransferQuery};
use state::TokenEntry;

use crate::context::open_projection;
use crate::error::ApiError;
use crate::graphql::types::{
    gql_error, AccountConnection, BlockView, GqlResult, MetaView, PageInfo, TokenObj,
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

fn block_arg(name: &str, value: Option<i64>) -> GqlResult<Option<u64>> {
    value
        .map(|v| {
            u64::try_from(v).map_err(|_| {
                gql_error(ApiError::bad_request(
                    "INVALID_PARAMETER",
                    format!("`{name}` must be a block number, got {v}"),
                ))
            })
        })
        .transpose()
}

/// Complexity of a page: its size times the fields asked of each node.
fn page_complexity(first: i32, child_complexity: usize) -> usize {
    let size = usize::try_from(first).unwrap_or(0).min(MAX_LIMIT);
    size.saturating_mul(child_complexity).saturating_add(1)
}

#[Object]
impl TokenQuery {
    /// The token's definition and totals.
    async fn token(&self, ctx: &Context<'_>) -> GqlResult<TokenObj> {
        Ok(TokenObj::new(entry(ctx)?))
    }

    /// An account's figures (zeros when unknown). `block` is the block to
    /// read at; only the current block is available for now.
    async fn account(
        &self,
        ctx: &Context<'_>,
        name: String,
        block: Option<i64>,
    ) -> GqlResult<AccountView> {
        let (entry, projection) = open(ctx)?;
        let view = reads::account(&entry, &projection, &name).map_err(gql_error)?;
        if let Some(wanted) = block {
            if Some(wanted) != view.block.and_then(|b| i64::try_from(b).ok()) {
                return Err(gql_error(ApiError::bad_request(
                    "HISTORY_UNAVAILABLE",
                    format!(
                        "historical queries are not available yet: block {wanted} is not the \
                         current block {}",
                        view.block.map_or("(none)".to_string(), |b| b.to_string())
                    ),
                )));
            }
        }
        Ok(view)
    }

    /// The rich list: accounts by `balance + power` descending.
    #[graphql(complexity = "page_complexity(first, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
        after: Option<String>,
    ) -> GqlResult<AccountConnection> {
        let (entry, projection) = open(ctx)?;
        let page = reads::richlist(&entry, projection, page_size(first)?, after)
            .await
            .map_err(gql_error)?;
        Ok(AccountConnection {
            nodes: page.accounts,
            page_info: PageInfo::new(page.next),
        })
    }

    /// Transfers, newest first, filtered by account, sender, receiver and blocks.
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
        let (nodes, next) = reads::transfers(&entry, projection, query)
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

    /// Where the projection stands.
    #[graphql(name = "_meta")]
    async fn meta(&self, ctx: &Context<'_>) -> GqlResult<MetaView> {
        let (entry, projection) = open(ctx)?;
        let meta = projection
            .meta()
            .map_err(|e| gql_error(ApiError::from_state(e)))?;
        let (status, error) = entry.status();
        let (target_block, irreversible_block) = entry.chain_heads();
        Ok(MetaView {
            block: meta.cursor.map(|c| BlockView {
                number: c.num,
                hash: c.id,
                timestamp: c.timestamp,
            }),
            irreversible_block,
            target_block,
            state_hash: meta.state_hash,
            log_length: meta.log_records,
            status: status.as_str(),
            error,
        })
    }
}
