//! Errors of the replay crate.

use std::path::PathBuf;

use crate::crash::CrashPoint;

/// What went wrong while applying, recovering, checkpointing, replaying or
/// rolling back a token.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The token's log or projection failed.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The token's dataset failed.
    #[error(transparent)]
    Dataset(#[from] datasets::DatasetError),
    /// A batch would move the token backwards or skip the log order.
    #[error("batch for {symbol} out of order: {detail}")]
    OutOfOrder {
        /// Token symbol.
        symbol: String,
        /// What is out of order.
        detail: String,
    },
    /// A file of the checkpoint, replay or rollback machinery could not be
    /// read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No checkpoint of that name exists.
    #[error(
        "{symbol} has no checkpoint named {name:?}; available: {}",
        list_or_none(available)
    )]
    UnknownCheckpoint {
        /// Token symbol.
        symbol: String,
        /// The name asked for.
        name: String,
        /// The checkpoints that do exist, oldest first.
        available: Vec<String>,
    },
    /// A rollback target above what the token has applied.
    #[error("cannot roll {symbol} back to block {block}: it is only at {}", at_block(*cursor))]
    BlockAboveCursor {
        /// Token symbol.
        symbol: String,
        /// The block asked for.
        block: u64,
        /// The token's cursor block, if any.
        cursor: Option<u64>,
    },
    /// A replay target below the checkpoint it starts from.
    #[error(
        "cannot replay {symbol} from checkpoint {checkpoint} to block {block}: the checkpoint is \
         already past that block; pick an older checkpoint or none (genesis)"
    )]
    BlockBelowCheckpoint {
        /// Token symbol.
        symbol: String,
        /// The block asked for.
        block: u64,
        /// The checkpoint's name.
        checkpoint: String,
    },
    /// A replay target beyond the end of the log.
    #[error("cannot replay {symbol} to block {block}: its log ends at {}", at_block(*last))]
    BlockBeyondLog {
        /// Token symbol.
        symbol: String,
        /// The block asked for.
        block: u64,
        /// The last block in the log, if any.
        last: Option<u64>,
    },
    /// A checkpoint needs at least one applied block.
    #[error("{symbol} has applied no block yet, so there is nothing to checkpoint")]
    NothingToCheckpoint {
        /// Token symbol.
        symbol: String,
    },
    /// A restored checkpoint does not hold what its metadata says, or does
    /// not fit the log.
    #[error("checkpoint {name} of {symbol} is not usable: {detail}")]
    BadCheckpoint {
        /// Token symbol.
        symbol: String,
        /// The checkpoint's name.
        name: String,
        /// What does not match.
        detail: String,
    },
    /// Readers kept the projection open too long for it to be swapped.
    #[error(
        "{symbol}: the projection is still in use by readers after {seconds} s, so it cannot be \
         swapped; retry"
    )]
    Busy {
        /// Token symbol.
        symbol: String,
        /// How long the swap waited.
        seconds: u64,
    },
    /// The projection is closed because an earlier rollback or replay failed
    /// half-way.
    #[error("{symbol} is not available: {detail}")]
    Unavailable {
        /// Token symbol.
        symbol: String,
        /// What happened and what to do.
        detail: String,
    },
    /// A test stopped the operation at a crash point (see [`CrashPoint`]).
    #[doc(hidden)]
    #[error("simulated crash at {0:?}")]
    SimulatedCrash(CrashPoint),
}

impl ReplayError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ReplayError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none (replay from genesis instead)".into()
    } else {
        names.join(", ")
    }
}

fn at_block(block: Option<u64>) -> String {
    block.map_or_else(
        || "no block (nothing applied)".into(),
        |b| format!("block {b}"),
    )
}
