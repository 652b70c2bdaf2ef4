//! Head mode against a simulated Hive node: forks of depth 1 to 20 end in
//! exactly the canonical state, a fork deeper than `max_reorg_depth` fails
//! the token without applying any of it, operator rollback and replay while
//! the stream runs, and checkpoints taken as the token advances.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datasets::PlainBackend;
use hivesim::{SimConfig, SimNode};
use ingest::decode::OpFilter;
use ingest::{FollowMode, Ingest, IngestConfig};
use replay::{CheckpointPolicy, RollbackSource, RollbackVia, TokenRuntime};
use state::token::GenesisSpec;
use state::{Catalog, EventLog, LogRecord, TokenOp, TokenSpec, TokenStatus};
use tokio::sync::oneshot;

const FIRST: u64 = 80_000_001;

/// (symbol, prefix, start block) of tokens.
type Tokens = [(&'static str, &'static str, u64)];

/// Two tokens with nested prefixes.
const TOKENS: [(&str, &str, u64); 2] = [("ABC", "abc_", FIRST), ("ABCX", "abc_x_", FIRST + 50)];

/// ABC alone.
const ABC: [(&str, &str, u64); 1] = [("ABC", "abc_", FIRST)];

fn sim_config() -> SimConfig {
    SimConfig {
        history: 150,
        block_interval: None,
        irreversible_lag: 30,
        prefixes: vec!["abc_".into(), "abc_x_".into(), "def_".into()],
        token_ops_per_block: 4.0,
        noise_trx_per_block: 4.0,
        ..SimConfig::default()
    }
}

fn head_config(url: String, max_reorg_depth: u64) -> IngestConfig {
    IngestConfig {
        nodes: vec![url],
        follow: FollowMode::Head,
        range_size: 25,
        ranges_in_flight: 4,
        poll_interval: Duration::from_millis(10),
        max_batch_blocks: 50,
        max_reorg_depth,
        ..IngestConfig::default()
    }
}

/// Opens a token whose genesis gives every simulated account a balance, so
/// the generated sends and power-ups change state.
fn open_token(
    data: &Path,
    sim: &SimNode,
    symbol: &str,
    prefix: &str,
    start: u64,
) -> Arc<TokenRuntime> {
    let backend = PlainBackend::open(data).unwrap();
    let balances = sim
        .accounts()
        .into_iter()
        .map(|a| (a, serde_json::json!(1_000_000_000u64)))
        .collect();
    let spec = TokenSpec {
        genesis: Some(GenesisSpec {
            balances,
            ..GenesisSpec::default()
        }),
        symbol: Some(symbol.into()),
        op_prefix: Some(prefix.into()),
        start_block: Some(start.into()),
        ..TokenSpec::default()
    };
    TokenRuntime::open(Arc::new(backend), spec.resolve(start).unwrap()).unwrap()
}

/// The token's log records for blocks `start..=last` of the node's current
/// (canonical) chain, as ingest must have written them: ops routed by the
/// longest prefix among `tokens`, in chain order.
fn canonical_ops(
    sim: &SimNode,
    tokens: &Tokens,
    prefix: &str,
    start: u64,
    last: u64,
) -> Vec<TokenOp> {
    let mut ops = Vec::new();
    for num in start..=last {
        let raw = serde_json::to_vec(&sim.block_appbase(num).unwrap()).unwrap();
        let block = ingest::decode::block(&raw, &OpFilter::any()).unwrap();
        for op in block.ops {
            let owner = tokens
                .iter()
                .filter(|(_, p, s)| op.id.starts_with(p) && num >= *s)
                .max_by_key(|(_, p, _)| p.len());
            if owner.map(|(_, p, _)| *p) != Some(prefix) {
                continue;
            }
            ops.push(TokenOp {
                block: num,
                trx_index: op.trx_index,
                op_index: op.op_index,
                trx_id: op.trx_id,
                timestamp: block.block.timestamp.clone(),
                name: op.id[prefix.len()..].to_string(),
                required_auths: op.required_auths,
                required_posting_auths: op.required_posting_auths,
                json: op.json,
            });
        }
    }
    ops
}

/// (stateHash, supply, holders, accounts) of a fresh token fed the node's
/// canonical chain up to `last` in one batch.
fn canonical_state(
    sim: &SimNode,
    tokens: &Tokens,
    symbol: &str,
    prefix: &str,
    start: u64,
    last: u64,
) -> (String, u128, u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let fresh = open_token(dir.path(), sim, symbol, prefix, start);
    let mut records: Vec<LogRecord> = canonical_ops(sim, tokens, prefix, start, last)
        .into_iter()
        .map(LogRecord::Op)
        .collect();
    let raw = serde_json::to_vec(&sim.block_appbase(last).unwrap()).unwrap();
    let end = ingest::decode::block(&raw, &OpFilter::any()).unwrap().block;
    records.push(LogRecord::BlockEnd(end));
    fresh.apply_batch(&records).unwrap();
    state_of(&fresh)
}

fn state_of(runtime: &TokenRuntime) -> (String, u128, u64, u64) {
    let meta = runtime.entry().projection().unwrap().meta().unwrap();
    (meta.state_hash, meta.supply, meta.holders, meta.accounts)
}

/// The token's ops and BlockEnd blocks, read once ingest let go of it.
fn read_log(data: &Path, symbol: &str) -> (Vec<TokenOp>, Vec<u64>) {
    let backend = PlainBackend::open(data).unwrap();
    let layout = datasets::ensure_token_layout(&backend, symbol).unwrap();
    let (log, _) = EventLog::open(&layout.log_dir).unwrap();
    let mut ops = Vec::new();
    let mut ends = Vec::new();
    for record in log.read_from_record(0).unwrap() {
        match record.unwrap() {
            LogRecord::Op(op) => ops.push(op),
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

/// True when the token stands at the node's head block (number and id).
fn at_head(sim: &SimNode, runtime: &TokenRuntime) -> bool {
    let head = sim.head();
    runtime
        .cursor()
        .unwrap()
        .is_some_and(|c| c.num == head && c.id == sim.block_appbase(head).unwrap()["block_id"])
}

struct Running {
    ingest: Arc<Ingest>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ingest::IngestError>>,
}

fn start(config: IngestConfig, catalog: &Arc<Catalog>, tokens: &[Arc<TokenRuntime>]) -> Running {
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
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn open_both(data: &Path, sim: &SimNode) -> Vec<Arc<TokenRuntime>> {
    TOKENS
        .iter()
        .map(|(symbol, prefix, start)| open_token(data, sim, symbol, prefix, *start))
        .collect()
}

async fn assert_canonical(sim: &SimNode, tokens: &[Arc<TokenRuntime>], when: &str) {
    let head = sim.head();
    for (runtime, (symbol, prefix, start)) in tokens.iter().zip(TOKENS) {
        assert_eq!(
            state_of(runtime),
            canonical_state(sim, &TOKENS, symbol, prefix, start, head),
            "{symbol} {when}: state differs from a fresh token fed the canonical chain"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forks_of_depth_1_to_20_end_in_the_canonical_state() {
    let sim = SimNode::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let tokens = open_both(data, &sim);
    let catalog = Arc::new(Catalog::new());
    let running = start(head_config(sim.url(), 64), &catalog, &tokens);
    wait_until("both tokens at the head", Duration::from_secs(60), || {
        tokens.iter().all(|t| at_head(&sim, t))
    })
    .await;
    // Above the irreversible block, every block was applied in its own batch.
    assert_canonical(&sim, &tokens, "before any fork").await;
    let (_, supply, holders, _) = state_of(&tokens[0]);
    assert!(supply > 0 && holders > 1, "the genesis should have holders");

    for depth in 1..=20u64 {
        let old_head = sim.head();
        sim.fork(depth).unwrap();
        // Every third fork keeps the head height: detected by the head's new id.
        sim.advance(depth % 3);
        let what = format!("both tokens on the new branch after a fork of depth {depth}");
        wait_until(&what, Duration::from_secs(30), || {
            tokens.iter().all(|t| at_head(&sim, t))
        })
        .await;
        assert!(sim.head() >= old_head);
        assert_canonical(&sim, &tokens, &format!("after a fork of depth {depth}")).await;
        for (symbol, ..) in TOKENS {
            let (status, error) = catalog.get(symbol).unwrap().status();
            assert_ne!(status, TokenStatus::Failed, "{symbol}: {error:?}");
        }
    }
    let head = sim.head();
    running.stop().await;
    drop(tokens);
    drop(catalog);

    // The log holds exactly the canonical ops: nothing of the dead branches.
    for (symbol, prefix, start) in TOKENS {
        let (ops, ends) = read_log(data, symbol);
        let expected = canonical_ops(&sim, &TOKENS, prefix, start, head);
        assert!(expected.len() > 100, "{symbol}: too few ops generated");
        assert_eq!(ops.len(), expected.len(), "{symbol}: op count");
        assert_eq!(
            ops, expected,
            "{symbol}: ops differ from the canonical chain"
        );
        assert!(
            ends.windows(2).all(|w| w[0] < w[1]),
            "{symbol}: BlockEnds out of order"
        );
        assert_eq!(ends.last(), Some(&head));
        // Every reversible block has its own BlockEnd.
        let irreversible = sim.irreversible();
        let reversible: Vec<u64> = ends.iter().copied().filter(|&b| b > irreversible).collect();
        assert_eq!(reversible, (irreversible + 1..=head).collect::<Vec<_>>());
    }
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_deeper_than_max_reorg_depth_fails_the_token_and_applies_nothing_of_it() {
    let sim = SimNode::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let abc = open_token(dir.path(), &sim, "ABC", "abc_", FIRST);
    let catalog = Arc::new(Catalog::new());
    let running = start(
        head_config(sim.url(), 5),
        &catalog,
        std::slice::from_ref(&abc),
    );
    wait_until("ABC at the head", Duration::from_secs(60), || {
        at_head(&sim, &abc)
    })
    .await;
    let before = abc.cursor().unwrap().unwrap();
    let state_before = state_of(&abc);

    sim.fork(8).unwrap();
    sim.advance(2);
    let entry = catalog.get("ABC").unwrap();
    wait_until("ABC failed", Duration::from_secs(30), || {
        entry.status().0 == TokenStatus::Failed
    })
    .await;
    let message = entry.status().1.unwrap();
    assert!(
        message.contains("fork deeper than max_reorg_depth=5"),
        "{message}"
    );
    assert!(message.contains("honeygraph rollback"), "{message}");
    let deepest = before.num - 5;
    assert!(
        message.contains(&format!("our block {deepest} ")),
        "{message}"
    );
    // Nothing of the new branch was applied, and it stays so.
    sim.advance(1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(abc.cursor().unwrap().unwrap(), before);
    assert_eq!(state_of(&abc), state_before);

    // The operator rolls back below the fork: the token follows the new branch again.
    let ingest = running.ingest.clone();
    let fork_base = before.num - 8;
    let report = tokio::task::spawn_blocking(move || {
        ingest.rollback_token("abc", fork_base, RollbackSource::Auto)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(report.block.unwrap().num <= fork_base);
    wait_until("ABC at the new head", Duration::from_secs(30), || {
        at_head(&sim, &abc)
    })
    .await;
    assert_ne!(entry.status().0, TokenStatus::Failed);
    assert_eq!(
        state_of(&abc),
        canonical_state(&sim, &ABC, "ABC", "abc_", FIRST, sim.head())
    );
    running.stop().await;
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_rollback_replay_and_checkpoints_while_the_stream_runs() {
    let sim = SimNode::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let abc = open_token(dir.path(), &sim, "ABC", "abc_", FIRST);
    abc.set_checkpoint_policy(CheckpointPolicy {
        every_blocks: 50,
        ..CheckpointPolicy::default()
    });
    let catalog = Arc::new(Catalog::new());
    let running = start(
        head_config(sim.url(), 64),
        &catalog,
        std::slice::from_ref(&abc),
    );
    wait_until("ABC at the head", Duration::from_secs(60), || {
        at_head(&sim, &abc)
    })
    .await;

    // Checkpoints appeared as the token advanced: one per 50 blocks crossed.
    let checkpoints = abc.checkpoints().unwrap();
    let blocks: Vec<u64> = checkpoints.iter().map(|c| c.block).collect();
    assert!(blocks.len() >= 2, "checkpoints at {blocks:?}");
    assert!(
        blocks.windows(2).all(|w| w[1] / 50 > w[0] / 50),
        "{blocks:?}"
    );
    assert!(blocks[0] >= 80_000_050 && *blocks.last().unwrap() <= sim.head());

    // Operator rollback while the stream runs.
    let head = sim.head();
    let state_at_head = state_of(&abc);
    let ingest = running.ingest.clone();
    let asked = head - 40;
    let report = tokio::task::spawn_blocking(move || {
        ingest.rollback_token("ABC", asked, RollbackSource::Checkpoint)
    })
    .await
    .unwrap()
    .unwrap();
    assert_ne!(report.via, RollbackVia::Journal, "asked for a checkpoint");
    let landed = report.block.unwrap();
    assert!(landed.num <= asked);
    assert_eq!(
        landed.id,
        sim.block_appbase(landed.num).unwrap()["block_id"]
    );
    wait_until("ABC back at the head", Duration::from_secs(30), || {
        at_head(&sim, &abc)
    })
    .await;
    assert_eq!(state_of(&abc), state_at_head);

    // It goes on following; replay from a checkpoint and an on-demand checkpoint.
    sim.advance(5);
    wait_until("ABC at the new head", Duration::from_secs(30), || {
        at_head(&sim, &abc)
    })
    .await;
    let from = abc.checkpoints().unwrap()[0].name.clone();
    let ingest = running.ingest.clone();
    let replayed = tokio::task::spawn_blocking(move || {
        ingest.replay_token("abc", Some(&from), None, &|_, _| {})
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replayed.block.unwrap().num, sim.head());
    // A replay stopped short of the log leaves the state there for a while;
    // the stream's next batch brings it back to the log's end and goes on.
    let ingest = running.ingest.clone();
    let short = sim.head() - 20;
    let replayed = tokio::task::spawn_blocking(move || {
        ingest.replay_token("ABC", None, Some(short), &|_, _| {})
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(replayed.block.unwrap().num, short);
    sim.advance(2);
    wait_until("ABC past the replay", Duration::from_secs(30), || {
        at_head(&sim, &abc)
    })
    .await;
    assert_eq!(
        state_of(&abc),
        canonical_state(&sim, &ABC, "ABC", "abc_", FIRST, sim.head())
    );
    let ingest = running.ingest.clone();
    let info = tokio::task::spawn_blocking(move || ingest.checkpoint_token("ABC"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.block, sim.head());
    assert_eq!(
        state_of(&abc),
        canonical_state(&sim, &ABC, "ABC", "abc_", FIRST, sim.head())
    );
    assert!(matches!(
        running
            .ingest
            .rollback_token("NOPE", 1, RollbackSource::Auto),
        Err(ingest::IngestError::UnknownToken(_))
    ));
    running.stop().await;
    sim.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_right_after_a_restart_is_undone_through_the_irreversible_block() {
    let sim = SimNode::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        let abc = open_token(dir.path(), &sim, "ABC", "abc_", FIRST);
        let catalog = Arc::new(Catalog::new());
        let running = start(
            head_config(sim.url(), 64),
            &catalog,
            std::slice::from_ref(&abc),
        );
        wait_until("ABC at the head", Duration::from_secs(60), || {
            at_head(&sim, &abc)
        })
        .await;
        running.stop().await;
    }
    // A new stream knows only the id of its cursor when the fork comes.
    sim.fork(4).unwrap();
    sim.advance(1);
    let abc = open_token(dir.path(), &sim, "ABC", "abc_", FIRST);
    let catalog = Arc::new(Catalog::new());
    let running = start(
        head_config(sim.url(), 64),
        &catalog,
        std::slice::from_ref(&abc),
    );
    wait_until("ABC on the new branch", Duration::from_secs(30), || {
        at_head(&sim, &abc)
    })
    .await;
    assert_ne!(catalog.get("ABC").unwrap().status().0, TokenStatus::Failed);
    assert_eq!(
        state_of(&abc),
        canonical_state(&sim, &ABC, "ABC", "abc_", FIRST, sim.head())
    );
    running.stop().await;
    sim.stop();
}
