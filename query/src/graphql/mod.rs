//! GraphQL: the per-token schema at `/:token/graphql` and the cross-token
//! schema at `/graphql`, each with GraphiQL on `GET`.
//!
//! Both schemas are built once; the per-token one receives the token's
//! entry as request data. Depth and complexity are limited so one request
//! cannot ask for unbounded work.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, EmptyMutation, EmptySubscription, Schema};
use poem::web::{Data, Html, Json, Path};
use poem::{handler, Body, Request, Route};
use state::Catalog;

use crate::body;
use crate::context::AppContext;
use crate::error::ApiError;

mod global_query;
mod token_query;
mod types;

use global_query::GlobalQuery;
use token_query::TokenQuery;

/// Deepest selection a query may have.
const MAX_DEPTH: usize = 12;
/// Largest complexity: about 1000 nodes of 20 fields.
const MAX_COMPLEXITY: usize = 20_000;
/// Most queries in one batched request.
const MAX_BATCH: usize = 16;

pub(crate) type TokenSchema = Schema<TokenQuery, EmptyMutation, EmptySubscription>;
pub(crate) type GlobalSchema = Schema<GlobalQuery, EmptyMutation, EmptySubscription>;

pub(crate) fn token_schema() -> TokenSchema {
    Schema::build(TokenQuery, EmptyMutation, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

pub(crate) fn global_schema(catalog: Arc<Catalog>) -> GlobalSchema {
    Schema::build(GlobalQuery, EmptyMutation, EmptySubscription)
        .data(catalog)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// Adds `/graphql` and `/:token/graphql` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/graphql", poem::get(global_graphiql).post(global_execute))
        .at(
            "/:token/graphql",
            poem::get(token_graphiql).post(token_execute),
        )
}

/// A single request or a batch, parsed through `serde_json::Value` first so
/// a malformed request gets serde's precise message.
async fn read_batch(req: &Request, body: Body) -> Result<BatchRequest, ApiError> {
    let value: serde_json::Value = body::read_json(req, body).await?;
    let parse = |v: serde_json::Value| {
        serde_json::from_value::<async_graphql::Request>(v).map_err(|e| {
            ApiError::bad_request("INVALID_JSON", format!("invalid GraphQL request: {e}"))
        })
    };
    match value {
        serde_json::Value::Array(items) => {
            if items.is_empty() || items.len() > MAX_BATCH {
                return Err(ApiError::bad_request(
                    "INVALID_JSON",
                    format!("a batch holds 1 to {MAX_BATCH} requests"),
                ));
            }
            let requests = items
                .into_iter()
                .map(parse)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(BatchRequest::Batch(requests))
        }
        single => Ok(BatchRequest::Single(parse(single)?)),
    }
}

fn graphiql(endpoint: &str, title: &str) -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint(endpoint)
            .title(title)
            .finish(),
    )
}

#[handler]
fn global_graphiql(req: &Request) -> Html<String> {
    graphiql(req.uri().path(), "honeygraph")
}

#[handler]
async fn global_execute(
    req: &Request,
    body: Body,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<async_graphql::BatchResponse>, ApiError> {
    let batch = read_batch(req, body).await?;
    Ok(Json(ctx.global_schema.execute_batch(batch).await))
}

#[handler]
fn token_graphiql(
    req: &Request,
    Path(token): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Html<String>, ApiError> {
    let entry = ctx.entry(&token)?;
    Ok(graphiql(
        req.uri().path(),
        &format!("{} · honeygraph", entry.symbol()),
    ))
}

#[handler]
async fn token_execute(
    req: &Request,
    body: Body,
    Path(token): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<async_graphql::BatchResponse>, ApiError> {
    // Unknown or busy tokens answer like REST does, before any parsing.
    let (entry, _) = ctx.open(&token)?;
    let byo = ctx.custom.schemas.live(&entry.symbol());
    let batch = read_batch(req, body).await?.data(entry);
    // A token's active BYO schema replaces the built-in one.
    if let Some(byo) = byo {
        return Ok(Json(byo.execute(batch).await));
    }
    Ok(Json(ctx.token_schema.execute_batch(batch).await))
}
