//! The `honeygraph` binary: command-line wiring only. Each command builds the
//! crates' pieces and connects them; the logic lives in the crates.

mod admin_cmd;
mod cli;
mod control;
mod data_lock;
mod demo;
mod export;
mod import_cmd;
mod logging;
mod memory;
mod progress;
mod serve;
mod settings;
mod token_cmd;

use clap::Parser;

use crate::admin_cmd::AdminAction;
use crate::cli::{Cli, Command, ConfigCommand};
use crate::settings::Settings;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // With JSON logs every stderr line stays JSON, the error too.
            if logging::json_logs() {
                tracing::error!(error = format!("{e:#}"), "honeygraph failed");
            } else {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::resolve(&cli.settings)?;
    match cli.command {
        Command::Serve => server_runtime()?.block_on(serve::run(settings, None)),
        Command::Demo(args) => server_runtime()?.block_on(demo::run(settings, args)),
        Command::Token(command) => token_cmd::run(&settings, command),
        Command::Config(ConfigCommand::Check) => {
            print!("{}", settings.to_masked_toml()?);
            Ok(())
        }
        Command::Export { symbol, format } => export::run(&settings, &symbol, format),
        Command::Snapshot { symbol } => admin_cmd::run(&settings, &symbol, AdminAction::Snapshot),
        Command::Snapshots { symbol } => admin_cmd::run(&settings, &symbol, AdminAction::Snapshots),
        Command::Replay {
            symbol,
            from_snapshot,
            to_block,
        } => admin_cmd::run(
            &settings,
            &symbol,
            AdminAction::Replay {
                from_snapshot,
                to_block,
            },
        ),
        Command::Bench { quick, dir, only } => {
            bench::run(&bench::BenchOptions { quick, dir, only })?;
            Ok(())
        }
        Command::Rollback {
            symbol,
            to_block,
            from_checkpoint,
        } => admin_cmd::run(
            &settings,
            &symbol,
            AdminAction::Rollback {
                to_block,
                from_checkpoint,
            },
        ),
    }
}

/// The runtime of a long-running server, with malloc's arenas capped first
/// (see [`memory`]): no thread may exist yet.
fn server_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    if let Some(arenas) = memory::limit_arenas() {
        tracing::debug!(arenas, "malloc arenas capped");
    }
    runtime()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("honeygraph")
        .build()?)
}
