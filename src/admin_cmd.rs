//! `honeygraph snapshot|snapshots|replay|rollback SYMBOL`.
//!
//! With the server stopped, the command opens the token itself (holding the
//! data directory's lock). While `honeygraph serve` runs it holds that lock,
//! so the command goes through the server's admin API instead: the server
//! does the work (the token answers 503 during the swap, the other tokens go
//! on) and no two processes ever write the same log.

use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use replay::{RollbackSource, TokenRuntime};
use serde_json::{json, Value};
use state::Registry;

use crate::data_lock;
use crate::settings::Settings;

/// What to do to the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminAction {
    /// Take a checkpoint now.
    Snapshot,
    /// List the checkpoints.
    Snapshots,
    /// Rebuild from a checkpoint (or genesis) and the log.
    Replay {
        from_snapshot: Option<String>,
        to_block: Option<u64>,
    },
    /// Undo everything above a block; `from_checkpoint` never uses the undo journal.
    Rollback {
        to_block: u64,
        from_checkpoint: bool,
    },
}

pub(crate) fn run(settings: &Settings, symbol: &str, action: AdminAction) -> anyhow::Result<()> {
    let symbol = symbol.to_ascii_uppercase();
    let report = match data_lock::try_lock(&settings.data_path)? {
        Some(_lock) => offline(settings, &symbol, &action)?,
        None => through_server(settings, &symbol, &action)?,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn offline(settings: &Settings, symbol: &str, action: &AdminAction) -> anyhow::Result<Value> {
    let registry = Registry::open(settings.registry_path())?;
    let config = registry
        .get(symbol)
        .with_context(|| {
            format!(
                "token {symbol} is not registered in {}",
                settings.registry_path().display()
            )
        })?
        .clone();
    let backend = datasets::open_backend(settings.zfs_parent.as_deref(), &settings.data_path)?;
    let runtime = TokenRuntime::open_with(backend, config, settings.checkpoints)
        .with_context(|| format!("cannot open token {symbol}"))?;
    let report = match action {
        AdminAction::Snapshot => serde_json::to_value(runtime.checkpoint_now()?)?,
        AdminAction::Snapshots => json!({ "symbol": symbol, "snapshots": runtime.checkpoints()? }),
        AdminAction::Rollback {
            to_block,
            from_checkpoint,
        } => serde_json::to_value(runtime.rollback_with(*to_block, source(*from_checkpoint))?)?,
        AdminAction::Replay {
            from_snapshot,
            to_block,
        } => {
            let bar = progress_bar();
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let report = runtime.replay(from_snapshot.as_deref(), *to_block, &progress);
            bar.finish_and_clear();
            serde_json::to_value(report?)?
        }
    };
    Ok(report)
}

/// A bar on a terminal; nothing otherwise (the result is printed at the end).
fn progress_bar() -> ProgressBar {
    crate::progress::bar(
        0,
        "replay {bar:40} {pos}/{len} log records ({per_sec}, {eta} left)",
    )
}

fn through_server(
    settings: &Settings,
    symbol: &str,
    action: &AdminAction,
) -> anyhow::Result<Value> {
    let Some(token) = settings.admin_token.as_deref() else {
        bail!(
            "a running honeygraph server holds DATA_PATH {}: set HONEYGRAPH_ADMIN_TOKEN so this \
             command can go through its admin API, or stop the server first",
            settings.data_path.display()
        );
    };
    let host = match settings.bind.as_str() {
        "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
        other => other,
    };
    let base = format!("http://{host}:{}/admin/tokens/{symbol}", settings.port);
    let (method, url, body) = match action {
        AdminAction::Snapshot => (reqwest::Method::POST, format!("{base}/snapshot"), None),
        AdminAction::Snapshots => (reqwest::Method::GET, format!("{base}/snapshots"), None),
        AdminAction::Rollback {
            to_block,
            from_checkpoint,
        } => (
            reqwest::Method::POST,
            format!("{base}/rollback"),
            Some(json!({ "toBlock": to_block, "fromCheckpoint": from_checkpoint })),
        ),
        AdminAction::Replay {
            from_snapshot,
            to_block,
        } => (
            reqwest::Method::POST,
            format!("{base}/replay"),
            Some(json!({ "fromSnapshot": from_snapshot, "toBlock": to_block })),
        ),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // A replay of a long log takes a while: no short timeout here.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3600))
            .build()?;
        let mut request = client.request(method, &url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("the server holds DATA_PATH but does not answer at {url}"))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("the server's answer to {url} is not JSON"))?;
        if !status.is_success() {
            let message = answer["error"]["message"].as_str().unwrap_or("no message");
            let code = answer["error"]["code"].as_str().unwrap_or("?");
            bail!("the server refused: {status} {code}: {message}");
        }
        Ok(answer)
    })
}

/// Where a rollback starts from, by the `--from-checkpoint` flag.
pub(crate) fn source(from_checkpoint: bool) -> RollbackSource {
    if from_checkpoint {
        RollbackSource::Checkpoint
    } else {
        RollbackSource::Auto
    }
}
