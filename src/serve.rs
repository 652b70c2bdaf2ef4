//! `honeygraph serve`: opens every registered token, starts ingest and the
//! HTTP server, and stops both cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ingest::Ingest;
use replay::TokenRuntime;
use state::{Catalog, Registry};
use tokio::sync::watch;
use tracing::{error, info, info_span, warn};

use crate::control::ServeControl;
use crate::settings::Settings;

/// Something to print once the server listens (the demo's hints).
pub(crate) type Banner = Box<dyn FnOnce(SocketAddr) + Send>;

pub(crate) async fn run(settings: Settings, banner: Option<Banner>) -> anyhow::Result<()> {
    let _lock = crate::data_lock::lock(&settings.data_path)?;
    let backend = datasets::open_backend(settings.zfs_parent.as_deref(), &settings.data_path)?;
    let registry = Registry::open(settings.registry_path())?;
    let catalog = Arc::new(Catalog::new());
    let ingest = Ingest::new(settings.ingest_config(), catalog.clone())?;

    for config in registry.tokens() {
        let symbol = config.symbol.clone();
        let _span = info_span!("token", token = %symbol).entered();
        let runtime =
            TokenRuntime::open_with(backend.clone(), config.clone(), settings.checkpoints)
                .with_context(|| format!("cannot open token {symbol}"))?;
        catalog.insert(runtime.entry().clone());
        ingest.add_token(runtime);
        info!(start_block = config.start_block, "token opened");
    }

    let control = Arc::new(ServeControl::new(
        registry,
        backend,
        settings.checkpoints,
        catalog.clone(),
        ingest.clone(),
    ));
    let mut context =
        query::AppContext::new(catalog.clone(), control, settings.admin_token.clone())
            .with_custom_dir(&settings.custom_dir())
            .with_context(|| {
                format!(
                    "cannot load custom schemas and scripts from {}",
                    settings.custom_dir().display()
                )
            })?;
    if let Some(rate) = settings.rate_limit_ip {
        context = context.with_rate_limit(rate, rate.saturating_mul(two()));
    }
    if let Some(rate) = settings.rate_limit_token {
        context = context.with_token_rate_limit(rate, rate.saturating_mul(two()));
    }

    let addr = settings.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    info!(%local, "serving REST and GraphQL");
    if let Some(banner) = banner {
        banner(local);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let http = tokio::spawn(query::serve(listener, context, wait_for(stop_rx.clone())));
    let ingest_task = {
        let ingest = ingest.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move { ingest.run(wait_for(stop)).await })
    };

    let progress = tokio::spawn(crate::progress::watch_backfill(
        catalog.clone(),
        stop_rx.clone(),
    ));
    let release = tokio::spawn(crate::memory::release_periodically(
        catalog.clone(),
        stop_rx.clone(),
    ));

    shutdown_signal().await;
    info!("shutting down: no more fetching; committing the batch in hand");
    let _ = stop_tx.send(true);
    // A second signal means "now": the logs and projections are crash-safe,
    // so skipping the clean stop loses nothing that a restart cannot redo.
    tokio::spawn(async {
        shutdown_signal().await;
        warn!("second signal: exiting without waiting for the clean stop");
        std::process::exit(130);
    });
    let mut clean = true;
    match tokio::time::timeout(INGEST_STOP, ingest_task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => {
            error!("ingest stopped with an error: {e}");
            clean = false;
        }
        Ok(Err(e)) => {
            error!("ingest task failed: {e}");
            clean = false;
        }
        Err(_) => {
            error!("ingest did not stop within {INGEST_STOP:?}");
            clean = false;
        }
    }
    match tokio::time::timeout(HTTP_STOP, http).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => error!("HTTP server stopped with an error: {e}"),
        Ok(Err(e)) => error!("HTTP task failed: {e}"),
        Err(_) => error!("HTTP server did not stop within {HTTP_STOP:?}"),
    }
    let _ = progress.await;
    let _ = release.await;
    if !clean {
        anyhow::bail!("ingest did not stop cleanly; the next start resumes from each token's last committed block");
    }
    info!("stopped");
    Ok(())
}

/// How long ingest gets to commit the batch in hand after a signal.
const INGEST_STOP: Duration = Duration::from_secs(10);
/// How long open HTTP requests get to finish.
const HTTP_STOP: Duration = Duration::from_secs(3);

/// Bursts may reach twice the steady rate.
fn two() -> std::num::NonZeroU32 {
    std::num::NonZeroU32::MIN.saturating_add(1)
}

async fn wait_for(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            error!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
