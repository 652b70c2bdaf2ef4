//! BYO GraphQL schemas (`POST /registry/tokens/:symbol/schema`): an SDL
//! whose fields bind to the token's projection with directives, compiled to
//! an `async_graphql::dynamic::Schema` that replaces the built-in schema at
//! `/:token/graphql` while it is active.
//!
//! Bindings (directive arguments are strings naming a field argument, or on
//! non-`Query` types a field of the parent; other values are constants; an
//! input not given reads the field argument of the same name if any):
//! - `@account(name:, block:)`: one account (`account`, `balance`,
//!   `balanceRaw`, `power`, ... as `GET /:token/balance/:account`);
//! - `@richlist(first:, after:, block:)` and `@transfers(account:, from:, to:,
//!   fromBlock:, toBlock:, first:, after:)`: a list, or on a non-list type a
//!   page `{nodes, pageInfo {hasNextPage endCursor}}`; `first` is 0 to 1000;
//! - `@ops(trxId:)`: a transaction's outcomes;
//! - `@stats` (`GET /:token/state` plus `accounts`), `@meta` (as `_meta`),
//!   `@token` (the definition), `@state(path: "token.features.staking")`;
//! - fields of other types read their parent's key of the same name, or the
//!   one named by `@from(key: "balanceRaw")`.
//!
//! `Query._meta` is always added. Limits are the built-in schema's: depth
//! 12 and complexity 20 000 (dynamic fields count 1 each, so list sizes are
//! bounded by the `first` cap instead).

use async_graphql::dynamic::Schema;
use async_graphql::{BatchRequest, BatchResponse, ErrorExtensions};

use crate::error::ApiError;

mod build;
pub(crate) mod fetch;
mod plan;
mod shapes;

#[cfg(test)]
mod tests;

/// Deepest selection a query may have (as the built-in schema).
pub(crate) const MAX_DEPTH: usize = 12;
/// Largest complexity (as the built-in schema).
pub(crate) const MAX_COMPLEXITY: usize = 20_000;

pub(crate) type GqlResult<T> = Result<T, async_graphql::Error>;

/// An API error as a GraphQL error whose `extensions.code` is the API code.
pub(crate) fn gql_error(e: ApiError) -> async_graphql::Error {
    let code = e.code;
    async_graphql::Error::new(e.message).extend_with(|_, ext| ext.set("code", code))
}

/// A compiled BYO schema.
pub(crate) struct ByoSchema {
    schema: Schema,
}

/// Validates and compiles an SDL; 400 `INVALID_SCHEMA` listing every
/// problem as `line L, column C: ...`.
pub(crate) fn compile(sdl: &str) -> Result<ByoSchema, ApiError> {
    let plan = plan::plan(sdl).map_err(|issues| {
        let list: Vec<String> = issues
            .iter()
            .map(|i| format!("line {}, column {}: {}", i.line, i.column, i.message))
            .collect();
        ApiError::bad_request("INVALID_SCHEMA", list.join("; "))
    })?;
    let schema = build::build(plan).map_err(|e| ApiError::bad_request("INVALID_SCHEMA", e))?;
    Ok(ByoSchema { schema })
}

impl ByoSchema {
    /// Runs a request or a batch (the token's entry is already request data).
    pub(crate) async fn execute(&self, batch: BatchRequest) -> BatchResponse {
        match batch {
            BatchRequest::Single(request) => {
                BatchResponse::Single(self.schema.execute(request).await)
            }
            BatchRequest::Batch(requests) => {
                let mut responses = Vec::with_capacity(requests.len());
                for request in requests {
                    responses.push(self.schema.execute(request).await);
                }
                BatchResponse::Batch(responses)
            }
        }
    }

    /// The schema as SDL (what clients introspect).
    #[cfg(test)]
    pub(crate) fn sdl(&self) -> String {
        self.schema.sdl()
    }
}
