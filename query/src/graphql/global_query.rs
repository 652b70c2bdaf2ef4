//! The cross-token schema served at `/graphql`: every token, one token by
//! symbol, and through `Token.account` one account across all tokens.

use std::sync::Arc;

use async_graphql::{Context, Object};
use state::Catalog;

use crate::context::open_projection;
use crate::error::ApiError;
use crate::graphql::types::{block_arg, gql_error, GqlResult, TokenObj};

/// Query root of the cross-token schema.
pub(crate) struct GlobalQuery;

#[Object]
impl GlobalQuery {
    /// Every open token, by symbol.
    async fn tokens(&self, ctx: &Context<'_>) -> GqlResult<Vec<TokenObj>> {
        let catalog = ctx.data::<Arc<Catalog>>()?;
        Ok(catalog.list().into_iter().map(TokenObj::new).collect())
    }

    /// One token by symbol (case-insensitive), null when unknown; with
    /// `block`, its supply, holders and accounts as they were after that block.
    async fn token(
        &self,
        ctx: &Context<'_>,
        symbol: String,
        block: Option<i64>,
    ) -> GqlResult<Option<TokenObj>> {
        let catalog = ctx.data::<Arc<Catalog>>()?;
        let Some(entry) = catalog.get(&symbol) else {
            return Ok(None);
        };
        match block_arg("block", block)? {
            None => Ok(Some(TokenObj::new(entry))),
            Some(block) => {
                let projection = open_projection(&entry).map_err(gql_error)?;
                projection
                    .check_history_block(block)
                    .map_err(|e| gql_error(ApiError::from_state(e)))?;
                Ok(Some(TokenObj::at(entry, block)))
            }
        }
    }
}
