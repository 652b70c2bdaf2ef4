//! Misbehaving Hive nodes, end to end: `honeygraph serve` reads from four
//! simulated nodes of the same chain. One answers with 500s, 429s with
//! Retry-After, HTML, truncated JSON, JSON-RPC errors and stalls longer than
//! the request timeout; one lags behind; one serves a different chain whose
//! blocks do not link, and it comes first in `HIVE_NODES`; one is good.
//! The answers must equal the reference model, and the log must never hold
//! a block or a transaction of the foreign chain.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::check::{check_all, register, wait_for_block};
use common::log::{assert_log_follows_chain, verified_records};
use common::reference::RefTokenDef;
use common::Server;
use hivesim::{Faults, SimConfig, SimNode};

const SYMBOL: &str = "ABC";

fn start_sim() -> SimNode {
    SimNode::start_in_background(SimConfig {
        seed: 41,
        history: 1_500,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        token_ops_per_block: 4.0,
        ..SimConfig::default()
    })
    .expect("start a simulated Hive node")
}

fn token_def(sim: &SimNode) -> RefTokenDef {
    let accounts = sim.accounts();
    RefTokenDef {
        prefix: "abc_".to_string(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 40,
        genesis_balances: accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), 2_000_000 + 7 * i as u64))
            .collect(),
        genesis_power: accounts
            .iter()
            .step_by(3)
            .map(|a| (a.clone(), 30_000))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn faulty_lagging_and_foreign_nodes_never_change_the_answers() {
    // Four nodes of one configuration serve byte-identical chains.
    let good = start_sim();
    let faulty = start_sim();
    let lagging = start_sim();
    let foreign = start_sim();
    faulty.set_faults(Faults {
        http_500_rate: 0.15,
        http_429_rate: 0.1,
        rpc_error_rate: 0.05,
        html_rate: 0.1,
        truncated_rate: 0.1,
        // Longer than the 10 s request timeout of `serve`: a rare stall keeps the test short.
        stall_rate: 0.02,
        stall: Duration::from_secs(11),
        ..Faults::default()
    });
    lagging.set_faults(Faults {
        lag_blocks: 400,
        ..Faults::default()
    });
    foreign.set_faults(Faults {
        foreign_chain: true,
        ..Faults::default()
    });
    let nodes = [&foreign, &faulty, &lagging, &good]
        .map(|n| n.url())
        .join(",");

    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(data.path(), &nodes, &[]);
    let defs = vec![(SYMBOL.to_string(), token_def(&good))];
    register(&server, SYMBOL, &defs[0].1);
    let target = good.irreversible();
    wait_for_block(&server, SYMBOL, target);
    check_all(&server, &good, &defs, target);

    // The chain grows on every node alike; the answers follow the good chain.
    for node in [&good, &faulty, &lagging, &foreign] {
        node.advance(60);
    }
    let target = good.irreversible();
    wait_for_block(&server, SYMBOL, target);
    check_all(&server, &good, &defs, target);

    // The server said which nodes failed.
    let (status, metrics) = get_text(&server, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("honeygraph_rpc_errors_total"),
        "no RPC error was counted: {metrics}"
    );

    server.terminate();
    let records = verified_records(data.path(), SYMBOL);
    assert_log_follows_chain(&records, &good);
}

fn get_text(server: &Server, path: &str) -> (u16, String) {
    let response = reqwest::blocking::get(server.url(path)).expect("GET");
    let status = response.status().as_u16();
    (status, response.text().unwrap_or_default())
}
