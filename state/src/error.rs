//! Errors of the state crate, worded for the operator who reads them.

use std::path::PathBuf;

use crate::block::BlockNum;

/// What went wrong in the token state: the log, the projection or the registry.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O error on a file of ours.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// LMDB refused an operation.
    #[error("LMDB error in {path}: {source}")]
    Lmdb {
        /// The environment directory.
        path: PathBuf,
        /// The underlying error.
        source: heed::Error,
    },
    /// Stored data failed a checksum or could not be decoded.
    #[error("corrupt data in {path}: {detail}")]
    Corrupt {
        /// The file holding the data.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A token definition is invalid.
    #[error("invalid token field `{field}`: {reason}")]
    InvalidToken {
        /// The offending field, in the API's spelling (`opPrefix`, ...).
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A token with this symbol or prefix exists already.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No token with this symbol is registered.
    #[error("token {0} is not registered")]
    UnknownToken(String),
    /// The projection was built by another contract version or in another
    /// layout: it must be rebuilt from the log (the token's runtime does so
    /// when it opens it).
    #[error("the projection of {symbol} must be rebuilt from its log: {detail}")]
    Outdated {
        /// Token symbol.
        symbol: String,
        /// What differs.
        detail: String,
    },
    /// The log and the projection disagree in a way recovery cannot fix.
    #[error("log and projection disagree for {symbol}: {detail}")]
    Diverged {
        /// Token symbol.
        symbol: String,
        /// What disagrees.
        detail: String,
    },
    /// A caller passed an argument out of range (e.g. a cursor that is not ours).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A query as of a block below the earliest block whose history is kept.
    #[error("no history for block {block}: the earliest block available is {earliest}")]
    HistoryPruned {
        /// The block asked for.
        block: BlockNum,
        /// The earliest block a query may ask for.
        earliest: BlockNum,
    },
    /// A query as of a block the projection has not reached yet.
    #[error("block {block} is not indexed yet: the latest indexed block is {latest}")]
    BlockNotIndexed {
        /// The block asked for.
        block: BlockNum,
        /// The last block applied (the token's start block minus one before any).
        latest: BlockNum,
    },
    /// A query the projection declines to answer, with why.
    #[error("unsupported query: {0}")]
    Unsupported(String),
    /// The thread writing a pipelined apply ended before it wrote every batch.
    #[error("the thread writing {path} stopped: {detail}")]
    WriterStopped {
        /// The environment directory.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

impl StateError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps an LMDB error with the environment it happened in.
    pub fn lmdb(path: impl Into<PathBuf>, source: heed::Error) -> Self {
        StateError::Lmdb {
            path: path.into(),
            source,
        }
    }
}
