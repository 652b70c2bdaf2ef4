//! A token with a long synthetic history, written straight through
//! [`TokenRuntime::apply_batch`] (no network): `send`s of one base unit
//! between [`HISTORY_ACCOUNTS`] accounts, [`OPS_PER_BLOCK`] a block.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datasets::PlainBackend;
use replay::{CheckpointPolicy, TokenRuntime};
use state::token::GenesisSpec;
use state::{BlockRef, LogRecord, TokenOp, TokenSpec};

use crate::error::BenchError;

/// Accounts the history moves funds between.
pub(crate) const HISTORY_ACCOUNTS: u64 = 1000;

/// Operations in each block of the history.
pub(crate) const OPS_PER_BLOCK: u64 = 10;

/// Blocks per `apply_batch` call while building.
pub(crate) const BATCH_BLOCKS: u64 = 1000;

/// First block of a history token.
pub(crate) const HISTORY_START: u64 = 90_000_000;

/// The name of history account `i`.
pub(crate) fn account(i: u64) -> String {
    format!("acct{}", i % HISTORY_ACCOUNTS)
}

/// Opens token `symbol` (prefix `hist_`) in `data` with every history
/// account funded, checkpoints only on demand.
pub(crate) fn open(data: &Path, symbol: &str) -> Result<Arc<TokenRuntime>, BenchError> {
    let backend = PlainBackend::open(data)
        .map_err(|e| BenchError::failed(format!("opening {}", data.display()), e))?;
    let balances: BTreeMap<String, serde_json::Value> = (0..HISTORY_ACCOUNTS)
        .map(|i| (account(i), 1_000_000_000_000u64.into()))
        .collect();
    let spec = TokenSpec {
        symbol: Some(symbol.into()),
        op_prefix: Some(format!("{}_", symbol.to_ascii_lowercase())),
        start_block: Some(HISTORY_START.into()),
        genesis: Some(GenesisSpec {
            balances,
            power: BTreeMap::new(),
        }),
        ..TokenSpec::default()
    };
    let config = spec
        .resolve(HISTORY_START)
        .map_err(|e| BenchError::failed(format!("token {symbol}"), e))?;
    let policy = CheckpointPolicy {
        every_blocks: 0,
        ..CheckpointPolicy::default()
    };
    TokenRuntime::open_with(Arc::new(backend), config, policy)
        .map_err(|e| BenchError::failed(format!("opening token {symbol}"), e))
}

/// The log records of blocks `first..first + blocks`.
pub(crate) fn records(first: u64, blocks: u64) -> Vec<LogRecord> {
    let mut out = Vec::with_capacity(((OPS_PER_BLOCK + 1) * blocks) as usize);
    for num in first..first + blocks {
        for i in 0..OPS_PER_BLOCK {
            let k = num.wrapping_mul(7).wrapping_add(i * 13);
            out.push(LogRecord::Op(TokenOp {
                block: num,
                trx_index: i as u32,
                op_index: 0,
                trx_id: trx_id(num, i),
                timestamp: "2025-07-08T23:09:27".into(),
                name: "send".into(),
                required_auths: vec![account(k)],
                required_posting_auths: Vec::new(),
                json: format!(r#"{{"to":"{}","amount":1}}"#, account(k + 1)),
            }));
        }
        out.push(LogRecord::BlockEnd(block_ref(num)));
    }
    out
}

/// A transaction id for op `i` of block `num`: 40 hex digits that look
/// random, as Hive's (hashes of the transactions) do, so the
/// transaction-id index is written in the order a real chain gives it.
fn trx_id(num: u64, i: u64) -> String {
    let a = mix(num.wrapping_mul(1_000_003).wrapping_add(i));
    let b = mix(a);
    format!("{a:016x}{b:016x}{:08x}", mix(b) >> 32)
}

/// SplitMix64's output function: a bijection that scatters nearby inputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The reference of history block `num`.
pub(crate) fn block_ref(num: u64) -> BlockRef {
    BlockRef {
        num,
        id: format!("{num:08x}{:032x}", 0xbe_u64),
        timestamp: "2025-07-08T23:09:27".into(),
    }
}

/// Appends `blocks` blocks after the token's cursor, in batches; returns
/// the operations applied. Every one must be applied (none rejected).
pub(crate) fn extend(runtime: &TokenRuntime, blocks: u64) -> Result<u64, BenchError> {
    let cursor = crate::tokens::cursor(runtime)?;
    let mut next = cursor.max(HISTORY_START - 1) + 1;
    let end = next + blocks;
    let mut applied = 0;
    while next < end {
        let count = BATCH_BLOCKS.min(end - next);
        let summary = runtime
            .apply_batch(&records(next, count))
            .map_err(|e| BenchError::failed("building the history", e))?;
        if summary.rejected > 0 || summary.unsupported > 0 {
            return Err(BenchError::Check(format!(
                "{} history operations were rejected",
                summary.rejected + summary.unsupported
            )));
        }
        applied += summary.applied;
        next += count;
    }
    Ok(applied)
}
