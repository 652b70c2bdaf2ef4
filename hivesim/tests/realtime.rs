//! The head grows in real time with `block_interval`, and irreversible trails it.

mod common;

use std::time::Duration;

use hivesim::{SimConfig, SimNode};
use serde_json::json;

#[tokio::test]
async fn head_advances_with_the_clock_and_manual_advances_add_up() {
    let node = SimNode::start(SimConfig {
        history: 30,
        block_interval: Some(Duration::from_millis(20)),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let start = node.head();
    assert!(start >= node.first_block() + 29);
    assert!(
        common::eventually(Duration::from_secs(10), || node.head() >= start + 5).await,
        "head grew from {start} to {}",
        node.head()
    );
    let before = node.head();
    node.advance(100);
    assert!(node.head() >= before + 100);
    assert_eq!(node.irreversible(), node.head() - 20);

    // The served head follows, and new blocks link to the old ones.
    let g = common::result(
        &node,
        "database_api.get_dynamic_global_properties",
        json!({}),
    )
    .await;
    let served = g["head_block_number"].as_u64().unwrap();
    assert!(served >= before + 100);
    let blocks = common::range(&node, start, 10).await;
    for pair in blocks.windows(2) {
        assert_eq!(pair[1]["previous"], pair[0]["block_id"]);
    }
}

#[tokio::test]
async fn without_interval_the_head_moves_only_by_advance() {
    let node = common::start(7).await;
    let head = node.head();
    assert_eq!(head, node.first_block() + 1199);
    node.advance(7);
    assert_eq!(node.head(), head + 7);
    assert_eq!(node.head(), head + 7);
}

#[tokio::test]
async fn bad_configurations_are_refused() {
    for bad in [
        SimConfig {
            accounts: 1,
            ..SimConfig::default()
        },
        SimConfig {
            first_block: 0,
            ..SimConfig::default()
        },
        SimConfig {
            first_block: u64::from(u32::MAX),
            ..SimConfig::default()
        },
        SimConfig {
            token_ops_per_block: f64::NAN,
            ..SimConfig::default()
        },
        SimConfig {
            prefixes: vec![String::new()],
            ..SimConfig::default()
        },
    ] {
        let err = SimNode::start(bad).await.err().expect("refused");
        assert!(
            err.to_string().contains("invalid simulator configuration"),
            "{err}"
        );
    }
}
