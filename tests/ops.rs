//! Operations, through the real binary: `config check` on the committed
//! example file and on invalid settings, JSON logs, backfill progress lines,
//! and a graceful shutdown on SIGTERM in the middle of a backfill that a
//! restart finishes with the same stateHash as an uninterrupted run.

mod common;

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use common::{wait_until, Server};
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

const SYMBOL: &str = "OPS";
const PREFIX: &str = "ops_";

fn honeygraph(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_honeygraph"));
    command.args(args);
    // The developer's own settings must not leak into the test.
    for var in [
        "PORT",
        "HONEYGRAPH_BIND",
        "DATA_PATH",
        "HIVE_NODES",
        "HONEYGRAPH_FOLLOW",
        "ZFS_PARENT",
        "HONEYGRAPH_ADMIN_TOKEN",
        "HONEYGRAPH_CONFIG",
        "HONEYGRAPH_MAX_REORG_DEPTH",
        "HONEYGRAPH_CHECKPOINT_EVERY",
        "HONEYGRAPH_CHECKPOINT_KEEP_LAST",
        "HONEYGRAPH_CHECKPOINT_KEEP_DAILY",
        "LOG_FORMAT",
    ] {
        command.env_remove(var);
    }
    command
}

fn example_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("honeygraph.toml.example")
}

#[test]
fn the_example_config_passes_config_check_with_the_documented_defaults() {
    let example = example_file();
    let output = honeygraph(&[
        "--config",
        example.to_str().expect("utf-8 path"),
        "config",
        "check",
    ])
    .output()
    .expect("run honeygraph");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "config check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: toml::Table = toml::from_str(&stdout).expect("config check prints TOML");
    assert_eq!(printed["port"].as_integer(), Some(4000));
    assert_eq!(printed["bind"].as_str(), Some("0.0.0.0"));
    assert_eq!(printed["follow"].as_str(), Some("irreversible"));
    assert_eq!(printed["checkpoint_every"].as_integer(), Some(10_000));
    assert!(!printed.contains_key("admin_token"), "{stdout}");

    // Every key the loader knows is documented in the example, set or commented out.
    let text = std::fs::read_to_string(&example).expect("read the example");
    for key in printed
        .keys()
        .map(String::as_str)
        .chain(["zfs_parent", "admin_token"])
    {
        assert!(
            text.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{key} ="))
            }),
            "honeygraph.toml.example does not document `{key}`"
        );
    }
}

#[test]
fn config_check_applies_env_and_flags_over_the_file_and_masks_the_admin_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("honeygraph.toml");
    std::fs::write(
        &file,
        "port = 5000\nadmin_token = \"file-secret\"\nhive_nodes = [\"http://a:1\"]\ncheckpoint_every = 7\n",
    )
    .expect("write");
    let output = honeygraph(&[
        "--config",
        file.to_str().expect("utf-8"),
        "--port",
        "6000",
        "config",
        "check",
    ])
    .env("HONEYGRAPH_CHECKPOINT_EVERY", "9")
    .env("HONEYGRAPH_ADMIN_TOKEN", "env-secret")
    .output()
    .expect("run");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("secret"), "a secret was printed: {stdout}");
    let printed: toml::Table = toml::from_str(&stdout).expect("TOML");
    assert_eq!(printed["port"].as_integer(), Some(6000), "flag over file");
    assert_eq!(
        printed["checkpoint_every"].as_integer(),
        Some(9),
        "env over file"
    );
    assert_eq!(printed["admin_token"].as_str(), Some("***"));
    assert_eq!(printed["hive_nodes"][0].as_str(), Some("http://a:1"));

    // What config check prints is itself a valid config file.
    let again = dir.path().join("printed.toml");
    std::fs::write(&again, stdout.as_bytes()).expect("write");
    let output = honeygraph(&[
        "--config",
        again.to_str().expect("utf-8"),
        "config",
        "check",
    ])
    .output()
    .expect("run");
    assert!(output.status.success(), "{output:?}");
}

/// Flags, environment, and what the error must name.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn invalid_settings_fail_config_check_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "prot = 1\n").expect("write");
    let typo = typo.to_str().expect("utf-8").to_string();
    let cases: [Case; 5] = [
        (&["--config", &typo], &[], "prot"),
        (&["--bind", "localhost:x"], &[], "bind"),
        (&[], &[("HIVE_NODES", "ftp://node")], "ftp://node"),
        (&["--max-reorg-depth", "0"], &[], "max_reorg_depth"),
        (&["--zfs-parent", "1bad/pool"], &[], "zfs_parent"),
    ];
    for (args, env, needle) in cases {
        let mut command = honeygraph(args);
        command.args(["config", "check"]);
        for (k, v) in env {
            command.env(k, v);
        }
        let output = command.output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {env:?} passed");
        assert!(
            stderr.contains(needle),
            "{args:?}: `{stderr}` should name {needle}"
        );
    }
    let missing = honeygraph(&[
        "--config",
        "/nonexistent/honeygraph.toml",
        "config",
        "check",
    ])
    .output()
    .expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/honeygraph.toml"));
}

fn start_sim(history: u64) -> SimNode {
    SimNode::start_in_background(SimConfig {
        seed: 11,
        history,
        block_interval: None,
        prefixes: vec![PREFIX.to_string()],
        token_ops_per_block: 8.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node")
}

fn register(server: &Server, sim: &SimNode) {
    let balances: serde_json::Map<String, Value> = sim
        .accounts()
        .into_iter()
        .map(|a| (a, json!(2_000_000)))
        .collect();
    let body = json!({
        "symbol": SYMBOL, "opPrefix": PREFIX, "startBlock": sim.first_block(),
        "powerDownInterval": 50, "genesis": {"balances": balances},
    });
    let (status, answer) = server.post("/registry/tokens", &body);
    assert_eq!(status, 201, "{answer}");
}

fn last_block(server: &Server) -> Option<u64> {
    let (status, state) = server.get(&format!("/{SYMBOL}/state"));
    (status == 200)
        .then(|| state["lastBlock"].as_u64())
        .flatten()
}

/// The stateHash once the token stands at `target`.
fn wait_for(server: &Server, target: u64) -> String {
    wait_until(
        &format!("{SYMBOL} at block {target}"),
        Duration::from_secs(240),
        || {
            let (status, state) = server.get(&format!("/{SYMBOL}/state"));
            (status == 200 && state["lastBlock"] == target)
                .then(|| state["stateHash"].as_str().map(String::from))?
        },
    )
}

/// SIGTERM, then the exit status within `within` (panics past it).
fn terminate_within(server: &mut Server, within: Duration) -> (ExitStatus, Duration) {
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
    let exit = wait_until("honeygraph to exit after SIGTERM", within, || {
        server.child.try_wait().expect("try_wait")
    });
    (exit, sent.elapsed())
}

#[test]
fn sigterm_during_backfill_exits_zero_quickly_and_a_restart_ends_on_the_same_state() {
    let sim = start_sim(12_000);
    let target = sim.irreversible();

    // The reference: one uninterrupted run.
    let reference_dir = tempfile::tempdir().expect("tempdir");
    let reference = Server::start(reference_dir.path(), &sim.url(), &[]);
    register(&reference, &sim);
    let reference_hash = wait_for(&reference, target);
    drop(reference);

    // The same token, stopped with SIGTERM while it catches up.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(
        dir.path(),
        &sim.url(),
        &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    register(&server, &sim);
    let first = sim.first_block();
    let at_signal = wait_until(
        "the backfill to be under way",
        Duration::from_secs(60),
        || last_block(&server).filter(|b| *b > first),
    );
    let (status, took) = terminate_within(&mut server, Duration::from_secs(15));
    assert!(
        at_signal < target,
        "the token caught up before the signal; the backfill is too short to test shutdown"
    );
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{}",
        server.log()
    );
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");

    // Every stderr line is a JSON object (LOG_FORMAT=json), and the shutdown was logged.
    let log = server.log();
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        assert!(event["level"].is_string(), "{line}");
        messages.push(
            event["fields"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    assert!(
        messages.iter().any(|m| m.contains("shutting down")),
        "no shutdown line in {messages:?}"
    );
    assert!(messages.iter().any(|m| m == "stopped"), "{messages:?}");

    // A restart resumes from the committed block and ends where the reference did.
    drop(server);
    let server = Server::start(dir.path(), &sim.url(), &[]);
    let resumed = last_block(&server).expect("the token is served after the restart");
    assert!(
        resumed >= at_signal,
        "went back from {at_signal} to {resumed}"
    );
    assert_eq!(wait_for(&server, target), reference_hash);
}

#[test]
fn backfill_progress_is_logged_with_rate_and_eta_when_stderr_is_not_a_terminal() {
    let sim = start_sim(40_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &sim.url(), &[("RUST_LOG", "info")]);
    register(&server, &sim);
    let target = sim.irreversible();
    let line = wait_until("a backfill progress line", Duration::from_secs(60), || {
        server
            .log()
            .lines()
            .find(|l| l.contains("backfill progress"))
            .map(String::from)
    });
    for field in [
        format!("token={SYMBOL}"),
        "block=".to_string(),
        format!("target={target}"),
        "blocks_per_sec=".to_string(),
        "eta=".to_string(),
    ] {
        assert!(line.contains(&field), "`{field}` missing in: {line}");
    }
    assert!(
        !line.contains('\u{1b}'),
        "colour codes in a log file: {line}"
    );
    // The lag gauge is exported while it catches up.
    let metrics = reqwest::blocking::get(server.url("/metrics"))
        .and_then(|r| r.text())
        .expect("GET /metrics");
    assert!(
        metrics.contains(&format!(
            "honeygraph_token_lag_blocks{{token=\"{SYMBOL}\"}}"
        )),
        "{metrics}"
    );
}
