//! `GET /:token/*path`: the routes of the token's active script. Registered
//! last; poem prefers the fixed built-in routes, so a script only ever sees
//! paths nothing else serves.

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, Route};

use crate::context::AppContext;
use crate::error::{blocking, ApiError};

/// Adds `/:token/*path` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route.at("/:token/*path", poem::get(run))
}

#[handler]
async fn run(
    Path((token, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entry = ctx.entry(&token)?;
    let symbol = entry.symbol();
    let Some(script) = ctx.custom.scripts.live(&symbol) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("token {symbol} has no route `/{path}`"),
        ));
    };
    let value = blocking(move || script.run(entry, &path, query)).await?;
    Ok(Json(value))
}
