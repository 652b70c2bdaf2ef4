//! Per-token customizations and their registry routes: BYO GraphQL schemas
//! (`byo`) and custom API scripts (`script`), each versioned (`versions`).
//!
//! Routes (`:kind` is `schema` or `api`; writes need the admin token):
//! - `POST /registry/tokens/:symbol/schema` `{"schema": "<SDL>"}` and
//!   `POST /registry/tokens/:symbol/api` `{"api": "<rhai>"}`: validate,
//!   store as the next version, make it live at once → 201
//!   `{"symbol","kind","version"}`;
//! - `GET /registry/tokens/:symbol/:kind`: the active version (null when
//!   the built-in behaviour is in force), its text and every version;
//! - `GET /registry/tokens/:symbol/:kind/versions/:n`: one version's text;
//! - `POST /registry/tokens/:symbol/:kind/rollback` `{"version": n}`: make
//!   an older (or newer) version live again;
//! - `DELETE /registry/tokens/:symbol/:kind`: back to the built-in schema
//!   (no custom routes); versions are kept.

use std::path::Path as FsPath;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{handler, Body, IntoResponse, Request, Response, Route};
use serde::{Deserialize, Serialize};

use crate::auth::require_admin;
use crate::body;
use crate::byo::{self, ByoSchema};
use crate::context::AppContext;
use crate::error::{blocking, ApiError};
use crate::script::{self, Script};
use crate::versions::{CustomDirError, Kind, Listing, Versioned};

/// The versioned schemas and scripts of every token.
pub(crate) struct Custom {
    pub(crate) schemas: Versioned<ByoSchema>,
    pub(crate) scripts: Versioned<Script>,
}

impl Custom {
    /// Kept in memory only.
    pub(crate) fn in_memory() -> Self {
        Custom {
            schemas: Versioned::new(Kind::Schema, None),
            scripts: Versioned::new(Kind::Api, None),
        }
    }

    /// Loaded from (and persisted to) `dir`.
    pub(crate) fn load(dir: &FsPath) -> Result<Self, CustomDirError> {
        Ok(Custom {
            schemas: Versioned::load(Kind::Schema, dir, |_, t| byo::compile(t))?,
            scripts: Versioned::load(Kind::Api, dir, |_, t| script::compile(t))?,
        })
    }
}

/// Adds the customization routes to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at(
            "/registry/tokens/:symbol/:kind",
            poem::get(listing).post(publish).delete(deactivate),
        )
        .at(
            "/registry/tokens/:symbol/:kind/versions/:n",
            poem::get(version_text),
        )
        .at(
            "/registry/tokens/:symbol/:kind/rollback",
            poem::post(rollback),
        )
}

fn kind(word: &str) -> Result<Kind, ApiError> {
    match word {
        "schema" => Ok(Kind::Schema),
        "api" => Ok(Kind::Api),
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no registry resource `{other}`: use `schema` or `api`"),
        )),
    }
}

/// The registered token's upper-case symbol, or 404.
fn symbol(ctx: &AppContext, symbol: &str) -> Result<String, ApiError> {
    Ok(ctx.entry(symbol)?.symbol())
}

#[handler]
async fn listing(
    Path((sym, word)): Path<(String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<Listing>, ApiError> {
    let kind = kind(&word)?;
    let symbol = symbol(ctx, &sym)?;
    let mut listing = match kind {
        Kind::Schema => ctx.custom.schemas.listing(&symbol)?,
        Kind::Api => ctx.custom.scripts.listing(&symbol)?,
    };
    if kind == Kind::Api {
        listing.routes = ctx.custom.scripts.live(&symbol).map(|s| s.paths());
    }
    Ok(Json(listing))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    symbol: String,
    kind: &'static str,
    version: u32,
}

#[handler]
async fn publish(
    req: &Request,
    body: Body,
    Path((sym, word)): Path<(String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Response, ApiError> {
    require_admin(ctx, req)?;
    let kind = kind(&word)?;
    let symbol = symbol(ctx, &sym)?;
    let value: serde_json::Value = body::read_json(req, body).await?;
    let text = value
        .get(kind.as_str())
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_FIELD",
                format!("the body must be {{\"{}\": \"<text>\"}}", kind.as_str()),
            )
        })?
        .to_string();
    let custom = ctx.custom.clone();
    let target = symbol.clone();
    let version = blocking(move || match kind {
        Kind::Schema => {
            let compiled = byo::compile(&text)?;
            custom.schemas.publish(&target, &text, compiled)
        }
        Kind::Api => {
            let compiled = script::compile(&text)?;
            custom.scripts.publish(&target, &text, compiled)
        }
    })
    .await?;
    tracing::info!("{symbol}: {} v{version} is live", kind.as_str());
    Ok(Json(Published {
        symbol,
        kind: kind.as_str(),
        version,
    })
    .with_status(StatusCode::CREATED)
    .into_response())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionText {
    symbol: String,
    kind: &'static str,
    version: u32,
    text: String,
}

#[handler]
async fn version_text(
    Path((sym, word, n)): Path<(String, String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<VersionText>, ApiError> {
    let kind = kind(&word)?;
    let symbol = symbol(ctx, &sym)?;
    let n = parse_version(&n)?;
    let text = match kind {
        Kind::Schema => ctx.custom.schemas.text(&symbol, n)?,
        Kind::Api => ctx.custom.scripts.text(&symbol, n)?,
    };
    Ok(Json(VersionText {
        symbol,
        kind: kind.as_str(),
        version: n,
        text: text.to_string(),
    }))
}

fn parse_version(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>().map_err(|_| {
        ApiError::bad_request(
            "INVALID_PARAMETER",
            format!("a version is a positive integer, got `{text}`"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Activated {
    symbol: String,
    kind: &'static str,
    active: Option<u32>,
}

#[handler]
async fn rollback(
    req: &Request,
    body: Body,
    Path((sym, word)): Path<(String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<Activated>, ApiError> {
    require_admin(ctx, req)?;
    let kind = kind(&word)?;
    let symbol = symbol(ctx, &sym)?;
    let RollbackBody { version } = body::read_json(req, body).await?;
    activate(ctx, kind, symbol, Some(version)).await
}

#[handler]
async fn deactivate(
    req: &Request,
    Path((sym, word)): Path<(String, String)>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<Activated>, ApiError> {
    require_admin(ctx, req)?;
    let kind = kind(&word)?;
    let symbol = symbol(ctx, &sym)?;
    activate(ctx, kind, symbol, None).await
}

async fn activate(
    ctx: &AppContext,
    kind: Kind,
    symbol: String,
    version: Option<u32>,
) -> Result<Json<Activated>, ApiError> {
    let custom = ctx.custom.clone();
    let target = symbol.clone();
    blocking(move || match kind {
        Kind::Schema => custom.schemas.activate(&target, version, byo::compile),
        Kind::Api => custom.scripts.activate(&target, version, script::compile),
    })
    .await?;
    tracing::info!("{symbol}: {} is now {version:?}", kind.as_str());
    Ok(Json(Activated {
        symbol,
        kind: kind.as_str(),
        active: version,
    }))
}
