//! Crash loop: `honeygraph` is SIGKILLed at random moments, 50 times
//! (`HONEYGRAPH_CRASH_KILLS` for more), while it catches up, follows new
//! blocks, takes a checkpoint, rolls back or replays (through the admin API
//! and the offline CLI). Afterwards the token reaches the same `stateHash`
//! as an uninterrupted run, every answer matches the reference model (no
//! transfer twice), and every frame of the log verifies.
//!
//! Killing at a random moment is the point, so this test waits a random
//! (seeded) time before each kill; everything else waits on conditions.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::check::{check_all, register, wait_for_block};
use common::log::{assert_log_follows_chain, verified_records};
use common::reference::RefTokenDef;
use common::{wait_until, Server};
use hivesim::{SimConfig, SimNode};
use serde_json::json;

const SYMBOL: &str = "ABC";
const ENV: [(&str, &str); 1] = [("HONEYGRAPH_CHECKPOINT_EVERY", "100")];

/// splitmix64: a seeded, dependency-free random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}

fn start_sim() -> SimNode {
    SimNode::start_in_background(SimConfig {
        seed: 77,
        history: 1_500,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        token_ops_per_block: 5.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node")
}

fn token_def(sim: &SimNode) -> RefTokenDef {
    RefTokenDef {
        prefix: "abc_".to_string(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 30,
        genesis_balances: sim.accounts().into_iter().map(|a| (a, 3_000_000)).collect(),
        genesis_power: BTreeMap::new(),
    }
}

/// What is under way when the kill lands.
#[derive(Debug, Clone, Copy)]
enum Phase {
    CatchUp,
    Follow,
    Checkpoint,
    Rollback,
    Replay,
    CliReplay,
    CliRollback,
}

const PHASES: [Phase; 7] = [
    Phase::CatchUp,
    Phase::Follow,
    Phase::Checkpoint,
    Phase::Rollback,
    Phase::Replay,
    Phase::CliReplay,
    Phase::CliRollback,
];

fn cli(data: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_honeygraph"));
    command
        .args(args)
        .env("DATA_PATH", data)
        .env("PORT", common::free_port().to_string())
        .env("HONEYGRAPH_BIND", "127.0.0.1")
        .env("HONEYGRAPH_CHECKPOINT_EVERY", "100")
        .env("RUST_LOG", "warn")
        .env_remove("ZFS_PARENT")
        .env_remove("HONEYGRAPH_ADMIN_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// An admin request on its own thread, so the kill can land while it runs.
fn admin_in_background(
    server: &Server,
    path: &str,
    body: serde_json::Value,
) -> std::thread::JoinHandle<()> {
    let url = server.url(&format!("/admin/tokens/{SYMBOL}/{path}"));
    std::thread::spawn(move || {
        let _ = reqwest::blocking::Client::new()
            .post(url)
            .bearer_auth(common::ADMIN_TOKEN)
            .json(&body)
            .timeout(Duration::from_secs(60))
            .send();
    })
}

fn last_block(server: &Server) -> Option<u64> {
    let (status, state) = server.get(&format!("/{SYMBOL}/state"));
    (status == 200)
        .then(|| state["lastBlock"].as_u64())
        .flatten()
}

#[test]
fn fifty_sigkills_at_random_moments_change_nothing() {
    let kills: u64 = std::env::var("HONEYGRAPH_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("HONEYGRAPH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00c0_ffee);
    let mut rng = Rng(seed);
    let sim = start_sim();
    let def = token_def(&sim);
    let data = tempfile::tempdir().expect("tempdir");
    {
        let server = Server::start(data.path(), &sim.url(), &ENV);
        register(&server, SYMBOL, &def);
    }
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for kill in 0..kills {
        let phase = PHASES[rng.range(0, PHASES.len() as u64) as usize];
        *counts.entry(format!("{phase:?}")).or_default() += 1;
        let delay = Duration::from_millis(rng.range(0, 1_200));
        match phase {
            Phase::CliReplay | Phase::CliRollback => {
                let args: Vec<String> = match phase {
                    Phase::CliReplay => vec!["replay".into(), SYMBOL.into()],
                    _ => {
                        let to = sim.first_block() + rng.range(1, 1_400);
                        vec![
                            "rollback".into(),
                            SYMBOL.into(),
                            "--to-block".into(),
                            to.to_string(),
                        ]
                    }
                };
                let mut child = cli(data.path(), &args).spawn().expect("run the CLI");
                std::thread::sleep(delay);
                let _ = child.kill();
                let _ = child.wait();
            }
            _ => {
                let mut server = Server::start(data.path(), &sim.url(), &ENV);
                let request = match phase {
                    Phase::Follow => {
                        sim.advance(rng.range(1, 40));
                        None
                    }
                    Phase::Checkpoint => Some(admin_in_background(&server, "snapshot", json!({}))),
                    Phase::Rollback => {
                        let top = last_block(&server).unwrap_or(sim.first_block());
                        let to = rng.range(sim.first_block(), top.max(sim.first_block() + 1));
                        Some(admin_in_background(
                            &server,
                            "rollback",
                            json!({ "toBlock": to }),
                        ))
                    }
                    Phase::Replay => Some(admin_in_background(&server, "replay", json!({}))),
                    _ => None,
                };
                std::thread::sleep(delay);
                server.kill();
                if let Some(request) = request {
                    request.join().expect("the admin request thread");
                }
            }
        }
        eprintln!("kill {kill}: {phase:?} after {delay:?}");
    }
    eprintln!("kills by phase: {counts:?}");

    // Recovery: the token reaches the head and agrees with everything.
    let target = sim.irreversible();
    let mut server = Server::start(data.path(), &sim.url(), &ENV);
    wait_for_block(&server, SYMBOL, target);
    let defs = vec![(SYMBOL.to_string(), def.clone())];
    check_all(&server, &sim, &defs, target);
    let (_, state) = server.get(&format!("/{SYMBOL}/state"));
    let recovered_hash = state["stateHash"].clone();

    // An uninterrupted run over the same chain ends on the same stateHash.
    let clean = tempfile::tempdir().expect("tempdir");
    let reference = Server::start(clean.path(), &sim.url(), &ENV);
    register(&reference, SYMBOL, &def);
    wait_for_block(&reference, SYMBOL, target);
    let (_, clean_state) = reference.get(&format!("/{SYMBOL}/state"));
    assert_eq!(
        recovered_hash, clean_state["stateHash"],
        "the crashed run and the uninterrupted run disagree"
    );
    wait_until("the token to be live", Duration::from_secs(30), || {
        let (status, state) = server.get(&format!("/{SYMBOL}/state"));
        (status == 200 && state["status"] == "live").then_some(())
    });

    let status = server.terminate();
    assert!(status.success(), "SIGTERM after recovery: {status}");
    let records = verified_records(data.path(), SYMBOL);
    assert_log_follows_chain(&records, &sim);
}
