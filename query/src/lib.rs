//! HTTP serving: REST, per-token GraphQL, registry and admin routes, health
//! and metrics, on one port (interfaces.md, "HTTP" and "GraphQL").
//!
//! It owns the HTTP side of honeygraph and nothing else: every read goes to
//! a token's LMDB projection through [`state::Catalog`], every registry
//! write goes through the [`Control`] the binary implements.
//!
//! - [`app`] builds the whole application as one poem endpoint;
//! - [`serve`] runs it on an already bound listener until shutdown;
//! - errors are always JSON `{"error": {"code", "message"}}`.
//!
//! Page sizes: REST `limit` defaults to 100 and is clamped to 1000; GraphQL
//! `first` defaults to 100 and a value outside 0..=1000 is an error (so a
//! client never mistakes a clamped page for the end of a list). GraphQL
//! queries are limited to depth 12 and complexity 20 000.
//!
//! Modules: `rest` (per-token REST), `graphql` (per-token and cross-token
//! schemas), `registry` and `auth` (registry routes), `health` (`/health`,
//! `/ready`), `limit` (optional per-IP rate limit), `metrics` (`/metrics`
//! and the outermost middleware: timing, JSON errors, panics), `reads` and
//! `views` (reads and shapes shared by REST and GraphQL), `body` (JSON
//! bodies), `error` (the error shape), `custom` with `byo`, `script` and
//! `versions` (per-token BYO GraphQL schemas and rhai API scripts, versioned),
//! `namespaces` (`/namespaces`: per-token stats and streamed exports).

use std::future::Future;
use std::time::Duration;

use poem::listener::TcpAcceptor;
use poem::{Endpoint, EndpointExt, Response, Route, Server};

mod admin;
mod auth;
mod body;
mod byo;
mod context;
mod control;
mod custom;
mod error;
mod graphql;
mod health;
mod limit;
mod metrics;
mod namespaces;
mod reads;
mod registry;
mod rest;
mod script;
mod versions;
mod views;

pub use context::AppContext;
pub use control::{Control, ControlError, TokenPatch};
pub use versions::CustomDirError;

/// How long [`serve`] waits for in-flight requests after `shutdown`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The whole HTTP application. Every answer is a `Response` (errors are
/// already JSON), so it can be driven by `poem::test::TestClient` or served
/// by [`serve`].
pub fn app(context: AppContext) -> impl Endpoint<Output = Response> {
    let mut route = Route::new();
    route = health::routes(route);
    route = registry::routes(route);
    route = admin::routes(route);
    route = graphql::routes(route);
    route = rest::routes(route);
    route = custom::routes(route);
    route = namespaces::routes(route);
    route = script::routes(route);
    let limiter = context.limiter.clone();
    route
        .data(context)
        .around(move |ep, req| limit::limit(limiter.clone(), ep, req))
        .around(metrics::outer)
}

/// Installs the process-wide Prometheus recorder now (it is otherwise
/// installed by [`AppContext::new`]), so metrics recorded before the HTTP
/// side starts are kept. Returns false when another recorder was first.
pub fn install_metrics_recorder() -> bool {
    metrics::install_recorder().is_some()
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish (for up to [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    context: AppContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TcpAcceptor::from_tokio(listener)?;
    let limiter = context.limiter.clone();
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            metrics::run_upkeep();
            if let Some(limiter) = &limiter {
                limiter.forget_idle();
            }
        }
    });
    let result = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app(context), shutdown, Some(SHUTDOWN_GRACE))
        .await;
    upkeep.abort();
    result
}
