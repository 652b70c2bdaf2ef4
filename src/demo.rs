//! `honeygraph demo`: `serve` against the built-in simulated Hive chain, with
//! the LARYNX, SPK and DLUX presets registered on a throwaway data directory.
//! Works offline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use hivesim::{SimConfig, SimNode};
use state::token::preset;
use state::{Genesis, Registry};

use crate::cli::DemoArgs;
use crate::settings::Settings;

/// The presets the demo registers (contract.md §7).
const DEMO_TOKENS: [&str; 3] = ["LARYNX", "SPK", "DLUX"];
/// Genesis liquid balance of every simulated account, in base units (1000.000).
const GENESIS_BALANCE: u64 = 1_000_000;
/// Genesis staked power of every simulated account (100.000).
const GENESIS_POWER: u64 = 100_000;

pub(crate) async fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let sim = SimNode::start(SimConfig {
        seed: args.seed,
        history: args.history,
        block_interval: Some(Duration::from_millis(args.block_ms.max(1))),
        ..SimConfig::default()
    })
    .await
    .context("cannot start the simulated Hive node")?;

    // Keep the throwaway directory alive for as long as the demo runs.
    let _scratch = if args.keep_data {
        None
    } else {
        let dir = tempfile::Builder::new()
            .prefix("honeygraph-demo-")
            .tempdir()
            .context("cannot create the demo's data directory")?;
        settings.data_path = dir.path().to_path_buf();
        Some(dir)
    };
    settings.hive_nodes = vec![sim.url()];
    settings.zfs_parent = None;
    let admin_token = settings.admin_token.clone().unwrap_or_else(random_token);
    settings.admin_token = Some(admin_token.clone());

    std::fs::create_dir_all(&settings.data_path)
        .with_context(|| format!("cannot create {}", settings.data_path.display()))?;
    let mut registry = Registry::open(settings.registry_path())?;
    let accounts = sim.accounts();
    for symbol in DEMO_TOKENS {
        if registry.get(symbol).is_some() {
            continue;
        }
        let mut config = preset(symbol).with_context(|| format!("preset {symbol} is missing"))?;
        config.start_block = sim.first_block();
        config.genesis = demo_genesis(&accounts);
        registry.add(config)?;
    }
    drop(registry);

    let sample: Vec<String> = accounts.iter().take(3).cloned().collect();
    let data_path = settings.data_path.clone();
    let banner = Box::new(move |addr: SocketAddr| {
        let base = format!("http://localhost:{}", addr.port());
        println!();
        println!("honeygraph demo: indexing a simulated Hive chain (LARYNX, SPK, DLUX)");
        println!("  data directory:   {}", data_path.display());
        println!("  admin token:      {admin_token}");
        println!("  sample accounts:  {}", sample.join(", "));
        println!();
        println!("  {base}/SPK/state");
        if let Some(account) = sample.first() {
            println!("  {base}/SPK/balance/{account}");
        }
        println!("  {base}/LARYNX/transfers?limit=5");
        println!("  {base}/DLUX/richlist?limit=10");
        println!("  {base}/registry/tokens");
        println!("  {base}/SPK/graphql   (GraphiQL in a browser)");
        println!();
    });
    let result = crate::serve::run(settings, Some(banner)).await;
    sim.stop();
    result
}

fn demo_genesis(accounts: &[String]) -> Genesis {
    let all = |amount: u64| -> BTreeMap<String, u64> {
        accounts.iter().map(|a| (a.clone(), amount)).collect()
    };
    Genesis {
        balances: all(GENESIS_BALANCE),
        power: all(GENESIS_POWER),
    }
}

/// A fresh admin token for this demo run.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per process: enough for a throwaway
    // demo token, without another dependency.
    let mut token = String::from("demo-");
    for i in 0..2u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(i);
        token.push_str(&format!("{:016x}", hasher.finish()));
    }
    token
}
