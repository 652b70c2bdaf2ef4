//! Helpers shared by the integration tests: a small quiet chain and a JSON-RPC client.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

/// A chain of 1200 blocks that only grows through `advance`.
pub fn config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        history: 1200,
        block_interval: None,
        ..SimConfig::default()
    }
}

pub async fn start(seed: u64) -> SimNode {
    SimNode::start(config(seed)).await.expect("node starts")
}

/// Posts a JSON-RPC request and returns the raw HTTP response.
pub async fn post(node: &SimNode, method: &str, params: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(node.url())
        .json(&json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}))
        .send()
        .await
        .expect("node answers")
}

/// The whole JSON-RPC response object of a successful HTTP exchange.
pub async fn rpc(node: &SimNode, method: &str, params: Value) -> Value {
    let res = post(node, method, params).await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("body is JSON")
}

/// The `result` member; panics on a JSON-RPC error.
pub async fn result(node: &SimNode, method: &str, params: Value) -> Value {
    let v = rpc(node, method, params).await;
    assert!(v.get("error").is_none(), "unexpected error {v}");
    v["result"].clone()
}

pub async fn range(node: &SimNode, start: u64, count: u64) -> Vec<Value> {
    let r = result(
        node,
        "block_api.get_block_range",
        json!({"starting_block_num": start, "count": count}),
    )
    .await;
    r["blocks"].as_array().expect("blocks array").clone()
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every custom_json op of an appbase block as (id, required_auths, required_posting_auths, json).
pub fn custom_jsons(block: &Value) -> Vec<(String, Value, Value, String)> {
    let mut out = Vec::new();
    for t in block["transactions"].as_array().expect("transactions") {
        for op in t["operations"].as_array().expect("operations") {
            let (kind, v) = if op.is_array() {
                (
                    format!("{}_operation", op[0].as_str().expect("op name")),
                    &op[1],
                )
            } else {
                (
                    op["type"].as_str().expect("op type").to_string(),
                    &op["value"],
                )
            };
            if kind == "custom_json_operation" {
                out.push((
                    v["id"].as_str().expect("custom_json id").to_string(),
                    v["required_auths"].clone(),
                    v["required_posting_auths"].clone(),
                    v["json"].as_str().expect("custom_json json").to_string(),
                ));
            }
        }
    }
    out
}
