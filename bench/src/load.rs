//! Figure 5: REST balance and GraphQL `account` queries under load, served
//! by the real query application ([`query::serve`]) in this process, with
//! every answer's body checked against the projection.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use query::{AppContext, Control, ControlError, TokenPatch};
use state::{Catalog, TokenConfig, TokenSpec, TokenStatus};
use tokio::sync::oneshot;

use crate::error::BenchError;
use crate::history::{self, account, HISTORY_ACCOUNTS};
use crate::loadgen::{self, Load, Probe};
use crate::report::{num, Figure};
use crate::Sizes;

/// Connections the load generator keeps open.
const CONNECTIONS: usize = 64;

const SYMBOL: &str = "HISTQ";

pub(crate) fn figure(dir: &Path, sizes: &Sizes) -> Result<Figure, BenchError> {
    let work = crate::replay::tempdir(dir)?;
    let runtime = history::open(work.path(), SYMBOL)?;
    history::extend(&runtime, 2_000)?;
    let projection = runtime
        .entry()
        .projection()
        .ok_or_else(|| BenchError::Check("the query token has no projection".into()))?;
    let mut rest = Vec::new();
    let mut graphql = Vec::new();
    for i in 0..HISTORY_ACCOUNTS {
        let name = account(i);
        let (state, _) = projection
            .account(&name)
            .map_err(|e| BenchError::failed("reading an account", e))?;
        let expect = format!(r#""balanceRaw":"{}""#, state.balance);
        rest.push(Probe::get(
            &format!("/{SYMBOL}/balance/{name}"),
            expect.clone(),
        ));
        let body = format!(
            r#"{{"query":"{{ account(name: \"{name}\") {{ account balance balanceRaw power }} }}"}}"#
        );
        graphql.push(Probe::post_json(
            &format!("/{SYMBOL}/graphql"),
            &body,
            expect,
        ));
    }
    drop(projection);
    runtime.entry().set_status(TokenStatus::Live, None);
    let catalog = Arc::new(Catalog::new());
    catalog.insert(runtime.entry().clone());

    // The server gets a runtime like `honeygraph serve`'s (one worker per
    // core); the generator runs on one thread of its own.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-query")
        .build()
        .map_err(|e| BenchError::io("starting a runtime", e))?;
    let context = AppContext::new(catalog, Arc::new(NoControl), None);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))
        .map_err(|e| BenchError::io("binding the query server", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| BenchError::io("binding the query server", e))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = server_rt.spawn(query::serve(listener, context, async move {
        let _ = stopped.await;
    }));
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::io("starting a runtime", e))?;
    let rest = client_rt.block_on(loadgen::run(
        addr,
        Arc::new(rest),
        CONNECTIONS,
        sizes.load_duration,
    ))?;
    let graphql = client_rt.block_on(loadgen::run(
        addr,
        Arc::new(graphql),
        CONNECTIONS,
        sizes.load_duration,
    ))?;
    let _ = stop.send(());
    let _ = server_rt.block_on(server);
    drop(runtime);
    Ok(Figure {
        id: 5,
        name: "REST /:token/balance/:account under load".into(),
        value: rest.per_second(),
        unit: "req/s".into(),
        baseline: None,
        target: "REST at least 30,000 req/s, GraphQL at least 10,000 req/s, on the 2 cores shared with the generator".into(),
        details: vec![
            line("REST balance", &rest),
            line("GraphQL account", &graphql),
            format!(
                "{CONNECTIONS} keep-alive connections from the bench's own generator (one thread), {:.1} s each, every body checked against the projection; token with {HISTORY_ACCOUNTS} accounts",
                sizes.load_duration.as_secs_f64()
            ),
        ],
    })
}

fn line(what: &str, load: &Load) -> String {
    format!(
        "{what}: {} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests)",
        num(load.per_second()),
        load.p50.as_secs_f64() * 1000.0,
        load.p99.as_secs_f64() * 1000.0,
        num(load.requests as f64)
    )
}

/// The bench serves reads only: every registry write is refused.
struct NoControl;

impl Control for NoControl {
    fn tokens(&self) -> Vec<TokenConfig> {
        Vec::new()
    }
    fn add_token(&self, _: TokenSpec) -> Result<TokenConfig, ControlError> {
        Err(unavailable())
    }
    fn update_token(&self, _: &str, _: TokenPatch) -> Result<TokenConfig, ControlError> {
        Err(unavailable())
    }
    fn remove_token(&self, _: &str, _: bool) -> Result<(), ControlError> {
        Err(unavailable())
    }
    fn checkpoint(&self, _: &str) -> Result<serde_json::Value, ControlError> {
        Err(unavailable())
    }
    fn checkpoints(&self, _: &str) -> Result<Vec<serde_json::Value>, ControlError> {
        Err(unavailable())
    }
    fn rollback(&self, _: &str, _: u64, _: bool) -> Result<serde_json::Value, ControlError> {
        Err(unavailable())
    }
    fn replay(
        &self,
        _: &str,
        _: Option<String>,
        _: Option<u64>,
    ) -> Result<serde_json::Value, ControlError> {
        Err(unavailable())
    }
}

fn unavailable() -> ControlError {
    ControlError::Unavailable("the bench serves reads only".into())
}
