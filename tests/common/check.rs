//! The end-to-end checks shared by the integration tests: register tokens
//! over the registry API, wait for blocks, and compare every REST and GraphQL
//! answer with the independent model of `reference.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hivesim::SimNode;
use serde_json::{json, Value};

use super::reference::{ops_of_appbase_block, run_chain, RefOp, RefToken, RefTokenDef};
use super::{wait_until, Server};

pub fn register(server: &Server, symbol: &str, def: &RefTokenDef) {
    register_with(server, symbol, def, json!({}));
}

/// [`register`] with more fields of the registry body (e.g. `historyBlocks`).
pub fn register_with(server: &Server, symbol: &str, def: &RefTokenDef, extra: Value) {
    let mut body = json!({
        "symbol": symbol,
        "opPrefix": def.prefix,
        "startBlock": def.start_block,
        "decimals": 3,
        "powerDownInterval": def.interval,
        "features": {"transfers": def.transfers, "balances": true, "staking": def.staking, "rewards": false},
        "genesis": {"balances": def.genesis_balances, "power": def.genesis_power},
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = server.post("/registry/tokens", &body);
    assert_eq!(status, 201, "registering {symbol}: {answer}");
}

pub fn last_block(server: &Server, symbol: &str) -> Option<u64> {
    let (status, state) = server.get(&format!("/{symbol}/state"));
    (status == 200)
        .then(|| state["lastBlock"].as_u64())
        .flatten()
}

pub fn wait_for_block(server: &Server, symbol: &str, target: u64) {
    wait_until(
        &format!("{symbol} to reach block {target}"),
        Duration::from_secs(180),
        || (last_block(server, symbol) == Some(target)).then_some(()),
    );
}

/// Every block of the simulated chain from `from` to `to`, as the model reads it.
pub fn chain(sim: &SimNode, from: u64, to: u64) -> Vec<(u64, Vec<RefOp>)> {
    (from..=to)
        .map(|n| ops_of_appbase_block(&sim.block_appbase(n).expect("block exists")))
        .collect()
}

pub fn reference(sim: &SimNode, defs: &[(String, RefTokenDef)], target: u64) -> Vec<RefToken> {
    let mut tokens: Vec<RefToken> = defs
        .iter()
        .map(|(_, def)| RefToken::new(def.clone()))
        .collect();
    run_chain(&mut tokens, &chain(sim, sim.first_block(), target));
    tokens
}

pub fn raw(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a raw amount: {value}"))
}

/// Every transfer of a token through the REST pages, newest first.
pub fn all_transfers(server: &Server, symbol: &str, account: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/{symbol}/transfers?limit=37");
        if let Some(account) = account {
            path.push_str(&format!("&account={account}"));
        }
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = server.get(&path);
        assert_eq!(status, 200, "{path}: {page}");
        out.extend(
            page["transfers"]
                .as_array()
                .expect("transfers array")
                .iter()
                .cloned(),
        );
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return out,
        }
    }
}

/// Compares every answer of `symbol` with the model.
pub fn check_token(server: &Server, sim: &SimNode, symbol: &str, model: &RefToken, target: u64) {
    // /state
    let (status, state) = server.get(&format!("/{symbol}/state"));
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["symbol"], symbol);
    assert_eq!(state["lastBlock"], target);
    let head = sim.block_appbase(target).expect("target block");
    assert_eq!(state["lastBlockId"], head["block_id"]);
    assert_eq!(
        raw(&state["supplyRaw"]) as u128,
        model.supply(),
        "{symbol} supply"
    );
    assert_eq!(state["holders"], model.holders(), "{symbol} holders");

    // Every account the model knows, over REST and GraphQL.
    let mut names: BTreeSet<String> = model.accounts.keys().cloned().collect();
    names.insert("nobody-here".to_string());
    for name in &names {
        let want = model.account(name);
        let (status, got) = server.get(&format!("/{symbol}/balance/{name}"));
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["account"], name.as_str());
        let figures = [
            ("balance", want.balance),
            ("power", want.power),
            ("grantedIn", want.granted_in),
            ("grantedOut", want.granted_out),
        ];
        for (field, expected) in figures {
            assert_eq!(
                raw(&got[format!("{field}Raw")]),
                expected,
                "{symbol} {name} {field}: {got}"
            );
            assert_eq!(
                got[field],
                format!("{}.{:03}", expected / 1000, expected % 1000),
                "{symbol} {name} {field}"
            );
        }
        let data = server.graphql(
            symbol,
            &format!("{{ account(name: \"{name}\") {{ balanceRaw powerRaw grantedInRaw grantedOutRaw }} }}"),
        );
        let account = &data["account"];
        assert_eq!(
            raw(&account["balanceRaw"]),
            want.balance,
            "GraphQL {symbol} {name}"
        );
        assert_eq!(
            raw(&account["powerRaw"]),
            want.power,
            "GraphQL {symbol} {name}"
        );
        assert_eq!(
            raw(&account["grantedInRaw"]),
            want.granted_in,
            "GraphQL {symbol} {name}"
        );
        assert_eq!(
            raw(&account["grantedOutRaw"]),
            want.granted_out,
            "GraphQL {symbol} {name}"
        );
    }

    // Transfers, newest first, through every page, and no transfer twice.
    let transfers = all_transfers(server, symbol, None);
    let expected: Vec<_> = model.transfers.iter().rev().collect();
    assert_eq!(transfers.len(), expected.len(), "{symbol} transfer count");
    let mut seen = BTreeSet::new();
    for (got, want) in transfers.iter().zip(&expected) {
        assert_eq!(got["block"], want.block, "{got}");
        assert_eq!(got["trxId"], want.trx_id.as_str(), "{got}");
        assert_eq!(got["opIndex"], want.op_index, "{got}");
        assert_eq!(got["from"], want.from.as_str(), "{got}");
        assert_eq!(got["to"], want.to.as_str(), "{got}");
        assert_eq!(raw(&got["amountRaw"]), want.amount, "{got}");
        assert_eq!(got["memo"], want.memo.as_str(), "{got}");
        assert!(
            seen.insert((want.trx_id.clone(), want.op_index)),
            "transfer listed twice: {got}"
        );
    }
    assert!(
        !expected.is_empty(),
        "the simulated chain produced no {symbol} transfers"
    );

    // The account filter, for the busiest sender.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &model.transfers {
        *counts.entry(t.from.as_str()).or_default() += 1;
    }
    let busiest = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(a, _)| *a)
        .expect("a sender");
    let filtered = all_transfers(server, symbol, Some(busiest));
    let want_filtered = model
        .transfers
        .iter()
        .filter(|t| t.from == busiest || t.to == busiest)
        .count();
    assert_eq!(
        filtered.len(),
        want_filtered,
        "{symbol} transfers of {busiest}"
    );

    // GraphQL transfers agree with REST on the newest page.
    let data = server.graphql(symbol, "{ transfers(first: 10) { nodes { block trxId opIndex amountRaw } pageInfo { hasNextPage } } }");
    let nodes = data["transfers"]["nodes"].as_array().expect("nodes");
    for (node, rest) in nodes.iter().zip(&transfers) {
        assert_eq!(node["trxId"], rest["trxId"]);
        assert_eq!(node["opIndex"], rest["opIndex"]);
        assert_eq!(node["amountRaw"], rest["amountRaw"]);
    }

    // The outcome of every logged operation, by transaction id.
    let mut by_trx: BTreeMap<&str, Vec<(u32, &str)>> = BTreeMap::new();
    for ((trx, op_index), outcome) in &model.outcomes {
        by_trx
            .entry(trx.as_str())
            .or_default()
            .push((*op_index, outcome.as_str()));
    }
    let mut kinds = BTreeSet::new();
    for (trx, wanted) in &by_trx {
        let (status, got) = server.get(&format!("/{symbol}/op/{trx}"));
        assert_eq!(status, 200, "{symbol} op {trx}: {got}");
        let ops = got["ops"].as_array().expect("ops array");
        for (op_index, outcome) in wanted {
            let op = ops
                .iter()
                .find(|o| o["opIndex"] == *op_index)
                .unwrap_or_else(|| panic!("{symbol} {trx} has no op {op_index}: {got}"));
            let described = match op["outcome"].as_str() {
                Some("rejected") => op["reason"].as_str().unwrap_or_default().to_string(),
                Some(other) => other.to_string(),
                None => panic!("no outcome: {op}"),
            };
            assert_eq!(described, *outcome, "{symbol} {trx}#{op_index}");
            kinds.insert(described);
        }
    }
    assert!(
        kinds.contains("applied") && kinds.len() >= 3,
        "{symbol}: too few kinds of outcome: {kinds:?}"
    );

    // The rich list: balance + power descending.
    let (status, rich) = server.get(&format!("/{symbol}/richlist?limit=10"));
    assert_eq!(status, 200);
    let mut ranked: Vec<(u128, &String)> = model
        .accounts
        .iter()
        .map(|(name, a)| (u128::from(a.balance) + u128::from(a.power), name))
        .filter(|(total, _)| *total > 0)
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let got: Vec<u128> = rich["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| u128::from(raw(&a["balanceRaw"])) + u128::from(raw(&a["powerRaw"])))
        .collect();
    let want: Vec<u128> = ranked.iter().take(10).map(|(total, _)| *total).collect();
    assert_eq!(got, want, "{symbol} rich list");

    // _meta names the block the answers are at.
    let data = server.graphql(symbol, "{ _meta { block { number hash } stateHash } }");
    assert_eq!(data["_meta"]["block"]["number"], target);
    assert_eq!(data["_meta"]["block"]["hash"], head["block_id"]);
    assert_eq!(data["_meta"]["stateHash"], state["stateHash"]);
}

pub fn check_all(server: &Server, sim: &SimNode, defs: &[(String, RefTokenDef)], target: u64) {
    let models = reference(sim, defs, target);
    for ((symbol, _), model) in defs.iter().zip(&models) {
        check_token(server, sim, symbol, model, target);
    }
    // The routing really was nested: both tokens saw operations.
    assert!(models.iter().all(|m| !m.outcomes.is_empty()));
}
