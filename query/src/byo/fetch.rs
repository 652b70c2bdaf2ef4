//! The reads behind BYO bindings: each answers the JSON of its shape (see
//! `shapes`), through the same `reads` as REST and the built-in schema, so
//! input checks and page caps are the same everywhere.

use std::sync::Arc;

use async_graphql::dynamic::ResolverContext;
use serde_json::{json, Value as Json};
use state::projection::{Projection, TransferQuery};
use state::TokenEntry;

use crate::byo::plan::{BindKind, Binding, Input};
use crate::byo::{gql_error, GqlResult};
use crate::context::open_projection;
use crate::error::ApiError;
use crate::reads::{self, DEFAULT_LIMIT, MAX_LIMIT};

fn bad(message: String) -> async_graphql::Error {
    gql_error(ApiError::bad_request("INVALID_PARAMETER", message))
}

fn to_json<T: serde::Serialize>(value: &T) -> GqlResult<Json> {
    serde_json::to_value(value).map_err(|e| gql_error(ApiError::internal(e.to_string())))
}

/// The inputs of one binding for one resolution.
struct Inputs<'a> {
    binding: &'a Binding,
    ctx: &'a ResolverContext<'a>,
    parent: Option<&'a Json>,
}

impl Inputs<'_> {
    fn get(&self, param: &str) -> GqlResult<Option<Json>> {
        let value = match self.binding.inputs.get(param) {
            None => return Ok(None),
            Some(Input::Arg(name)) => match self.ctx.args.get(name) {
                None => return Ok(None),
                Some(v) => v
                    .as_value()
                    .clone()
                    .into_json()
                    .map_err(|e| bad(format!("`{name}`: {e}")))?,
            },
            Some(Input::Parent(key)) => self
                .parent
                .and_then(|p| p.get(key))
                .cloned()
                .unwrap_or(Json::Null),
            Some(Input::Literal(v)) => v
                .clone()
                .into_json()
                .map_err(|e| bad(format!("`{param}`: {e}")))?,
        };
        Ok((!value.is_null()).then_some(value))
    }

    fn string(&self, param: &str) -> GqlResult<Option<String>> {
        match self.get(param)? {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!("`{param}` must be a string, got {other}"))),
        }
    }

    fn block(&self, param: &str) -> GqlResult<Option<u64>> {
        match self.get(param)? {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) => Ok(Some(n)),
                None => Err(bad(format!("`{param}` must be a block number, got {v}"))),
            },
        }
    }

    /// `first`: default 100, 0 to 1000, as the built-in schema.
    fn first(&self) -> GqlResult<usize> {
        match self.get("first")? {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n <= MAX_LIMIT)
                .ok_or_else(|| bad(format!("`first` must be from 0 to {MAX_LIMIT}, got {v}"))),
        }
    }
}

fn page(nodes: Vec<Json>, next: Option<String>, connection: bool) -> Json {
    if connection {
        json!({"nodes": nodes, "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next}})
    } else {
        Json::Array(nodes)
    }
}

/// Reads what `binding` binds, for the token of the request.
pub(crate) async fn fetch(
    binding: &Binding,
    ctx: &ResolverContext<'_>,
    parent: Option<&Json>,
) -> GqlResult<Json> {
    let entry = ctx.data::<Arc<TokenEntry>>()?.clone();
    let projection = open_projection(&entry).map_err(gql_error)?;
    let inputs = Inputs {
        binding,
        ctx,
        parent,
    };
    match &binding.kind {
        BindKind::Account => {
            let name = inputs.string("name")?.unwrap_or_default();
            let block = inputs.block("block")?;
            to_json(&reads::account(&entry, &projection, &name, block).map_err(gql_error)?)
        }
        BindKind::Richlist => {
            let first = inputs.first()?;
            let after = inputs.string("after")?;
            let block = inputs.block("block")?;
            let list = reads::richlist(&entry, projection, first, after, block)
                .await
                .map_err(gql_error)?;
            let nodes = list
                .accounts
                .iter()
                .map(to_json)
                .collect::<GqlResult<_>>()?;
            Ok(page(nodes, list.next, binding.connection))
        }
        BindKind::Transfers => {
            let query = TransferQuery {
                account: inputs.string("account")?,
                from: inputs.string("from")?,
                to: inputs.string("to")?,
                from_block: inputs.block("fromBlock")?,
                to_block: inputs.block("toBlock")?,
                limit: inputs.first()?,
                cursor: inputs.string("after")?,
            };
            let (views, next) = reads::transfers(&entry, projection, query, None)
                .await
                .map_err(gql_error)?;
            let nodes = views.iter().map(to_json).collect::<GqlResult<_>>()?;
            Ok(page(nodes, next, binding.connection))
        }
        BindKind::Ops => {
            let trx_id = inputs.string("trxId")?.unwrap_or_default();
            let ops = reads::ops(&projection, &trx_id).map_err(gql_error)?;
            Ok(Json::Array(
                ops.iter().map(to_json).collect::<GqlResult<_>>()?,
            ))
        }
        BindKind::Stats => stats(&entry, &projection),
        BindKind::Meta => meta(&entry, &projection),
        BindKind::Token => Ok(token(&entry)),
        BindKind::State(path) => {
            let mut parts = path.split('.');
            let mut value = match parts.next() {
                Some("token") => token(&entry),
                Some("stats") => stats(&entry, &projection)?,
                Some("meta") => meta(&entry, &projection)?,
                _ => Json::Null,
            };
            for part in parts {
                value = value.get(part).cloned().unwrap_or(Json::Null);
            }
            Ok(value)
        }
    }
}

/// `GET /:token/state` plus the number of accounts.
pub(crate) fn stats(entry: &TokenEntry, projection: &Projection) -> GqlResult<Json> {
    let view = reads::token_state(entry, projection).map_err(gql_error)?;
    let accounts = projection
        .meta()
        .map_err(|e| gql_error(ApiError::from_state(e)))?
        .accounts;
    let mut value = to_json(&view)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("accounts".into(), json!(accounts));
    }
    Ok(value)
}

/// The built-in `_meta`, as JSON.
pub(crate) fn meta(entry: &TokenEntry, projection: &Projection) -> GqlResult<Json> {
    let meta = projection
        .meta()
        .map_err(|e| gql_error(ApiError::from_state(e)))?;
    let (status, error) = entry.status();
    let (target_block, irreversible_block) = entry.chain_heads();
    Ok(json!({
        "block": meta.cursor.map(|c| json!({"number": c.num, "hash": c.id, "timestamp": c.timestamp})),
        "irreversibleBlock": irreversible_block,
        "targetBlock": target_block,
        "stateHash": meta.state_hash,
        "logLength": meta.log_records,
        "status": status.as_str(),
        "error": error,
        "earliestBlock": meta.earliest_block,
    }))
}

/// The token's definition without its genesis.
pub(crate) fn token(entry: &TokenEntry) -> Json {
    entry.with_config(|c| {
        json!({
            "symbol": c.symbol,
            "name": c.name,
            "description": c.description,
            "contractAddress": c.contract_address,
            "decimals": c.decimals,
            "features": {
                "transfers": c.features.transfers,
                "balances": c.features.balances,
                "staking": c.features.staking,
                "rewards": c.features.rewards,
            },
            "opPrefix": c.op_prefix,
            "startBlock": c.start_block,
            "powerDownInterval": c.power_down_interval,
        })
    })
}
