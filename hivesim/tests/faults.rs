//! Every fault kind is produced, only on JSON-RPC, and the control API steers the node.

mod common;

use std::time::{Duration, Instant};

use common::{post, range, result, rpc, start};
use hivesim::Faults;
use serde_json::{json, Value};

fn dgpo() -> (&'static str, Value) {
    ("database_api.get_dynamic_global_properties", json!({}))
}

#[tokio::test]
async fn http_500_and_429_with_retry_after() {
    let node = start(7).await;
    node.set_faults(Faults {
        http_500_rate: 1.0,
        ..Faults::default()
    });
    let (m, p) = dgpo();
    assert_eq!(post(&node, m, p.clone()).await.status(), 500);

    node.set_faults(Faults {
        http_429_rate: 1.0,
        ..Faults::default()
    });
    let res = post(&node, m, p.clone()).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");

    node.set_faults(Faults::default());
    assert_eq!(post(&node, m, p).await.status(), 200);
}

#[tokio::test]
async fn rpc_errors_html_and_truncated_bodies() {
    let node = start(7).await;
    let (m, p) = dgpo();

    node.set_faults(Faults {
        rpc_error_rate: 1.0,
        ..Faults::default()
    });
    let v = rpc(&node, m, p.clone()).await;
    assert_eq!(v["error"]["code"], -32000);
    assert_eq!(v["id"], 1);
    assert!(v.get("result").is_none());

    node.set_faults(Faults {
        html_rate: 1.0,
        ..Faults::default()
    });
    let res = post(&node, m, p.clone()).await;
    assert_eq!(res.status(), 502);
    let body = res.text().await.unwrap();
    assert!(body.contains("<html>") && body.contains("502 Bad Gateway"));

    node.set_faults(Faults {
        truncated_rate: 1.0,
        ..Faults::default()
    });
    let res = post(
        &node,
        "block_api.get_block_range",
        json!({"starting_block_num": 80_000_010u64, "count": 5}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body = res.bytes().await.unwrap();
    assert!(!body.is_empty());
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "a cut body does not parse"
    );
}

#[tokio::test]
async fn partial_rates_mix_faults_with_good_answers() {
    let node = start(7).await;
    node.set_faults(Faults {
        http_500_rate: 0.5,
        ..Faults::default()
    });
    let (m, p) = dgpo();
    let mut codes = Vec::new();
    for _ in 0..40 {
        codes.push(post(&node, m, p.clone()).await.status().as_u16());
    }
    assert!(codes.contains(&500) && codes.contains(&200), "{codes:?}");
}

#[tokio::test]
async fn stalls_delay_the_answer() {
    let node = start(7).await;
    node.set_faults(Faults {
        stall_rate: 1.0,
        stall: Duration::from_millis(300),
        ..Faults::default()
    });
    let (m, p) = dgpo();
    let t = Instant::now();
    let v = result(&node, m, p).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["head_block_number"], node.head());
}

#[tokio::test]
async fn lagging_head_hides_the_newest_blocks() {
    let node = start(7).await;
    let head = node.head();
    node.set_faults(Faults {
        lag_blocks: 50,
        ..Faults::default()
    });
    let (m, p) = dgpo();
    let g = result(&node, m, p).await;
    assert_eq!(g["head_block_number"], head - 50);
    assert_eq!(g["last_irreversible_block_num"], head - 70);
    assert_eq!(range(&node, head - 60, 100).await.len(), 11);
    assert_eq!(
        result(&node, "block_api.get_block", json!({"block_num": head})).await,
        json!({})
    );
    assert_eq!(node.head(), head, "the true head is unaffected");
}

#[tokio::test]
async fn foreign_chain_does_not_link_to_ours() {
    let node = start(7).await;
    let start_at = node.first_block() + 200;
    let ours = range(&node, start_at, 20).await;
    node.set_faults(Faults {
        foreign_chain: true,
        ..Faults::default()
    });
    let theirs = range(&node, start_at, 20).await;
    assert_eq!(theirs.len(), 20);
    for (a, b) in ours.iter().zip(&theirs) {
        assert_ne!(a["block_id"], b["block_id"]);
        assert_ne!(a["previous"], b["previous"]);
    }
    // A foreign chain is still a chain: it links to itself.
    for pair in theirs.windows(2) {
        assert_eq!(pair[1]["previous"], pair[0]["block_id"]);
    }
    let (m, p) = dgpo();
    let g = result(&node, m, p).await;
    assert_ne!(
        g["head_block_id"],
        node.block_appbase(node.head()).unwrap()["block_id"]
    );
}

#[tokio::test]
async fn control_api_is_never_faulted_and_steers_the_node() {
    let node = start(7).await;
    let client = reqwest::Client::new();
    let url = node.url();
    let set: Value = client
        .post(format!("{url}/sim/faults"))
        .json(&json!({"http500Rate": 1.0, "stallMs": 5, "lagBlocks": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["http500Rate"], 1.0);
    assert_eq!(node.faults().http_500_rate, 1.0);
    assert_eq!(node.faults().stall, Duration::from_millis(5));
    assert_eq!(node.faults().lag_blocks, 2);

    let head = node.head();
    let status: Value = client
        .post(format!("{url}/sim/advance"))
        .json(&json!({"blocks": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["head"], head + 5);
    assert_eq!(status["irreversible"], head + 5 - 20);
    assert_eq!(status["branch"], 0);

    let forked = client
        .post(format!("{url}/sim/fork"))
        .json(&json!({"depth": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(forked.status(), 200);
    let status: Value = forked.json().await.unwrap();
    assert_eq!(status["branch"], 1);

    let refused = client
        .post(format!("{url}/sim/fork"))
        .json(&json!({"depth": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let err: Value = refused.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("irreversible"));

    let bad_rate = client
        .post(format!("{url}/sim/faults"))
        .json(&json!({"htmlRate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_rate.status(), 400);
    let typo = client
        .post(format!("{url}/sim/faults"))
        .json(&json!({"http_500_rate": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(
        typo.status().is_client_error(),
        "unknown fault fields are refused"
    );

    // Faults were on for all of the above; JSON-RPC still gets them.
    assert_eq!(
        post(
            &node,
            "database_api.get_dynamic_global_properties",
            json!({})
        )
        .await
        .status(),
        500
    );
    let cleared = client
        .post(format!("{url}/sim/faults"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(node.faults(), Faults::default());
}
