//! `honeygraph token import SYMBOL --honeycomb-state FILE --block N` through
//! the real binary: a small dump in honeycomb's shape becomes the genesis at
//! block N of a registered token that had not indexed anything, `serve`
//! indexes from N+1 on top of it, and malformed dumps or a token that has
//! indexed already are refused.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::{wait_until, Server};
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

const SYMBOL: &str = "HCT";
const PREFIX: &str = "dlux_";

fn honeygraph(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_honeygraph"))
        .args(args)
        .env("DATA_PATH", data)
        .env("RUST_LOG", "warn")
        .env_remove("ZFS_PARENT")
        .env_remove("HONEYGRAPH_CONFIG")
        .env_remove("LOG_FORMAT")
        .output()
        .expect("run honeygraph")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("JSON")).expect("write");
}

/// A honeycomb state in the shape dlux_open_token keeps it: `pow` with its
/// `t` total and `n` map, grants on both sides with `t` totals, an internal
/// pool (`ri`) and keys that are not balances at all.
fn dump(accounts: &[String]) -> Value {
    let mut balances = serde_json::Map::new();
    let mut pow = serde_json::Map::new();
    for (i, account) in accounts.iter().enumerate() {
        balances.insert(account.clone(), json!(1_000_000 + 1_000 * i as u64));
        if i % 3 == 0 {
            pow.insert(account.clone(), json!(40_000 + i as u64));
        }
    }
    balances.insert("ri".into(), json!(998_944_968));
    pow.insert("t".into(), json!(123));
    pow.insert("n".into(), json!({}));
    let (owner, grantee) = (&accounts[0], &accounts[1]);
    json!({
        "balances": balances,
        "pow": pow,
        "granting": { owner.as_str(): { grantee.as_str(): 7_000, "t": 7_000 } },
        "granted": { grantee.as_str(): { owner.as_str(): 7_000, "t": 7_000 } },
        "stats": { "tokenSupply": 1 },
        "dex": { "hive": { "buyBook": "" } },
        "feed": {},
    })
}

#[test]
fn a_honeycomb_dump_becomes_the_genesis_and_indexing_continues_from_the_next_block() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 21,
        history: 800,
        block_interval: None,
        prefixes: vec![PREFIX.to_string()],
        token_ops_per_block: 5.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let accounts = sim.accounts();

    // A registered token whose datasets exist but that has indexed nothing:
    // its start block is beyond the chain's head.
    let definition = dir.path().join("token.json");
    write_json(
        &definition,
        &json!({"symbol": SYMBOL, "opPrefix": PREFIX, "startBlock": sim.head() + 1_000,
                "decimals": 3, "powerDownInterval": 40}),
    );
    let added = honeygraph(
        &data,
        &[
            "token",
            "add",
            "--file",
            definition.to_str().expect("utf-8"),
        ],
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let mut server = Server::start(&data, &sim.url(), &[]);
    wait_until("the token to be served", Duration::from_secs(30), || {
        (server.get(&format!("/{SYMBOL}/state")).0 == 200).then_some(())
    });
    assert!(server.terminate().success());
    drop(server);

    // Import at block N.
    let genesis_block = sim.first_block() + 99;
    let state = dir.path().join("state.json");
    let honeycomb = dump(&accounts);
    write_json(&state, &honeycomb);
    let n = genesis_block.to_string();
    let import = |file: &Path| {
        honeygraph(
            &data,
            &[
                "token",
                "import",
                SYMBOL,
                "--honeycomb-state",
                file.to_str().expect("utf-8"),
                "--block",
                &n,
            ],
        )
    };
    let output = import(&state);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("the report is JSON");
    let mut expected_supply: u64 = 0;
    let mut expected = std::collections::BTreeMap::new();
    for account in &accounts {
        let balance = honeycomb["balances"][account].as_u64().unwrap_or(0);
        let mut power = honeycomb["pow"][account].as_u64().unwrap_or(0);
        if account == &accounts[0] {
            power += 7_000; // granted away in honeycomb, still the owner's power here
        }
        expected_supply += balance + power;
        expected.insert(account.clone(), (balance, power));
    }
    assert_eq!(report["startBlock"], genesis_block + 1, "{report}");
    assert_eq!(report["replaced"], true, "{report}");
    assert_eq!(report["supplyRaw"], expected_supply.to_string(), "{report}");
    assert_eq!(report["grantsFoldedIntoPower"], 1, "{report}");
    assert_eq!(
        report["skippedPools"]["balances.ri"], 998_944_968,
        "{report}"
    );

    // serve indexes from N+1 on top of the imported state.
    let server = Server::start(&data, &sim.url(), &[]);
    let target = sim.irreversible();
    let state_now = wait_until(
        &format!("{SYMBOL} at block {target}"),
        Duration::from_secs(120),
        || {
            let (status, state) = server.get(&format!("/{SYMBOL}/state"));
            (status == 200 && state["lastBlock"] == target).then_some(state)
        },
    );
    // Sends, power moves and grants never change the supply.
    assert_eq!(
        state_now["supplyRaw"],
        expected_supply.to_string(),
        "{state_now}"
    );
    for (account, (balance, power)) in expected.iter().take(6) {
        let data = server.graphql(
            SYMBOL,
            &format!("{{ account(name: \"{account}\", block: {genesis_block}) {{ balanceRaw powerRaw }} }}"),
        );
        assert_eq!(
            data["account"]["balanceRaw"],
            balance.to_string(),
            "{account} at genesis"
        );
        assert_eq!(
            data["account"]["powerRaw"],
            power.to_string(),
            "{account} at genesis"
        );
    }
    let (status, registered) = server.get(&format!("/registry/tokens/{SYMBOL}"));
    assert_eq!(status, 200, "{registered}");
    assert_eq!(registered["startBlock"], genesis_block + 1, "{registered}");
    drop(server);

    // A token that has indexed cannot be given a new genesis.
    let again = import(&state);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("has indexed up to block"),
        "{}",
        stderr(&again)
    );

    // Malformed dumps are refused, naming the key and the account.
    let bad = dir.path().join("bad.json");
    let cases = [
        (json!({"balances": {"alice": -5}}), "balances.alice"),
        (json!({"balances": {"alice": 2.5}}), "balances.alice"),
        (
            json!({"balances": {"alice": 1}, "pow": {"Bad_Name": 1}}),
            "Bad_Name",
        ),
        (json!({"pow": {"alice": 1}}), "`balances`"),
    ];
    for (dump, needle) in cases {
        write_json(&bad, &dump);
        let output = honeygraph(
            &data,
            &[
                "token",
                "import",
                "DLUX",
                "--honeycomb-state",
                bad.to_str().expect("utf-8"),
                "--block",
                "5",
            ],
        );
        assert!(!output.status.success(), "{dump} was accepted");
        assert!(
            stderr(&output).contains(needle),
            "{dump}: {}",
            stderr(&output)
        );
    }
    write_json(&bad, &json!({"balances": {"alice": 1}}));
    let unknown = honeygraph(
        &data,
        &[
            "token",
            "import",
            "NOSUCH",
            "--honeycomb-state",
            bad.to_str().expect("utf-8"),
            "--block",
            "5",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("neither registered nor a preset"),
        "{}",
        stderr(&unknown)
    );
}
