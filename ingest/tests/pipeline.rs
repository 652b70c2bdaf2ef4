//! The whole pipeline against a simulated Hive node: nested prefixes, chain
//! order, restart without loss or duplicates, tokens added at run time.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datasets::PlainBackend;
use hivesim::{SimConfig, SimNode};
use ingest::{Ingest, IngestConfig};
use replay::TokenRuntime;
use state::{Catalog, EventLog, LogRecord, TokenSpec, TokenStatus};
use tokio::sync::oneshot;

const FIRST: u64 = 80_000_001;

/// (block, trx index, op index, trx id, name, json)
type Op = (u64, u32, u32, String, String, String);

fn sim_config(history: u64) -> SimConfig {
    SimConfig {
        history,
        block_interval: None,
        prefixes: vec!["abc_".into(), "abc_x_".into(), "def_".into()],
        token_ops_per_block: 4.0,
        noise_trx_per_block: 6.0,
        ..SimConfig::default()
    }
}

fn ingest_config(url: String) -> IngestConfig {
    IngestConfig {
        nodes: vec![url],
        range_size: 25,
        ranges_in_flight: 4,
        poll_interval: Duration::from_millis(20),
        max_batch_blocks: 50,
        ..IngestConfig::default()
    }
}

fn open_token(data: &Path, symbol: &str, prefix: &str, start: u64) -> Arc<TokenRuntime> {
    let backend = PlainBackend::open(data).unwrap();
    let spec = TokenSpec {
        symbol: Some(symbol.into()),
        op_prefix: Some(prefix.into()),
        start_block: Some(start.into()),
        ..TokenSpec::default()
    };
    TokenRuntime::open(Arc::new(backend), spec.resolve(start).unwrap()).unwrap()
}

/// The ops whose longest prefix among `tokens` (prefix, start) is `prefix`,
/// read from the node's own blocks, in chain order.
fn expected_ops(
    sim: &SimNode,
    tokens: &[(&str, u64)],
    prefix: &str,
    start: u64,
    last: u64,
) -> Vec<Op> {
    let mut out = Vec::new();
    for num in start..=last {
        let block = sim.block_appbase(num).unwrap();
        let ids = block["transaction_ids"].as_array().unwrap();
        for (t, trx) in block["transactions"].as_array().unwrap().iter().enumerate() {
            for (o, op) in trx["operations"].as_array().unwrap().iter().enumerate() {
                if op["type"] != "custom_json_operation" {
                    continue;
                }
                let id = op["value"]["id"].as_str().unwrap();
                let owner = tokens
                    .iter()
                    .filter(|(p, s)| id.starts_with(p) && num >= *s)
                    .max_by_key(|(p, _)| p.len());
                if owner.map(|(p, _)| *p) == Some(prefix) {
                    out.push((
                        num,
                        t as u32,
                        o as u32,
                        ids[t].as_str().unwrap().to_string(),
                        id[prefix.len()..].to_string(),
                        op["value"]["json"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// The token's log: its ops and its BlockEnd blocks (read once ingest let go of it).
fn read_log(data: &Path, symbol: &str) -> (Vec<Op>, Vec<u64>) {
    let backend = PlainBackend::open(data).unwrap();
    let layout = datasets::ensure_token_layout(&backend, symbol).unwrap();
    let (log, _) = EventLog::open(&layout.log_dir).unwrap();
    let mut ops = Vec::new();
    let mut ends = Vec::new();
    for record in log.read_from_record(0).unwrap() {
        match record.unwrap() {
            LogRecord::Op(op) => ops.push((
                op.block,
                op.trx_index,
                op.op_index,
                op.trx_id,
                op.name,
                op.json,
            )),
            LogRecord::BlockEnd(b) => ends.push(b.num),
        }
    }
    (ops, ends)
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn cursor(runtime: &TokenRuntime) -> u64 {
    runtime.cursor().unwrap().map_or(0, |c| c.num)
}

struct Running {
    ingest: Arc<Ingest>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ingest::IngestError>>,
}

fn start(config: IngestConfig, catalog: Arc<Catalog>, tokens: &[Arc<TokenRuntime>]) -> Running {
    let ingest = Ingest::new(config, catalog.clone()).unwrap();
    for token in tokens {
        catalog.insert(token.entry().clone());
        ingest.add_token(token.clone());
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ingest.clone().run(async move {
        let _ = stopped.await;
    }));
    Running { ingest, stop, task }
}

impl Running {
    async fn stop(self) {
        let started = Instant::now();
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stop took {:?}",
            started.elapsed()
        );
        drop(self.ingest);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_prefixes_reach_the_head_in_chain_order_and_survive_a_restart() {
    let sim = SimNode::start(sim_config(600)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let tokens = [("abc_", FIRST), ("abc_x_", FIRST + 100)];

    // First run: stop in the middle of the backfill.
    {
        let abc = open_token(data, "ABC", "abc_", FIRST);
        let abcx = open_token(data, "ABCX", "abc_x_", FIRST + 100);
        let catalog = Arc::new(Catalog::new());
        let running = start(
            ingest_config(sim.url()),
            catalog.clone(),
            &[abc.clone(), abcx.clone()],
        );
        wait_until(
            "ABC to pass block FIRST+150",
            Duration::from_secs(60),
            || cursor(&abc) >= FIRST + 150,
        )
        .await;
        running.stop().await;
        let stopped_at = cursor(&abc);
        assert!(stopped_at >= FIRST + 150);
        assert_eq!(
            catalog.get("ABC").unwrap().status().0,
            TokenStatus::Backfilling
        );
    }

    // The chain moves on; second run goes to the irreversible head.
    sim.advance(100);
    let target = sim.irreversible();
    assert!(target >= FIRST + 500);
    {
        let abc = open_token(data, "ABC", "abc_", FIRST);
        let abcx = open_token(data, "ABCX", "abc_x_", FIRST + 100);
        let catalog = Arc::new(Catalog::new());
        let running = start(
            ingest_config(sim.url()),
            catalog.clone(),
            &[abc.clone(), abcx.clone()],
        );
        wait_until(
            "both tokens to reach the irreversible head",
            Duration::from_secs(120),
            || cursor(&abc) == target && cursor(&abcx) == target,
        )
        .await;
        for symbol in ["ABC", "ABCX"] {
            let entry = catalog.get(symbol).unwrap();
            wait_until("live status", Duration::from_secs(10), || {
                entry.status().0 == TokenStatus::Live
            })
            .await;
            assert_eq!(entry.chain_heads(), (target, target));
        }
        assert_eq!(running.ingest.last_irreversible(), Some(target));
        assert_eq!(
            abc.cursor().unwrap().unwrap().id,
            sim.block_appbase(target).unwrap()["block_id"]
        );
        running.stop().await;
    }

    for (symbol, prefix, start) in [("ABC", "abc_", FIRST), ("ABCX", "abc_x_", FIRST + 100)] {
        let expected = expected_ops(&sim, &tokens, prefix, start, target);
        let (ops, ends) = read_log(data, symbol);
        assert!(
            expected.len() > 100,
            "{symbol}: too few ops generated ({})",
            expected.len()
        );
        assert_eq!(ops.len(), expected.len(), "{symbol}: op count");
        assert_eq!(ops, expected, "{symbol}: ops differ");
        assert!(
            ends.windows(2).all(|w| w[0] < w[1]),
            "{symbol}: BlockEnds out of order"
        );
        assert_eq!(ends.last(), Some(&target));
        assert!(ops.iter().all(|op| op.0 >= start));
    }
    // Routing: `abc_x_*` before ABCX's start went to ABC, after it to ABCX.
    let (abc_ops, _) = read_log(data, "ABC");
    assert!(abc_ops
        .iter()
        .any(|op| op.0 < FIRST + 100 && op.4.starts_with("x_")));
    assert!(!abc_ops
        .iter()
        .any(|op| op.0 >= FIRST + 100 && op.4.starts_with("x_")));
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_added_at_run_time_backfills_without_holding_back_live_ones() {
    let sim = SimNode::start(sim_config(3000)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let live_start = sim.irreversible() - 10;
    let abc = open_token(data, "ABC", "abc_", live_start);
    let catalog = Arc::new(Catalog::new());
    let running = start(
        ingest_config(sim.url()),
        catalog.clone(),
        std::slice::from_ref(&abc),
    );
    let target = sim.irreversible();
    wait_until("ABC live", Duration::from_secs(30), || {
        cursor(&abc) == target
    })
    .await;

    // DEF registers with an old start: ~3000 blocks to backfill.
    let def = open_token(data, "DEF", "def_", FIRST);
    catalog.insert(def.entry().clone());
    running.ingest.add_token(def.clone());
    sim.advance(3);
    let target = sim.irreversible();
    wait_until("ABC to follow the head", Duration::from_secs(30), || {
        cursor(&abc) == target
    })
    .await;
    assert!(cursor(&def) < target, "DEF should still be backfilling");
    assert_eq!(
        catalog.get("DEF").unwrap().status().0,
        TokenStatus::Backfilling
    );
    wait_until("DEF to catch up", Duration::from_secs(120), || {
        cursor(&def) == sim.irreversible()
    })
    .await;

    // Removing a token stops it; the other goes on.
    let removed = running.ingest.remove_token("def").unwrap();
    let def_at = cursor(&removed);
    sim.advance(5);
    let target = sim.irreversible();
    wait_until("ABC after the removal", Duration::from_secs(30), || {
        cursor(&abc) == target
    })
    .await;
    assert_eq!(cursor(&removed), def_at);
    drop(removed);
    running.stop().await;
    drop(def);
    drop(abc);
    drop(catalog);

    let tokens = [("abc_", live_start), ("def_", FIRST)];
    let (ops, _) = read_log(data, "DEF");
    assert_eq!(ops, expected_ops(&sim, &tokens, "def_", FIRST, def_at));
    let (ops, _) = read_log(data, "ABC");
    assert_eq!(ops, expected_ops(&sim, &tokens, "abc_", live_start, target));
    sim.stop();
}

#[tokio::test]
async fn invalid_settings_are_refused_with_a_clear_error() {
    let head = IngestConfig {
        follow: ingest::FollowMode::Head,
        ..IngestConfig::default()
    };
    assert!(Ingest::new(head, Arc::new(Catalog::new())).is_ok());
    let bad = IngestConfig {
        range_size: 1001,
        ..IngestConfig::default()
    };
    assert!(matches!(
        Ingest::new(bad, Arc::new(Catalog::new())),
        Err(ingest::IngestError::Config(_))
    ));
    let bad = IngestConfig {
        max_reorg_depth: 0,
        ..IngestConfig::default()
    };
    let error = Ingest::new(bad, Arc::new(Catalog::new())).unwrap_err();
    assert!(error.to_string().contains("max_reorg_depth"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_and_foreign_nodes_never_get_a_block_applied() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("ingest=debug")
        .with_test_writer()
        .try_init();
    let good = SimNode::start(sim_config(500)).await.unwrap();
    let foreign = SimNode::start(sim_config(500)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let abc = open_token(data, "ABC", "abc_", FIRST);
    let catalog = Arc::new(Catalog::new());
    let mut config = ingest_config(good.url());
    config.nodes.push(foreign.url());
    config.request_timeout = Duration::from_secs(2);
    let running = start(config, catalog.clone(), std::slice::from_ref(&abc));
    wait_until("a first linked batch", Duration::from_secs(30), || {
        cursor(&abc) > FIRST
    })
    .await;
    // From now on the good node misbehaves often and the other one serves another chain.
    good.set_faults(hivesim::Faults {
        http_500_rate: 0.1,
        html_rate: 0.05,
        truncated_rate: 0.05,
        rpc_error_rate: 0.05,
        ..hivesim::Faults::default()
    });
    foreign.set_faults(hivesim::Faults {
        foreign_chain: true,
        ..hivesim::Faults::default()
    });
    let target = good.irreversible();
    wait_until(
        "ABC to reach the head through the faults",
        Duration::from_secs(120),
        || cursor(&abc) == target,
    )
    .await;
    assert_eq!(
        abc.cursor().unwrap().unwrap().id,
        good.block_appbase(target).unwrap()["block_id"]
    );
    assert!(running.ingest.client().last_error().is_some());
    running.stop().await;
    drop(abc);
    drop(catalog);
    let (ops, _) = read_log(data, "ABC");
    assert_eq!(
        ops,
        expected_ops(&good, &[("abc_", FIRST)], "abc_", FIRST, target)
    );
    good.stop();
    foreign.stop();
}

/// A token's first batch has no cursor to link to. When the first node
/// serves another chain (consistent within itself), its blocks must not be
/// applied: the other nodes refuse to confirm them, the node is blamed, and
/// the token starts on the chain the majority serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_first_node_cannot_start_a_token_on_its_chain() {
    let foreign = SimNode::start(sim_config(300)).await.unwrap();
    let good = SimNode::start(sim_config(300)).await.unwrap();
    let also_good = SimNode::start(sim_config(300)).await.unwrap();
    foreign.set_faults(hivesim::Faults {
        foreign_chain: true,
        ..hivesim::Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let abc = open_token(data, "ABC", "abc_", FIRST);
    let catalog = Arc::new(Catalog::new());
    let mut config = ingest_config(foreign.url());
    config.nodes.push(good.url());
    config.nodes.push(also_good.url());
    let running = start(config, catalog.clone(), std::slice::from_ref(&abc));
    let target = good.irreversible();
    wait_until("ABC to reach the head", Duration::from_secs(60), || {
        cursor(&abc) == target
    })
    .await;
    assert_eq!(
        abc.cursor().unwrap().unwrap().id,
        good.block_appbase(target).unwrap()["block_id"]
    );
    let blamed = running.ingest.client().last_error().unwrap_or_default();
    assert!(blamed.contains(&foreign.url()), "{blamed}");
    running.stop().await;
    drop(abc);
    drop(catalog);
    let (ops, _) = read_log(data, "ABC");
    assert_eq!(
        ops,
        expected_ops(&good, &[("abc_", FIRST)], "abc_", FIRST, target)
    );
    for node in [foreign, good, also_good] {
        node.stop();
    }
}
