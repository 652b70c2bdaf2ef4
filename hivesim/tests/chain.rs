//! The served chain: determinism, linkage, the two block forms, range limits and forks.

mod common;

use common::{custom_jsons, range, result, rpc, start};
use serde_json::{json, Value};

#[tokio::test]
async fn same_seed_serves_identical_bytes_and_other_seed_differs() {
    let (a, b, c) = (start(7).await, start(7).await, start(8).await);
    let body = json!({"jsonrpc": "2.0", "method": "block_api.get_block_range",
                      "params": {"starting_block_num": 80_000_500u64, "count": 50}, "id": 1});
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for node in [&a, &b, &c] {
        let res = client.post(node.url()).json(&body).send().await.unwrap();
        bodies.push(res.bytes().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_ne!(bodies[0], bodies[2]);
    let parsed: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(parsed["result"]["blocks"].as_array().unwrap().len(), 50);
    // The in-process accessor is exactly what the range serves.
    assert_eq!(
        parsed["result"]["blocks"][0],
        a.block_appbase(80_000_500).unwrap()
    );
}

#[tokio::test]
async fn a_thousand_block_range_links_and_is_well_formed() {
    let node = start(7).await;
    let first = node.first_block();
    let blocks = range(&node, first + 100, 1000).await;
    assert_eq!(blocks.len(), 1000);
    let mut previous = node.block_appbase(first + 99).unwrap()["block_id"].clone();
    let mut trx_count = 0;
    for (i, b) in blocks.iter().enumerate() {
        let num = first + 100 + i as u64;
        let id = b["block_id"].as_str().unwrap();
        assert_eq!(id.len(), 40);
        assert_eq!(
            &id[..8],
            format!("{:08x}", num),
            "block id encodes its number"
        );
        assert_eq!(
            b["previous"], previous,
            "block {num} links to its predecessor"
        );
        let trxs = b["transactions"].as_array().unwrap();
        let ids = b["transaction_ids"].as_array().unwrap();
        assert_eq!(trxs.len(), ids.len());
        assert!(ids.iter().all(|t| t.as_str().unwrap().len() == 40));
        for t in trxs {
            assert!(
                t.get("transaction_id").is_none(),
                "appbase has no per-trx ids"
            );
            assert!(t["ref_block_num"].is_u64() && t["ref_block_prefix"].is_u64());
        }
        trx_count += trxs.len();
        previous = b["block_id"].clone();
    }
    assert!(
        trx_count > 1000 * 10,
        "blocks carry mainnet-like traffic: {trx_count}"
    );
    // Timestamps: 3 s per block from 2025-07-08T00:00:00 at first_block.
    assert_eq!(blocks[0]["timestamp"], "2025-07-08T00:05:00");
    assert_eq!(
        node.block_appbase(first).unwrap()["timestamp"],
        "2025-07-08T00:00:00"
    );
    // The first block links to a made-up id of the block before it.
    let genesis_prev = node.block_appbase(first).unwrap()["previous"].clone();
    assert!(genesis_prev
        .as_str()
        .unwrap()
        .starts_with(&format!("{:08x}", first - 1)));
}

#[tokio::test]
async fn appbase_and_condenser_forms_carry_the_same_operations() {
    let node = start(7).await;
    let mut compared = 0;
    for num in node.first_block()..node.first_block() + 20 {
        let app =
            result(&node, "block_api.get_block", json!({"block_num": num})).await["block"].clone();
        let cond = result(&node, "condenser_api.get_block", json!([num])).await;
        assert_eq!(app["block_id"], cond["block_id"]);
        assert_eq!(app["transaction_ids"], cond["transaction_ids"]);
        assert_eq!(app["signing_key"], cond["signing_key"]);
        assert_eq!(custom_jsons(&app), custom_jsons(&cond));
        compared += custom_jsons(&app).len();
        for (i, t) in cond["transactions"].as_array().unwrap().iter().enumerate() {
            assert_eq!(t["transaction_id"], cond["transaction_ids"][i]);
            assert_eq!(t["block_num"], num);
            assert_eq!(t["transaction_num"], i);
            for op in t["operations"].as_array().unwrap() {
                assert!(op[0].is_string() && op[1].is_object(), "legacy op {op}");
                if op[0] == "transfer" {
                    let amount = op[1]["amount"].as_str().unwrap();
                    assert!(
                        amount.ends_with(" HIVE") || amount.ends_with(" HBD"),
                        "{amount}"
                    );
                }
            }
        }
        for t in app["transactions"].as_array().unwrap() {
            for op in t["operations"].as_array().unwrap() {
                if op["type"] == "transfer_operation" {
                    assert_eq!(op["value"]["amount"]["precision"], 3);
                    assert!(op["value"]["amount"]["amount"].is_string());
                }
            }
        }
        assert_eq!(Some(cond), node.block_condenser(num));
    }
    assert!(compared > 20);
}

#[tokio::test]
async fn range_limits_and_missing_blocks_answer_like_hive() {
    let node = start(7).await;
    let head = node.head();
    for (params, needle) in [
        (
            json!({"starting_block_num": 80_000_001u64, "count": 1001}),
            "1000 blocks at a time",
        ),
        (
            json!({"starting_block_num": 80_000_001u64, "count": 0}),
            "1000 blocks at a time",
        ),
        (
            json!({"starting_block_num": 80_000_001u64, "count": -1}),
            "1000 blocks at a time",
        ),
        (
            json!({"starting_block_num": 0, "count": 10}),
            "Invalid starting block number",
        ),
    ] {
        let v = rpc(&node, "block_api.get_block_range", params).await;
        assert_eq!(v["error"]["code"], -32003, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    // The range stops at head and never serves blocks below first_block.
    assert_eq!(range(&node, head - 4, 100).await.len(), 5);
    assert_eq!(range(&node, node.first_block() - 10, 15).await.len(), 5);
    assert_eq!(range(&node, head + 1, 10).await.len(), 0);

    assert_eq!(
        result(&node, "block_api.get_block", json!({"block_num": head + 1})).await,
        json!({})
    );
    assert_eq!(
        result(&node, "condenser_api.get_block", json!([head + 1])).await,
        Value::Null
    );
    let bad = rpc(&node, "block_api.get_block", json!({"block_num": "zzzz"})).await;
    assert_eq!(bad["error"]["code"], -32000);
    assert_eq!(
        bad["error"]["message"],
        "Parse Error:Couldn't parse uint64_t"
    );
    let unknown = rpc(&node, "block_api.get_blocks_by_magic", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);
    let not_array = rpc(&node, "condenser_api.get_block", json!({"block_num": 1})).await;
    assert_eq!(not_array["error"]["code"], -32602);
}

#[tokio::test]
async fn global_properties_follow_the_chain() {
    let node = start(7).await;
    node.advance(3);
    let head = node.head();
    let db = result(
        &node,
        "database_api.get_dynamic_global_properties",
        json!({}),
    )
    .await;
    let cond = result(
        &node,
        "condenser_api.get_dynamic_global_properties",
        json!([]),
    )
    .await;
    for g in [&db, &cond] {
        assert_eq!(g["head_block_number"], head);
        assert_eq!(g["last_irreversible_block_num"], head - 20);
        assert_eq!(
            g["head_block_id"],
            node.block_appbase(head).unwrap()["block_id"]
        );
        assert_eq!(g["time"], node.block_appbase(head).unwrap()["timestamp"]);
    }
    assert_eq!(db["current_supply"]["nai"], "@@000000021");
    assert!(cond["current_supply"].as_str().unwrap().ends_with(" HIVE"));
}

#[tokio::test]
async fn batches_are_answered_in_order() {
    let node = start(7).await;
    let batch = json!([
        {"jsonrpc": "2.0", "method": "block_api.get_block", "params": {"block_num": 80_000_001u64}, "id": "a"},
        {"jsonrpc": "2.0", "method": "no.such", "params": {}, "id": 2},
    ]);
    let v: Value = reqwest::Client::new()
        .post(node.url())
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v[0]["id"], "a");
    assert!(v[0]["result"]["block"]["block_id"].is_string());
    assert_eq!(v[1]["id"], 2);
    assert_eq!(v[1]["error"]["code"], -32601);
}

#[tokio::test]
async fn fork_replaces_the_top_blocks_and_keeps_linkage() {
    let node = start(7).await;
    let head = node.head();
    let depth = 10;
    let below: Vec<Value> = range(&node, head - 30, 31).await;
    node.fork(depth).unwrap();
    assert_eq!(node.head(), head, "a fork keeps the head height");
    let after: Vec<Value> = range(&node, head - 30, 31).await;
    for (i, (old, new)) in below.iter().zip(&after).enumerate() {
        let num = head - 30 + i as u64;
        if num <= head - depth {
            assert_eq!(old, new, "block {num} below the fork is unchanged");
        } else {
            assert_ne!(old["block_id"], new["block_id"], "block {num} is replaced");
            assert_ne!(old["transaction_ids"], new["transaction_ids"]);
        }
    }
    for pair in after.windows(2) {
        assert_eq!(pair[1]["previous"], pair[0]["block_id"]);
    }
    // Later blocks follow the new branch.
    node.advance(2);
    let next = range(&node, head, 2).await;
    assert_eq!(next[0]["block_id"], after[30]["block_id"]);
    assert_eq!(next[1]["previous"], after[30]["block_id"]);

    // The lag is 20: replacing 21 blocks would touch the irreversible one.
    let head = node.head();
    assert_eq!(node.irreversible(), head - 20);
    assert!(node.fork(21).is_err());
    assert!(node.fork(0).is_err());
    node.fork(20).unwrap();
    assert_eq!(node.branch(), 2);
}

#[test]
fn background_node_serves_synchronous_callers_and_stops() {
    let node = hivesim::SimNode::start_in_background(common::config(3)).unwrap();
    let url = node.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status: Value = rt.block_on(async {
        reqwest::get(format!("{url}/sim/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(status["head"], node.head());
    assert_eq!(status["firstBlock"], node.first_block());
    assert_eq!(status["seed"], 3);
    node.stop();
    let refused = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/sim/status"))
            .send()
            .await
    });
    assert!(refused.is_err(), "a stopped node no longer answers");
}
