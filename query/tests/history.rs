//! Queries as of a block (time travel) over REST and GraphQL: balances,
//! supply, transfers and the rich list as they were after block N, and the
//! errors for blocks below the kept history or above the indexed one.

mod support;

use std::sync::Arc;

use serde_json::{json, Value};
use state::projection::ProjectionOptions;
use state::{Projection, TokenEntry};
use support::*;

fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

fn error_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// Registers PRUNE: TEST's history with only 10 blocks kept (earliest 35).
fn add_pruned_token(f: &Fixture, dir: &std::path::Path) {
    let config = config(
        "PRUNE",
        3,
        &[
            ("alice", 1_000_000, 0),
            ("bob", 0, 500_000),
            ("carol", 100_000, 100_000),
        ],
    );
    let options = ProjectionOptions {
        history_blocks: Some(10),
        ..ProjectionOptions::default()
    };
    let projection = Projection::open_with(dir, &config, &options).expect("opens");
    let records = test_records();
    projection
        .apply(&records, records.len() as u64)
        .expect("applies");
    f.catalog
        .insert(Arc::new(TokenEntry::new(config, projection)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_balance_as_of_a_block() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/test/balance/alice?block=11").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["block"], 11);
    assert_eq!(body["balance"], "996.500");
    assert_eq!(body["power"], "2.000");
    assert_eq!(body["grantedOut"], "0.700");
    let (_, body) = f.get("/test/balance/alice?block=9").await;
    assert_eq!(
        (body["balance"].as_str(), body["power"].as_str()),
        (Some("1000.000"), Some("0.000"))
    );
    // the genesis is the state after block startBlock - 1
    let (_, body) = f.get("/test/balance/dave?block=0").await;
    assert_eq!(
        (body["balance"].as_str(), &body["block"]),
        (Some("0.000"), &json!(0))
    );
    let (_, now) = f.get("/test/balance/alice").await;
    let (_, at_cursor) = f.get("/test/balance/alice?block=45").await;
    assert_eq!(now, at_cursor);

    let (status, body) = f.get("/test/balance/alice?block=46").await;
    assert_error(status, &body, 400, "BLOCK_NOT_YET_INDEXED");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("45"),
        "{body}"
    );
    let (status, body) = f.get("/test/balance/alice?block=-1").await;
    assert_error(status, &body, 400, "INVALID_PARAMETER");
    let (status, body) = f.get("/test/balance/NO?block=3").await;
    assert_error(status, &body, 400, "INVALID_ACCOUNT");

    let (status, state) = f.get("/test/state").await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["earliestBlock"], 0);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_kept_history_is_gone_and_names_the_earliest_block() {
    let f = Fixture::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    add_pruned_token(&f, dir.path());

    let (_, state) = f.get("/prune/state").await;
    assert_eq!(state["earliestBlock"], 35, "{state}");
    let (status, body) = f.get("/prune/balance/alice?block=34").await;
    assert_error(status, &body, 410, "HISTORY_PRUNED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("earliest block available is 35"),
        "{body}"
    );
    // at and above the horizon the answers are those of the full history
    for block in [35, 40, 45] {
        let (status, pruned) = f.get(&format!("/prune/balance/alice?block={block}")).await;
        assert_eq!(status, 200, "{pruned}");
        let (_, full) = f.get(&format!("/test/balance/alice?block={block}")).await;
        assert_eq!(pruned, full);
    }

    let body = f
        .graphql(
            "/prune/graphql",
            r#"{ account(name: "alice", block: 34) { balance } }"#,
        )
        .await;
    assert_eq!(error_code(&body), Some("HISTORY_PRUNED"), "{body}");
    assert!(error_message(&body).contains("35"), "{body}");
    let body = f
        .graphql("/prune/graphql", "{ token(block: 20) { supply } }")
        .await;
    assert_eq!(error_code(&body), Some("HISTORY_PRUNED"), "{body}");
    let body = f
        .graphql("/prune/graphql", "{ _meta { earliestBlock } }")
        .await;
    assert_eq!(body["data"]["_meta"]["earliestBlock"], 35, "{body}");
    // transfers are never pruned: an old block still filters them
    let (status, body) = f.get("/prune/transfers?block=12").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["transfers"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_account_token_transfers_and_accounts_as_of_a_block() {
    let f = Fixture::start(None).await;
    let body = f
        .graphql(
            "/test/graphql",
            r#"{ account(name: "alice", block: 11) { balance power grantedOut block } }"#,
        )
        .await;
    let (_, rest) = f.get("/test/balance/alice?block=11").await;
    let account = &body["data"]["account"];
    assert_eq!(account["balance"], rest["balance"], "{body}");
    assert_eq!(account["grantedOut"], "0.700");
    assert_eq!(account["block"], 11);

    // holders: 3 in the genesis, dave from block 10, erin from block 20
    for (block, holders) in [(9, 3), (10, 4), (19, 4), (20, 5)] {
        let body = f
            .graphql(
                "/test/graphql",
                &format!("{{ token(block: {block}) {{ supply supplyRaw holders block account(name: \"erin\") {{ balanceRaw block }} }} }}"),
            )
            .await;
        let token = &body["data"]["token"];
        assert_eq!(token["supply"], "1700.000", "{body}");
        assert_eq!(token["holders"], holders, "block {block}: {body}");
        assert_eq!(token["block"], block);
        assert_eq!(token["account"]["block"], block);
    }
    let body = f
        .graphql("/test/graphql", "{ token(block: 46) { supply } }")
        .await;
    assert_eq!(error_code(&body), Some("BLOCK_NOT_YET_INDEXED"), "{body}");

    let body = f
        .graphql(
            "/test/graphql",
            "{ transfers(block: 20) { nodes { block from to amount } } }",
        )
        .await;
    let blocks: Vec<u64> = body["data"]["transfers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["block"].as_u64().unwrap())
        .collect();
    assert_eq!(blocks, [20, 12, 10], "{body}");
    let body = f
        .graphql(
            "/test/graphql",
            "{ transfers(block: 30, toBlock: 11) { nodes { block } } }",
        )
        .await;
    assert_eq!(
        body["data"]["transfers"]["nodes"],
        json!([{"block": 10}]),
        "{body}"
    );
    let body = f
        .graphql(
            "/test/graphql",
            "{ transfers(block: 99) { nodes { block } } }",
        )
        .await;
    assert_eq!(error_code(&body), Some("BLOCK_NOT_YET_INDEXED"), "{body}");

    // the rich list after block 10, in pages of 2
    let mut names = Vec::new();
    let mut after = String::new();
    loop {
        let body = f
            .graphql(
                "/test/graphql",
                &format!("{{ accounts(block: 10, first: 2{after}) {{ nodes {{ account balance block }} pageInfo {{ hasNextPage endCursor }} }} }}"),
            )
            .await;
        let page = &body["data"]["accounts"];
        for node in page["nodes"].as_array().unwrap() {
            assert_eq!(node["block"], 10, "{body}");
            names.push(node["account"].as_str().unwrap().to_string());
        }
        match page["pageInfo"]["endCursor"].as_str() {
            Some(cursor) => after = format!(", after: \"{cursor}\""),
            None => break,
        }
    }
    assert_eq!(names, ["alice", "bob", "carol", "dave"]);
    let (status, body) = f.get("/test/richlist?block=10&limit=10").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accounts"][3]["balance"], "1.500", "{body}");

    let body = f
        .graphql("/test/graphql", "{ _meta { block { number hash timestamp } irreversibleBlock stateHash status earliestBlock } }")
        .await;
    let meta = &body["data"]["_meta"];
    assert_eq!(meta["block"]["number"], 45, "{body}");
    assert_eq!(meta["earliestBlock"], 0);
    // every token of the cross-token schema carries its `_meta` too
    let body = f
        .graphql(
            "/graphql",
            "{ tokens { symbol _meta { earliestBlock stateHash } } }",
        )
        .await;
    let at_nine = f
        .graphql(
            "/graphql",
            r#"{ token(symbol: "test", block: 9) { holders account(name: "alice") { balance block } } }"#,
        )
        .await;
    let token = &at_nine["data"]["token"];
    assert_eq!(token["holders"], 3, "{at_nine}");
    assert_eq!(token["account"]["balance"], "1000.000", "{at_nine}");
    assert_eq!(token["account"]["block"], 9, "{at_nine}");
    let tokens = body["data"]["tokens"].as_array().unwrap();
    assert!(!tokens.is_empty(), "{body}");
    assert!(
        tokens.iter().all(|t| t["_meta"]["earliestBlock"] == 0),
        "{body}"
    );
    f.stop().await;
}
