//! Re-applying a stretch of the log to a projection, and finding block
//! boundaries in the log.

use crossbeam_channel::{Receiver, Sender};
use state::projection::Undo;
use state::{BlockRef, EventLog, LogRecord, Projection};

use crate::error::ReplayError;

/// How many log records one LMDB transaction applies at most (give or take
/// the rest of a block: transactions end at block boundaries).
pub(crate) const CHUNK_RECORDS: usize = 50_000;

/// Records the reading thread hands over at a time.
const READ_BATCH: usize = 4_096;

/// Batches the reading thread may be ahead by: a whole transaction's
/// records and a batch (14 batches, about 57k records). While the
/// contract applies one transaction, the reader decodes the next; with
/// less room (it had 16k records) the reader stopped early, and the
/// contract then waited for most of each transaction to be decoded,
/// about a fifth of a replay's time.
const READ_AHEAD_BATCHES: usize = CHUNK_RECORDS.div_ceil(READ_BATCH) + 1;

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
/// a block boundary (right after a `BlockEnd`). Transactions that end below
/// block `undo_from` are not recorded in the undo journal (0: all are).
/// Reports progress as (records applied, records in the range). Returns the
/// records applied.
pub(crate) fn reapply(
    log: &EventLog,
    projection: &Projection,
    from: u64,
    to: u64,
    progress: &dyn Fn(u64, u64),
    stop: Stop,
    undo_from: u64,
) -> Result<u64, ReplayError> {
    let range = Range {
        from,
        to,
        stop,
        undo_from,
    };
    walk(log, range, progress, &mut |chunk, position, undo| {
        projection.apply_with(&chunk, position, undo)?;
        Ok(Some(chunk))
    })
}

/// [`reapply`] with the contract of each transaction overlapping the
/// writes of the one before ([`Projection::pipelined`]): for a projection
/// nothing else writes to, a replay's work copy. The projection ends up the
/// same; progress is reported when a transaction's contract is done, just
/// before it is written.
pub(crate) fn reapply_pipelined(
    log: &EventLog,
    projection: &Projection,
    from: u64,
    to: u64,
    progress: &dyn Fn(u64, u64),
    undo_from: u64,
) -> Result<u64, ReplayError> {
    let range = Range {
        from,
        to,
        stop: Stop::AtEnd,
        undo_from,
    };
    projection.pipelined_work_copy(|pipeline| {
        Ok(walk(log, range, progress, &mut |chunk, position, undo| {
            pipeline.apply(&chunk, position, undo)?;
            // The writer needs only what the contract gathered: the
            // records go back to the reading thread, to be decoded into.
            Ok(Some(chunk))
        }))
    })?
}

/// What [`walk`] applies.
#[derive(Debug, Clone, Copy)]
struct Range {
    from: u64,
    to: u64,
    stop: Stop,
    undo_from: u64,
}

/// Applies one transaction's records, standing at the given log position
/// after them; gives the records back when the reading thread should
/// reuse (or free) them.
type ApplyChunk<'a> =
    dyn FnMut(Vec<LogRecord>, u64, Undo) -> Result<Option<Vec<LogRecord>>, ReplayError> + 'a;

/// Reads `range` from the log on a thread of its own and hands it to
/// `apply` in transactions that end at block boundaries.
fn walk(
    log: &EventLog,
    range: Range,
    progress: &dyn Fn(u64, u64),
    apply: &mut ApplyChunk<'_>,
) -> Result<u64, ReplayError> {
    let Range {
        from,
        to,
        stop,
        undo_from,
    } = range;
    let total = to.saturating_sub(from);
    progress(0, total);
    if total == 0 {
        return Ok(0);
    }
    let midway = from + total / 2;
    std::thread::scope(|scope| {
        let (records, spent) = read_ahead(scope, log, from, to)?;
        let mut chunk = Vec::with_capacity(CHUNK_RECORDS);
        let mut position = from;
        // Applies the chunk, leaving an empty one with room for `next`.
        let mut hand_over = |chunk: &mut Vec<LogRecord>, next: usize, position: u64, undo: Undo| {
            let full_chunk = std::mem::replace(chunk, Vec::with_capacity(next));
            if let Some(applied) = apply(full_chunk, position, undo)? {
                // The reader reuses (or frees) the records' strings, off this thread.
                let _ = spent.try_send(applied);
            }
            progress(position - from, total);
            Ok::<(), ReplayError>(())
        };
        for batch in records.iter() {
            for record in batch? {
                let record_block = record.block();
                // The journal's window starts at this record: a transaction
                // that records frames from further back only writes them to
                // be pruned.
                let window_starts = record_block >= undo_from
                    && matches!(chunk.last(), Some(LogRecord::BlockEnd(end)) if end.num < undo_from);
                if window_starts {
                    let next = chunk.len();
                    hand_over(&mut chunk, next, position, Undo::Skip)?;
                }
                let ends_block = matches!(record, LogRecord::BlockEnd(_));
                chunk.push(record);
                position += 1;
                let full = chunk.len() >= CHUNK_RECORDS;
                let stop_here = stop == Stop::Midway && position > midway;
                if ends_block && (full || stop_here || position == to) {
                    let undo = if record_block < undo_from {
                        Undo::Skip
                    } else {
                        Undo::Record
                    };
                    // A chunk ends at the first block end past CHUNK_RECORDS:
                    // the next one gets this one's size, and the last none.
                    let next = if position == to { 0 } else { chunk.len() };
                    hand_over(&mut chunk, next, position, undo)?;
                    if stop_here {
                        return Ok(position - from);
                    }
                }
            }
        }
        if !chunk.is_empty() {
            // The range did not end at a block boundary (callers never ask for
            // that): apply what there is so the projection matches the log.
            hand_over(&mut chunk, 0, position, Undo::Record)?;
        }
        Ok(position - from)
    })
}

/// Records read from the log by a thread of their own, so reading and
/// decompressing overlap with applying.
type Batches = Receiver<Result<Vec<LogRecord>, state::StateError>>;

/// Starts the thread that reads log records `[from, to)` in batches of
/// [`READ_BATCH`]. It also takes back the applied chunks sent on the second
/// channel, to decode later records into (or free them, past what the
/// reader keeps), and ends when the range is read or the batches' receiver
/// is gone.
fn read_ahead<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    log: &'scope EventLog,
    from: u64,
    to: u64,
) -> Result<(Batches, Sender<Vec<LogRecord>>), ReplayError> {
    let mut reader = log.read_from_record(from)?;
    let (batches, records) = crossbeam_channel::bounded(READ_AHEAD_BATCHES);
    let (spent, applied) = crossbeam_channel::bounded::<Vec<LogRecord>>(2);
    scope.spawn(move || {
        let mut position = from;
        while position < to {
            let mut batch = Vec::with_capacity(READ_BATCH);
            while position < to && batch.len() < READ_BATCH {
                match reader.next() {
                    Some(Ok(record)) => batch.push(record),
                    Some(Err(e)) => {
                        let _ = batches.send(Err(e));
                        return;
                    }
                    None => break,
                }
                position += 1;
            }
            let ended = batch.len() < READ_BATCH && position < to;
            if batches.send(Ok(batch)).is_err() || ended {
                return;
            }
            while let Ok(done) = applied.try_recv() {
                reader.recycle(done);
            }
        }
    });
    Ok((records, spent))
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
    // A replay's range may be the whole log from a checkpoint: nothing is kept.
    walk_to_boundary(log, from, block, |_| {})
}

/// [`boundary_at_or_below`], also returning the records `[from, boundary)`:
/// for a rollback with the undo journal, which re-applies them. `from` is a
/// frame start below the block, so they are at most a batch (a frame is a
/// block, or a catch-up batch with one block end).
pub(crate) fn records_to_boundary(
    log: &EventLog,
    from: u64,
    block: u64,
) -> Result<(u64, Vec<LogRecord>), ReplayError> {
    let mut records = Vec::new();
    let (end, _) = walk_to_boundary(log, from, block, |record| records.push(record))?;
    records.truncate(usize::try_from(end - from).unwrap_or(usize::MAX));
    Ok((end, records))
}

/// Reads the log from record `from` up to the first record above `block`,
/// giving each record to `each`; returns what [`boundary_at_or_below`] does.
fn walk_to_boundary(
    log: &EventLog,
    from: u64,
    block: u64,
    mut each: impl FnMut(LogRecord),
) -> Result<(u64, Option<BlockRef>), ReplayError> {
    let mut found = (from, None);
    let mut position = from;
    for record in log.read_from_record(from)? {
        let record = record?;
        if record.block() > block {
            break;
        }
        position += 1;
        if let LogRecord::BlockEnd(end) = &record {
            found = (position, Some(end.clone()));
        }
        each(record);
    }
    Ok(found)
}
