//! Shared helpers for the event log tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use state::block::BlockRef;
use state::log::{EventLog, LogOptions, LogRecord};
use state::TokenOp;

/// An operation record at `block` with varied, deterministic content.
pub(crate) fn op(block: u64, i: u32) -> LogRecord {
    LogRecord::Op(TokenOp {
        block,
        trx_index: i,
        op_index: i % 3,
        trx_id: format!("{:040x}", u64::from(i) * 7919 + block),
        timestamp: "2025-07-08T23:09:27".into(),
        name: if i.is_multiple_of(2) {
            "send".into()
        } else {
            "power_up".into()
        },
        required_auths: if i.is_multiple_of(3) {
            vec![]
        } else {
            vec![format!("alice{i}")]
        },
        required_posting_auths: if i.is_multiple_of(3) {
            vec![format!("bob{i}")]
        } else {
            vec![]
        },
        json: format!(
            r#"{{"to":"carol","amount":{}}}"#,
            block * 1000 + u64::from(i)
        ),
    })
}

/// A block end record.
pub(crate) fn end(block: u64) -> LogRecord {
    LogRecord::BlockEnd(BlockRef {
        num: block,
        id: format!("{block:08x}{}", "ab".repeat(16)),
        timestamp: "2025-07-08T23:09:30".into(),
    })
}

/// A batch covering `blocks`: `ops_per_block` ops then a BlockEnd for each block.
pub(crate) fn batch(blocks: std::ops::RangeInclusive<u64>, ops_per_block: u32) -> Vec<LogRecord> {
    let mut out = Vec::new();
    for b in blocks {
        for i in 0..ops_per_block {
            out.push(op(b, i));
        }
        out.push(end(b));
    }
    out
}

/// Options with tiny segments so tests roll often.
pub(crate) fn tiny(segment_bytes: u64) -> LogOptions {
    LogOptions {
        segment_bytes,
        index_span_bytes: 0,
        ..LogOptions::default()
    }
}

/// Every record of the log, in order.
pub(crate) fn read_all(log: &EventLog) -> Vec<LogRecord> {
    log.read_from_record(0)
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("records decode")
}

/// Segment files in `dir`, sorted.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

/// Appends `batches` and returns, per batch, (segment file, offset, length)
/// of its frame, read off the growth of the last segment.
pub(crate) fn append_tracking(
    log: &mut EventLog,
    batches: &[Vec<LogRecord>],
) -> Vec<(PathBuf, u64, u64)> {
    let mut frames = Vec::new();
    for b in batches {
        let before = segment_files(log.dir());
        let before_len = before
            .last()
            .map(|p| std::fs::metadata(p).expect("meta").len())
            .unwrap_or(0);
        log.append(b).expect("append");
        let after = segment_files(log.dir());
        let last = after.last().expect("a segment").clone();
        let len = std::fs::metadata(&last).expect("meta").len();
        if after.len() > before.len() {
            frames.push((last, 0, len));
        } else {
            frames.push((last, before_len, len - before_len));
        }
    }
    frames
}
