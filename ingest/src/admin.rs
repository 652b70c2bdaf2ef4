//! Operator actions on a running token (rollback, replay, checkpoint),
//! serialized with its stream through the slot's apply lock.

use replay::{CheckpointInfo, ReplayReport, RollbackReport, RollbackSource};
use state::TokenStatus;
use tracing::{info, warn};

use crate::pipeline::rollback;
use crate::{Ingest, IngestError};

impl Ingest {
    /// Rolls the token back to `block` (it lands on the last block boundary
    /// at or below it, see [`replay::TokenRuntime::rollback_to`]) while its
    /// stream waits; the stream then fetches again from the block after
    /// where it landed. A `failed` token (its stream waits, applying
    /// nothing) that is rolled back is set `backfilling` and its stream goes
    /// on. Blocks (run it on a blocking thread).
    pub fn rollback_token(
        &self,
        symbol: &str,
        block: u64,
        source: RollbackSource,
    ) -> Result<RollbackReport, IngestError> {
        let slot = self.slot(symbol)?;
        let was_failed = slot.runtime.entry().status().0 == TokenStatus::Failed;
        let result = {
            let Some(_guard) = slot.lock_apply() else {
                return Err(IngestError::UnknownToken(symbol.to_string()));
            };
            let result = rollback::timed(&slot, block, source);
            if was_failed && result.is_ok() {
                slot.runtime
                    .entry()
                    .set_status(TokenStatus::Backfilling, None);
            }
            // Whatever the rollback did, the stream's position is stale. Bumped
            // after it, under the lock: a stream that reads the cursor on
            // seeing the bump reads the new one.
            slot.bump_generation();
            result
        };
        let report = result.map_err(|source| IngestError::Token {
            symbol: slot.symbol.clone(),
            action: "rollback",
            source,
        })?;
        info!(token = %slot.symbol, asked = block, landed = report.block.as_ref().map(|b| b.num), "operator rollback");
        Ok(report)
    }

    /// Rebuilds the token's projection from a checkpoint (genesis when
    /// `None`) up to `to_block` (the end of the log when `None`) while its
    /// stream waits (see [`replay::TokenRuntime::replay`]). The log is not
    /// changed, so the stream goes on from where it was: its next batch
    /// brings a projection stopped short of the log up to the log's end
    /// first. Blocks (run it on a blocking thread).
    pub fn replay_token(
        &self,
        symbol: &str,
        from_checkpoint: Option<&str>,
        to_block: Option<u64>,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ReplayReport, IngestError> {
        let slot = self.slot(symbol)?;
        let _guard = slot
            .lock_apply()
            .ok_or_else(|| IngestError::UnknownToken(symbol.to_string()))?;
        let started = std::time::Instant::now();
        let report = slot
            .runtime
            .replay(from_checkpoint, to_block, progress)
            .map_err(|source| IngestError::Token {
                symbol: slot.symbol.clone(),
                action: "replay",
                source,
            })?;
        metrics::histogram!("honeygraph_replay_duration_seconds", "token" => slot.symbol.clone())
            .record(started.elapsed().as_secs_f64());
        info!(token = %slot.symbol, checkpoint = from_checkpoint.unwrap_or("genesis"), block = report.block.as_ref().map(|b| b.num), "operator replay");
        Ok(report)
    }

    /// Takes a checkpoint of the token at its cursor now (or returns the one
    /// already there), between two of its stream's batches. Blocks (run it
    /// on a blocking thread).
    pub fn checkpoint_token(&self, symbol: &str) -> Result<CheckpointInfo, IngestError> {
        let slot = self.slot(symbol)?;
        let _guard = slot
            .lock_apply()
            .ok_or_else(|| IngestError::UnknownToken(symbol.to_string()))?;
        match slot.runtime.checkpoint_now() {
            Ok(info) => {
                metrics::counter!("honeygraph_checkpoints_total", "token" => slot.symbol.clone())
                    .increment(1);
                Ok(info)
            }
            Err(source) => {
                warn!(token = %slot.symbol, "operator checkpoint failed: {source}");
                Err(IngestError::Token {
                    symbol: slot.symbol.clone(),
                    action: "checkpoint",
                    source,
                })
            }
        }
    }
}
