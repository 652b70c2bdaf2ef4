//! Configuration of a simulated node and of the faults it injects.

use std::time::Duration;

/// How a simulated chain is generated and how fast it grows.
///
/// Two nodes started with equal configurations serve byte-identical blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of every generated block (ids, transactions, operations).
    pub seed: u64,
    /// Number of the first block the node has; lower blocks are never served.
    pub first_block: u64,
    /// Blocks existing at start: the initial head is `first_block + history - 1`.
    pub history: u64,
    /// One new block per interval in real time; `None` grows only through `advance`.
    pub block_interval: Option<Duration>,
    /// The last irreversible block trails the head by this many blocks.
    pub irreversible_lag: u64,
    /// custom_json id prefixes of the layer-2 tokens whose operations are generated.
    pub prefixes: Vec<String>,
    /// Number of token holders that send token operations (at least 2).
    pub accounts: usize,
    /// Mean number of token operations per block.
    pub token_ops_per_block: f64,
    /// Mean number of unrelated ("noise") transactions per block.
    pub noise_trx_per_block: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            first_block: 80_000_001,
            history: 5000,
            block_interval: Some(Duration::from_secs(3)),
            irreversible_lag: 20,
            prefixes: vec!["spkcc_".into(), "spkcc_spk_".into(), "dlux_".into()],
            accounts: 40,
            token_ops_per_block: 3.0,
            noise_trx_per_block: 15.0,
        }
    }
}

/// Faults the node injects; rates are probabilities per request in 0..=1.
///
/// Rate faults apply to JSON-RPC requests only (never to `/sim/*` control routes).
/// When several rates fire for one request, the first in field order wins
/// (a stall delays the request and then lets the others roll).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Answer HTTP 500 with a plain-text body.
    pub http_500_rate: f64,
    /// Answer HTTP 429 with the header `Retry-After: 1`.
    pub http_429_rate: f64,
    /// Answer HTTP 200 with a JSON-RPC error object (-32000, like Hive's).
    pub rpc_error_rate: f64,
    /// Answer HTTP 502 with an HTML body, like a broken proxy.
    pub html_rate: f64,
    /// Answer HTTP 200 with the JSON body cut in half.
    pub truncated_rate: f64,
    /// Wait `stall` before answering.
    pub stall_rate: f64,
    /// How long a stalled request waits.
    pub stall: Duration,
    /// Pretend head and irreversible are this many blocks lower (blocks above are not served).
    pub lag_blocks: u64,
    /// Serve blocks of another seed whose `previous` ids do not link to ours.
    pub foreign_chain: bool,
}
