//! The append-only event log of one token.
//!
//! API contract (other crates rely on it; the format is the log helper's to
//! design): records are appended in batches, each batch one checksummed,
//! zstd-compressed frame, fsynced before `append` returns. Segments roll at a
//! size limit. Opening the log verifies the tail and reports (never silently
//! reads) a torn or corrupt tail.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::block::{BlockNum, BlockRef};
use crate::error::StateError;
use crate::op::TokenOp;

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecord {
    /// An operation that belongs to the token.
    Op(TokenOp),
    /// Every block up to and including this one is complete: the projection
    /// pays installments due up to it and moves its cursor here. Written at
    /// the end of each ingested batch (and in head mode after every block).
    BlockEnd(BlockRef),
}

impl LogRecord {
    /// The block the record belongs to.
    pub fn block(&self) -> BlockNum {
        match self {
            LogRecord::Op(op) => op.block,
            LogRecord::BlockEnd(b) => b.num,
        }
    }
}

/// How far the log goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPosition {
    /// Number of records in the log.
    pub records: u64,
    /// Bytes on disk over all segments.
    pub bytes: u64,
    /// Block of the last record, if any.
    pub last_block: Option<BlockNum>,
}

/// What `open` found and did at the tail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Bytes cut from the tail because the last frame was torn or corrupt.
    pub truncated_bytes: u64,
    /// Human-readable description of what was cut and why, if anything was.
    pub detail: Option<String>,
}

/// Result of checking every frame's checksum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Frames checked.
    pub frames: u64,
    /// Records decoded.
    pub records: u64,
}

/// A token's event log.
#[derive(Debug)]
pub struct EventLog {
    _private: (),
}

/// Iterator over log records in order.
pub struct LogReader {
    _private: (),
}

impl Iterator for LogReader {
    type Item = Result<LogRecord, StateError>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}

impl EventLog {
    /// Opens (or creates) the log in `dir`, checking the tail.
    pub fn open(_dir: &Path) -> Result<(Self, OpenReport), StateError> {
        todo!()
    }

    /// Appends `records` as one frame and fsyncs it. Records must be in chain
    /// order and not below the last record's block.
    pub fn append(&mut self, _records: &[LogRecord]) -> Result<LogPosition, StateError> {
        todo!()
    }

    /// Current end of the log.
    pub fn position(&self) -> LogPosition {
        todo!()
    }

    /// Reads from the record with index `index` (0-based) to the end.
    pub fn read_from_record(&self, _index: u64) -> Result<LogReader, StateError> {
        todo!()
    }

    /// Reads from the first record whose block is `>= block`.
    pub fn read_from_block(&self, _block: BlockNum) -> Result<LogReader, StateError> {
        todo!()
    }

    /// Number of records whose block is `<= block` (the log position right after that block).
    pub fn records_through_block(&self, _block: BlockNum) -> Result<u64, StateError> {
        todo!()
    }

    /// Removes every record whose block is `> block`, durably.
    pub fn truncate_after_block(&mut self, _block: BlockNum) -> Result<LogPosition, StateError> {
        todo!()
    }

    /// Removes every record from index `records` on, durably.
    pub fn truncate_to_records(&mut self, _records: u64) -> Result<LogPosition, StateError> {
        todo!()
    }

    /// Checks every frame's checksum and decodes every record.
    pub fn verify(&self) -> Result<VerifyReport, StateError> {
        todo!()
    }
}
