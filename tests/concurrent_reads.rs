//! Reads while the token rolls back, replays and takes checkpoints: threads
//! hammer `/state` and `/balance` while the admin API moves the token. Each
//! answer is either 503 `TOKEN_BUSY` or a state the token really had: the
//! `(lastBlock, stateHash, supply, holders)` of `/state` equal the contract's
//! at that block (recomputed from the log afterwards), and every balance
//! equals the reference model at the block the answer names. Never torn.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::check::{chain, raw, register, wait_for_block};
use common::log::verified_records;
use common::reference::{run_chain, RefToken, RefTokenDef};
use common::Server;
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};
use state::block::BlockRef;
use state::contract::MemLedger;
use state::{LogRecord, TokenConfig};

const SYMBOL: &str = "ABC";

struct Observation {
    at: Instant,
    path: String,
    status: u16,
    body: Value,
}

fn token_def(sim: &SimNode) -> RefTokenDef {
    let accounts = sim.accounts();
    RefTokenDef {
        prefix: "abc_".to_string(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 30,
        genesis_balances: accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.clone(), 1_000_000 + 13 * i as u64))
            .collect(),
        genesis_power: accounts
            .iter()
            .step_by(2)
            .map(|a| (a.clone(), 40_000))
            .collect(),
    }
}

fn reader(
    port: u16,
    accounts: Vec<String>,
    seed: usize,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Observation>>>,
) {
    let client = reqwest::blocking::Client::new();
    let mut i = seed;
    while !stop.load(Ordering::Relaxed) {
        i = i.wrapping_mul(31).wrapping_add(7);
        let path = if i.is_multiple_of(2) {
            format!("/{SYMBOL}/state")
        } else {
            format!("/{SYMBOL}/balance/{}", accounts[i % accounts.len()])
        };
        let Ok(response) = client.get(format!("http://127.0.0.1:{port}{path}")).send() else {
            continue;
        };
        let status = response.status().as_u16();
        let body = response.json().unwrap_or(Value::Null);
        seen.lock().expect("lock").push(Observation {
            at: Instant::now(),
            path,
            status,
            body,
        });
    }
}

/// `(stateHash, supply, holders)` after each block of `blocks`, from the log's operations.
fn contract_at(
    config: &TokenConfig,
    records: &[LogRecord],
    sim: &SimNode,
    blocks: &BTreeSet<u64>,
) -> BTreeMap<u64, (String, u128, u64)> {
    let mut ops: Vec<&LogRecord> = records
        .iter()
        .filter(|r| matches!(r, LogRecord::Op(_)))
        .collect();
    ops.sort_by_key(|r| match r {
        LogRecord::Op(op) => (op.block, op.trx_index, op.op_index),
        LogRecord::BlockEnd(b) => (b.num, 0, 0),
    });
    let mut ledger = MemLedger::new(config);
    let mut next = 0;
    let mut out = BTreeMap::new();
    for &block in blocks {
        let mut batch = Vec::new();
        while next < ops.len() && ops[next].block() <= block {
            batch.push(ops[next].clone());
            next += 1;
        }
        // Before the first block: the genesis state, no block to end.
        let Some(head) = sim.block_appbase(block) else {
            let meta = ledger.meta();
            out.insert(block, (meta.state_hash, meta.supply, meta.holders));
            continue;
        };
        batch.push(LogRecord::BlockEnd(BlockRef {
            num: block,
            id: head["block_id"].as_str().expect("id").to_string(),
            timestamp: head["timestamp"].as_str().expect("timestamp").to_string(),
        }));
        ledger.apply(&batch).expect("the log is in order");
        let meta = ledger.meta();
        out.insert(block, (meta.state_hash, meta.supply, meta.holders));
    }
    out
}

#[test]
fn reads_during_rollback_replay_and_checkpoint_are_whole_or_busy() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 19,
        history: 1_500,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        token_ops_per_block: 5.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        data.path(),
        &sim.url(),
        &[("HONEYGRAPH_CHECKPOINT_EVERY", "200")],
    );
    let def = token_def(&sim);
    register(&server, SYMBOL, &def);
    let mut target = sim.irreversible();
    wait_for_block(&server, SYMBOL, target);

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = (0..3)
        .map(|k| {
            let (stop, seen, port) = (stop.clone(), seen.clone(), server.port);
            let accounts = sim.accounts();
            std::thread::spawn(move || reader(port, accounts, k, stop, seen))
        })
        .collect();

    // Rollbacks, replays and checkpoints while the readers run.
    let mut windows = Vec::new();
    let first = sim.first_block();
    for (round, to) in [first + 1_200, first + 300, first + 900, first + 50]
        .into_iter()
        .enumerate()
    {
        let started = Instant::now();
        let (status, report) = server.post(
            &format!("/admin/tokens/{SYMBOL}/rollback"),
            &json!({ "toBlock": to }),
        );
        assert_eq!(status, 200, "rollback to {to}: {report}");
        windows.push((started, Instant::now()));
        wait_for_block(&server, SYMBOL, target);
        // A replay from genesis, or one stopped short of the log: the
        // stream's next batch (a new block) brings the latter back to the end.
        let short = round % 2 == 1;
        let body = if short {
            json!({ "toBlock": target - 100 })
        } else {
            json!({})
        };
        let (status, report) = server.post(&format!("/admin/tokens/{SYMBOL}/replay"), &body);
        assert_eq!(status, 200, "replay {body}: {report}");
        if short {
            sim.advance(1);
            target = sim.irreversible();
        }
        wait_for_block(&server, SYMBOL, target);
        let (status, report) = server.post(&format!("/admin/tokens/{SYMBOL}/snapshot"), &json!({}));
        assert_eq!(status, 201, "checkpoint: {report}");
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().expect("reader thread");
    }
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));

    // Every answer is 200 or 503 TOKEN_BUSY.
    let mut busy = 0;
    let mut blocks = BTreeSet::new();
    let genesis = sim.first_block() - 1;
    for o in &seen {
        match o.status {
            200 => {
                let block = if o.path.ends_with("/state") {
                    o.body["lastBlock"].as_u64()
                } else {
                    o.body["block"].as_u64()
                };
                // No block yet: the genesis state, after a rollback to before any boundary.
                blocks.insert(block.unwrap_or(genesis));
            }
            503 => {
                assert_eq!(
                    o.body["error"]["code"], "TOKEN_BUSY",
                    "{}: {}",
                    o.path, o.body
                );
                busy += 1;
            }
            other => panic!("{}: {other} {}", o.path, o.body),
        }
    }
    let during_rollback = seen
        .iter()
        .filter(|o| windows.iter().any(|(a, b)| o.at >= *a && o.at <= *b))
        .count();
    eprintln!(
        "{} reads, {busy} busy, {during_rollback} during a rollback, blocks seen: {blocks:?}",
        seen.len()
    );
    assert!(during_rollback > 0, "no read landed during a rollback");
    assert!(
        blocks.iter().any(|b| *b < target),
        "no read saw a rolled-back state"
    );

    // The contract's figures at every block an answer named, from the log.
    let config: TokenConfig = {
        let (status, body) = server.get(&format!("/registry/tokens/{SYMBOL}"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).expect("a token config")
    };
    let mut server = server;
    server.terminate();
    let records = verified_records(data.path(), SYMBOL);
    let contract = contract_at(&config, &records, &sim, &blocks);
    let mut models: BTreeMap<u64, RefToken> = BTreeMap::new();
    let mut model = RefToken::new(def.clone());
    let mut done = first - 1;
    for &block in &blocks {
        run_chain(
            std::slice::from_mut(&mut model),
            &chain(&sim, done + 1, block),
        );
        done = block;
        models.insert(block, model.clone());
    }

    for o in seen.iter().filter(|o| o.status == 200) {
        if o.path.ends_with("/state") {
            let block = o.body["lastBlock"].as_u64().unwrap_or(genesis);
            let (hash, supply, holders) = &contract[&block];
            if let Some(head) = sim.block_appbase(block) {
                assert_eq!(o.body["lastBlockId"], head["block_id"], "{}", o.body);
            }
            assert_eq!(
                o.body["stateHash"],
                hash.as_str(),
                "torn /state: {}",
                o.body
            );
            assert_eq!(u128::from(raw(&o.body["supplyRaw"])), *supply, "{}", o.body);
            assert_eq!(o.body["holders"], *holders, "{}", o.body);
        } else {
            let block = o.body["block"].as_u64().unwrap_or(genesis);
            let name = o.body["account"].as_str().expect("account");
            let want = models[&block].account(name);
            for (field, expected) in [
                ("balanceRaw", want.balance),
                ("powerRaw", want.power),
                ("grantedInRaw", want.granted_in),
                ("grantedOutRaw", want.granted_out),
            ] {
                assert_eq!(raw(&o.body[field]), expected, "torn {}: {}", o.path, o.body);
            }
        }
    }
}
