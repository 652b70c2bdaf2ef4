//! The append-only event log of one token.
//!
//! API contract (other crates rely on it): records are appended in batches,
//! each batch one checksummed, zstd-compressed frame, fsynced before `append`
//! returns. Segments roll at a size limit. Opening the log verifies the tail
//! and reports (never silently reads) a torn or corrupt tail.
//!
//! On disk (see `frame` and `segment` for the byte layouts): the log
//! directory holds segment files `r<first record>-b<first block>.seg`, each a
//! sequence of frames. A frame's 48-byte header carries the record count,
//! the index of its first record, its first and last block and a header
//! checksum, so `open` learns the whole log's shape from headers alone and
//! keeps a small sparse index in memory; payloads are only read (and their
//! frame checksum checked) when records are read. A `truncate.pending` file
//! exists only while a truncation that rewrites a frame is in progress; see
//! `truncate` for why that makes truncation crash-safe.

mod codec;
mod frame;
mod index;
mod reader;
mod recover;
mod segment;
mod spares;
mod truncate;

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::block::{BlockNum, BlockRef};
use crate::error::StateError;
use crate::op::TokenOp;

use self::frame::EncodeError;
use self::index::FrameIndex;
use self::reader::FrameCursor;
pub use self::reader::{LogReader, RecordSink};
use self::segment::Segment;

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
    /// Human-readable description of what was cut and why, if anything was
    /// (also set when `open` finished a truncation a crash interrupted).
    pub detail: Option<String>,
}

impl OpenReport {
    fn add_detail(&mut self, detail: String) {
        self.detail = Some(match self.detail.take() {
            Some(before) => format!("{before}; {detail}"),
            None => detail,
        });
    }
}

/// Result of checking every frame's checksum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Frames checked.
    pub frames: u64,
    /// Records decoded.
    pub records: u64,
}

/// Tuning of a log; the defaults suit production, tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// A new segment starts when the next frame would take the current one
    /// past this many bytes (a single larger frame gets a segment of its own).
    pub segment_bytes: u64,
    /// Bytes of frames one in-memory index entry covers: lookups read at
    /// most about this much of frame headers; memory is one small entry per
    /// this many bytes of log. 0 keeps one entry per frame.
    pub index_span_bytes: u64,
    /// zstd compression level for new frames.
    pub zstd_level: i32,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_bytes: 64 * 1024 * 1024,
            index_span_bytes: 256 * 1024,
            zstd_level: 3,
        }
    }
}

/// A token's event log.
///
/// One process may have a log directory open at a time (the log takes no
/// lock; the caller's layout guarantees it). Readers returned by the `read_*`
/// methods are independent of the log and see it as it was when created; do
/// not truncate while a reader is in use.
#[derive(Debug)]
pub struct EventLog {
    dir: PathBuf,
    options: LogOptions,
    /// Every segment in log order; all but the last are complete.
    segments: Vec<Segment>,
    index: FrameIndex,
    records: u64,
    last_block: Option<BlockNum>,
    /// The last segment, open for writing.
    writer: Option<File>,
    /// Set when a failed write or fsync left the disk in a state this handle
    /// no longer knows for sure; every later change is refused until reopen.
    broken: Option<String>,
}

impl EventLog {
    /// Opens (or creates) the log in `dir`, checking the tail.
    pub fn open(dir: &Path) -> Result<(Self, OpenReport), StateError> {
        Self::open_with(dir, LogOptions::default())
    }

    /// Opens (or creates) the log in `dir` with explicit options.
    ///
    /// Reads every frame header (not the payloads) and checks the last
    /// frame's checksum. A torn or corrupt tail (an incomplete or invalid
    /// frame at the end of the last segment with no valid frame after it, or
    /// a last frame whose checksum fails) is cut, fsynced, logged with a
    /// warning and described in the [`OpenReport`]. Anything wrong before a
    /// good frame, or a missing segment, is a [`StateError::Corrupt`] naming
    /// the file and byte offset, and nothing is changed.
    pub fn open_with(dir: &Path, options: LogOptions) -> Result<(Self, OpenReport), StateError> {
        recover::open(dir, options)
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `records` as one frame and fsyncs it. Records must be in chain
    /// order and not below the last record's block; otherwise nothing is
    /// written and the error is [`StateError::InvalidArgument`]. An empty
    /// batch writes nothing.
    ///
    /// If writing fails (a full disk, say) the partial frame is cut off again
    /// and the log stays usable; if even that or the fsync fails, the handle
    /// refuses further changes and the log must be reopened (which repairs
    /// the tail).
    pub fn append(&mut self, records: &[LogRecord]) -> Result<LogPosition, StateError> {
        self.check_usable()?;
        if records.is_empty() {
            return Ok(self.position());
        }
        let mut previous = self.last_block;
        for (i, record) in records.iter().enumerate() {
            let block = record.block();
            if let Some(previous) = previous.filter(|p| block < *p) {
                return Err(StateError::InvalidArgument(format!(
                    "log records must be in chain order: record {i} of the batch is at block \
                     {block}, below block {previous} before it"
                )));
            }
            previous = Some(block);
        }
        let (header, bytes) = frame::encode_frame(records, self.records, self.options.zstd_level)
            .map_err(|e| match e {
            EncodeError::TooLarge(what) => {
                StateError::InvalidArgument(format!("batch too large for one log frame: {what}"))
            }
            EncodeError::Compress(why) => StateError::io(&self.dir, std::io::Error::other(why)),
        })?;
        let frame_len = bytes.len() as u64;
        let roll = match self.segments.last() {
            None => true,
            Some(s) => s.len > 0 && s.len.saturating_add(frame_len) > self.options.segment_bytes,
        };
        let offset = if roll {
            self.write_new_segment(header.first_block, &bytes)?;
            0
        } else {
            self.write_to_last_segment(&bytes)?
        };
        let seg = self.segments.len() - 1;
        self.segments[seg].len = offset + frame_len;
        self.index.push(seg, offset, &header);
        self.records = header.end_record();
        self.last_block = Some(header.last_block);
        Ok(self.position())
    }

    /// Creates the next segment holding `frame`, durably (file and directory).
    fn write_new_segment(&mut self, first_block: BlockNum, frame: &[u8]) -> Result<(), StateError> {
        let segment = Segment {
            first_record: self.records,
            first_block,
            len: 0,
        };
        let path = segment.path(&self.dir);
        let mut file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StateError::io(&path, e))?;
        let written = file
            .write_all(frame)
            .and_then(|()| file.sync_data())
            .map_err(|e| StateError::io(&path, e))
            .and_then(|()| segment::sync_dir(&self.dir));
        if let Err(e) = written {
            // Leave no half-written segment behind; if removing it fails too,
            // only a reopen (which cuts torn tails) can tell what is on disk.
            let cleaned = std::fs::remove_file(&path)
                .map_err(|e| StateError::io(&path, e))
                .and_then(|()| segment::sync_dir(&self.dir));
            if let Err(cleanup) = cleaned {
                self.broken = Some(format!(
                    "creating segment {} failed ({e}) and removing it failed ({cleanup})",
                    path.display()
                ));
            }
            return Err(e);
        }
        self.writer = Some(file);
        self.segments.push(segment);
        Ok(())
    }

    /// Writes `frame` at the end of the last segment and fsyncs; returns its offset.
    fn write_to_last_segment(&mut self, frame: &[u8]) -> Result<u64, StateError> {
        let (Some(segment), Some(file)) = (self.segments.last(), self.writer.as_mut()) else {
            return Err(StateError::InvalidArgument(
                "the log has no segment open for writing".into(),
            ));
        };
        let offset = segment.len;
        let path = segment.path(&self.dir);
        let written = file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(frame));
        if let Err(e) = written {
            // Cut the partial frame so the file ends at the last good frame again.
            if let Err(cut) = file.set_len(offset).and_then(|()| file.sync_all()) {
                self.broken = Some(format!(
                    "appending to {} failed ({e}) and cutting the partial frame failed ({cut})",
                    path.display()
                ));
            }
            return Err(StateError::io(&path, e));
        }
        if let Err(e) = file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty pages:
            // what is on disk is unknown until the log is reopened.
            self.broken = Some(format!("fsync of {} failed: {e}", path.display()));
            return Err(StateError::io(&path, e));
        }
        Ok(offset)
    }

    fn check_usable(&self) -> Result<(), StateError> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(StateError::Corrupt {
                path: self.dir.clone(),
                detail: format!(
                    "the log refuses changes after an earlier failure; reopen it to repair: {why}"
                ),
            }),
        }
    }

    /// Current end of the log.
    pub fn position(&self) -> LogPosition {
        LogPosition {
            records: self.records,
            bytes: self.size_on_disk(),
            last_block: self.last_block,
        }
    }

    /// Bytes on disk over all segments (the same as `position().bytes`).
    pub fn size_on_disk(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// A frame cursor at index entry `entry`, reading up to the end of the log.
    fn cursor_at_entry(&self, entry: usize) -> Option<FrameCursor> {
        let e = self.index.get(entry)?;
        Some(FrameCursor::new(
            &self.dir,
            self.segments.clone(),
            e.segment,
            e.offset,
            e.first_record,
            self.records,
        ))
    }

    /// Reads from the record with index `index` (0-based) to the end. `index`
    /// equal to the record count gives an empty reader; beyond it is an
    /// [`StateError::InvalidArgument`].
    pub fn read_from_record(&self, index: u64) -> Result<LogReader, StateError> {
        if index > self.records {
            return Err(StateError::InvalidArgument(format!(
                "cannot read from log record {index}: the log holds {} records",
                self.records
            )));
        }
        Ok(self
            .index
            .find_record(index)
            .and_then(|entry| self.cursor_at_entry(entry))
            .map_or_else(LogReader::empty, |c| LogReader::from_record(c, index)))
    }

    /// Reads from the first record whose block is `>= block` (empty past the end).
    pub fn read_from_block(&self, block: BlockNum) -> Result<LogReader, StateError> {
        Ok(self
            .index
            .find_block_at_least(block)
            .and_then(|entry| self.cursor_at_entry(entry))
            .map_or_else(LogReader::empty, |c| LogReader::from_block(c, block)))
    }

    /// Number of records whose block is `<= block` (the log position right after that block).
    pub fn records_through_block(&self, block: BlockNum) -> Result<u64, StateError> {
        let Some(entry) = self.index.find_block_above(block) else {
            return Ok(self.records);
        };
        let Some(mut cursor) = self.cursor_at_entry(entry) else {
            return Ok(self.records);
        };
        let mut count = self.index.get(entry).map_or(0, |e| e.first_record);
        while let Some(header) = cursor.next_header()? {
            if header.last_block <= block {
                count += u64::from(header.count);
                cursor.skip_payload()?;
            } else {
                if header.first_block <= block {
                    let records = cursor.read_records()?;
                    count += records.iter().take_while(|r| r.block() <= block).count() as u64;
                }
                break;
            }
        }
        Ok(count)
    }

    /// Removes every record whose block is `> block`, durably.
    pub fn truncate_after_block(&mut self, block: BlockNum) -> Result<LogPosition, StateError> {
        self.check_usable()?;
        let keep = self.records_through_block(block)?;
        self.truncate_to_records(keep)
    }

    /// Removes every record from index `records` on, durably. `records`
    /// beyond the record count is an [`StateError::InvalidArgument`].
    pub fn truncate_to_records(&mut self, records: u64) -> Result<LogPosition, StateError> {
        truncate::truncate_to_records(self, records)
    }

    /// Checks every frame's checksum and decodes every record.
    pub fn verify(&self) -> Result<VerifyReport, StateError> {
        let mut report = VerifyReport::default();
        let Some(mut cursor) = self.cursor_at_entry(0) else {
            return Ok(report);
        };
        while cursor.next_header()?.is_some() {
            report.records += cursor.read_records()?.len() as u64;
            report.frames += 1;
        }
        Ok(report)
    }
}
