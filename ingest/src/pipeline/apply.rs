//! Applying a stream's batches to its token, under the slot's apply lock,
//! with a checkpoint check after each batch.

use std::sync::Arc;

use state::projection::ApplySummary;
use state::LogRecord;
use tracing::warn;

use super::slot::TokenSlot;

/// What became of the batches handed to [`apply`].
pub(crate) enum Applied {
    /// Every batch was applied.
    Done(Vec<ApplySummary>),
    /// An operator moved the cursor since the blocks were fetched: nothing
    /// was applied, the stream must read the cursor again.
    Stale,
    /// The token was removed: nothing was applied.
    Removed,
    /// The first `done.len()` batches were applied, the next one failed.
    Failed {
        done: Vec<ApplySummary>,
        error: String,
    },
}

/// Applies `batches` in order (blocking: run it on a blocking thread),
/// unless the slot's generation moved past `generation`. After each batch
/// the token may take a checkpoint; a failed checkpoint is logged and
/// indexing goes on.
pub(crate) fn apply(slot: &Arc<TokenSlot>, generation: u64, batches: &[Vec<LogRecord>]) -> Applied {
    let Some(_guard) = slot.lock_apply() else {
        return Applied::Removed;
    };
    if slot.generation() != generation {
        return Applied::Stale;
    }
    let mut done = Vec::with_capacity(batches.len());
    for records in batches {
        match slot.runtime.apply_batch(records) {
            Ok(summary) => done.push(summary),
            Err(e) => {
                let error = format!("cannot apply the batch: {e}");
                return Applied::Failed {
                    done,
                    error: super::disk::explain(error, &slot.runtime.layout().root),
                };
            }
        }
        maybe_checkpoint(slot);
    }
    Applied::Done(done)
}

fn maybe_checkpoint(slot: &TokenSlot) {
    match slot.runtime.maybe_checkpoint() {
        Ok(Some(info)) => {
            metrics::counter!("honeygraph_checkpoints_total", "token" => slot.symbol.clone())
                .increment(1);
            metrics::gauge!("honeygraph_checkpoint_bytes", "token" => slot.symbol.clone())
                .set(info.bytes as f64);
        }
        Ok(None) => {}
        Err(e) => {
            metrics::counter!("honeygraph_checkpoint_failures_total", "token" => slot.symbol.clone())
                .increment(1);
            warn!(token = %slot.symbol, "cannot take a checkpoint, indexing goes on: {e}");
        }
    }
}
