//! Rolling a token back, timed, under its slot's apply lock.

use std::sync::Arc;
use std::time::Instant;

use replay::{ReplayError, RollbackReport, RollbackSource};

use super::slot::TokenSlot;

/// `rollback_with(block, source)` timed into `honeygraph_rollback_duration_seconds`.
/// The caller holds the slot's apply lock.
pub(crate) fn timed(
    slot: &TokenSlot,
    block: u64,
    source: RollbackSource,
) -> Result<RollbackReport, ReplayError> {
    let started = Instant::now();
    let result = slot.runtime.rollback_with(block, source);
    metrics::histogram!("honeygraph_rollback_duration_seconds", "token" => slot.symbol.clone())
        .record(started.elapsed().as_secs_f64());
    result
}

/// What became of a stream's rollback after a fork.
pub(crate) enum RolledBack {
    Done(RollbackReport),
    /// An operator moved the cursor meanwhile: nothing was done.
    Stale,
    /// The token was removed: nothing was done.
    Removed,
    Failed(ReplayError),
}

/// The stream's rollback to a fork's common ancestor (blocking), unless an
/// operator moved the cursor since `generation`.
pub(crate) fn for_fork(slot: &Arc<TokenSlot>, generation: u64, block: u64) -> RolledBack {
    let Some(_guard) = slot.lock_apply() else {
        return RolledBack::Removed;
    };
    if slot.generation() != generation {
        return RolledBack::Stale;
    }
    match timed(slot, block, RollbackSource::Auto) {
        Ok(report) => RolledBack::Done(report),
        Err(e) => RolledBack::Failed(e),
    }
}
