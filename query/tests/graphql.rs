//! The per-token GraphQL schema of interfaces.md and the cross-token
//! `/graphql`, against the same data the REST tests read.

mod support;

use serde_json::{json, Value};
use support::*;

fn first_error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_matches_rest() {
    let f = Fixture::start(None).await;
    let body = f
        .graphql(
            "/test/graphql",
            r#"{ account(name: "alice") { account balance balanceRaw power powerRaw grantedIn grantedInRaw grantedOut grantedOutRaw block } }"#,
        )
        .await;
    let (_, rest) = f.get("/test/balance/alice").await;
    assert_eq!(body["data"]["account"], rest, "{body}");

    let body = f
        .graphql(
            "/test/graphql",
            r#"{ account(name: "alice", block: 45) { balance } }"#,
        )
        .await;
    assert_eq!(body["data"]["account"]["balance"], "996.480", "{body}");
    let body = f
        .graphql(
            "/test/graphql",
            r#"{ account(name: "alice", block: 20) { balance block } }"#,
        )
        .await;
    assert_eq!(body["data"]["account"]["balance"], "996.504", "{body}");
    assert_eq!(body["data"]["account"]["block"], 20, "{body}");
    let body = f
        .graphql("/test/graphql", r#"{ account(name: "NO") { balance } }"#)
        .await;
    assert_eq!(first_error_code(&body), Some("INVALID_ACCOUNT"), "{body}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_is_the_rich_list_with_pages() {
    let f = Fixture::start(None).await;
    let body = f
        .graphql(
            "/test/graphql",
            "{ accounts(first: 3) { nodes { account balance power grantedOut } pageInfo { hasNextPage endCursor } } }",
        )
        .await;
    let page = &body["data"]["accounts"];
    let names: Vec<&str> = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["account"].as_str())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"], "{body}");
    assert_eq!(page["nodes"][0]["grantedOut"], "0.700");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let cursor = page["pageInfo"]["endCursor"].as_str().unwrap();
    let body = f
        .graphql(
            "/test/graphql",
            &format!(r#"{{ accounts(first: 3, after: "{cursor}") {{ nodes {{ account }} pageInfo {{ hasNextPage endCursor }} }} }}"#),
        )
        .await;
    let page = &body["data"]["accounts"];
    let names: Vec<&str> = page["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["account"].as_str())
        .collect();
    assert_eq!(names, ["dave", "erin"], "{body}");
    assert_eq!(
        page["pageInfo"],
        json!({"hasNextPage": false, "endCursor": null})
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_match_rest_and_page() {
    let f = Fixture::start(None).await;
    let fields = "block trxId opIndex from to amount amountRaw memo timestamp";
    let body = f
        .graphql("/test/graphql", &format!(r#"{{ transfers(account: "dave") {{ nodes {{ {fields} }} pageInfo {{ hasNextPage }} }} }}"#))
        .await;
    let (_, rest) = f.get("/test/transfers?account=dave").await;
    assert_eq!(
        body["data"]["transfers"]["nodes"], rest["transfers"],
        "{body}"
    );

    let mut after: Option<String> = None;
    let mut total = 0;
    loop {
        let arg = after
            .as_ref()
            .map(|a| format!(r#", after: "{a}""#))
            .unwrap_or_default();
        let body = f
            .graphql(
                "/test/graphql",
                &format!(r#"{{ transfers(to: "erin", fromBlock: 21, toBlock: 40, first: 6{arg}) {{ nodes {{ block }} pageInfo {{ hasNextPage endCursor }} }} }}"#),
            )
            .await;
        let page = &body["data"]["transfers"];
        total += page["nodes"].as_array().unwrap().len();
        match page["pageInfo"]["endCursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(total, 20);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_over_1000_is_an_error() {
    let f = Fixture::start(None).await;
    for query in [
        "{ transfers(first: 1001) { nodes { block } } }",
        "{ accounts(first: 5000) { nodes { account } } }",
        "{ accounts(first: -1) { nodes { account } } }",
    ] {
        let body = f.graphql("/test/graphql", query).await;
        assert_eq!(
            first_error_code(&body),
            Some("INVALID_PARAMETER"),
            "{query}: {body}"
        );
    }
    let body = f
        .graphql(
            "/test/graphql",
            "{ transfers(first: 1000) { nodes { block } } }",
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_meta_and_token() {
    let f = Fixture::start(None).await;
    let body = f
        .graphql(
            "/test/graphql",
            &format!(r#"{{ ops(trxId: "{}") {{ block trxId trxIndex opIndex name sender outcome reason }} }}"#, trx_id(MIXED_BLOCK, 1)),
        )
        .await;
    let (_, rest) = f.get(&format!("/test/op/{}", trx_id(MIXED_BLOCK, 1))).await;
    assert_eq!(body["data"]["ops"], rest["ops"], "{body}");
    let body = f
        .graphql(
            "/test/graphql",
            &format!(r#"{{ ops(trxId: "{}") {{ name }} }}"#, "f".repeat(40)),
        )
        .await;
    assert_eq!(body["data"]["ops"], json!([]));

    let body = f
        .graphql("/test/graphql", "{ _meta { block { number hash timestamp } irreversibleBlock stateHash status error } }")
        .await;
    let (_, state) = f.get("/test/state").await;
    let meta = &body["data"]["_meta"];
    assert_eq!(meta["block"]["number"], 45, "{body}");
    assert_eq!(meta["block"]["hash"], block_ref(45).id);
    assert_eq!(meta["block"]["timestamp"], block_ref(45).timestamp);
    assert_eq!(meta["irreversibleBlock"], 40);
    assert_eq!(meta["stateHash"], state["stateHash"]);
    assert_eq!(meta["status"], "backfilling");
    assert_eq!(meta["error"], Value::Null);

    let body = f
        .graphql(
            "/test/graphql",
            "{ token { symbol name description contractAddress decimals opPrefix startBlock features { transfers balances staking rewards } supply supplyRaw holders logLength status } }",
        )
        .await;
    let token = &body["data"]["token"];
    assert_eq!(token["symbol"], "TEST", "{body}");
    assert_eq!(token["decimals"], 3);
    assert_eq!(token["opPrefix"], "test_");
    assert_eq!(
        token["features"],
        json!({"transfers": true, "balances": true, "staking": true, "rewards": false})
    );
    assert_eq!(
        (token["supply"].as_str(), token["supplyRaw"].as_str()),
        (Some("1700.000"), Some("1700000"))
    );
    assert_eq!(token["holders"], state["holders"]);
    assert_eq!(token["logLength"], state["logLength"]);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_token_graphql_reads_every_token() {
    let f = Fixture::start(None).await;
    let body = f
        .graphql(
            "/graphql",
            r#"{ tokens { symbol decimals account(name: "alice") { balance power } } }"#,
        )
        .await;
    assert_eq!(
        body["data"]["tokens"],
        json!([
            {"symbol": "TEST", "decimals": 3, "account": {"balance": "996.480", "power": "2.000"}},
            {"symbol": "ZERO", "decimals": 0, "account": {"balance": "7", "power": "3"}}
        ]),
        "{body}"
    );
    let body = f.graphql("/graphql", r#"{ token(symbol: "zero") { symbol holders } nope: token(symbol: "NOPE") { symbol } }"#).await;
    assert_eq!(
        body["data"],
        json!({"token": {"symbol": "ZERO", "holders": 1}, "nope": null}),
        "{body}"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_and_request_errors() {
    let f = Fixture::start(None).await;
    for path in ["/test/graphql", "/graphql"] {
        let response = f.client.get(f.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let html = response.text().await.unwrap().to_ascii_lowercase();
        assert!(html.contains("graphiql") && html.contains(path), "{path}");
    }
    let (status, body) = f.get("/nope/graphql").await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (status, body) = f
        .post("/nope/graphql", &json!({"query": "{ _meta { status } }"}))
        .await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");

    let response = f
        .client
        .post(f.url("/test/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 400, "INVALID_JSON");
    let response = f
        .client
        .post(f.url("/test/graphql"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    );

    // depth is limited
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(12),
        " }".repeat(12)
    );
    let body = f.graphql("/test/graphql", &deep).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too deep")),
        "{body}"
    );
    // batches work
    let (status, body) = f
        .post(
            "/test/graphql",
            &json!([{"query": "{ token { symbol } }"}, {"query": "{ _meta { status } }"}]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["data"]["token"]["symbol"], "TEST", "{body}");
    assert_eq!(body[1]["data"]["_meta"]["status"], "backfilling");
    f.stop().await;
}
