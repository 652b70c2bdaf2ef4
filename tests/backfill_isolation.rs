//! A token registered at run time with a long history to backfill does not
//! hold back the tokens that are already live: while the new token catches
//! up on 50,000 blocks, the live token stays within a few blocks of the
//! chain's irreversible head, which keeps moving in real time.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::check::{register_with, wait_for_block};
use common::reference::RefTokenDef;
use common::{wait_until, Server};
use hivesim::{SimConfig, SimNode};
use serde_json::json;

const BACKFILL_BLOCKS: u64 = 50_000;
/// "Within a few blocks": the live token polls the chain every second and
/// the simulated chain makes a block every second.
const MAX_LIVE_LAG: u64 = 5;

fn def(prefix: &str, start_block: u64) -> RefTokenDef {
    RefTokenDef {
        prefix: prefix.into(),
        start_block,
        transfers: true,
        staking: true,
        interval: 1_000,
        genesis_balances: BTreeMap::from([("alice".to_string(), 1_000_000)]),
        genesis_power: BTreeMap::new(),
    }
}

fn state(server: &Server, symbol: &str) -> (Option<u64>, String) {
    let (_, state) = server.get(&format!("/{symbol}/state"));
    (
        state["lastBlock"].as_u64(),
        state["status"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_long_backfill_does_not_hold_back_a_live_token() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 41,
        history: BACKFILL_BLOCKS + 100,
        block_interval: Some(Duration::from_secs(1)),
        prefixes: vec!["lv_".to_string(), "bk_".to_string()],
        token_ops_per_block: 2.0,
        noise_trx_per_block: 4.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &sim.url(), &[]);

    register_with(
        &server,
        "LIVE",
        &def("lv_", sim.irreversible() - 30),
        json!({}),
    );
    wait_for_block(&server, "LIVE", sim.irreversible());
    wait_until("LIVE to be live", Duration::from_secs(30), || {
        (state(&server, "LIVE").1 == "live").then_some(())
    });

    register_with(&server, "BACK", &def("bk_", sim.first_block()), json!({}));
    let started = Instant::now();
    let mut samples = 0;
    let mut worst = 0;
    loop {
        let (back_block, back_status) = state(&server, "BACK");
        if back_status == "live" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "BACK did not catch up within 10 minutes (at {back_block:?})"
        );
        let (live_block, live_status) = state(&server, "LIVE");
        let head = sim.irreversible();
        let lag = head.saturating_sub(live_block.unwrap_or(0));
        assert!(
            lag <= MAX_LIVE_LAG,
            "LIVE fell {lag} blocks behind the irreversible head {head} ({live_status}) while BACK backfilled (at {back_block:?})"
        );
        worst = worst.max(lag);
        samples += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "backfill of {BACKFILL_BLOCKS} blocks took {:?}; {samples} samples, worst live lag {worst}",
        started.elapsed()
    );
    assert!(
        samples >= 5,
        "the backfill ended before the live token could be watched ({samples} samples)"
    );
    let (back_block, _) = state(&server, "BACK");
    assert!(
        back_block.is_some_and(|b| b + MAX_LIVE_LAG >= sim.irreversible()),
        "BACK is live at the head"
    );
}
