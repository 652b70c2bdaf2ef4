//! The per-token REST routes: every shape and field name of interfaces.md,
//! amount formatting, paging and errors, over real HTTP.

mod support;

use std::collections::HashSet;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_has_every_field() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/test/state").await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "symbol",
        "lastBlock",
        "lastBlockId",
        "irreversibleBlock",
        "supply",
        "supplyRaw",
        "holders",
        "logLength",
        "status",
        "stateHash",
        "error",
    ] {
        assert!(body.get(key).is_some(), "missing {key}: {body}");
    }
    assert_eq!(body["symbol"], "TEST");
    assert_eq!(body["lastBlock"], 45);
    assert_eq!(body["lastBlockId"], block_ref(45).id);
    assert_eq!(body["irreversibleBlock"], 40);
    // Transfers and power moves create nothing: supply is the genesis.
    assert_eq!(body["supply"], "1700.000");
    assert_eq!(body["supplyRaw"], "1700000");
    assert_eq!(body["holders"], 5);
    assert_eq!(body["logLength"], test_records().len());
    assert_eq!(body["status"], "backfilling");
    assert_eq!(body["error"], serde_json::Value::Null);
    assert_eq!(body["stateHash"].as_str().map(str::len), Some(64));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_is_formatted_with_the_tokens_decimals() {
    let f = Fixture::start(None).await;
    let (status, alice) = f.get("/test/balance/alice").await;
    assert_eq!(status, 200, "{alice}");
    assert_eq!(
        keys(&alice),
        [
            "account",
            "balance",
            "balanceRaw",
            "block",
            "grantedIn",
            "grantedInRaw",
            "grantedOut",
            "grantedOutRaw",
            "power",
            "powerRaw"
        ]
    );
    // 1000.000 - 1.500 - 2.000 + 0.005 - 25 * 0.001
    assert_eq!(alice["balance"], "996.480");
    assert_eq!(alice["balanceRaw"], "996480");
    assert_eq!(alice["power"], "2.000");
    assert_eq!(alice["powerRaw"], "2000");
    assert_eq!(alice["grantedOut"], "0.700");
    assert_eq!(alice["grantedOutRaw"], "700");
    assert_eq!(alice["grantedIn"], "0.000");
    assert_eq!(alice["block"], 45);
    let (_, carol) = f.get("/test/balance/carol").await;
    assert_eq!(
        (carol["grantedIn"].as_str(), carol["balance"].as_str()),
        (Some("0.700"), Some("99.995"))
    );

    // decimals 0: plain integers
    let (status, zero) = f.get("/zero/balance/alice").await;
    assert_eq!(status, 200, "{zero}");
    assert_eq!(
        (zero["balance"].as_str(), zero["power"].as_str()),
        (Some("7"), Some("3"))
    );
    assert_eq!(zero["block"], serde_json::Value::Null);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_accounts_are_zero_and_bad_names_are_400() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/test/balance/nobody").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance"], "0.000");
    assert_eq!(body["powerRaw"], "0");
    let (status, body) = f.get("/test/balance/Bad_Name").await;
    assert_error(status, &body, 400, "INVALID_ACCOUNT");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_case_insensitive_and_unknown_ones_404() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/TeSt/state").await;
    assert_eq!((status, body["symbol"].as_str()), (200, Some("TEST")));
    let (status, body) = f.get("/nope/state").await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (status, body) = f.get("/nope/balance/alice").await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (status, body) = f.get("/test/nothing-here").await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let response = f.client.delete(f.url("/test/state")).send().await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_error(status, &body, 405, "METHOD_NOT_ALLOWED");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_are_newest_first_with_every_field() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/test/transfers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), ["next", "transfers"]);
    let transfers = body["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), TRANSFERS);
    assert_eq!(body["next"], serde_json::Value::Null);
    assert_eq!(
        keys(&transfers[0]),
        [
            "amount",
            "amountRaw",
            "block",
            "from",
            "memo",
            "opIndex",
            "timestamp",
            "to",
            "trxId"
        ]
    );
    assert_eq!(transfers[0]["block"], 44);
    let oldest = &transfers[TRANSFERS - 1];
    assert_eq!(oldest["block"], 10);
    assert_eq!(oldest["trxId"], trx_id(10, 0));
    assert_eq!(oldest["opIndex"], 0);
    assert_eq!(
        (oldest["from"].as_str(), oldest["to"].as_str()),
        (Some("alice"), Some("dave"))
    );
    assert_eq!(
        (oldest["amount"].as_str(), oldest["amountRaw"].as_str()),
        (Some("1.500"), Some("1500"))
    );
    assert_eq!(oldest["memo"], "hi");
    assert_eq!(oldest["timestamp"], block_ref(10).timestamp);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_cursor_walks_everything_once() {
    let f = Fixture::start(None).await;
    let mut seen = HashSet::new();
    let mut blocks = Vec::new();
    let mut path = "/test/transfers?limit=4".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = f.get(&path).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for t in body["transfers"].as_array().unwrap() {
            let key = (
                t["trxId"].as_str().unwrap().to_string(),
                t["opIndex"].as_u64().unwrap(),
            );
            assert!(seen.insert(key), "duplicate {t}");
            blocks.push(t["block"].as_u64().unwrap());
        }
        match body["next"].as_str() {
            Some(next) => path = format!("/test/transfers?limit=4&cursor={next}"),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(seen.len(), TRANSFERS);
    assert_eq!(pages, TRANSFERS.div_ceil(4));
    assert!(
        blocks.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {blocks:?}"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_filters_and_bad_parameters() {
    let f = Fixture::start(None).await;
    let count = |body: &serde_json::Value| body["transfers"].as_array().map_or(0, Vec::len);
    let (_, body) = f.get("/test/transfers?account=dave").await;
    assert_eq!(count(&body), 1);
    let (_, body) = f.get("/test/transfers?account=alice").await;
    assert_eq!(count(&body), TRANSFERS);
    let (_, body) = f.get("/test/transfers?from=carol").await;
    assert_eq!(count(&body), 1);
    let (_, body) = f
        .get("/test/transfers?to=erin&fromBlock=30&toBlock=34")
        .await;
    assert_eq!(count(&body), 5);
    // over the cap: clamped to 1000, so everything comes back
    let (status, body) = f.get("/test/transfers?limit=5000").await;
    assert_eq!((status, count(&body)), (200, TRANSFERS));

    for bad in [
        "limit=abc",
        "limit=0",
        "limit=-1",
        "fromBlock=x",
        "toBlock=1.5",
    ] {
        let (status, body) = f.get(&format!("/test/transfers?{bad}")).await;
        assert_error(status, &body, 400, "INVALID_PARAMETER");
    }
    let (status, body) = f.get("/test/transfers?cursor=zzz").await;
    assert_error(status, &body, 400, "INVALID_CURSOR");
    let (status, body) = f.get("/test/transfers?account=NOT-valid").await;
    assert_error(status, &body, 400, "INVALID_ACCOUNT");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn richlist_orders_by_balance_plus_power() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/test/richlist").await;
    assert_eq!(status, 200, "{body}");
    let accounts = body["accounts"].as_array().unwrap();
    let names: Vec<&str> = accounts
        .iter()
        .filter_map(|a| a["account"].as_str())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "erin"]);
    assert_eq!(
        keys(&accounts[0]),
        ["account", "balance", "balanceRaw", "power", "powerRaw"]
    );
    assert_eq!(accounts[1]["power"], "500.000");
    assert_eq!(accounts[4]["balanceRaw"], "25");

    let (_, first) = f.get("/test/richlist?limit=2").await;
    let next = first["next"].as_str().unwrap();
    let (_, second) = f
        .get(&format!("/test/richlist?limit=2&cursor={next}"))
        .await;
    let names: Vec<&str> = second["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["account"].as_str())
        .collect();
    assert_eq!(names, ["carol", "dave"]);
    let (status, body) = f.get("/test/richlist?limit=nope").await;
    assert_error(status, &body, 400, "INVALID_PARAMETER");
    let (status, body) = f.get("/test/richlist?cursor=00").await;
    assert_error(status, &body, 400, "INVALID_CURSOR");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op_outcomes_by_transaction() {
    let f = Fixture::start(None).await;
    let mixed = trx_id(MIXED_BLOCK, 1);
    let (status, body) = f
        .get(&format!("/test/op/{}", mixed.to_ascii_uppercase()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trxId"], mixed);
    let ops = body["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 2);
    for key in [
        "block", "trxIndex", "opIndex", "name", "sender", "outcome", "reason",
    ] {
        assert!(ops[0].get(key).is_some(), "missing {key}: {}", ops[0]);
    }
    assert_eq!(ops[0]["outcome"], "rejected");
    assert_eq!(ops[0]["reason"], "insufficient balance");
    assert_eq!(ops[0]["sender"], "alice");
    assert_eq!(
        (ops[0]["block"].as_u64(), ops[0]["trxIndex"].as_u64()),
        (Some(MIXED_BLOCK), Some(1))
    );
    assert_eq!(
        (ops[1]["name"].as_str(), ops[1]["outcome"].as_str()),
        (Some("dance"), Some("unsupported"))
    );
    assert_eq!(ops[1]["reason"], serde_json::Value::Null);

    let (_, body) = f.get(&format!("/test/op/{}", trx_id(10, 0))).await;
    assert_eq!(body["ops"][0]["outcome"], "applied");
    let (status, body) = f.get(&format!("/test/op/{}", "0".repeat(40))).await;
    assert_error(status, &body, 404, "OP_NOT_FOUND");
    let (status, body) = f.get("/test/op/not-a-trx").await;
    assert_error(status, &body, 400, "INVALID_TRX_ID");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_projection_is_busy() {
    let f = Fixture::start(None).await;
    let entry = f.catalog.get("TEST").unwrap();
    let projection = entry.take_projection().unwrap();
    for path in [
        "/test/state",
        "/test/balance/alice",
        "/test/transfers",
        "/test/richlist",
    ] {
        let (status, body) = f.get(path).await;
        assert_error(status, &body, 503, "TOKEN_BUSY");
    }
    let (status, body) = f
        .post(
            "/test/graphql",
            &serde_json::json!({"query": "{ _meta { stateHash } }"}),
        )
        .await;
    assert_error(status, &body, 503, "TOKEN_BUSY");
    // the other token is unaffected
    let (status, _) = f.get("/zero/state").await;
    assert_eq!(status, 200);
    entry.set_projection(projection);
    let (status, _) = f.get("/test/state").await;
    assert_eq!(status, 200);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_named_like_fixed_routes_still_resolve() {
    let f = Fixture::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    for symbol in ["REGISTRY", "HEALTH", "GRAPHQL"] {
        let config = config(symbol, 1, &[("alice", 15, 0)]);
        let projection = state::Projection::open(&dir.path().join(symbol), &config).unwrap();
        f.catalog.insert(std::sync::Arc::new(state::TokenEntry::new(
            config, projection,
        )));
        let lower = symbol.to_ascii_lowercase();
        let (status, body) = f.get(&format!("/{lower}/state")).await;
        assert_eq!(
            (status, body["symbol"].as_str()),
            (200, Some(symbol)),
            "{body}"
        );
        let (status, body) = f.get(&format!("/{lower}/balance/alice")).await;
        assert_eq!(
            (status, body["balance"].as_str()),
            (200, Some("1.5")),
            "{body}"
        );
        let (status, body) = f
            .post(
                &format!("/{lower}/graphql"),
                &serde_json::json!({"query": "{ token { symbol } }"}),
            )
            .await;
        assert_eq!(
            (status, body["data"]["token"]["symbol"].as_str()),
            (200, Some(symbol)),
            "{body}"
        );
    }
    let (status, body) = f.get("/registry/tokens").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["tokens"].is_array());
    f.stop().await;
}
