//! Checkpoints, replay and rollback through the real binary: the admin API
//! while the server runs, the CLI with the server stopped, and SIGKILL in
//! the middle of a checkpoint, a replay and a rollback. Every path must end
//! on the same `stateHash` as the live token.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{wait_until, Server, ADMIN_TOKEN};
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

const SYMBOL: &str = "ABC";

fn start_sim() -> SimNode {
    SimNode::start_in_background(SimConfig {
        seed: 5,
        history: 1_500,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        token_ops_per_block: 6.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node")
}

fn serve(data: &Path, sim: &SimNode) -> Server {
    serve_with(data, sim, &[])
}

fn serve_with(data: &Path, sim: &SimNode, extra_env: &[(&str, &str)]) -> Server {
    let mut env = vec![("HONEYGRAPH_CHECKPOINT_EVERY", "200")];
    env.extend_from_slice(extra_env);
    Server::start(data, &sim.url(), &env)
}

fn register(server: &Server, sim: &SimNode) {
    let balances: serde_json::Map<String, Value> = sim
        .accounts()
        .into_iter()
        .map(|a| (a, json!(5_000_000)))
        .collect();
    let body = json!({
        "symbol": SYMBOL, "opPrefix": "abc_", "startBlock": sim.first_block(),
        "powerDownInterval": 30, "genesis": {"balances": balances},
    });
    let (status, answer) = server.post("/registry/tokens", &body);
    assert_eq!(status, 201, "{answer}");
}

/// `(lastBlock, stateHash)` once the token stands at `target`.
fn wait_for(server: &Server, target: u64) -> String {
    wait_until(
        &format!("{SYMBOL} at block {target}"),
        Duration::from_secs(120),
        || {
            let (status, state) = server.get(&format!("/{SYMBOL}/state"));
            (status == 200 && state["lastBlock"] == target)
                .then(|| state["stateHash"].as_str().map(String::from))?
        },
    )
}

fn admin(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    server.post(&format!("/admin/tokens/{SYMBOL}/{path}"), body)
}

/// Runs `honeygraph ARGS` against `data` (no server: the CLI opens the token itself).
fn cli(data: &Path, port: u16, admin_token: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_honeygraph"));
    command
        .args(args)
        .env("DATA_PATH", data)
        .env("PORT", port.to_string())
        .env("HONEYGRAPH_BIND", "127.0.0.1")
        .env("HONEYGRAPH_CHECKPOINT_EVERY", "200")
        .env("RUST_LOG", "warn")
        .env_remove("ZFS_PARENT")
        .env_remove("HONEYGRAPH_ADMIN_TOKEN");
    if let Some(token) = admin_token {
        command.env("HONEYGRAPH_ADMIN_TOKEN", token);
    }
    command
}

fn run_ok(mut command: Command) -> Value {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run honeygraph");
    assert!(
        status.success(),
        "honeygraph failed: {}",
        String::from_utf8_lossy(&stderr)
    );
    serde_json::from_slice(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&stdout)
        )
    })
}

#[test]
fn admin_api_checkpoints_replays_and_rolls_back_while_serving() {
    admin_api_round_trip(&[]);
}

/// The same on real ZFS datasets (checkpoints are snapshots), when the test
/// machine has a pool: `HONEYGRAPH_TEST_ZFS_POOL` names it.
#[test]
fn admin_api_round_trip_on_zfs() {
    let Ok(pool) = std::env::var("HONEYGRAPH_TEST_ZFS_POOL") else {
        eprintln!("skipped: HONEYGRAPH_TEST_ZFS_POOL is not set, so this ZFS test did not run");
        return;
    };
    let parent = format!("{pool}/hg-e2e-{}", std::process::id());
    admin_api_round_trip(&[("ZFS_PARENT", parent.as_str())]);
    // The checkpoints really were ZFS snapshots of the token's dataset.
    let listed = Command::new("zfs")
        .args(["list", "-H", "-o", "name", "-t", "snapshot", "-r", &parent])
        .output()
        .expect("zfs list");
    let snapshots = String::from_utf8_lossy(&listed.stdout);
    assert!(
        snapshots
            .lines()
            .any(|l| l.starts_with(&format!("{parent}/{SYMBOL}@b"))),
        "no checkpoint snapshot under {parent}: {snapshots}"
    );
    // Right after the server is killed its mounts can still be busy for a moment.
    wait_until(
        &format!("{parent} to be destroyed"),
        Duration::from_secs(30),
        || {
            let status = Command::new("zfs")
                .args(["destroy", "-r", &parent])
                .status();
            status.is_ok_and(|s| s.success()).then_some(())
        },
    );
}

fn admin_api_round_trip(extra_env: &[(&str, &str)]) {
    let sim = start_sim();
    let data = tempfile::tempdir().expect("tempdir");
    let server = serve_with(data.path(), &sim, extra_env);
    register(&server, &sim);
    let target = sim.irreversible();
    let live_hash = wait_for(&server, target);

    // Checkpoints were taken along the way, and one more on demand.
    let (status, listed) = server_get_admin(&server, "snapshots");
    assert_eq!(status, 200, "{listed}");
    let automatic = listed["snapshots"].as_array().expect("snapshots").clone();
    assert!(
        !automatic.is_empty(),
        "no automatic checkpoint with HONEYGRAPH_CHECKPOINT_EVERY=200: {listed}"
    );
    let (status, taken) = admin(&server, "snapshot", &json!({}));
    assert_eq!(status, 201, "{taken}");
    assert_eq!(taken["block"], target);
    assert_eq!(taken["name"], format!("b{target}"));
    assert_eq!(taken["stateHash"], live_hash.as_str());

    // Replay from genesis and from the oldest checkpoint: the same state.
    // Meanwhile another token answers as usual: only ABC swaps.
    let other = json!({"symbol": "OTHER", "opPrefix": "other_", "startBlock": sim.first_block(),
                       "genesis": {"balances": {"alice": 7}}});
    let (status, answer) = server.post("/registry/tokens", &other);
    assert_eq!(status, 201, "{answer}");
    let replaying = std::sync::atomic::AtomicBool::new(true);
    let (status, report) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while replaying.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                let (status, body) = server.get("/OTHER/balance/alice");
                assert_eq!((status, &body["balanceRaw"]), (200, &json!("7")), "{body}");
                reads += 1;
            }
            reads
        });
        let answer = admin(&server, "replay", &json!({}));
        replaying.store(false, std::sync::atomic::Ordering::Relaxed);
        let reads = reader.join().expect("reader");
        assert!(reads > 0);
        answer
    });
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["stateHash"],
        live_hash.as_str(),
        "replay from genesis"
    );
    let oldest = automatic[0]["name"].as_str().expect("name").to_string();
    let (status, report) = admin(&server, "replay", &json!({"fromSnapshot": oldest}));
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["stateHash"],
        live_hash.as_str(),
        "replay from {oldest}"
    );
    let (status, refused) = admin(&server, "replay", &json!({"fromSnapshot": "b1"}));
    assert!(
        (400..500).contains(&status),
        "an unknown checkpoint is the caller's error: {status} {refused}"
    );

    // Roll back 20 blocks: the token goes back, then ingest brings it to the same state.
    let (status, report) = admin(&server, "rollback", &json!({"toBlock": target - 20}));
    assert_eq!(status, 200, "{report}");
    let landed = report["block"]["num"].as_u64().expect("landed block");
    assert!(landed <= target - 20, "{report}");
    assert_eq!(
        report["via"], "journal",
        "20 blocks are within its reach: {report}"
    );
    assert_eq!(
        wait_for(&server, target),
        live_hash,
        "after the rollback, catching up gives the same state"
    );
    // The same from a checkpoint, for an operator who distrusts the projection.
    let (status, report) = admin(
        &server,
        "rollback",
        &json!({"toBlock": target - 20, "fromCheckpoint": true}),
    );
    assert_eq!(status, 200, "{report}");
    assert_ne!(report["via"], "journal", "{report}");
    assert_eq!(
        wait_for(&server, target),
        live_hash,
        "after the rollback from a checkpoint, catching up gives the same state"
    );

    // The CLI goes through the admin API while the server holds the data directory.
    let listed = run_ok(cli(
        data.path(),
        server.port,
        Some(ADMIN_TOKEN),
        &["snapshots", SYMBOL],
    ));
    assert!(
        listed["snapshots"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "{listed}"
    );
    let output = cli(
        data.path(),
        server.port,
        None,
        &["rollback", SYMBOL, "--to-block", "1"],
    )
    .output()
    .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HONEYGRAPH_ADMIN_TOKEN"), "{stderr}");
}

fn server_get_admin(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .get(server.url(&format!("/admin/tokens/{SYMBOL}/{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// Starts `honeygraph ARGS`, waits until `under_way` says the operation has
/// left its marker on disk, then SIGKILLs it. Returns whether the kill
/// landed mid-way (false: the command ended first).
fn kill_when(mut command: Command, under_way: impl Fn() -> bool) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Checkpoints of small tokens take milliseconds: poll tightly.
    let deadline = Instant::now() + Duration::from_secs(60);
    let landed = loop {
        if under_way() {
            break true;
        }
        if child.try_wait().ok().flatten().is_some() {
            break false;
        }
        assert!(
            Instant::now() < deadline,
            "the operation neither started nor ended within 60 s"
        );
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    landed
}

#[test]
fn offline_cli_and_sigkill_mid_operation_recover_to_the_live_state() {
    let sim = start_sim();
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = serve(data.path(), &sim);
    register(&server, &sim);
    let target = sim.irreversible();
    let live_hash = wait_for(&server, target);
    let port = server.port;
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM must end the server cleanly: {status}"
    );

    let root = data.path().join("tokens").join(SYMBOL);
    // Offline replay and rollback from the CLI.
    let report = run_ok(cli(data.path(), port, None, &["replay", SYMBOL]));
    assert_eq!(report["stateHash"], live_hash.as_str(), "{report}");
    let report = run_ok(cli(data.path(), port, None, &["snapshot", SYMBOL]));
    assert_eq!(report["block"], target, "{report}");

    // SIGKILL in the middle of each operation; a restart must recover.
    let landed = [
        kill_when(cli(data.path(), port, None, &["replay", SYMBOL]), || {
            root.join("state").join("replay.tmp").exists()
        }),
        kill_when(
            cli(
                data.path(),
                port,
                None,
                &[
                    "rollback",
                    SYMBOL,
                    "--to-block",
                    &(target - 700).to_string(),
                    "--from-checkpoint",
                ],
            ),
            || root.join("rollback.pending").exists(),
        ),
        // Opening the token finishes the interrupted rollback; the checkpoint
        // of the block it lands on is then built in `checkpoints/b<N>.tmp`.
        kill_when(cli(data.path(), port, None, &["snapshot", SYMBOL]), || {
            std::fs::read_dir(root.join("checkpoints")).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
        }),
    ];
    eprintln!("kills that landed mid-operation: {landed:?}");

    let server = serve(data.path(), &sim);
    assert_eq!(
        wait_for(&server, target),
        live_hash,
        "after the kills, the token recovers to the live state"
    );
    wait_until(
        "the token to be live again",
        Duration::from_secs(30),
        || {
            let (status, state) = server.get(&format!("/{SYMBOL}/state"));
            (status == 200 && state["status"] == "live").then_some(())
        },
    );
}
