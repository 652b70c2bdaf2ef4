//! Re-applying a stretch of the log to a projection, and finding block
//! boundaries in the log.

use state::projection::Undo;
use state::{BlockRef, EventLog, LogRecord, Projection};

use crate::chunk_reader::{read_chunks, Chunk};
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
pub(crate) struct Range {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) stop: Stop,
    pub(crate) undo_from: u64,
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
    let total = range.to.saturating_sub(range.from);
    progress(0, total);
    if total == 0 {
        return Ok(0);
    }
    std::thread::scope(|scope| {
        let (chunks, spent) = read_chunks(scope, log, range)?;
        let mut applied_to = range.from;
        for chunk in chunks.iter() {
            let Chunk {
                records,
                position,
                undo,
            } = chunk?;
            if let Some(applied) = apply(records, position, undo)? {
                // The reader reuses (or frees) the records' strings, off this thread.
                let _ = spent.try_send(applied);
            }
            applied_to = position;
            progress(position - range.from, total);
        }
        Ok(applied_to - range.from)
    })
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

#[cfg(test)]
mod tests {
    use state::{BlockRef, EventLog, LogRecord, TokenOp};

    use super::*;

    const OPS_A_BLOCK: u32 = 9;
    const BLOCKS: u64 = 12_000;

    /// A log of `BLOCKS` blocks, numbered from 1, each with `OPS_A_BLOCK`
    /// operations and its block end: 120,000 records, more than two
    /// transactions' worth.
    fn log() -> (tempfile::TempDir, EventLog) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (mut log, _) = EventLog::open(dir.path()).expect("open the log");
        let mut batch = Vec::new();
        for num in 1..=BLOCKS {
            for op_index in 0..OPS_A_BLOCK {
                batch.push(LogRecord::Op(TokenOp {
                    block: num,
                    trx_index: op_index,
                    op_index: 0,
                    trx_id: format!("{num:08x}{op_index:032x}"),
                    timestamp: "2025-01-01T00:00:00".into(),
                    name: "send".into(),
                    required_auths: vec!["alice".into()],
                    required_posting_auths: Vec::new(),
                    json: r#"{"to":"bob","amount":1}"#.into(),
                }));
            }
            batch.push(LogRecord::BlockEnd(BlockRef {
                num,
                id: format!("{num:08x}{}", "0".repeat(32)),
                timestamp: "2025-01-01T00:00:00".into(),
            }));
            if num % 1_000 == 0 {
                log.append(&batch).expect("append");
                batch.clear();
            }
        }
        (dir, log)
    }

    /// One applied transaction: its first and last records' blocks, its
    /// length, whether it ends with a block end, where it leaves the log,
    /// and the undo choice.
    #[derive(Debug, PartialEq)]
    struct Cut {
        first_block: u64,
        last_block: u64,
        len: usize,
        ends_block: bool,
        position: u64,
        undo: Undo,
    }

    fn cuts(log: &EventLog, range: Range) -> (u64, Vec<Cut>) {
        let mut cuts = Vec::new();
        let applied = walk(log, range, &|_, _| {}, &mut |records, position, undo| {
            let first = records.first().expect("no empty transaction");
            let last = records.last().expect("no empty transaction");
            cuts.push(Cut {
                first_block: first.block(),
                last_block: last.block(),
                len: records.len(),
                ends_block: matches!(last, LogRecord::BlockEnd(_)),
                position,
                undo,
            });
            Ok(Some(records))
        })
        .expect("walk");
        (applied, cuts)
    }

    fn records_to(block: u64) -> u64 {
        block * u64::from(OPS_A_BLOCK + 1)
    }

    #[test]
    fn transactions_end_at_the_first_block_end_past_the_chunk_size() {
        let (_dir, log) = log();
        let to = records_to(BLOCKS);
        let range = Range {
            from: 0,
            to,
            stop: Stop::AtEnd,
            undo_from: 0,
        };
        let (applied, cuts) = cuts(&log, range);
        assert_eq!(applied, to);
        let block_records = (OPS_A_BLOCK + 1) as usize;
        let mut position = 0;
        for (i, cut) in cuts.iter().enumerate() {
            assert!(cut.ends_block, "{cut:?}");
            assert_eq!(cut.undo, Undo::Record, "{cut:?}");
            assert_eq!(cut.position, position + cut.len as u64, "{cut:?}");
            if i + 1 < cuts.len() {
                assert!(cut.len >= CHUNK_RECORDS, "{cut:?}");
                assert!(cut.len < CHUNK_RECORDS + block_records, "{cut:?}");
            }
            position = cut.position;
        }
        assert_eq!(position, to);
        assert_eq!(cuts.len(), 3, "{cuts:?}");
    }

    #[test]
    fn the_undo_window_starts_a_transaction_of_its_own() {
        let (_dir, log) = log();
        // Block 8,001 starts at record 80,000, inside the second
        // transaction: the first is full before the window, the second is
        // cut where the window starts, and only the rest are recorded.
        let range = Range {
            from: 0,
            to: records_to(BLOCKS),
            stop: Stop::AtEnd,
            undo_from: 8_001,
        };
        let (_, cuts) = cuts(&log, range);
        let before_window = |first_block, last_block, len, position| Cut {
            first_block,
            last_block,
            len,
            ends_block: true,
            position,
            undo: Undo::Skip,
        };
        assert_eq!(cuts[0], before_window(1, 5_000, 50_000, 50_000));
        assert_eq!(cuts[1], before_window(5_001, 8_000, 30_000, 80_000));
        assert_eq!(cuts[2].first_block, 8_001);
        assert!(
            cuts[2..].iter().all(|cut| cut.undo == Undo::Record),
            "{cuts:?}"
        );
    }

    #[test]
    fn the_transactions_hold_the_ranges_records_in_order() {
        let (_dir, log) = log();
        // Frames hold 1,000 blocks (10,000 records): the second range
        // starts and ends inside frames, and its window cut carries a
        // record over into the next transaction.
        let ranges = [
            (0, records_to(BLOCKS), 0),
            (records_to(1_500), records_to(11_250), 8_001),
        ];
        for (from, to, undo_from) in ranges {
            let range = Range {
                from,
                to,
                stop: Stop::AtEnd,
                undo_from,
            };
            let mut applied = Vec::new();
            walk(&log, range, &|_, _| {}, &mut |records, _, _| {
                applied.extend(records.iter().cloned());
                Ok(Some(records))
            })
            .expect("walk");
            let expected: Vec<LogRecord> = log
                .read_from_record(from)
                .expect("read")
                .take((to - from) as usize)
                .collect::<Result<_, _>>()
                .expect("records");
            assert_eq!(applied.len(), expected.len());
            assert!(applied == expected, "the records of {from}..{to} differ");
        }
    }

    #[test]
    fn a_midway_stop_applies_up_to_the_first_block_end_past_the_middle() {
        let (_dir, log) = log();
        // From block 1,001 to block 2,000: the middle is record 15,000, in
        // block 1,501, which ends at record 15,010.
        let range = Range {
            from: records_to(1_000),
            to: records_to(2_000),
            stop: Stop::Midway,
            undo_from: 0,
        };
        let (applied, cuts) = cuts(&log, range);
        assert_eq!(applied, 5_010);
        let last = cuts.last().expect("a transaction");
        assert_eq!((last.last_block, last.position), (1_501, 15_010));
        assert_eq!(cuts.len(), 1, "{cuts:?}");
    }
}
