//! Custom API scripts (`POST /registry/tokens/:symbol/api`): a rhai script
//! that adds GET routes under `/:token/`, replacing the seed's
//! `module.exports` JavaScript (which ran unchecked code in the server).
//!
//! The script defines `fn routes()` returning a map of path to function
//! name, and those functions, each taking one argument, the request map
//! `#{path, params, query}` (`params` from `:name` path segments, `query`
//! the query string, all strings):
//!
//! ```rhai
//! fn routes() { #{ "whales": "whales", "holder/:name": "holder" } }
//! fn whales(req) {
//!     let n = if "limit" in req.query { parse_int(req.query.limit) } else { 10 };
//!     richlist(n).accounts.filter(|a| parse_int(a.balanceRaw) > 1000)
//! }
//! fn holder(req) { balance(req.params.name) }
//! ```
//!
//! `GET /:token/whales` answers the function's value as JSON. Top-level
//! statements are never run: only `routes()` (at upload) and the route
//! functions. A route may not start with a built-in route (`state`,
//! `balance`, `transfers`, `richlist`, `op`, `graphql`).
//!
//! Sandbox: see `sandbox` (limits) and `host` (the only outside calls,
//! read-only, bound to the token of the URL). Every call runs on a
//! blocking thread. Errors: syntax at upload → 400 `INVALID_SCRIPT` with
//! line and column; at run time → 500 `SCRIPT_ERROR` (the script's message,
//! `throw` included), 500 `SCRIPT_LIMIT` (operations, sizes, depth) or 503
//! `SCRIPT_TIMEOUT`. A script never takes the server down.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use poem::http::StatusCode;
use rhai::{CallFnOptions, Dynamic, EvalAltResult, Map, Scope, AST};
use state::TokenEntry;

use crate::error::ApiError;

mod host;
mod routes;
mod sandbox;

#[cfg(test)]
mod tests;

pub(crate) use routes::routes;

/// First path segments a script may not take.
const RESERVED: [&str; 6] = ["state", "balance", "transfers", "richlist", "op", "graphql"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
struct RoutePattern {
    path: String,
    segments: Vec<Segment>,
    function: String,
}

/// A compiled script and its routes.
#[derive(Debug)]
pub(crate) struct Script {
    ast: AST,
    routes: Vec<RoutePattern>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_SCRIPT", message)
}

fn call_options() -> CallFnOptions<'static> {
    let mut options = CallFnOptions::new();
    // Only functions run, never top-level statements.
    options.eval_ast = false;
    options
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s != "."
        && s != ".."
}

fn parse_route(path: &str, function: String, ast: &AST) -> Result<RoutePattern, ApiError> {
    let trimmed = path.trim_matches('/');
    let mut segments = Vec::new();
    for part in trimmed.split('/') {
        let segment = match part.strip_prefix(':') {
            Some(name) if segment_ok(name) => Segment::Param(name.to_string()),
            None if segment_ok(part) => Segment::Literal(part.to_string()),
            _ => {
                return Err(invalid(format!(
                    "route `{path}`: segments are letters, digits, `-`, `_`, `.` or `:param`"
                )))
            }
        };
        segments.push(segment);
    }
    match segments.first() {
        Some(Segment::Literal(first)) if RESERVED.contains(&first.as_str()) => {
            return Err(invalid(format!(
                "route `{path}` would hide the built-in `/:token/{first}`"
            )))
        }
        Some(Segment::Param(_)) => {
            return Err(invalid(format!(
                "route `{path}` must start with a fixed segment"
            )))
        }
        _ => {}
    }
    if !ast
        .iter_functions()
        .any(|f| f.name == function && f.params.len() == 1)
    {
        return Err(invalid(format!(
            "route `{path}` names `{function}`, but the script has no `fn {function}(req)`"
        )));
    }
    Ok(RoutePattern {
        path: trimmed.to_string(),
        segments,
        function,
    })
}

/// Compiles a script and reads its routes (running `routes()` under the
/// same limits as requests, with no token reads available).
pub(crate) fn compile(source: &str) -> Result<Script, ApiError> {
    let engine = sandbox::engine();
    let ast = engine.compile(source).map_err(|e| {
        let pos = e.position();
        invalid(format!(
            "line {}, column {}: {}",
            pos.line().unwrap_or(0),
            pos.position().unwrap_or(0),
            e.err_type()
        ))
    })?;
    let map: Map = engine
        .call_fn_with_options(call_options(), &mut Scope::new(), &ast, "routes", ())
        .map_err(|e| match *e {
            EvalAltResult::ErrorFunctionNotFound(ref name, _) if name.starts_with("routes") => {
                invalid(
                    "the script must define `fn routes()` returning a map of path => function name",
                )
            }
            other => invalid(format!("`routes()` failed: {other}")),
        })?;
    let mut routes = Vec::new();
    for (path, function) in map {
        let function = function.into_string().map_err(|t| {
            invalid(format!(
                "route `{path}` must name a function (a string), got {t}"
            ))
        })?;
        routes.push(parse_route(&path, function, &ast)?);
    }
    if routes.is_empty() {
        return Err(invalid("`routes()` returned no routes"));
    }
    Ok(Script { ast, routes })
}

impl Script {
    fn route(&self, path: &str) -> Option<(&RoutePattern, BTreeMap<String, String>)> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes.iter().find_map(|route| {
            if route.segments.len() != parts.len() {
                return None;
            }
            let mut params = BTreeMap::new();
            for (segment, part) in route.segments.iter().zip(&parts) {
                match segment {
                    Segment::Literal(l) if l == part => {}
                    Segment::Param(name) => {
                        params.insert(name.clone(), (*part).to_string());
                    }
                    Segment::Literal(_) => return None,
                }
            }
            Some((route, params))
        })
    }

    /// The declared route paths.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.routes.iter().map(|r| r.path.clone()).collect()
    }

    /// Runs the route matching `path` for `entry`'s token; 404 when no
    /// route matches. Blocking: call from a blocking thread.
    pub(crate) fn run(
        &self,
        entry: Arc<TokenEntry>,
        path: &str,
        query: HashMap<String, String>,
    ) -> Result<serde_json::Value, ApiError> {
        let symbol = entry.symbol();
        let Some((route, params)) = self.route(path) else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("token {symbol} has no route `/{}`", path.trim_matches('/')),
            ));
        };
        let mut engine = sandbox::engine();
        host::register(&mut engine, entry);
        let mut request = Map::new();
        request.insert("path".into(), Dynamic::from(route.path.clone()));
        request.insert("params".into(), to_map(params.into_iter()));
        request.insert("query".into(), to_map(query.into_iter()));
        let result: Dynamic = engine
            .call_fn_with_options(
                call_options(),
                &mut Scope::new(),
                &self.ast,
                &route.function,
                (Dynamic::from_map(request),),
            )
            .map_err(|e| script_error(&symbol, &route.function, *e))?;
        rhai::serde::from_dynamic::<serde_json::Value>(&result).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "SCRIPT_ERROR",
                format!(
                    "`{}` returned a value that is not JSON: {e}",
                    route.function
                ),
            )
        })
    }
}

fn to_map(items: impl Iterator<Item = (String, String)>) -> Dynamic {
    let map: Map = items.map(|(k, v)| (k.into(), Dynamic::from(v))).collect();
    Dynamic::from_map(map)
}

/// The API error of a failed script call, by what went wrong.
fn script_error(symbol: &str, function: &str, e: EvalAltResult) -> ApiError {
    let inner = e.unwrap_inner();
    let (status, code) = match inner {
        EvalAltResult::ErrorTerminated(marker, _)
            if marker.clone().into_string().ok().as_deref() == Some(sandbox::TIMEOUT_MARKER) =>
        {
            let message = format!(
                "`{function}` ran longer than {} ms and was stopped",
                sandbox::MAX_TIME.as_millis()
            );
            tracing::warn!("{symbol}: {message}");
            return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SCRIPT_TIMEOUT", message);
        }
        EvalAltResult::ErrorTooManyOperations(_) => {
            let message = format!(
                "`{function}` ran more than {} operations and was stopped",
                sandbox::MAX_OPERATIONS
            );
            tracing::warn!("{symbol}: {message}");
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "SCRIPT_LIMIT", message);
        }
        EvalAltResult::ErrorDataTooLarge(..)
        | EvalAltResult::ErrorStackOverflow(_)
        | EvalAltResult::ErrorTooManyVariables(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "SCRIPT_LIMIT")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "SCRIPT_ERROR"),
    };
    let message = match inner {
        EvalAltResult::ErrorRuntime(value, pos) => {
            let text = value
                .clone()
                .into_string()
                .unwrap_or_else(|_| value.to_string());
            format!("{text} (line {})", pos.line().unwrap_or(0))
        }
        _ => e.to_string(),
    };
    ApiError::new(status, code, message)
}
