//! The whole pipeline, end to end: the real `honeygraph serve` binary ingests
//! from the simulated Hive node over HTTP, and every REST and GraphQL answer
//! is checked against the independent model in `common/reference.rs`, fed
//! with blocks the test reads from the simulated chain itself.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::check::{check_all, last_block, register, wait_for_block};
use common::reference::RefTokenDef;
use common::{wait_until, Server};
use hivesim::{Faults, SimConfig, SimNode};

/// Two tokens with nested prefixes: `abc_x_send` belongs to ABCX, `abc_send` to ABC.
const OUTER: (&str, &str) = ("ABC", "abc_");
const INNER: (&str, &str) = ("ABCX", "abc_x_");
/// Short, so that power-downs pay all four installments within the test chain.
const POWER_DOWN_INTERVAL: u64 = 40;

fn start_sim(seed: u64, history: u64) -> SimNode {
    SimNode::start_in_background(SimConfig {
        seed,
        history,
        block_interval: None,
        prefixes: vec![OUTER.1.to_string(), INNER.1.to_string()],
        token_ops_per_block: 4.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node")
}

/// The two tokens: ABCX starts 300 blocks later, so its early operations are ignored.
fn token_defs(sim: &SimNode) -> Vec<(String, RefTokenDef)> {
    let accounts = sim.accounts();
    let balances: BTreeMap<String, u64> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.clone(), 1_000_000 + 1_000 * i as u64))
        .collect();
    let power: BTreeMap<String, u64> = accounts
        .iter()
        .step_by(2)
        .map(|a| (a.clone(), 50_000))
        .collect();
    [(OUTER, sim.first_block()), (INNER, sim.first_block() + 300)]
        .into_iter()
        .map(|((symbol, prefix), start_block)| {
            let def = RefTokenDef {
                prefix: prefix.to_string(),
                start_block,
                transfers: true,
                staking: true,
                interval: POWER_DOWN_INTERVAL,
                genesis_balances: balances.clone(),
                genesis_power: power.clone(),
            };
            (symbol.to_string(), def)
        })
        .collect()
}

#[test]
fn serve_indexes_nested_prefixes_exactly_as_the_contract_says() {
    let sim = start_sim(11, 2_200);
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &sim.url(), &[]);
    let defs = token_defs(&sim);
    for (symbol, def) in &defs {
        register(&server, symbol, def);
    }
    let target = sim.irreversible();
    assert!(
        target - sim.first_block() >= 2_000,
        "the chain must be at least 2,000 blocks"
    );
    for (symbol, _) in &defs {
        wait_for_block(&server, symbol, target);
    }
    check_all(&server, &sim, &defs, target);

    // New blocks keep coming in, and the answers keep matching.
    sim.advance(25);
    let target = sim.irreversible();
    for (symbol, _) in &defs {
        wait_for_block(&server, symbol, target);
    }
    check_all(&server, &sim, &defs, target);
}

#[test]
fn sigkill_during_catch_up_loses_nothing_and_applies_nothing_twice() {
    let sim = start_sim(23, 3_000);
    // Slow answers, so that the kill lands in the middle of catch-up.
    sim.set_faults(Faults {
        stall_rate: 1.0,
        stall: Duration::from_millis(400),
        ..Faults::default()
    });
    let data = tempfile::tempdir().expect("tempdir");
    let defs = token_defs(&sim);
    let target = sim.irreversible();
    let mut server = Server::start(data.path(), &sim.url(), &[]);
    for (symbol, def) in &defs {
        register(&server, symbol, def);
    }
    let (outer, _) = &defs[0];
    let reached = wait_until("catch-up to be under way", Duration::from_secs(120), || {
        last_block(&server, outer).filter(|b| *b > sim.first_block() + 100)
    });
    server.kill();
    assert!(
        reached < target,
        "the kill came after catch-up ended ({reached} >= {target})"
    );

    sim.set_faults(Faults::default());
    let server = Server::start(data.path(), &sim.url(), &[]);
    for (symbol, _) in &defs {
        wait_for_block(&server, symbol, target);
    }
    check_all(&server, &sim, &defs, target);
}
