//! `/health` (the process answers) and `/ready` (every token is live and
//! within [`READY_LAG`] blocks of the head it follows).

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse, Response, Route};
use serde::Serialize;
use state::{TokenEntry, TokenStatus};

use crate::context::AppContext;

/// Most blocks a token may be behind its target head and still be ready.
const READY_LAG: u64 = 2;

/// Adds `/health`, `/ready` and `/metrics` to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/health", poem::get(health))
        .at("/ready", poem::get(ready))
        .at("/metrics", poem::get(crate::metrics::render))
}

#[handler]
fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// One token's progress as `/ready` reports it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    symbol: String,
    status: &'static str,
    block: Option<u64>,
    target_block: u64,
    behind: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn progress(entry: &TokenEntry) -> (Progress, bool) {
    let (status, mut error) = entry.status();
    let target_block = entry.chain_heads().0;
    let block = match entry.projection().map(|p| p.meta()) {
        Some(Ok(meta)) => meta.cursor.map(|c| c.num),
        Some(Err(e)) => {
            error = Some(e.to_string());
            None
        }
        None => {
            error = Some("the projection is being swapped (rollback or replay)".into());
            None
        }
    };
    let behind = target_block.saturating_sub(block.unwrap_or(0));
    let is_ready = status == TokenStatus::Live && error.is_none() && behind <= READY_LAG;
    let progress = Progress {
        symbol: entry.symbol(),
        status: status.as_str(),
        block,
        target_block,
        behind,
        error,
    };
    (progress, is_ready)
}

#[handler]
fn ready(Data(ctx): Data<&AppContext>) -> Response {
    let mut tokens = Vec::new();
    let mut lagging = Vec::new();
    for entry in ctx.catalog.list() {
        let (progress, is_ready) = progress(&entry);
        if is_ready {
            tokens.push(progress);
        } else {
            lagging.push(progress);
        }
    }
    if lagging.is_empty() {
        return Json(serde_json::json!({"status": "ready", "tokens": tokens})).into_response();
    }
    let symbols: Vec<&str> = lagging.iter().map(|p| p.symbol.as_str()).collect();
    let body = serde_json::json!({
        "status": "not_ready",
        "error": {
            "code": "NOT_READY",
            "message": format!(
                "not live or more than {READY_LAG} blocks behind: {}",
                symbols.join(", ")
            ),
        },
        "lagging": lagging,
        "tokens": tokens,
    });
    Json(body)
        .with_status(StatusCode::SERVICE_UNAVAILABLE)
        .into_response()
}
