//! Shared helpers of the replay tests: a token, a deterministic log of real
//! operations cut into ingest-like batches, fresh reference projections and
//! a comparison of everything a user can read.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use datasets::{DatasetBackend, PlainBackend, ZfsBackend};
use replay::{CheckpointPolicy, RetentionPolicy, TokenRuntime};
use state::projection::{AccountState, Meta, ProjectionOptions, Transfer, TransferQuery};
use state::token::{Features, Genesis, TokenConfig};
use state::{BlockRef, LogRecord, Projection, TokenOp};

pub const POOL_VAR: &str = "HONEYGRAPH_TEST_ZFS_POOL";

const ACCOUNTS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

pub fn config() -> TokenConfig {
    let mut genesis = Genesis::default();
    genesis.balances.insert("alice".into(), 1_000_000);
    genesis.balances.insert("carol".into(), 200_000);
    genesis.power.insert("bob".into(), 500_000);
    genesis.power.insert("carol".into(), 100_000);
    TokenConfig {
        symbol: "TEST".into(),
        name: "Test".into(),
        description: String::new(),
        contract_address: "@test".into(),
        decimals: 3,
        features: Features::default(),
        op_prefix: "test_".into(),
        start_block: 1,
        power_down_interval: 7,
        genesis,
        history_blocks: None,
    }
}

/// A small deterministic generator (xorshift), so logs need no extra crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub fn block_ref(num: u64) -> BlockRef {
    BlockRef {
        num,
        id: format!("{:08x}{}", num as u32, "ab".repeat(16)),
        timestamp: timestamp(num),
    }
}

fn timestamp(block: u64) -> String {
    let secs = block * 3;
    format!(
        "2025-01-{:02}T{:02}:{:02}:{:02}",
        1 + (secs / 86_400) % 28,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

fn op(block: u64, trx: u32, name: &str, sender: &str, json: String) -> LogRecord {
    LogRecord::Op(TokenOp {
        block,
        trx_index: trx,
        op_index: 0,
        trx_id: format!("{block:016x}{trx:08x}{:016x}", block ^ 0xabcdef),
        timestamp: timestamp(block),
        name: name.into(),
        required_auths: vec![sender.into()],
        required_posting_auths: vec![],
        json,
    })
}

/// Blocks `first..=last` of sends, power-ups, power-downs and grants, cut
/// into batches of 1..=max_batch blocks that end with a `BlockEnd` (some
/// batches, as in head mode, with one after every block).
pub fn batches(
    first: u64,
    last: u64,
    max_ops: u64,
    max_batch: u64,
    seed: u64,
) -> Vec<Vec<LogRecord>> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut block = first;
    while block <= last {
        let end = (block + rng.below(max_batch)).min(last);
        let every_block = rng.below(4) == 0;
        let mut batch = Vec::new();
        for b in block..=end {
            for trx in 0..rng.below(max_ops + 1) as u32 {
                let sender = ACCOUNTS[rng.below(ACCOUNTS.len() as u64) as usize];
                let to = ACCOUNTS[rng.below(ACCOUNTS.len() as u64) as usize];
                let amount = 1 + rng.below(2_000);
                let record = match rng.below(10) {
                    0..=4 => op(
                        b,
                        trx,
                        "send",
                        sender,
                        format!(r#"{{"to":"{to}","amount":{amount},"memo":"m{b}"}}"#),
                    ),
                    5 | 6 => op(
                        b,
                        trx,
                        "power_up",
                        sender,
                        format!(r#"{{"amount":{amount}}}"#),
                    ),
                    7 => op(
                        b,
                        trx,
                        "power_down",
                        sender,
                        format!(r#"{{"amount":{}}}"#, amount * 5),
                    ),
                    _ => op(
                        b,
                        trx,
                        "power_grant",
                        sender,
                        format!(r#"{{"to":"{to}","amount":{amount}}}"#),
                    ),
                };
                batch.push(record);
            }
            if every_block || b == end {
                batch.push(LogRecord::BlockEnd(block_ref(b)));
            }
        }
        out.push(batch);
        block = end + 1;
    }
    out
}

/// The log position right after the last `BlockEnd` numbered `<= block`.
pub fn boundary(all: &[LogRecord], block: u64) -> usize {
    let mut found = 0;
    for (i, r) in all.iter().enumerate() {
        if r.block() > block {
            break;
        }
        if matches!(r, LogRecord::BlockEnd(_)) {
            found = i + 1;
        }
    }
    found
}

/// Cuts records (from a block boundary on) into batches of up to about
/// `200` records that each end with a `BlockEnd`.
pub fn rebatch(records: &[LogRecord]) -> Vec<Vec<LogRecord>> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    for r in records {
        let ends = matches!(r, LogRecord::BlockEnd(_));
        batch.push(r.clone());
        if ends && batch.len() >= 200 {
            out.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

/// A fresh projection fed exactly `records` (in one transaction).
pub fn reference(dir: &Path, records: &[LogRecord]) -> Projection {
    let p = Projection::open_with(
        dir,
        &config(),
        &ProjectionOptions {
            map_size: 1 << 30,
            ..ProjectionOptions::default()
        },
    )
    .unwrap();
    if !records.is_empty() {
        p.apply(records, records.len() as u64).unwrap();
    }
    p
}

/// Everything a user can read.
#[derive(Debug, PartialEq, Eq)]
pub struct Readable {
    pub meta: Meta,
    pub accounts: Vec<(String, AccountState)>,
    pub transfers: Vec<Transfer>,
}

pub fn readable(p: &Projection) -> Readable {
    let mut accounts = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = p.accounts_by_name(100, after.as_deref()).unwrap();
        accounts.extend(page.entries.into_iter().map(|e| (e.account, e.state)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut transfers = Vec::new();
    let mut query = TransferQuery {
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = p.transfers(&query).unwrap();
        transfers.extend(page.transfers);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    Readable {
        meta: p.meta().unwrap(),
        accounts,
        transfers,
    }
}

pub fn live(rt: &TokenRuntime) -> Readable {
    readable(&rt.entry().projection().expect("the token is being served"))
}

pub fn policy(every_blocks: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_blocks,
        retention: RetentionPolicy {
            keep_last: 1000,
            keep_daily: 0,
        },
    }
}

/// Feeds `batches` through `apply_batch`, calling `maybe_checkpoint` after each.
pub fn feed(rt: &TokenRuntime, batches: &[Vec<LogRecord>]) {
    for batch in batches {
        rt.apply_batch(batch).unwrap();
        rt.maybe_checkpoint().unwrap();
    }
}

pub fn plain(dir: &Path) -> Arc<dyn DatasetBackend> {
    Arc::new(PlainBackend::open(dir.join("tokens")).unwrap())
}

pub fn open(backend: &Arc<dyn DatasetBackend>, policy: CheckpointPolicy) -> Arc<TokenRuntime> {
    TokenRuntime::open_with(Arc::clone(backend), config(), policy).unwrap()
}

/// A ZFS backend under a fresh child of the test pool, or `None` (after
/// printing that the test is skipped) without `HONEYGRAPH_TEST_ZFS_POOL`.
pub struct ZfsFixture {
    pub backend: Arc<dyn DatasetBackend>,
    parent: String,
}

impl ZfsFixture {
    pub fn new(test: &str) -> Option<Self> {
        let pool = match std::env::var(POOL_VAR) {
            Ok(pool) if !pool.is_empty() => pool,
            _ => {
                println!("skipped: {POOL_VAR} not set (ZFS tests need a pool)");
                return None;
            }
        };
        let parent = format!("{pool}/replay-{}-{test}", std::process::id());
        let out = zfs(&["create", &parent]);
        assert!(out.is_ok(), "creating {parent}: {out:?}");
        let backend = ZfsBackend::with_programs(&parent, "zfs", "zpool").unwrap();
        Some(ZfsFixture {
            backend: Arc::new(backend),
            parent,
        })
    }
}

fn zfs(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("zfs")
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for ZfsFixture {
    fn drop(&mut self) {
        // zfs-fuse briefly reports just-unmounted datasets as busy.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match zfs(&["destroy", "-R", &self.parent]) {
                Ok(_) => break,
                Err(e) if e.contains("busy") && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100))
                }
                Err(e) => {
                    eprintln!("could not remove test dataset {}: {e}", self.parent);
                    break;
                }
            }
        }
    }
}
