//! Opening the bench tokens on a plain-directory data path.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use datasets::PlainBackend;
use replay::{CheckpointPolicy, TokenRuntime};
use state::token::GenesisSpec;
use state::TokenSpec;

use crate::chain::{ACCOUNTS, GENESIS_BALANCE};
use crate::error::BenchError;

/// Opens (creating it if needed) token `symbol` with `prefix`, starting at
/// `start`, every bench account holding [`GENESIS_BALANCE`].
pub(crate) fn open_token(
    data: &Path,
    symbol: &str,
    prefix: &str,
    start: u64,
    policy: CheckpointPolicy,
) -> Result<Arc<TokenRuntime>, BenchError> {
    let backend = PlainBackend::open(data)
        .map_err(|e| BenchError::failed(format!("opening {}", data.display()), e))?;
    let balances: BTreeMap<String, serde_json::Value> = ACCOUNTS
        .iter()
        .map(|a| (a.to_string(), GENESIS_BALANCE.into()))
        .collect();
    let spec = TokenSpec {
        symbol: Some(symbol.into()),
        op_prefix: Some(prefix.into()),
        start_block: Some(start.into()),
        genesis: Some(GenesisSpec {
            balances,
            power: BTreeMap::new(),
        }),
        ..TokenSpec::default()
    };
    let config = spec
        .resolve(start)
        .map_err(|e| BenchError::failed(format!("token {symbol}"), e))?;
    TokenRuntime::open_with(Arc::new(backend), config, policy)
        .map_err(|e| BenchError::failed(format!("opening token {symbol}"), e))
}

/// The token's cursor block, 0 before the first batch.
pub(crate) fn cursor(runtime: &TokenRuntime) -> Result<u64, BenchError> {
    runtime
        .cursor()
        .map(|c| c.map_or(0, |c| c.num))
        .map_err(|e| BenchError::failed("reading a cursor", e))
}
