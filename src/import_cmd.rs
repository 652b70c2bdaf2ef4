//! `honeygraph token import SYMBOL --honeycomb-state FILE --block N`: a
//! honeycomb node's state as the token's genesis at block N, so indexing
//! starts at N+1 instead of at the token's first block.
//!
//! The dump is read by `state::honeycomb` (which keys, how grants are
//! folded). Here: the registry and the datasets. The token is registered
//! from its preset, or an already registered token is reset, as long as it
//! has not indexed anything: its projection holds the old genesis, so its
//! (empty) datasets are destroyed and created again by the next `serve`.

use std::path::Path;

use anyhow::{bail, Context};
use replay::TokenRuntime;
use state::honeycomb::import_str;
use state::token::{preset, PRESETS};
use state::Registry;
use tracing::warn;

use crate::data_lock;
use crate::settings::Settings;

pub(crate) fn run(
    settings: &Settings,
    symbol: &str,
    file: &Path,
    block: u64,
) -> anyhow::Result<()> {
    let symbol = symbol.to_ascii_uppercase();
    // The server must not index the token while its genesis changes.
    let _lock = data_lock::lock(&settings.data_path)
        .context("stop `honeygraph serve` before importing a honeycomb state")?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the honeycomb state {}", file.display()))?;
    let import = import_str(&symbol, &text)
        .with_context(|| format!("cannot import {} as {symbol}", file.display()))?;
    let start_block = block
        .checked_add(1)
        .context("--block is the last block of the chain's range: nothing could follow it")?;

    let mut registry = Registry::open(settings.registry_path())?;
    let registered = registry.get(&symbol).cloned();
    let mut config = match &registered {
        Some(config) => config.clone(),
        None => preset(&symbol).with_context(|| {
            format!(
                "token {symbol} is neither registered nor a preset ({}): register it first \
                 (`honeygraph token add --file token.json`), then import",
                PRESETS.join(", ")
            )
        })?,
    };
    config.start_block = start_block;
    config.genesis = import.genesis.clone();

    if registered.is_some() {
        let backend = datasets::open_backend(settings.zfs_parent.as_deref(), &settings.data_path)?;
        if backend.exists(&symbol)? {
            let current = registry.get(&symbol).cloned().context("registry changed")?;
            let runtime = TokenRuntime::open_with(backend.clone(), current, settings.checkpoints)
                .with_context(|| format!("cannot open token {symbol}"))?;
            if let Some(cursor) = runtime.cursor()? {
                bail!(
                    "token {symbol} has indexed up to block {}: a honeycomb state can only \
                     become the genesis of a token that has not indexed anything; remove it \
                     first (DELETE /registry/tokens/{symbol}?purge=true) and import again",
                    cursor.num
                );
            }
            drop(runtime);
            // Its projection was created with the old genesis.
            datasets::destroy_token(backend.as_ref(), &symbol)
                .with_context(|| format!("cannot reset the empty datasets of {symbol}"))?;
        }
        registry.update(config.clone())?;
    } else {
        registry.add(config.clone())?;
    }

    for (key, amount) in &import.skipped_pools {
        warn!(key = %key, amount, "left out a honeycomb pool (not a Hive account)");
    }
    let genesis = &config.genesis;
    let supply: u128 = genesis
        .balances
        .values()
        .chain(genesis.power.values())
        .map(|v| u128::from(*v))
        .sum();
    let folded: u128 = import.folded_grants.values().map(|v| u128::from(*v)).sum();
    let summary = serde_json::json!({
        "symbol": symbol,
        "startBlock": start_block,
        "genesisBlock": block,
        "balancesFrom": import.balances_key,
        "powerFrom": import.power_key,
        "accountsWithBalance": genesis.balances.len(),
        "accountsWithPower": genesis.power.len(),
        "supplyRaw": supply.to_string(),
        "grantsFoldedIntoPower": import.folded_grants.len(),
        "grantedPowerFoldedRaw": folded.to_string(),
        "skippedPools": import.skipped_pools,
        "replaced": registered.is_some(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    tracing::info!(token = %symbol, start_block, "imported; indexing starts when `honeygraph serve` (re)starts");
    Ok(())
}
