//! BYO GraphQL schemas, custom API scripts and namespaces over real HTTP,
//! and isolation between tokens that share account names (TEST and ZERO
//! both have `alice`).

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use query::{AppContext, Control};
use serde_json::{json, Value};
use state::{Catalog, Projection, TokenEntry};
use support::{assert_error, config, test_records, FakeControl, Fixture};

const ADMIN: &str = "s3cret";

/// A token dApp's schema, as the seed's MYTOKEN example would be written
/// against honeygraph's bindings.
const MYTOKEN_SCHEMA: &str = r#"
"""MYTOKEN dApp schema."""
type Query {
  "One holder (zeros when unknown)."
  holder(name: String!): Holder @account(name: "name")
  "Top holders by balance + power."
  topHolders(first: Int = 10): [Holder!]! @richlist
  "All holders, a page at a time."
  holders(first: Int = 25, after: String): HolderPage! @richlist
  stats: Stats! @stats
  recentTransfers(first: Int = 20): [Transfer!]! @transfers
  transfersOf(who: String!, first: Int = 20, after: String): TransferPage! @transfers(account: "who")
  token: TokenInfo! @token
  stakingEnabled: Boolean! @state(path: "token.features.staking")
  receipt(trxId: String!): [Receipt!]! @ops
}

type Holder {
  account: String!
  balance: String!
  liquidRaw: String! @from(key: "balanceRaw")
  staked: String! @from(key: "power")
  stakedRaw: Int @from(key: "powerRaw")
  delegatedIn: String! @from(key: "grantedIn")
  asOfBlock: Int @from(key: "block")
}

type HolderPage { nodes: [Holder!]! pageInfo: PageInfo! }
type PageInfo { hasNextPage: Boolean! endCursor: String }

type Stats {
  symbol: String!
  supply: String!
  holders: Int!
  accounts: Int!
  lastBlock: Int
  logLength: Int!
}

type Transfer {
  from: String!
  to: String!
  amount: String!
  memo: String
  block: Int!
  txid: ID! @from(key: "trxId")
  "The sender's current figures."
  sender: Holder! @account(name: "from")
}

type TransferPage { nodes: [Transfer!]! pageInfo: PageInfo! }

type TokenInfo { symbol: String! name: String! decimals: Int! features: Features! }
type Features { staking: Boolean! transfers: Boolean! }
type Receipt { name: String! outcome: String! reason: String }
"#;

impl Fixture {
    async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn admin_delete(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .delete(self.url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn data(body: &Value) -> &Value {
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"]
}

#[tokio::test]
async fn the_mytoken_schema_serves_the_tokens_projection() {
    let fx = Fixture::start(Some(ADMIN)).await;
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/test/schema",
            &json!({"schema": MYTOKEN_SCHEMA}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({"symbol": "TEST", "kind": "schema", "version": 1})
    );

    let body = fx
        .graphql(
            "/TEST/graphql",
            r#"{ holder(name: "alice") { account balance liquidRaw staked stakedRaw delegatedIn asOfBlock }
                 topHolders(first: 2) { account }
                 holders(first: 2) { nodes { account } pageInfo { hasNextPage endCursor } }
                 stats { symbol supply holders accounts lastBlock logLength }
                 recentTransfers(first: 3) { from to amount block txid sender { account balance } }
                 transfersOf(who: "dave") { nodes { from to amount memo } pageInfo { hasNextPage } }
                 token { symbol decimals features { staking } }
                 stakingEnabled
                 _meta { block { number } status } }"#,
        )
        .await;
    let d = data(&body);
    let (_, alice) = fx.get("/TEST/balance/alice").await;
    assert_eq!(d["holder"]["balance"], alice["balance"]);
    assert_eq!(d["holder"]["liquidRaw"], alice["balanceRaw"]);
    assert_eq!(d["holder"]["staked"], alice["power"]);
    assert_eq!(
        d["holder"]["stakedRaw"],
        json!(alice["powerRaw"].as_str().unwrap().parse::<i64>().unwrap())
    );
    assert_eq!(d["holder"]["delegatedIn"], alice["grantedIn"]);
    assert_eq!(d["holder"]["asOfBlock"], json!(45));

    let (_, rich) = fx.get("/TEST/richlist?limit=2").await;
    let top: Vec<&Value> = rich["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["account"])
        .collect();
    assert_eq!(
        d["topHolders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| &h["account"])
            .collect::<Vec<_>>(),
        top
    );
    assert_eq!(d["holders"]["pageInfo"]["hasNextPage"], json!(true));
    assert_eq!(d["holders"]["nodes"].as_array().unwrap().len(), 2);

    let (_, state) = fx.get("/TEST/state").await;
    assert_eq!(d["stats"]["symbol"], "TEST");
    assert_eq!(d["stats"]["supply"], state["supply"]);
    assert_eq!(d["stats"]["holders"], state["holders"]);
    assert_eq!(d["stats"]["lastBlock"], json!(45));
    assert!(d["stats"]["accounts"].as_i64().unwrap() >= 5);

    let (_, transfers) = fx.get("/TEST/transfers?limit=3").await;
    let recent = d["recentTransfers"].as_array().unwrap();
    assert_eq!(recent.len(), 3);
    assert_eq!(recent[0]["txid"], transfers["transfers"][0]["trxId"]);
    assert_eq!(recent[0]["sender"]["account"], "alice");
    assert_eq!(recent[0]["sender"]["balance"], alice["balance"]);

    let to_dave = d["transfersOf"]["nodes"].as_array().unwrap();
    assert_eq!(to_dave.len(), 1);
    assert_eq!(to_dave[0]["memo"], "hi");
    assert_eq!(to_dave[0]["amount"], "1.500");

    assert_eq!(d["token"]["symbol"], "TEST");
    assert_eq!(d["token"]["decimals"], 3);
    assert_eq!(d["stakingEnabled"], d["token"]["features"]["staking"]);
    assert_eq!(d["_meta"]["block"]["number"], 45);

    // The built-in schema is gone for TEST (no `account` field) but ZERO keeps it.
    let body = fx
        .graphql("/TEST/graphql", r#"{ account(name: "alice") { balance } }"#)
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("account"),
        "{body}"
    );
    let body = fx
        .graphql("/ZERO/graphql", r#"{ account(name: "alice") { balance } }"#)
        .await;
    assert_eq!(data(&body)["account"]["balance"], "7");

    // `first` is capped as in the built-in schema.
    let body = fx
        .graphql("/TEST/graphql", "{ topHolders(first: 1001) { account } }")
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_PARAMETER",
        "{body}"
    );
    fx.stop().await;
}

#[tokio::test]
async fn schemas_are_validated_versioned_swapped_live_and_rolled_back() {
    let fx = Fixture::start(Some(ADMIN)).await;
    // Writes need the admin token.
    let (status, body) = fx
        .post(
            "/registry/tokens/TEST/schema",
            &json!({"schema": MYTOKEN_SCHEMA}),
        )
        .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");

    // Invalid SDL: 400 with line and column, nothing stored.
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/TEST/schema",
            &json!({"schema": "type Query {\n  a: Foo @stats\n}"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_SCHEMA");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 2, column 6"), "{message}");
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/TEST/schema",
            &json!({"schema": "type Query {"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_SCHEMA");
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/TEST/schema",
            &json!({"schema": "type Query { _meta: String @stats }"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_SCHEMA");
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/NOPE/schema",
            &json!({"schema": MYTOKEN_SCHEMA}),
        )
        .await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (_, listing) = fx.get("/registry/tokens/TEST/schema").await;
    assert_eq!(listing["active"], Value::Null);
    assert_eq!(listing["versions"], json!([]));

    let v1 = "type Query { supply: String! @state(path: \"stats.supply\") }";
    let v2 = "type Query { holders: Int! @state(path: \"stats.holders\") }";
    assert_eq!(
        fx.admin_post("/registry/tokens/TEST/schema", &json!({"schema": v1}))
            .await
            .0,
        201
    );
    let body = fx.graphql("/TEST/graphql", "{ supply }").await;
    let supply = data(&body)["supply"].clone();
    assert_eq!(
        fx.admin_post("/registry/tokens/TEST/schema", &json!({"schema": v2}))
            .await
            .0,
        201
    );
    // Swapped live: v2's field answers, v1's does not.
    let body = fx.graphql("/TEST/graphql", "{ holders }").await;
    assert!(data(&body)["holders"].as_i64().unwrap() > 0);
    let body = fx.graphql("/TEST/graphql", "{ supply }").await;
    assert!(body["errors"].is_array(), "{body}");

    let (status, listing) = fx.get("/registry/tokens/TEST/schema").await;
    assert_eq!(status, 200);
    assert_eq!(listing["active"], 2);
    assert_eq!(listing["text"], v2);
    let versions: Vec<&Value> = listing["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["version"])
        .collect();
    assert_eq!(versions, vec![&json!(1), &json!(2)]);
    let (_, one) = fx.get("/registry/tokens/TEST/schema/versions/1").await;
    assert_eq!(one["text"], v1);
    let (status, body) = fx.get("/registry/tokens/TEST/schema/versions/9").await;
    assert_error(status, &body, 404, "VERSION_NOT_FOUND");

    let (status, body) = fx
        .admin_post(
            "/registry/tokens/TEST/schema/rollback",
            &json!({"version": 1}),
        )
        .await;
    assert_eq!((status, &body["active"]), (200, &json!(1)), "{body}");
    let body = fx.graphql("/TEST/graphql", "{ supply }").await;
    assert_eq!(data(&body)["supply"], supply);

    // Back to the built-in schema; versions are kept.
    let (status, body) = fx.admin_delete("/registry/tokens/TEST/schema").await;
    assert_eq!(status, 200, "{body}");
    let body = fx.graphql("/TEST/graphql", "{ token { symbol } }").await;
    assert_eq!(data(&body)["token"]["symbol"], "TEST");
    let (_, listing) = fx.get("/registry/tokens/TEST/schema").await;
    assert_eq!(listing["versions"].as_array().unwrap().len(), 2);
    fx.stop().await;
}

const WHALES: &str = r#"
fn routes() { #{ "whales": "whales", "holder/:name": "holder", "boom": "boom", "spin": "spin" } }
fn whales(req) {
    let n = if "limit" in req.query { parse_int(req.query.limit) } else { 10 };
    richlist(n).accounts.map(|a| #{ who: a.account, raw: a.balanceRaw })
}
fn holder(req) { let b = balance(req.params.name); #{ name: b.account, raw: b.balanceRaw, symbol: token().symbol } }
fn boom(req) { throw "the whale escaped" }
fn spin(req) { loop { } }
"#;

#[tokio::test]
async fn scripts_add_routes_that_read_their_token_only() {
    let fx = Fixture::start(Some(ADMIN)).await;
    let (status, body) = fx
        .admin_post("/registry/tokens/TEST/api", &json!({"api": WHALES}))
        .await;
    assert_eq!(status, 201, "{body}");

    let (status, body) = fx.get("/TEST/whales?limit=2").await;
    assert_eq!(status, 200, "{body}");
    let (_, rich) = fx.get("/TEST/richlist?limit=2").await;
    assert_eq!(body[0]["who"], rich["accounts"][0]["account"]);
    assert_eq!(body.as_array().unwrap().len(), 2);

    let (_, test_alice) = fx.get("/TEST/balance/alice").await;
    let (status, body) = fx.get("/TEST/holder/alice").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"name": "alice", "raw": test_alice["balanceRaw"], "symbol": "TEST"})
    );

    // The built-in routes are untouched; ZERO has no such routes.
    let (status, _) = fx.get("/TEST/state").await;
    assert_eq!(status, 200);
    let (status, body) = fx.get("/ZERO/holder/alice").await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, body) = fx.get("/TEST/nothing/here").await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // Failures are JSON 500s and the server carries on.
    let (status, body) = fx.get("/TEST/boom").await;
    assert_error(status, &body, 500, "SCRIPT_ERROR");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the whale escaped"));
    let (status, body) = fx.get("/TEST/spin").await;
    assert_eq!(status / 100, 5, "{body}");
    assert!(["SCRIPT_LIMIT", "SCRIPT_TIMEOUT"].contains(&body["error"]["code"].as_str().unwrap()));
    let (status, _) = fx.get("/TEST/holder/alice").await;
    assert_eq!(status, 200);

    // Syntax errors are refused at upload with line and column.
    let (status, body) = fx
        .admin_post(
            "/registry/tokens/TEST/api",
            &json!({"api": "fn routes() {\n  #{ \"a\": \n}"}),
        )
        .await;
    assert_error(status, &body, 400, "INVALID_SCRIPT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line "),
        "{body}"
    );

    // Versioned like schemas.
    let v2 = r#"fn routes() { #{ "v": "v" } } fn v(req) { 2 }"#;
    assert_eq!(
        fx.admin_post("/registry/tokens/TEST/api", &json!({"api": v2}))
            .await
            .0,
        201
    );
    assert_eq!(fx.get("/TEST/v").await, (200, json!(2)));
    assert_eq!(fx.get("/TEST/whales").await.0, 404);
    let (_, listing) = fx.get("/registry/tokens/TEST/api").await;
    assert_eq!(listing["active"], 2);
    assert_eq!(listing["routes"], json!(["v"]));
    let (status, _) = fx
        .admin_post("/registry/tokens/TEST/api/rollback", &json!({"version": 1}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(fx.get("/TEST/whales").await.0, 200);
    assert_eq!(fx.admin_delete("/registry/tokens/TEST/api").await.0, 200);
    assert_eq!(fx.get("/TEST/whales").await.0, 404);
    fx.stop().await;
}

#[tokio::test]
async fn namespaces_list_stats_and_validated_names() {
    let fx = Fixture::start(None).await;
    let (status, body) = fx.get("/namespaces").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["TEST", "ZERO"]);

    let (status, stats) = fx.get("/namespaces/test/stats").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["namespace"], "TEST");
    assert_eq!(stats["logRecords"], json!(test_records().len()));
    assert_eq!(stats["lastBlock"], 45);
    assert_eq!(stats["snapshots"], 1);
    assert!(stats["lmdbBytes"].as_u64().unwrap() > 0);
    assert!(stats["accounts"].as_u64().unwrap() >= 5);
    // The fixture's projections are not in the dataset layout: no log dir.
    assert_eq!(stats["logBytes"], Value::Null);

    let (_, zero) = fx.get("/namespaces/ZERO/stats").await;
    assert_eq!(zero["accounts"], 1);
    assert_eq!(zero["logRecords"], 0);

    for bad in ["ab", "a.b.c", "..%2F..%2Fetc", "TEST%2F..", "ABCDEFGHIJK"] {
        let (status, body) = fx.get(&format!("/namespaces/{bad}/stats")).await;
        assert!(status == 400 || status == 404, "{bad}: {status} {body}");
        assert!(body["error"]["code"].is_string(), "{bad}: {body}");
        let (status, _) = fx.get(&format!("/namespaces/{bad}/export")).await;
        assert!(status == 400 || status == 404, "{bad}");
    }
    let (status, body) = fx.get("/namespaces/a.b.c/stats").await;
    assert_error(status, &body, 400, "INVALID_NAMESPACE");
    let (status, body) = fx.get("/namespaces/NOPE/stats").await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (status, body) = fx.get("/namespaces/TEST/export?format=xml").await;
    assert_error(status, &body, 400, "INVALID_PARAMETER");
    fx.stop().await;
}

async fn text(fx: &Fixture, path: &str) -> (u16, String) {
    let response = fx.client.get(fx.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn no_endpoint_of_one_token_returns_anothers_data() {
    let fx = Fixture::start(Some(ADMIN)).await;
    // ZERO's alice has 7 and 3 power; TEST's alice has about a million.
    let (_, zero_alice) = fx.get("/ZERO/balance/alice").await;
    assert_eq!(zero_alice["balanceRaw"], "7");
    let (_, test_alice) = fx.get("/TEST/balance/alice").await;
    assert_ne!(test_alice["balanceRaw"], "7");

    // Same schema and script on both tokens: each reads its own.
    for symbol in ["TEST", "ZERO"] {
        let path = format!("/registry/tokens/{symbol}/schema");
        assert_eq!(
            fx.admin_post(&path, &json!({"schema": MYTOKEN_SCHEMA}))
                .await
                .0,
            201
        );
        let path = format!("/registry/tokens/{symbol}/api");
        assert_eq!(fx.admin_post(&path, &json!({"api": WHALES})).await.0, 201);
    }
    for (symbol, alice) in [("TEST", &test_alice), ("ZERO", &zero_alice)] {
        let raw = &alice["balanceRaw"];
        let body = fx
            .graphql(
                &format!("/{symbol}/graphql"),
                r#"{ holder(name: "alice") { liquidRaw } stats { symbol } token { symbol } topHolders { account liquidRaw } }"#,
            )
            .await;
        let d = data(&body);
        assert_eq!(&d["holder"]["liquidRaw"], raw, "{symbol}");
        assert_eq!(d["stats"]["symbol"], symbol);
        assert_eq!(d["token"]["symbol"], symbol);
        let (_, rich) = fx.get(&format!("/{symbol}/richlist")).await;
        assert_eq!(
            d["topHolders"].as_array().unwrap().len(),
            rich["accounts"].as_array().unwrap().len()
        );

        let (_, body) = fx.get(&format!("/{symbol}/holder/alice")).await;
        assert_eq!(&body["raw"], raw, "{symbol}");
        assert_eq!(body["symbol"], symbol);

        let (_, body) = fx.get(&format!("/{symbol}/balance/alice")).await;
        assert_eq!(&body["balanceRaw"], raw);
        let body = fx
            .graphql(&format!("/{symbol}/graphql"), "{ _meta { logLength } }")
            .await;
        let (_, stats) = fx.get(&format!("/namespaces/{symbol}/stats")).await;
        assert_eq!(data(&body)["_meta"]["logLength"], stats["logRecords"]);

        let (status, csv) = text(&fx, &format!("/namespaces/{symbol}/export?format=csv")).await;
        assert_eq!(status, 200);
        let alice_row = csv.lines().find(|l| l.starts_with("alice,")).unwrap();
        assert_eq!(
            alice_row.split(',').nth(2).unwrap(),
            raw.as_str().unwrap(),
            "{symbol}"
        );
    }
    // ZERO's transfers are empty, TEST's are not: nothing leaks either way.
    let (_, zero_transfers) = fx.get("/ZERO/transfers").await;
    assert_eq!(zero_transfers["transfers"], json!([]));
    let body = fx
        .graphql("/ZERO/graphql", "{ recentTransfers { txid } }")
        .await;
    assert_eq!(data(&body)["recentTransfers"], json!([]));
    let (_, zero_export) = text(&fx, "/namespaces/ZERO/export?format=json").await;
    let zero_export: Value = serde_json::from_str(&zero_export).unwrap();
    assert_eq!(zero_export["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(zero_export["namespace"], "ZERO");
    fx.stop().await;
}

/// Serves `catalog` on 127.0.0.1:0; answers the base URL and a stop handle.
async fn serve(catalog: Arc<Catalog>) -> (String, tokio::sync::oneshot::Sender<()>) {
    serve_with(catalog, |c| c).await
}

async fn serve_with(
    catalog: Arc<Catalog>,
    configure: impl FnOnce(AppContext) -> AppContext,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let context = configure(AppContext::new(
        catalog,
        Arc::new(FakeControl::default()) as Arc<dyn Control>,
        None,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(query::serve(listener, context, async {
        let _ = rx.await;
    }));
    (base, tx)
}

#[tokio::test]
async fn exports_stream_a_hundred_thousand_accounts() {
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..N).map(|i| format!("acct{i:06}")).collect();
    let genesis: Vec<(&str, u64, u64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u64 + 1, 0))
        .collect();
    let big = config("BIG", 3, &genesis);
    let projection = Projection::open(&dir.path().join("big"), &big).unwrap();
    let catalog = Arc::new(Catalog::new());
    catalog.insert(Arc::new(TokenEntry::new(big, projection)));
    let (base, stop) = serve(catalog).await;
    let client = reqwest::Client::new();

    // CSV: read chunk by chunk, never holding the body.
    let mut response = client
        .get(format!("{base}/namespaces/BIG/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    let mut rows = 0usize;
    let mut chunks = 0usize;
    let mut tail = Vec::new();
    let mut last_line = String::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        tail.extend_from_slice(&chunk);
        while let Some(end) = tail.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = tail.drain(..=end).collect();
            last_line = String::from_utf8(line).unwrap();
            rows += 1;
        }
    }
    assert_eq!(rows, N + 1, "a header and one row per account");
    assert!(chunks > 10, "sent in pages, got {chunks} chunks");
    assert!(
        last_line.starts_with("acct099999,100.000,100000,"),
        "{last_line}"
    );

    // JSON: one document with every account.
    let body = client
        .get(format!("{base}/namespaces/BIG/export?format=json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&body).unwrap();
    let accounts = doc["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), N);
    assert_eq!(accounts[0]["account"], "acct000000");
    assert_eq!(accounts[N - 1]["balanceRaw"], N.to_string());
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_has_its_own_rate_limit_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::new());
    for symbol in ["AAA", "BBB"] {
        let c = config(symbol, 0, &[("alice", 5, 0)]);
        let projection = Projection::open(&dir.path().join(symbol), &c).unwrap();
        catalog.insert(Arc::new(TokenEntry::new(c, projection)));
    }
    let one = std::num::NonZeroU32::MIN;
    let two = std::num::NonZeroU32::new(2).unwrap();
    let (base, stop) = serve_with(catalog, |c| c.with_token_rate_limit(one, two)).await;
    let client = reqwest::Client::new();
    let mut refused = None;
    for _ in 0..20 {
        let response = client
            .get(format!("{base}/aaa/state"))
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            refused = Some(response);
            break;
        }
    }
    let response = refused.expect("the token limit never applied");
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("AAA"),
        "{body}"
    );
    // Another token, and non-token routes, are not affected.
    let response = client
        .get(format!("{base}/BBB/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .get(format!("{base}/namespaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = stop.send(());
}

#[tokio::test]
async fn graphql_complexity_is_limited_built_in_and_byo() {
    let fx = Fixture::start(Some(ADMIN)).await;
    let fields = "account balance balanceRaw power powerRaw grantedIn grantedInRaw grantedOut grantedOutRaw block";
    let query = format!(
        "{{ a: accounts(first: 1000) {{ nodes {{ {fields} }} }} b: accounts(first: 1000) {{ nodes {{ {fields} }} }} }}"
    );
    let body = fx.graphql("/TEST/graphql", &query).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("too complex"), "{body}");

    // A BYO schema keeps the depth limit.
    assert_eq!(
        fx.admin_post(
            "/registry/tokens/TEST/schema",
            &json!({"schema": MYTOKEN_SCHEMA})
        )
        .await
        .0,
        201
    );
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(12),
        " }".repeat(12)
    );
    let body = fx.graphql("/TEST/graphql", &deep).await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("too deep"), "{body}");
    fx.stop().await;
}
