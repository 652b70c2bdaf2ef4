//! The registry routes: list and read tokens, and the admin-only writes
//! that go through [`Control`](crate::Control).

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, Body, IntoResponse, Request, Response, Route};
use serde::Serialize;
use state::{TokenConfig, TokenSpec};

use crate::auth::require_admin;
use crate::body;
use crate::context::AppContext;
use crate::control::{TokenPatch, IMMUTABLE_FIELDS};
use crate::error::{blocking, ApiError};

/// Adds `/registry/tokens` and `/registry/tokens/:symbol` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route.at("/registry/tokens", poem::get(list).post(add)).at(
        "/registry/tokens/:symbol",
        poem::get(get).put(update).delete(remove),
    )
}

#[derive(Serialize)]
struct TokensBody {
    tokens: Vec<TokenConfig>,
}

#[handler]
async fn list(Data(ctx): Data<&AppContext>) -> Result<Json<TokensBody>, ApiError> {
    let control = ctx.control.clone();
    let tokens = blocking(move || Ok(control.tokens())).await?;
    Ok(Json(TokensBody { tokens }))
}

#[handler]
async fn get(
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<TokenConfig>, ApiError> {
    let control = ctx.control.clone();
    let tokens = blocking(move || Ok(control.tokens())).await?;
    tokens
        .into_iter()
        .find(|t| t.symbol.eq_ignore_ascii_case(&symbol))
        .map(Json)
        .ok_or_else(|| ApiError::token_not_found(&symbol))
}

#[handler]
async fn add(
    req: &Request,
    body: Body,
    Data(ctx): Data<&AppContext>,
) -> Result<Response, ApiError> {
    require_admin(ctx, req)?;
    let spec: TokenSpec = body::read_json(req, body).await?;
    let control = ctx.control.clone();
    let config = blocking(move || control.add_token(spec).map_err(ApiError::from)).await?;
    Ok(Json(config)
        .with_status(StatusCode::CREATED)
        .into_response())
}

#[handler]
async fn update(
    req: &Request,
    body: Body,
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<TokenConfig>, ApiError> {
    require_admin(ctx, req)?;
    let value: serde_json::Value = body::read_json(req, body).await?;
    if let Some(object) = value.as_object() {
        if let Some(field) = IMMUTABLE_FIELDS.iter().find(|f| object.contains_key(**f)) {
            return Err(ApiError::bad_request(
                "INVALID_FIELD",
                format!("field `{field}` cannot be changed once a token is registered"),
            ));
        }
    }
    let patch: TokenPatch = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("INVALID_JSON", format!("invalid JSON body: {e}")))?;
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let config =
        blocking(move || control.update_token(&symbol, patch).map_err(ApiError::from)).await?;
    Ok(Json(config))
}

#[derive(Serialize)]
struct RemovedBody {
    symbol: String,
    removed: bool,
    purged: bool,
}

#[handler]
async fn remove(
    req: &Request,
    Path(symbol): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<RemovedBody>, ApiError> {
    require_admin(ctx, req)?;
    let purge = match params.get("purge").map(String::as_str) {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("`purge` must be true or false, got `{other}`"),
            ))
        }
    };
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let target = symbol.clone();
    blocking(move || control.remove_token(&target, purge).map_err(ApiError::from)).await?;
    Ok(Json(RemovedBody {
        symbol,
        removed: true,
        purged: purge,
    }))
}
