//! GraphQL subscriptions over WebSocket (graphql-transport-ws) against the
//! running server, driven by a real `replay::TokenRuntime` on a plain
//! dataset backend: events come from real commits and rollbacks.

// Tests may unwrap, helpers included.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use query::{AppContext, Control};
use replay::TokenRuntime;
use serde_json::{json, Value};
use state::{Catalog, LogRecord, TokenEntry, TokenEvent};
use support::{block_ref, config, op, FakeControl};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any expected message may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// A token served by a real runtime over real HTTP.
struct Live {
    addr: String,
    runtime: Arc<TokenRuntime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

fn send(block: u64, trx: u32, from: &str, to: &str, amount: u64) -> LogRecord {
    op(
        block,
        trx,
        0,
        "send",
        from,
        &format!(r#"{{"to":"{to}","amount":{amount}}}"#),
    )
}

fn end(block: u64) -> LogRecord {
    LogRecord::BlockEnd(block_ref(block))
}

impl Live {
    /// TEST (3 decimals; alice 1000.000, carol 100.000) with block 10
    /// (alice sends dave 1.500) committed, served with `slow_timeout`.
    async fn start(slow_timeout: Option<Duration>) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(datasets::PlainBackend::open(dir.path()).unwrap());
        let config = config("TEST", 3, &[("alice", 1_000_000, 0), ("carol", 100_000, 0)]);
        let runtime = TokenRuntime::open(backend, config).unwrap();
        runtime
            .apply_batch(&[send(10, 0, "alice", "dave", 1500), end(10)])
            .unwrap();
        let catalog = Arc::new(Catalog::new());
        catalog.insert(runtime.entry().clone());
        let control = Arc::new(FakeControl::default()) as Arc<dyn Control>;
        let mut context = AppContext::new(catalog, control, None);
        if let Some(timeout) = slow_timeout {
            context = context.with_slow_client_timeout(timeout);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(query::serve(listener, context, async {
            let _ = rx.await;
        }));
        Live {
            addr,
            runtime,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    fn entry(&self) -> &Arc<TokenEntry> {
        self.runtime.entry()
    }

    /// Waits until the token has `n` live subscriptions.
    async fn wait_subscribers(&self, n: usize) {
        let start = Instant::now();
        while self.entry().subscribers() != n {
            assert!(
                start.elapsed() < DEADLINE,
                "{} subscribers, wanted {n}",
                self.entry().subscribers()
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A connected and acknowledged graphql-transport-ws client.
    async fn client(&self) -> Client {
        let mut request = format!("ws://{}/test/graphql/ws", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        let mut client = Client { ws };
        client.send(json!({"type": "connection_init"})).await;
        assert_eq!(client.message().await["type"], "connection_ack");
        client
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    async fn send(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .unwrap();
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query}}))
            .await;
    }

    /// The next protocol message (pings and pongs skipped).
    async fn message(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("no message before the deadline")
                .expect("the connection ended")
                .unwrap();
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The `data` of the next `next` message, which must belong to `id`.
    async fn next_data(&mut self, id: &str) -> Value {
        let message = self.message().await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        assert!(message["payload"]["errors"].is_null(), "{message}");
        message["payload"]["data"].clone()
    }

    /// Reads until the server's close frame; its code and reason.
    async fn close_frame(&mut self) -> (u16, String) {
        let start = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            let frame = tokio::time::timeout(left, self.ws.next())
                .await
                .expect("no close frame before the deadline");
            match frame {
                Some(Ok(Message::Close(Some(close)))) => {
                    return (u16::from(close.code), close.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => panic!("closed without a code"),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("connection failed before the close frame: {e}"),
                None => panic!("connection ended without a close frame"),
            }
        }
    }
}

const ACCOUNT: &str =
    r#"subscription { account(name: "dave") { account balance balanceRaw block } }"#;
const BLOCKS: &str = "subscription { blocks { kind number hash timestamp irreversible depth } }";
const TRANSFERS: &str = r#"subscription { transfers(account: "dave") {
    __typename
    ... on Transfer { block from to amount trxId }
    ... on Reorg { depth fromBlock toBlock }
} }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_and_blocks_follow_commits_and_reorgs() {
    let live = Live::start(None).await;
    let mut account = live.client().await;
    account.subscribe("a", ACCOUNT).await;
    // The current value comes first.
    let data = account.next_data("a").await;
    assert_eq!(
        data["account"],
        json!({"account": "dave", "balance": "1.500", "balanceRaw": "1500", "block": 10})
    );
    let mut blocks = live.client().await;
    blocks.subscribe("b", BLOCKS).await;
    live.wait_subscribers(2).await;

    // A batch the runtime refuses commits nothing and announces nothing.
    assert!(live.runtime.apply_batch(&[end(10)]).is_err());

    live.runtime
        .apply_batch(&[send(11, 0, "alice", "dave", 2000), end(11)])
        .unwrap();
    let head = blocks.next_data("b").await;
    assert_eq!(
        head["blocks"],
        json!({"kind": "HEAD", "number": 11, "hash": block_ref(11).id,
               "timestamp": block_ref(11).timestamp, "irreversible": false, "depth": 0})
    );
    let data = account.next_data("a").await;
    assert_eq!(data["account"]["balance"], "3.500");
    assert_eq!(data["account"]["block"], 11);

    // Block 12 does not touch dave: his subscription stays quiet until 13.
    live.runtime
        .apply_batch(&[send(12, 0, "carol", "erin", 5), end(12)])
        .unwrap();
    live.runtime
        .apply_batch(&[send(13, 0, "alice", "dave", 1), end(13)])
        .unwrap();
    let data = account.next_data("a").await;
    assert_eq!(data["account"]["balance"], "3.501");
    assert_eq!(data["account"]["block"], 13);
    assert_eq!(blocks.next_data("b").await["blocks"]["number"], 12);
    assert_eq!(blocks.next_data("b").await["blocks"]["number"], 13);

    // The chain's irreversible block reaches committed head blocks.
    live.entry().set_chain_heads(20, 12);
    let data = blocks.next_data("b").await;
    assert_eq!(data["blocks"]["kind"], "IRREVERSIBLE");
    assert_eq!(data["blocks"]["number"], 12);
    assert_eq!(data["blocks"]["irreversible"], true);

    // A rollback is a reorg of depth 2, then dave's corrected balance.
    let runtime = live.runtime.clone();
    tokio::task::spawn_blocking(move || runtime.rollback_to(11).unwrap())
        .await
        .unwrap();
    let data = blocks.next_data("b").await;
    assert_eq!(
        data["blocks"],
        json!({"kind": "REORG", "number": 11, "hash": block_ref(11).id,
               "timestamp": block_ref(11).timestamp, "irreversible": false, "depth": 2})
    );
    let data = account.next_data("a").await;
    assert_eq!(data["account"]["balance"], "3.500");
    assert_eq!(data["account"]["block"], 11);

    // The new fork's block 12, committed while the chain's irreversible
    // block is above it, is a final HEAD.
    live.runtime
        .apply_batch(&[send(12, 0, "alice", "dave", 7), end(12)])
        .unwrap();
    let data = blocks.next_data("b").await;
    assert_eq!(data["blocks"]["kind"], "HEAD");
    assert_eq!(data["blocks"]["irreversible"], true);
    assert_eq!(account.next_data("a").await["account"]["balance"], "3.507");

    // Leaving ends the subscriptions on the server.
    account.send(json!({"id": "a", "type": "complete"})).await;
    drop(blocks);
    live.wait_subscribers(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_push_each_commit_oldest_first_and_announce_reorgs() {
    let live = Live::start(None).await;
    let mut client = live.client().await;
    client.subscribe("t", TRANSFERS).await;
    live.wait_subscribers(1).await;

    live.runtime
        .apply_batch(&[
            send(11, 0, "alice", "dave", 1000),
            send(12, 0, "carol", "erin", 5),
            send(13, 0, "dave", "alice", 200),
            send(13, 1, "alice", "dave", 3),
            end(13),
        ])
        .unwrap();
    // Exactly the new transfers of dave, oldest first; block 10's is older
    // than the subscription.
    let mut got = Vec::new();
    for _ in 0..3 {
        let t = client.next_data("t").await["transfers"].clone();
        assert_eq!(t["__typename"], "Transfer", "{t}");
        got.push((
            t["block"].as_u64().unwrap(),
            t["from"].clone(),
            t["amount"].clone(),
        ));
    }
    assert_eq!(
        got,
        vec![
            (11, json!("alice"), json!("1.000")),
            (13, json!("dave"), json!("0.200")),
            (13, json!("alice"), json!("0.003")),
        ]
    );

    // Blocks 11-13 were one batch, so the last boundary at or below 11 is
    // 10: the reorg undoes three blocks.
    let runtime = live.runtime.clone();
    tokio::task::spawn_blocking(move || runtime.rollback_to(11).unwrap())
        .await
        .unwrap();
    let reorg = client.next_data("t").await["transfers"].clone();
    assert_eq!(
        reorg,
        json!({"__typename": "Reorg", "depth": 3, "fromBlock": 13, "toBlock": 10})
    );

    // The corrected history follows as the new fork commits.
    live.runtime
        .apply_batch(&[send(11, 0, "dave", "bob", 100), end(11)])
        .unwrap();
    let t = client.next_data("t").await["transfers"].clone();
    assert_eq!(t["block"], 11);
    assert_eq!(t["to"], "bob");
    assert_eq!(t["amount"], "0.100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_with_4008() {
    let live = Live::start(Some(Duration::from_millis(200))).await;
    let mut client = live.client().await;
    client.subscribe("b", BLOCKS).await;
    live.wait_subscribers(1).await;

    // Publish as the runtime would, paced, until the server gives up on
    // the client, which reads nothing meanwhile.
    let start = Instant::now();
    let mut number = 100;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while live.entry().subscribers() > 0 {
        assert!(
            start.elapsed() < DEADLINE,
            "the slow client was never dropped"
        );
        for _ in 0..20 {
            number += 1;
            live.entry().publish(TokenEvent::Block {
                block: block_ref(number),
                irreversible: false,
            });
        }
        tick.tick().await;
    }
    // What was queued arrives, then the close frame.
    assert_eq!(
        client.close_frame().await,
        (4008, "client too slow".to_string())
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_subscription_that_falls_behind_the_bus_is_closed_with_4008() {
    let live = Live::start(None).await;
    let mut client = live.client().await;
    client.subscribe("b", BLOCKS).await;
    live.wait_subscribers(1).await;
    // On this one thread the server cannot run while we publish: the
    // subscription's receiver is left far more than the bus keeps behind.
    for number in 100..100 + 3 * state::events::EVENT_BUFFER as u64 {
        live.entry().publish(TokenEvent::Block {
            block: block_ref(number),
            irreversible: false,
        });
    }
    assert_eq!(
        client.close_frame().await,
        (4008, "client too slow".to_string())
    );
    live.wait_subscribers(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_refuses_unknown_tokens_and_plain_requests() {
    let live = Live::start(None).await;
    let mut request = format!("ws://{}/nope/graphql/ws", live.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "TOKEN_NOT_FOUND", "{body}");
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    let response = reqwest::get(format!("http://{}/test/graphql/ws", live.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_A_WEBSOCKET", "{body}");

    // Subscriptions need the WebSocket: over POST they are an error.
    let response = reqwest::Client::new()
        .post(format!("http://{}/test/graphql", live.addr))
        .json(&json!({"query": BLOCKS}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"][0]["message"].is_string(), "{body}");

    // A bad account name is refused on subscribe.
    let mut client = live.client().await;
    client
        .subscribe(
            "x",
            r#"subscription { account(name: "NOT VALID") { balance } }"#,
        )
        .await;
    let message = client.message().await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], "x");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"], "INVALID_ACCOUNT",
        "{message}"
    );
    assert_eq!(
        client.message().await,
        json!({"type": "complete", "id": "x"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_lands_lower_is_a_reorg_and_the_catch_up_a_head() {
    let live = Live::start(None).await;
    live.runtime
        .apply_batch(&[send(11, 0, "alice", "dave", 2000), end(11)])
        .unwrap();
    live.runtime
        .apply_batch(&[send(12, 0, "alice", "dave", 3000), end(12)])
        .unwrap();
    let mut blocks = live.client().await;
    blocks.subscribe("b", BLOCKS).await;
    let mut account = live.client().await;
    account.subscribe("a", ACCOUNT).await;
    assert_eq!(account.next_data("a").await["account"]["balance"], "6.500");
    live.wait_subscribers(2).await;

    let runtime = live.runtime.clone();
    tokio::task::spawn_blocking(move || runtime.replay(None, Some(11), &|_, _| {}).unwrap())
        .await
        .unwrap();
    let data = blocks.next_data("b").await;
    assert_eq!(data["blocks"]["kind"], "REORG");
    assert_eq!(data["blocks"]["number"], 11);
    assert_eq!(data["blocks"]["depth"], 1);
    assert_eq!(account.next_data("a").await["account"]["balance"], "3.500");

    // The next batch re-applies the log's block 12 first, then its own.
    live.runtime
        .apply_batch(&[send(13, 0, "alice", "dave", 1), end(13)])
        .unwrap();
    let data = blocks.next_data("b").await;
    assert_eq!(data["blocks"]["kind"], "HEAD");
    assert_eq!(data["blocks"]["number"], 13);
    let data = account.next_data("a").await;
    assert_eq!(data["account"]["balance"], "6.501");
    assert_eq!(data["account"]["block"], 13);
}
