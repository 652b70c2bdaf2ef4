//! Ingest settings.

use std::time::Duration;

use crate::IngestError;

/// Which blocks ingest applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FollowMode {
    /// Only irreversible blocks (like honeycomb): no forks to undo.
    #[default]
    Irreversible,
    /// Reversible blocks up to the head, one block per batch above the
    /// irreversible block; a fork is undone by rolling the token back to the
    /// common ancestor (at most [`IngestConfig::max_reorg_depth`] blocks deep).
    Head,
}

impl std::str::FromStr for FollowMode {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "irreversible" => Ok(FollowMode::Irreversible),
            "head" => Ok(FollowMode::Head),
            other => Err(IngestError::Config(format!(
                "follow mode `{other}` is neither `irreversible` nor `head`"
            ))),
        }
    }
}

/// How ingest talks to Hive and how it batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Hive API node URLs, tried in turn.
    pub nodes: Vec<String>,
    /// Which blocks to apply.
    pub follow: FollowMode,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Blocks per `get_block_range` call (1 to 1000).
    pub range_size: u32,
    /// `get_block_range` calls in flight per token stream.
    pub ranges_in_flight: usize,
    /// Threads decoding blocks.
    pub decode_workers: usize,
    /// How often the irreversible head is polled.
    pub poll_interval: Duration,
    /// Most blocks applied to a token in one batch (one log frame, one LMDB txn).
    pub max_batch_blocks: u64,
    /// Head mode: the deepest fork undone automatically. A deeper one marks
    /// the token `failed` (an operator rolls it back by hand). Hive's
    /// irreversible block trails the head by about 20 blocks in normal times,
    /// so no fork should be deeper; the default of 64 leaves room for a slow
    /// finality without accepting a foreign chain as a fork.
    pub max_reorg_depth: u64,
}

/// Default of [`IngestConfig::max_reorg_depth`].
pub const DEFAULT_MAX_REORG_DEPTH: u64 = 64;

/// Upper bound of [`IngestConfig::max_reorg_depth`]: the ids of that many
/// recent blocks are kept per token.
pub const MAX_REORG_DEPTH_LIMIT: u64 = 10_000;

/// Most blocks `block_api.get_block_range` serves per call.
pub const MAX_RANGE: u32 = 1000;

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            nodes: vec![
                "https://api.hive.blog".into(),
                "https://api.deathwing.me".into(),
                "https://api.openhive.network".into(),
            ],
            follow: FollowMode::Irreversible,
            request_timeout: Duration::from_secs(10),
            range_size: 100,
            ranges_in_flight: 4,
            decode_workers: 2,
            poll_interval: Duration::from_secs(1),
            max_batch_blocks: 1000,
            max_reorg_depth: DEFAULT_MAX_REORG_DEPTH,
        }
    }
}

impl IngestConfig {
    /// Checks every setting and says which one is wrong.
    pub fn validate(&self) -> Result<(), IngestError> {
        let bad = |m: String| Err(IngestError::Config(m));
        if self.nodes.is_empty() {
            return bad("no Hive node given (HIVE_NODES is empty)".into());
        }
        for node in &self.nodes {
            if !(node.starts_with("http://") || node.starts_with("https://")) {
                return bad(format!(
                    "Hive node `{node}` is not an http:// or https:// URL"
                ));
            }
        }
        if !(1..=MAX_RANGE).contains(&self.range_size) {
            return bad(format!(
                "range_size {} must be 1 to {MAX_RANGE}",
                self.range_size
            ));
        }
        if self.ranges_in_flight == 0 || self.decode_workers == 0 || self.max_batch_blocks == 0 {
            return bad(
                "ranges_in_flight, decode_workers and max_batch_blocks must be at least 1".into(),
            );
        }
        if !(1..=MAX_REORG_DEPTH_LIMIT).contains(&self.max_reorg_depth) {
            return bad(format!(
                "max_reorg_depth {} must be 1 to {MAX_REORG_DEPTH_LIMIT}",
                self.max_reorg_depth
            ));
        }
        if self.request_timeout.is_zero() || self.poll_interval.is_zero() {
            return bad("request_timeout and poll_interval must be above zero".into());
        }
        Ok(())
    }
}
