//! Where a recorded batch's undo frames begin and end.
//!
//! A rollback lands on the start of a frame and re-applies the log from
//! there, so its cost follows the frame it lands in, not only the blocks
//! it undoes. A batch of a thousand blocks in one frame (a catch-up's, or
//! a replay's last stretch) would make a 20-block rollback undo and redo
//! all of them, and with a hash-keyed transaction index, dirty pages all
//! over a large file.

use crate::contract::{check_order, Books};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::projection::Undo;

/// How many log records one undo frame covers at least: a recorded batch
/// is cut into frames at the first block end past this many records. At 1
/// every block end cuts, so a rollback into a batch lands on its block and
/// re-applies nothing; more frames cost a replay no measurable time (run 19
/// in BENCHMARKS.md), while frames of 256 records made a 20-block rollback
/// on a 5M-operation token re-apply 220 records and take half as long again.
pub const FRAME_RECORDS: usize = 1;

/// `records` cut after the first `BlockEnd` past each [`FRAME_RECORDS`]
/// records; the last stretch holds what follows the last cut. Never
/// empty, and the stretches put together are `records`.
pub(crate) fn frame_stretches(records: &[LogRecord]) -> Vec<&[LogRecord]> {
    let mut stretches = Vec::new();
    let mut start = 0;
    for (i, record) in records.iter().enumerate() {
        let ends_block = matches!(record, LogRecord::BlockEnd(_));
        if ends_block && i + 1 - start >= FRAME_RECORDS && i + 1 < records.len() {
            stretches.push(&records[start..=i]);
            start = i + 1;
        }
    }
    stretches.push(&records[start..]);
    stretches
}

/// The stretches a batch is applied in, one undo frame each: cut by
/// [`frame_stretches`] when the batch is recorded and continues where the
/// projection stands (`books` at log position `log_records`), else the
/// whole batch. A batch cut in several is checked for order as a whole
/// first, so a refusal counts records from the batch's start, not a
/// stretch's.
pub(crate) fn batch_frames<'r>(
    records: &'r [LogRecord],
    books: &Books,
    log_records: u64,
    log_records_after: u64,
    undo: Undo,
) -> Result<Vec<&'r [LogRecord]>, StateError> {
    let contiguous = log_records.checked_add(records.len() as u64) == Some(log_records_after);
    let stretches = match undo {
        Undo::Record if contiguous => frame_stretches(records),
        Undo::Record | Undo::Skip => vec![records],
    };
    if stretches.len() > 1 {
        check_order(books, records)?;
    }
    Ok(stretches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockRef;
    use crate::op::TokenOp;
    use proptest::prelude::*;

    fn record(ends_block: bool, i: usize) -> LogRecord {
        if ends_block {
            LogRecord::BlockEnd(BlockRef {
                num: i as u64,
                id: String::new(),
                timestamp: String::new(),
            })
        } else {
            LogRecord::Op(TokenOp {
                block: i as u64,
                ..TokenOp::default()
            })
        }
    }

    proptest! {
        #[test]
        fn a_batch_is_cut_at_the_first_block_end_past_the_frame_size(
            // Mostly operations, as a chain's log is.
            ends in prop::collection::vec(prop::bool::weighted(0.01), 0..5_000)
        ) {
            let records: Vec<LogRecord> = ends.iter().enumerate().map(|(i, e)| record(*e, i)).collect();
            let stretches = frame_stretches(&records);
            let joined: Vec<LogRecord> = stretches.iter().flat_map(|s| s.iter().cloned()).collect();
            prop_assert_eq!(&joined, &records);
            let (last, cut) = stretches.split_last().expect("never empty");
            for stretch in cut {
                prop_assert!(stretch.len() >= FRAME_RECORDS);
                prop_assert!(matches!(stretch.last(), Some(LogRecord::BlockEnd(_))));
                // No earlier block end past the frame size.
                let early = &stretch[FRAME_RECORDS - 1..stretch.len() - 1];
                prop_assert!(!early.iter().any(|r| matches!(r, LogRecord::BlockEnd(_))));
            }
            // The last stretch was not cut where it could have been.
            let tail = last.get(FRAME_RECORDS.saturating_sub(1)..last.len().saturating_sub(1)).unwrap_or(&[]);
            prop_assert!(!tail.iter().any(|r| matches!(r, LogRecord::BlockEnd(_))));
            prop_assert!(!last.is_empty() || records.is_empty());
        }
    }
}
