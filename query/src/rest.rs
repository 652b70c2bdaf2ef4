//! The per-token REST routes of interfaces.md: state, balance, transfers,
//! rich list and operation outcomes.

use std::collections::HashMap;

use poem::web::{Data, Json, Path, Query};
use poem::{handler, Route};
use serde::Serialize;
use state::projection::TransferQuery;

use crate::context::AppContext;
use crate::error::ApiError;
use crate::reads::{self, StateView, DEFAULT_LIMIT, MAX_LIMIT};
use crate::views::{AccountView, OpView, RichView, TransferView};

/// Adds the routes under `/:token/...` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/:token/state", poem::get(token_state))
        .at("/:token/balance/:account", poem::get(balance))
        .at("/:token/transfers", poem::get(transfers))
        .at("/:token/richlist", poem::get(richlist))
        .at("/:token/op/:trx_id", poem::get(op))
}

type Params = Query<HashMap<String, String>>;

/// `limit`: default 100, clamped to 1000; 0 or not a number is a 400.
pub(crate) fn parse_limit(value: Option<&String>) -> Result<usize, ApiError> {
    let Some(text) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(ApiError::bad_request(
            "INVALID_PARAMETER",
            format!("`limit` must be an integer from 1 to {MAX_LIMIT}, got `{text}`"),
        )),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

fn parse_block(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(name)
        .map(|text| {
            text.parse::<u64>().map_err(|_| {
                ApiError::bad_request(
                    "INVALID_PARAMETER",
                    format!("`{name}` must be a block number, got `{text}`"),
                )
            })
        })
        .transpose()
}

#[handler]
async fn token_state(
    Path(token): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<StateView>, ApiError> {
    let (entry, projection) = ctx.open(&token)?;
    Ok(Json(reads::token_state(&entry, &projection)?))
}

/// `?block=N`: the figures as they were after block N.
#[handler]
async fn balance(
    Path((token, account)): Path<(String, String)>,
    Query(params): Params,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<AccountView>, ApiError> {
    let (entry, projection) = ctx.open(&token)?;
    let block = parse_block(&params, "block")?;
    Ok(Json(reads::account(&entry, &projection, &account, block)?))
}

#[derive(Serialize)]
struct TransfersBody {
    transfers: Vec<TransferView>,
    next: Option<String>,
}

#[handler]
async fn transfers(
    Path(token): Path<String>,
    Query(params): Params,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<TransfersBody>, ApiError> {
    let (entry, projection) = ctx.open(&token)?;
    let query = TransferQuery {
        account: params.get("account").cloned(),
        from: params.get("from").cloned(),
        to: params.get("to").cloned(),
        from_block: parse_block(&params, "fromBlock")?,
        to_block: parse_block(&params, "toBlock")?,
        limit: parse_limit(params.get("limit"))?,
        cursor: params.get("cursor").cloned(),
    };
    let at = parse_block(&params, "block")?;
    let (transfers, next) = reads::transfers(&entry, projection, query, at).await?;
    Ok(Json(TransfersBody { transfers, next }))
}

#[derive(Serialize)]
struct RichBody {
    accounts: Vec<RichView>,
    next: Option<String>,
}

#[handler]
async fn richlist(
    Path(token): Path<String>,
    Query(params): Params,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<RichBody>, ApiError> {
    let (entry, projection) = ctx.open(&token)?;
    let limit = parse_limit(params.get("limit"))?;
    let at = parse_block(&params, "block")?;
    let cursor = params.get("cursor").cloned();
    let page = reads::richlist(&entry, projection, limit, cursor, at).await?;
    Ok(Json(RichBody {
        accounts: page.rest_views(),
        next: page.next,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpBody {
    trx_id: String,
    ops: Vec<OpView>,
}

#[handler]
async fn op(
    Path((token, trx_id)): Path<(String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<OpBody>, ApiError> {
    let (entry, projection) = ctx.open(&token)?;
    let ops = reads::ops(&projection, &trx_id)?;
    if ops.is_empty() {
        return Err(reads::op_not_found(&trx_id, &entry.symbol()));
    }
    Ok(Json(OpBody {
        trx_id: trx_id.to_ascii_lowercase(),
        ops,
    }))
}
