//! The Hive client: failover, retries and readable persistent failures.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{dead_url, dgpo_reply, script, Reply};
use ingest::{HiveClient, IngestError, RetryPolicy};

fn fast(client: HiveClient) -> HiveClient {
    client.with_retry(RetryPolicy {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        rounds: 3,
    })
}

#[tokio::test]
async fn fails_over_from_a_dead_node_to_a_live_one_and_stays_there() {
    let live = script(vec![dgpo_reply()]).await;
    let client =
        fast(HiveClient::new(vec![dead_url(), live.url.clone()], Duration::from_secs(5)).unwrap());
    let heads = client.dynamic_global_properties().await.unwrap();
    assert_eq!(heads.last_irreversible_block_num, 4_999_980);
    assert!(client.last_error().unwrap().contains("127.0.0.1"));
    // The next request goes straight to the live node.
    client.dynamic_global_properties().await.unwrap();
    assert_eq!(live.hits(), 2);
    let request = &live.requests.lock().unwrap()[0];
    assert_eq!(
        request["method"],
        "database_api.get_dynamic_global_properties"
    );
    assert_eq!(request["params"], serde_json::json!({}));
}

#[tokio::test]
async fn retries_429_after_retry_after_and_500() {
    let node = script(vec![
        Reply::status(429, "slow down").header("Retry-After", "1"),
        Reply::status(500, "oops"),
        dgpo_reply(),
    ])
    .await;
    let client = fast(HiveClient::new(vec![node.url.clone()], Duration::from_secs(5)).unwrap());
    let started = Instant::now();
    let heads = client.dynamic_global_properties().await.unwrap();
    assert_eq!(heads.head_block_number, 5_000_000);
    assert_eq!(node.hits(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn html_and_truncated_bodies_go_to_the_next_node() {
    let html = script(vec![Reply::json(
        "<html><body>502 Bad Gateway</body></html>",
    )])
    .await;
    let truncated = script(vec![Reply::json(
        r#"{"jsonrpc":"2.0","result":{"head_block_numb"#,
    )])
    .await;
    let rpc_error = script(vec![Reply::json(
        r#"{"jsonrpc":"2.0","error":{"code":-32003,"message":"Assert Exception"},"id":1}"#,
    )])
    .await;
    let good = script(vec![dgpo_reply()]).await;
    let client = fast(
        HiveClient::new(
            vec![
                html.url.clone(),
                truncated.url.clone(),
                rpc_error.url.clone(),
                good.url.clone(),
            ],
            Duration::from_secs(5),
        )
        .unwrap(),
    );
    client.dynamic_global_properties().await.unwrap();
    assert_eq!(
        (html.hits(), truncated.hits(), rpc_error.hits(), good.hits()),
        (1, 1, 1, 1)
    );
    let condenser = client.condenser_dynamic_global_properties().await.unwrap();
    assert_eq!(condenser.last_irreversible_block_num, 4_999_980);
    assert_eq!(
        good.requests.lock().unwrap()[1]["params"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn a_stalled_node_times_out_and_fails_over() {
    // Accepts connections but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalled = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let good = script(vec![dgpo_reply()]).await;
    let client =
        fast(HiveClient::new(vec![stalled, good.url.clone()], Duration::from_millis(300)).unwrap());
    client.dynamic_global_properties().await.unwrap();
    assert!(
        client.last_error().unwrap().contains("timed out")
            || client.last_error().unwrap().contains("timeout")
    );
}

#[tokio::test]
async fn every_node_failing_names_the_nodes_and_the_last_error() {
    let a = dead_url();
    let b = script(vec![Reply::status(503, "maintenance")]).await;
    let client =
        fast(HiveClient::new(vec![a.clone(), b.url.clone()], Duration::from_secs(2)).unwrap());
    let error = client.dynamic_global_properties().await.unwrap_err();
    assert!(
        matches!(error, IngestError::AllNodesFailed { attempts: 6, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&a) && message.contains(&b.url),
        "{message}"
    );
    assert!(message.contains("503"), "{message}");
}

#[tokio::test]
async fn missing_blocks_and_bad_counts() {
    let none = script(vec![Reply::json(r#"{"jsonrpc":"2.0","result":{},"id":1}"#)]).await;
    let client = fast(HiveClient::new(vec![none.url.clone()], Duration::from_secs(2)).unwrap());
    assert!(matches!(
        client.block(99).await,
        Err(IngestError::NoSuchBlock(99))
    ));
    assert_eq!(
        none.requests.lock().unwrap()[0]["params"],
        serde_json::json!({"block_num": 99})
    );
    let null = script(vec![Reply::json(
        r#"{"jsonrpc":"2.0","result":null,"id":1}"#,
    )])
    .await;
    let client = fast(HiveClient::new(vec![null.url.clone()], Duration::from_secs(2)).unwrap());
    assert!(matches!(
        client.condenser_block(7).await,
        Err(IngestError::NoSuchBlock(7))
    ));
    assert_eq!(
        null.requests.lock().unwrap()[0]["params"],
        serde_json::json!([7])
    );
    assert!(matches!(
        client.block_range(1, 1001).await,
        Err(IngestError::Config(_))
    ));
    assert!(matches!(
        client.block_range(1, 0).await,
        Err(IngestError::Config(_))
    ));
}

#[tokio::test]
async fn block_range_refuses_a_short_answer_and_takes_the_full_one() {
    let path = format!(
        "{}/../../shared/hive-fixtures/hive/block_api_patterns_get_block_range_milion.pat.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let first: Vec<_> = full["blocks"].as_array().unwrap()[..10].to_vec();
    let short = serde_json::json!({"jsonrpc":"2.0","result":{"blocks": first[..5]},"id":1});
    let good = serde_json::json!({"jsonrpc":"2.0","result":{"blocks": first},"id":1});
    let lagging = script(vec![Reply::json(short.to_string())]).await;
    let node = script(vec![Reply::json(good.to_string())]).await;
    let client = fast(
        HiveClient::new(
            vec![lagging.url.clone(), node.url.clone()],
            Duration::from_secs(2),
        )
        .unwrap(),
    );
    let blocks = client.block_range(1_000_000, 10).await.unwrap();
    assert_eq!(blocks.len(), 10);
    assert_eq!(blocks[9].block.num, 1_000_009);
    assert_eq!(
        node.requests.lock().unwrap()[0]["params"],
        serde_json::json!({"starting_block_num": 1_000_000, "count": 10})
    );
    assert!(client.last_error().unwrap().contains("returned 5"));
}
