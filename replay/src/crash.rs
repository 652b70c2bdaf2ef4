//! Crash points: tests stop a checkpoint, rollback or replay at a chosen
//! step, drop the runtime and reopen, which leaves the files as a SIGKILL at
//! that step would (every step before it wrote and fsynced its files).

use std::sync::Mutex;

use crate::error::ReplayError;

/// A step of a checkpoint, rollback or replay at which a test can stop it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Checkpoint: the copy or metadata is written but not yet published.
    CheckpointBeforePublish,
    /// Rollback: the pending marker is written, nothing else changed.
    RollbackAfterMarker,
    /// Rollback: checkpoints above the target are destroyed.
    RollbackAfterDestroy,
    /// Rollback: the log is truncated.
    RollbackAfterTruncate,
    /// Rollback: the checkpoint is restored into the live state, or the
    /// undo journal's rewind is committed.
    RollbackAfterRestore,
    /// Rollback: part of the log is re-applied on a checkpoint; with the
    /// undo journal, whose rewind is one transaction, a crash inside it
    /// leaves what was there before it.
    RollbackMidReapply,
    /// Replay: the new projection is built but not swapped in.
    ReplayBeforeSwap,
    /// Replay: the new data file is renamed into place, the rest not done.
    ReplayAfterRename,
}

/// The armed crash point of one runtime.
#[derive(Debug, Default)]
pub(crate) struct CrashHook(Mutex<Option<CrashPoint>>);

impl CrashHook {
    pub(crate) fn arm(&self, point: Option<CrashPoint>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = point;
    }

    /// Whether `point` is armed.
    pub(crate) fn armed(&self, point: CrashPoint) -> bool {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) == Some(point)
    }

    /// Fails with [`ReplayError::SimulatedCrash`] if `point` is armed.
    pub(crate) fn check(&self, point: CrashPoint) -> Result<(), ReplayError> {
        let armed = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        if armed == Some(point) {
            return Err(ReplayError::SimulatedCrash(point));
        }
        Ok(())
    }
}
