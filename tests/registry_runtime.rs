//! The registry of a running server: tokens are updated and deleted without
//! a restart; a delete keeps the data unless `?purge=true`, and a token
//! registered again on kept data carries on where it was. Presets come from
//! the shell.

mod common;

use std::process::Command;

use common::check::{register, wait_for_block};
use common::reference::RefTokenDef;
use common::Server;
use hivesim::{SimConfig, SimNode};
use reqwest::Method;
use serde_json::json;

fn def(sim: &SimNode) -> RefTokenDef {
    RefTokenDef {
        prefix: "rr_".into(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 100,
        genesis_balances: sim.accounts().into_iter().map(|a| (a, 1_000_000)).collect(),
        genesis_power: Default::default(),
    }
}

#[test]
fn update_delete_keep_and_purge_without_a_restart() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 17,
        history: 400,
        block_interval: None,
        prefixes: vec!["rr_".to_string()],
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &sim.url(), &[]);
    let def = def(&sim);
    register(&server, "RUN", &def);
    let target = sim.irreversible();
    wait_for_block(&server, "RUN", target);
    let (_, before) = server.get("/RUN/state");

    // Update: the new name shows at once, in the registry and in GraphQL.
    let (status, updated) = server.send(
        Method::PUT,
        "/registry/tokens/RUN",
        Some(&json!({"name": "Run Token"})),
    );
    assert_eq!(
        (status, &updated["name"]),
        (200, &json!("Run Token")),
        "{updated}"
    );
    assert_eq!(
        server.graphql("RUN", "{ token { name } }")["token"]["name"],
        "Run Token"
    );
    let (status, refused) = server.send(
        Method::PUT,
        "/registry/tokens/RUN",
        Some(&json!({"opPrefix": "zz_"})),
    );
    assert_eq!(
        (status, &refused["error"]["code"]),
        (400, &json!("INVALID_FIELD")),
        "{refused}"
    );

    // Delete, keeping the data: the token is gone from the API, its data stays.
    let token_dir = data.path().join("tokens").join("RUN");
    let (status, answer) = server.send(Method::DELETE, "/registry/tokens/RUN", None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.get("/RUN/state").0, 404);
    assert_eq!(server.get("/registry/tokens/RUN").0, 404);
    assert!(
        token_dir.join("log").is_dir(),
        "a delete without purge keeps the data"
    );

    // Registered again: it opens the kept data and stands where it was.
    register(&server, "RUN", &def);
    wait_for_block(&server, "RUN", target);
    let (_, again) = server.get("/RUN/state");
    assert_eq!(again["stateHash"], before["stateHash"], "{again}");
    assert_eq!(
        again["logLength"], before["logLength"],
        "nothing was logged twice: {again}"
    );

    // Delete with purge: the data goes too.
    let (status, answer) = server.send(Method::DELETE, "/registry/tokens/RUN?purge=true", None);
    assert_eq!((status, &answer["purged"]), (200, &json!(true)), "{answer}");
    assert!(!token_dir.exists(), "purge destroys the token's data");
    let (_, list) = server.get("/registry/tokens");
    assert_eq!(list["tokens"], json!([]));
}

#[test]
fn presets_are_added_from_the_shell() {
    let data = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_honeygraph"))
            .args(args)
            .env("DATA_PATH", data.path())
            .env_remove("ZFS_PARENT")
            .output()
            .expect("run honeygraph")
    };
    for preset in ["SPK", "LARYNX", "BROCA", "DLUX"] {
        let out = run(&["token", "add", "--preset", preset]);
        assert!(
            out.status.success(),
            "{preset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let again = run(&["token", "add", "--preset", "spk"]);
    assert!(!again.status.success(), "a preset cannot be added twice");
    let unknown = run(&["token", "add", "--preset", "NOPE"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("SPK"),
        "the error lists the presets"
    );
    let list = String::from_utf8_lossy(&run(&["token", "list"]).stdout).to_string();
    for (symbol, prefix) in [
        ("SPK", "spkcc_spk_"),
        ("LARYNX", "spkcc_"),
        ("BROCA", "spkcc_broca_"),
        ("DLUX", "dlux_"),
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(symbol) && l.contains(prefix)),
            "{symbol} with {prefix} in:\n{list}"
        );
    }
}
