//! Disk full: one token's data lives on a small tmpfs (the plain backend
//! adopts an existing directory), the other on the ordinary disk. When the
//! small one fills up, that token goes to `failed` with an error that says
//! so, the other token goes on, and nothing is corrupted: the full token's
//! answers are still those of the block it stopped at. Once space is freed
//! (the tmpfs grows), an operator rollback to its cursor resumes it, and it
//! reaches the head with the right answers.
//!
//! Needs root (to mount a tmpfs); without it the test says so and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::check::{check_token, register, wait_for_block};
use common::log::{assert_log_follows_chain, verified_records};
use common::reference::{run_chain, RefToken, RefTokenDef};
use common::{wait_until, Server};
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

/// Unmounts the tmpfs however the test ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(at.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(status.success(), "cannot grow the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn def(sim: &SimNode, prefix: &str) -> RefTokenDef {
    RefTokenDef {
        prefix: prefix.to_string(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 30,
        genesis_balances: sim.accounts().into_iter().map(|a| (a, 2_000_000)).collect(),
        genesis_power: Default::default(),
    }
}

fn model(sim: &SimNode, def: &RefTokenDef, to: u64) -> RefToken {
    let mut token = RefToken::new(def.clone());
    run_chain(
        std::slice::from_mut(&mut token),
        &common::check::chain(sim, sim.first_block(), to),
    );
    token
}

fn state(server: &Server, symbol: &str) -> Value {
    let (status, state) = server.get(&format!("/{symbol}/state"));
    assert_eq!(status, 200, "{state}");
    state
}

#[test]
fn a_full_disk_fails_one_token_and_it_resumes_once_space_is_freed() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 29,
        history: 2_000,
        block_interval: None,
        prefixes: vec!["full_".to_string(), "okay_".to_string()],
        token_ops_per_block: 8.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let data = tempfile::tempdir().expect("tempdir");
    let Some(tmpfs) = Tmpfs::mount(&data.path().join("tokens").join("FULL"), "2m") else {
        eprintln!(
            "skipped: cannot mount a tmpfs here (needs root), so the disk-full test did not run"
        );
        return;
    };
    let mut server = Server::start(data.path(), &sim.url(), &[]);
    let full = def(&sim, "full_");
    let okay = def(&sim, "okay_");
    register(&server, "FULL", &full);
    register(&server, "OKAY", &okay);
    let target = sim.irreversible();
    let started = std::time::Instant::now();

    // FULL fails with an error that names the cause; OKAY goes on to the head.
    let failed = wait_until("FULL to fail", Duration::from_secs(120), || {
        let state = state(&server, "FULL");
        (state["status"] == "failed").then_some(state)
    });
    eprintln!("{:?}: FULL failed: {failed}", started.elapsed());
    let error = failed["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("No space left") || error.contains("space"),
        "the error does not say the disk is full: {failed}"
    );
    wait_for_block(&server, "OKAY", target);
    check_token(&server, &sim, "OKAY", &model(&sim, &okay, target), target);

    // Nothing is corrupted: FULL answers exactly as of the block it stopped at.
    let stopped = failed["lastBlock"]
        .as_u64()
        .expect("FULL applied some blocks first");
    assert!(
        stopped < target,
        "FULL finished before the disk filled: {failed}"
    );
    check_token(&server, &sim, "FULL", &model(&sim, &full, stopped), stopped);

    eprintln!(
        "{:?}: OKAY checked, FULL checked at {stopped}",
        started.elapsed()
    );
    // Space is freed; an operator rollback to the cursor resumes the token.
    tmpfs.resize("256m");
    let (status, report) = server.post(
        "/admin/tokens/FULL/rollback",
        &json!({ "toBlock": stopped }),
    );
    assert_eq!(status, 200, "{report}");
    wait_for_block(&server, "FULL", target);
    wait_until("FULL to be live", Duration::from_secs(30), || {
        (state(&server, "FULL")["status"] == "live").then_some(())
    });
    eprintln!("{:?}: FULL resumed", started.elapsed());
    check_token(&server, &sim, "FULL", &model(&sim, &full, target), target);

    let status = server.terminate();
    assert!(status.success(), "{status}");
    for symbol in ["FULL", "OKAY"] {
        assert_log_follows_chain(&verified_records(data.path(), symbol), &sim);
    }
    drop(tmpfs);
}
