//! The cross-token schema served at `/graphql`: every token, one token by
//! symbol, and through `Token.account` one account across all tokens.

use std::sync::Arc;

use async_graphql::{Context, Object};
use state::Catalog;

use crate::graphql::types::{GqlResult, TokenObj};

/// Query root of the cross-token schema.
pub(crate) struct GlobalQuery;

#[Object]
impl GlobalQuery {
    /// Every open token, by symbol.
    async fn tokens(&self, ctx: &Context<'_>) -> GqlResult<Vec<TokenObj>> {
        let catalog = ctx.data::<Arc<Catalog>>()?;
        Ok(catalog.list().into_iter().map(TokenObj::new).collect())
    }

    /// One token by symbol (case-insensitive), null when unknown.
    async fn token(&self, ctx: &Context<'_>, symbol: String) -> GqlResult<Option<TokenObj>> {
        let catalog = ctx.data::<Arc<Catalog>>()?;
        Ok(catalog.get(&symbol).map(TokenObj::new))
    }
}
