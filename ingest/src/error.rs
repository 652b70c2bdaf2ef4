//! Errors of the ingest crate.

use crate::decode::DecodeError;

/// What went wrong in ingest. Messages name the node, block or token involved.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The configuration cannot work (no nodes, sizes out of range...).
    #[error("invalid ingest configuration: {0}")]
    Config(String),
    /// A feature that is not implemented yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Every node failed; ingest keeps retrying, this says why it is stuck.
    #[error("every Hive node failed ({nodes}; {attempts} attempts); last error: {last_error}")]
    AllNodesFailed {
        /// The node URLs, comma-separated.
        nodes: String,
        /// Attempts made.
        attempts: usize,
        /// The last failure, with the node that gave it.
        last_error: String,
    },
    /// The nodes agree that the block does not exist (yet).
    #[error("no such block: {0}")]
    NoSuchBlock(u64),
    /// A node's answer could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    /// A token's batch could not be applied.
    #[error("token {symbol}: cannot apply the batch: {source}")]
    Apply {
        /// Token symbol.
        symbol: String,
        /// The runtime's error.
        source: replay::ReplayError,
    },
    /// An operator action on a token (rollback, replay, checkpoint) failed.
    #[error("token {symbol}: {action} failed: {source}")]
    Token {
        /// Token symbol.
        symbol: String,
        /// What was asked: `rollback`, `replay` or `checkpoint`.
        action: &'static str,
        /// The runtime's error.
        source: replay::ReplayError,
    },
    /// No token with this symbol is registered with ingest.
    #[error("no token `{0}` is registered with ingest")]
    UnknownToken(String),
    /// `run` was called while another `run` is going.
    #[error("ingest is already running")]
    AlreadyRunning,
    /// An internal part of the pipeline stopped unexpectedly.
    #[error("ingest pipeline failure: {0}")]
    Internal(String),
}
