//! Re-applying a stretch of the log to a projection, and finding block
//! boundaries in the log.

use state::{BlockRef, EventLog, LogRecord, Projection};

use crate::error::ReplayError;

/// How many log records one LMDB transaction applies at most (give or take
/// the rest of a block: transactions end at block boundaries).
pub(crate) const CHUNK_RECORDS: usize = 50_000;

/// Where the projection should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the range.
    AtEnd,
    /// After the first block boundary past the middle of the range, with
    /// nothing after it applied (for crash tests).
    Midway,
}

/// Applies log records `[from, to)` to `projection`, which must stand at
/// `from`, in transactions that each end at a block boundary. `to` must be
/// a block boundary (right after a `BlockEnd`). Reports progress as
/// (records applied, records in the range). Returns the records applied.
pub(crate) fn reapply(
    log: &EventLog,
    projection: &Projection,
    from: u64,
    to: u64,
    progress: &dyn Fn(u64, u64),
    stop: Stop,
) -> Result<u64, ReplayError> {
    let total = to.saturating_sub(from);
    progress(0, total);
    if total == 0 {
        return Ok(0);
    }
    let midway = from + total / 2;
    let mut chunk = Vec::new();
    let mut position = from;
    for record in log.read_from_record(from)? {
        if position >= to {
            break;
        }
        let record = record?;
        let ends_block = matches!(record, LogRecord::BlockEnd(_));
        chunk.push(record);
        position += 1;
        let full = chunk.len() >= CHUNK_RECORDS;
        let stop_here = stop == Stop::Midway && position > midway;
        if ends_block && (full || stop_here || position == to) {
            projection.apply(&chunk, position)?;
            chunk.clear();
            progress(position - from, total);
            if stop_here {
                return Ok(position - from);
            }
        }
    }
    if !chunk.is_empty() {
        // The range did not end at a block boundary (callers never ask for
        // that): apply what there is so the projection matches the log.
        projection.apply(&chunk, position)?;
        progress(position - from, total);
    }
    Ok(position - from)
}

/// The last block boundary at or below `block`, searching the log from
/// record `from` (itself a boundary): the log position right after the last
/// `BlockEnd` numbered `<= block`, and that block; `(from, None)` when there
/// is none after `from`. Reads only up to the first record above `block`.
pub(crate) fn boundary_at_or_below(
    log: &EventLog,
    from: u64,
    block: u64,
) -> Result<(u64, Option<BlockRef>), ReplayError> {
    let mut found = (from, None);
    let mut position = from;
    for record in log.read_from_record(from)? {
        let record = record?;
        if record.block() > block {
            break;
        }
        position += 1;
        if let LogRecord::BlockEnd(end) = record {
            found = (position, Some(end));
        }
    }
    Ok(found)
}
