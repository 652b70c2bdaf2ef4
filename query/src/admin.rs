//! The admin routes for checkpoints, rollback and replay. Each one needs the
//! admin bearer token and goes through [`Control`](crate::Control), which the
//! binary implements on top of ingest and the replay crate.

use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{handler, Body, IntoResponse, Request, Response, Route};
use serde::Deserialize;

use crate::auth::require_admin;
use crate::body;
use crate::context::AppContext;
use crate::error::{blocking, ApiError};

/// Adds `/admin/tokens/:symbol/{snapshot,snapshots,rollback,replay}` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/admin/tokens/:symbol/snapshot", poem::post(snapshot))
        .at("/admin/tokens/:symbol/snapshots", poem::get(snapshots))
        .at("/admin/tokens/:symbol/rollback", poem::post(rollback))
        .at("/admin/tokens/:symbol/replay", poem::post(replay))
}

/// Body of `POST /admin/tokens/:symbol/rollback`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RollbackBody {
    to_block: u64,
    /// Restore a checkpoint even where the undo journal reaches.
    #[serde(default)]
    from_checkpoint: bool,
}

/// Body of `POST /admin/tokens/:symbol/replay`; both fields are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayBody {
    from_snapshot: Option<String>,
    to_block: Option<u64>,
}

#[handler]
async fn snapshot(
    req: &Request,
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Response, ApiError> {
    require_admin(ctx, req)?;
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let taken = blocking(move || control.checkpoint(&symbol).map_err(ApiError::from)).await?;
    Ok(Json(taken).with_status(StatusCode::CREATED).into_response())
}

#[handler]
async fn snapshots(
    req: &Request,
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(ctx, req)?;
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let target = symbol.clone();
    let list = blocking(move || control.checkpoints(&target).map_err(ApiError::from)).await?;
    Ok(Json(
        serde_json::json!({ "symbol": symbol, "snapshots": list }),
    ))
}

#[handler]
async fn rollback(
    req: &Request,
    body: Body,
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(ctx, req)?;
    let RollbackBody {
        to_block,
        from_checkpoint,
    } = body::read_json(req, body).await?;
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let report = blocking(move || {
        control
            .rollback(&symbol, to_block, from_checkpoint)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(report))
}

#[handler]
async fn replay(
    req: &Request,
    body: Body,
    Path(symbol): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(ctx, req)?;
    let ReplayBody {
        from_snapshot,
        to_block,
    } = body::read_optional_json(req, body).await?;
    let control = ctx.control.clone();
    let symbol = symbol.to_ascii_uppercase();
    let report = blocking(move || {
        control
            .replay(&symbol, from_snapshot, to_block)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(report))
}
