//! Queries as of a past block through the real server: every account's
//! balance at several blocks equals the independent model run up to that
//! block, and a token registered with `historyBlocks` refuses blocks below
//! its horizon with an error that names the earliest block it still has.

mod common;

use std::collections::BTreeMap;

use common::check::{chain, raw, register_with, wait_for_block};
use common::reference::{run_chain, RefToken, RefTokenDef};
use common::Server;
use hivesim::{SimConfig, SimNode};
use serde_json::json;

const HISTORY: u64 = 150;

#[test]
fn balances_as_of_a_block_match_the_model_and_the_horizon_is_enforced() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 31,
        history: 700,
        block_interval: None,
        prefixes: vec!["tt_".to_string(), "ts_".to_string()],
        token_ops_per_block: 5.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let balances: BTreeMap<String, u64> =
        sim.accounts().into_iter().map(|a| (a, 2_000_000)).collect();
    let def = RefTokenDef {
        prefix: "tt_".into(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 25,
        genesis_balances: balances,
        genesis_power: BTreeMap::new(),
    };
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &sim.url(), &[]);
    register_with(&server, "ALL", &def, json!({}));
    let target = sim.irreversible();
    wait_for_block(&server, "ALL", target);

    // Every account at several past blocks, over REST and GraphQL.
    let blocks = chain(&sim, sim.first_block(), target);
    for n in [sim.first_block() + 40, sim.first_block() + 333, target - 1] {
        let mut model = [RefToken::new(def.clone())];
        let upto: Vec<_> = blocks.iter().filter(|(b, _)| *b <= n).cloned().collect();
        run_chain(&mut model, &upto);
        for (name, want) in &model[0].accounts {
            let (status, got) = server.get(&format!("/ALL/balance/{name}?block={n}"));
            assert_eq!(status, 200, "{got}");
            assert_eq!(got["block"], n);
            assert_eq!(raw(&got["balanceRaw"]), want.balance, "{name} at {n}");
            assert_eq!(raw(&got["powerRaw"]), want.power, "{name} at {n}");
            assert_eq!(raw(&got["grantedInRaw"]), want.granted_in, "{name} at {n}");
            assert_eq!(
                raw(&got["grantedOutRaw"]),
                want.granted_out,
                "{name} at {n}"
            );
        }
        let data = server.graphql(
            "ALL",
            &format!("{{ token(block: {n}) {{ supplyRaw holders }} }}"),
        );
        assert_eq!(
            raw(&data["token"]["supplyRaw"]) as u128,
            model[0].supply(),
            "supply at {n}"
        );
        assert_eq!(
            data["token"]["holders"],
            model[0].holders(),
            "holders at {n}"
        );
    }
    let (status, got) = server.get(&format!("/ALL/balance/alice?block={}", target + 1));
    assert_eq!(
        (status, &got["error"]["code"]),
        (400, &json!("BLOCK_NOT_YET_INDEXED")),
        "{got}"
    );

    // A second token keeps only HISTORY blocks.
    let short = RefTokenDef {
        prefix: "ts_".into(),
        ..def.clone()
    };
    register_with(
        &server,
        "SHORT",
        &short,
        json!({ "historyBlocks": HISTORY }),
    );
    wait_for_block(&server, "SHORT", target);
    let (status, state) = server.get("/SHORT/state");
    assert_eq!(status, 200);
    let earliest = state["earliestBlock"].as_u64().expect("earliestBlock");
    assert!(
        earliest >= target - HISTORY && earliest <= target,
        "{state}"
    );
    let (status, got) = server.get(&format!(
        "/SHORT/balance/alice?block={}",
        sim.first_block() + 40
    ));
    assert_eq!(
        (status, &got["error"]["code"]),
        (410, &json!("HISTORY_PRUNED")),
        "{got}"
    );
    let message = got["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&earliest.to_string()),
        "the error names the earliest block {earliest}: {message}"
    );
    // Above the horizon the answers are still exact.
    let mut model = [RefToken::new(short.clone())];
    let upto: Vec<_> = blocks
        .iter()
        .filter(|(b, _)| *b < target)
        .cloned()
        .collect();
    run_chain(&mut model, &upto);
    for (name, want) in &model[0].accounts {
        let (status, got) = server.get(&format!("/SHORT/balance/{name}?block={}", target - 1));
        assert_eq!(status, 200, "{got}");
        assert_eq!(
            raw(&got["balanceRaw"]),
            want.balance,
            "{name} at {}",
            target - 1
        );
        assert_eq!(
            raw(&got["powerRaw"]),
            want.power,
            "{name} at {}",
            target - 1
        );
    }
    let (status, config) = server.get("/registry/tokens/SHORT");
    assert_eq!(
        (status, &config["historyBlocks"]),
        (200, &json!(HISTORY)),
        "{config}"
    );
}
