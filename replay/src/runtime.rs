//! One token's writer side: the log, the projection and the catalog entry.
//!
//! Write order is what makes a crash harmless (architecture.md invariant 2):
//! a batch is first appended to the log and fsynced, then applied to LMDB in
//! one transaction that also records the log position. On open, log records
//! beyond the projection's position are applied again; a torn log tail was
//! already cut by [`EventLog::open`].

use std::sync::{Arc, Mutex, MutexGuard};

use datasets::{DatasetBackend, TokenLayout};
use state::projection::ApplySummary;
use state::{BlockRef, EventLog, LogRecord, Projection, TokenConfig, TokenEntry};
use tracing::{info, warn};

use crate::error::ReplayError;

/// How many log records recovery applies per LMDB transaction.
const RECOVERY_CHUNK: usize = 50_000;

/// A token open for writing. Ingest calls [`TokenRuntime::apply_batch`]; the
/// query side reads through [`TokenRuntime::entry`].
#[derive(Debug)]
pub struct TokenRuntime {
    entry: Arc<TokenEntry>,
    writer: Mutex<Writer>,
    layout: TokenLayout,
}

#[derive(Debug)]
struct Writer {
    log: EventLog,
    projection: Projection,
}

impl TokenRuntime {
    /// Opens the token's dataset, log and projection, and recovers: a torn
    /// log tail is cut, and log records beyond the projection's position are
    /// applied again.
    pub fn open(backend: &dyn DatasetBackend, config: TokenConfig) -> Result<Arc<Self>, ReplayError> {
        let layout = datasets::ensure_token_layout(backend, &config.symbol)?;
        let (log, report) = EventLog::open(&layout.log_dir)?;
        if let Some(detail) = &report.detail {
            warn!(token = %config.symbol, cut_bytes = report.truncated_bytes, "event log tail repaired: {detail}");
        }
        let projection = Projection::open(&layout.state_dir, &config)?;
        let mut writer = Writer { log, projection };
        recover(&config.symbol, &mut writer)?;
        let entry = Arc::new(TokenEntry::new(config, writer.projection.clone()));
        Ok(Arc::new(TokenRuntime {
            entry,
            writer: Mutex::new(writer),
            layout,
        }))
    }

    /// The catalog entry (config, projection, status).
    pub fn entry(&self) -> &Arc<TokenEntry> {
        &self.entry
    }

    /// The token's symbol.
    pub fn symbol(&self) -> String {
        self.entry.symbol()
    }

    /// The token's directories.
    pub fn layout(&self) -> &TokenLayout {
        &self.layout
    }

    /// The last block fully applied.
    pub fn cursor(&self) -> Result<Option<BlockRef>, ReplayError> {
        Ok(self.lock().projection.meta()?.cursor)
    }

    /// Appends `records` to the log (fsynced), then applies them to the
    /// projection in one transaction. `records` must end with a
    /// [`LogRecord::BlockEnd`] for the batch's last block, and start above the
    /// cursor. If the projection refuses the batch, the log is cut back so
    /// the two never disagree.
    pub fn apply_batch(&self, records: &[LogRecord]) -> Result<ApplySummary, ReplayError> {
        let symbol = self.symbol();
        let mut writer = self.lock();
        let cursor = writer.projection.meta()?.cursor;
        check_batch(&symbol, cursor.as_ref(), records)?;
        let before = writer.log.position().records;
        let after = writer.log.append(records)?;
        match writer.projection.apply(records, after.records) {
            Ok(summary) => Ok(summary),
            Err(apply_error) => {
                if let Err(cut_error) = writer.log.truncate_to_records(before) {
                    // The log now holds a batch the projection does not: recovery on the
                    // next open applies it again, so nothing is lost, but say so loudly.
                    warn!(token = %symbol, %cut_error, "could not cut the log back after a failed apply");
                }
                Err(apply_error.into())
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the writer cannot leave it half-updated on
        // disk: the log and LMDB are both crash-safe, so keep going.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A batch must end with a BlockEnd, be in chain order and start above the cursor.
fn check_batch(symbol: &str, cursor: Option<&BlockRef>, records: &[LogRecord]) -> Result<(), ReplayError> {
    let out_of_order = |detail: String| ReplayError::OutOfOrder {
        symbol: symbol.to_string(),
        detail,
    };
    let Some(LogRecord::BlockEnd(last)) = records.last() else {
        return Err(out_of_order("a batch must end with a BlockEnd record".into()));
    };
    if let Some(cursor) = cursor {
        if let Some(first) = records.first() {
            if first.block() <= cursor.num {
                return Err(out_of_order(format!(
                    "batch starts at block {} but the token is already at block {}",
                    first.block(),
                    cursor.num
                )));
            }
        }
    }
    let mut previous = 0;
    for record in records {
        if record.block() < previous || record.block() > last.num {
            return Err(out_of_order(format!(
                "record at block {} after block {previous} (batch ends at {})",
                record.block(),
                last.num
            )));
        }
        previous = record.block();
    }
    Ok(())
}

/// Applies log records beyond the projection's position; refuses a log that
/// is shorter than what the projection already applied.
fn recover(symbol: &str, writer: &mut Writer) -> Result<(), ReplayError> {
    let applied = writer.projection.meta()?.log_records;
    let logged = writer.log.position().records;
    if logged < applied {
        return Err(state::StateError::Diverged {
            symbol: symbol.to_string(),
            detail: format!(
                "the projection applied {applied} log records but the log holds only {logged}; \
                 replay the token from a checkpoint"
            ),
        }
        .into());
    }
    if logged == applied {
        return Ok(());
    }
    info!(token = %symbol, records = logged - applied, "re-applying the log tail after an unclean stop");
    let mut chunk = Vec::new();
    let mut position = applied;
    for record in writer.log.read_from_record(applied)? {
        let record = record?;
        let ends_block = matches!(record, LogRecord::BlockEnd(_));
        chunk.push(record);
        position += 1;
        // Cut chunks only after a BlockEnd so every transaction ends at a block boundary.
        if ends_block && chunk.len() >= RECOVERY_CHUNK {
            writer.projection.apply(&chunk, position)?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        writer.projection.apply(&chunk, position)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(num: u64) -> LogRecord {
        LogRecord::BlockEnd(BlockRef {
            num,
            id: format!("{num:08x}{}", "0".repeat(32)),
            timestamp: "2025-01-01T00:00:00".into(),
        })
    }

    #[test]
    fn batches_must_end_with_a_block_end_and_move_forward() {
        let cursor = match end(10) {
            LogRecord::BlockEnd(b) => b,
            LogRecord::Op(_) => unreachable!(),
        };
        assert!(check_batch("T", None, &[end(5)]).is_ok());
        assert!(check_batch("T", None, &[]).is_err());
        assert!(check_batch("T", Some(&cursor), &[end(10)]).is_err());
        assert!(check_batch("T", Some(&cursor), &[end(11)]).is_ok());
        assert!(check_batch("T", None, &[end(7), end(6)]).is_err());
    }
}
