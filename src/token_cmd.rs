//! `honeygraph token add|list`: the registry from the shell.

use anyhow::Context;
use state::token::{preset, TokenSpec, PRESETS};
use state::Registry;

use crate::cli::TokenCommand;
use crate::settings::Settings;

pub(crate) fn run(settings: &Settings, command: TokenCommand) -> anyhow::Result<()> {
    let mut registry = Registry::open(settings.registry_path())?;
    match command {
        TokenCommand::Add {
            preset: Some(name), ..
        } => {
            let config = preset(&name).with_context(|| {
                format!(
                    "unknown preset `{name}`; presets are {}",
                    PRESETS.join(", ")
                )
            })?;
            let symbol = config.symbol.clone();
            registry.add(config)?;
            println!("registered {symbol}; it starts indexing when `honeygraph serve` (re)starts");
        }
        TokenCommand::Add {
            file: Some(path), ..
        } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let spec: TokenSpec = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid token definition", path.display()))?;
            if spec.start_block.is_none() {
                anyhow::bail!(
                    "{}: `startBlock` is required from the shell (over HTTP it defaults to the irreversible head)",
                    path.display()
                );
            }
            let config = spec.resolve(0)?;
            let symbol = config.symbol.clone();
            registry.add(config)?;
            println!("registered {symbol}; it starts indexing when `honeygraph serve` (re)starts");
        }
        TokenCommand::Add { .. } => anyhow::bail!("give --preset NAME or --file token.json"),
        TokenCommand::Import {
            symbol,
            honeycomb_state,
            block,
        } => {
            drop(registry);
            crate::import_cmd::run(settings, &symbol, &honeycomb_state, block)?;
        }
        TokenCommand::List => {
            println!(
                "{:<10} {:<14} {:>12} {:>8}  name",
                "symbol", "opPrefix", "startBlock", "decimals"
            );
            for token in registry.tokens() {
                println!(
                    "{:<10} {:<14} {:>12} {:>8}  {}",
                    token.symbol, token.op_prefix, token.start_block, token.decimals, token.name
                );
            }
        }
    }
    Ok(())
}
