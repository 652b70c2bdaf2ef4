//! Sequential reading of frames and records, one frame in memory at a time.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::block::BlockNum;
use crate::error::StateError;
use crate::log::frame::{self, FrameHeader, FrameRecords, Unzip, HEADER_LEN, TRAILER_LEN};
use crate::log::segment::Segment;
use crate::log::spares::Spares;
use crate::log::LogRecord;

/// Walks frames from a given frame to a given record count, across segments.
///
/// It works on a snapshot of the segment list, so it needs no borrow of the
/// log: appends made meanwhile are not seen, and a truncation made meanwhile
/// makes it fail with a `Corrupt` error rather than return other records.
pub(super) struct FrameCursor {
    dir: PathBuf,
    segments: Vec<Segment>,
    seg: usize,
    offset: u64,
    reader: Option<BufReader<File>>,
    next_record: u64,
    end_record: u64,
    pending: Option<(FrameHeader, [u8; HEADER_LEN])>,
    /// What reading frames' payloads takes, kept from frame to frame: a
    /// zstd context (made at the first payload), the compressed bytes, and
    /// the decompressed bytes of the last frame opened.
    unzip: Option<Unzip>,
    payload: Vec<u8>,
    raw: Vec<u8>,
}

impl FrameCursor {
    /// A cursor at the frame at `offset` of segment `seg`, whose first record
    /// is `first_record`, that stops before record `end_record`.
    pub(super) fn new(
        dir: &Path,
        segments: Vec<Segment>,
        seg: usize,
        offset: u64,
        first_record: u64,
        end_record: u64,
    ) -> Self {
        FrameCursor {
            dir: dir.to_path_buf(),
            segments,
            seg,
            offset,
            reader: None,
            next_record: first_record,
            end_record,
            pending: None,
            unzip: None,
            payload: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// Segment position and byte offset of the frame whose header was last
    /// returned (or of the next frame).
    pub(super) fn location(&self) -> (usize, u64) {
        (self.seg, self.offset)
    }

    fn path(&self) -> PathBuf {
        self.segments
            .get(self.seg)
            .map(|s| s.path(&self.dir))
            .unwrap_or_else(|| self.dir.clone())
    }

    fn corrupt(&self, detail: String) -> StateError {
        self.corrupt_at(self.offset, detail)
    }

    /// A `Corrupt` error about the frame at byte `offset` of the segment
    /// the cursor is in.
    fn corrupt_at(&self, offset: u64, detail: String) -> StateError {
        StateError::Corrupt {
            path: self.path(),
            detail: format!("frame at byte {offset}: {detail}"),
        }
    }

    /// Reads the next frame's header; `None` once `end_record` is reached.
    /// Call [`Self::skip_payload`] or [`Self::read_records`] before the next call.
    pub(super) fn next_header(&mut self) -> Result<Option<FrameHeader>, StateError> {
        if let Some((header, _)) = self.pending {
            return Ok(Some(header));
        }
        if self.next_record >= self.end_record {
            return Ok(None);
        }
        while self
            .segments
            .get(self.seg)
            .is_some_and(|s| self.offset >= s.len)
        {
            self.seg += 1;
            self.offset = 0;
            self.reader = None;
        }
        let Some(segment) = self.segments.get(self.seg) else {
            return Err(StateError::Corrupt {
                path: self.dir.clone(),
                detail: format!(
                    "the log ends at record {} but should reach record {} \
                     (was it truncated while being read?)",
                    self.next_record, self.end_record
                ),
            });
        };
        let seg_len = segment.len;
        let path = segment.path(&self.dir);
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => {
                let mut file = File::open(&path).map_err(|e| StateError::io(&path, e))?;
                file.seek(SeekFrom::Start(self.offset))
                    .map_err(|e| StateError::io(&path, e))?;
                self.reader
                    .insert(BufReader::with_capacity(64 * 1024, file))
            }
        };
        let mut bytes = [0u8; HEADER_LEN];
        if let Err(e) = reader.read_exact(&mut bytes) {
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt("the segment ends inside a frame header".into())
            } else {
                StateError::io(&path, e)
            });
        }
        let header = frame::parse_header(&bytes).map_err(|e| {
            self.corrupt(match e {
                frame::HeaderError::Invalid(why) | frame::HeaderError::Unsupported(why) => why,
            })
        })?;
        if header.first_record != self.next_record {
            return Err(self.corrupt(format!(
                "frame starts at record {} where record {} was expected",
                header.first_record, self.next_record
            )));
        }
        if header.frame_len() > seg_len - self.offset {
            return Err(self.corrupt(format!(
                "frame of {} bytes runs past the segment's end",
                header.frame_len()
            )));
        }
        self.pending = Some((header, bytes));
        Ok(Some(header))
    }

    /// Moves past the pending frame without reading its payload.
    pub(super) fn skip_payload(&mut self) -> Result<(), StateError> {
        let Some((header, _)) = self.pending.take() else {
            return Ok(());
        };
        let path = self.path();
        if let Some(reader) = &mut self.reader {
            let skip = i64::from(header.payload_len) + TRAILER_LEN as i64;
            reader
                .seek_relative(skip)
                .map_err(|e| StateError::io(&path, e))?;
        }
        self.offset += header.frame_len();
        self.next_record = header.end_record();
        Ok(())
    }

    /// Checks the pending frame's checksum and decodes its records.
    pub(super) fn read_records(&mut self) -> Result<Vec<LogRecord>, StateError> {
        self.read_records_reusing(&mut Spares::default())
    }

    /// [`Self::read_records`], decoding into records taken from `spares`.
    pub(super) fn read_records_reusing(
        &mut self,
        spares: &mut Spares,
    ) -> Result<Vec<LogRecord>, StateError> {
        let Some((header, at)) = self.open_pending()? else {
            return Ok(Vec::new());
        };
        frame::decode_records(&header, &self.raw, spares).map_err(|why| self.corrupt_at(at, why))
    }

    /// Checks the pending frame's checksum and decompresses its payload
    /// into `self.raw`; moves past the frame and returns its byte offset in
    /// the segment, for errors about its records. `None` when no frame is
    /// pending.
    fn open_pending(&mut self) -> Result<Option<(FrameHeader, u64)>, StateError> {
        let Some((header, header_bytes)) = self.pending.take() else {
            return Ok(None);
        };
        let path = self.path();
        let mut unzip = match self.unzip.take() {
            Some(unzip) => unzip,
            None => Unzip::new().map_err(|why| self.corrupt(why))?,
        };
        let Some(reader) = &mut self.reader else {
            return Ok(None);
        };
        self.payload.clear();
        self.payload.resize(header.payload_len as usize, 0);
        let mut trailer = [0u8; TRAILER_LEN];
        reader
            .read_exact(&mut self.payload)
            .and_then(|()| reader.read_exact(&mut trailer))
            .map_err(|e| StateError::io(&path, e))?;
        let opened = frame::open_frame(
            &header,
            &header_bytes,
            &self.payload,
            trailer,
            &mut unzip,
            &mut self.raw,
        );
        self.unzip = Some(unzip);
        opened.map_err(|why| self.corrupt(why))?;
        let at = self.offset;
        self.offset += header.frame_len();
        self.next_record = header.end_record();
        Ok(Some((header, at)))
    }
}

/// Where [`LogReader::drain_into`] decodes records: into slots the sink
/// lends, one at a time, so that records reach their place without moves.
pub trait RecordSink {
    /// The record to decode the next one into, reusing its strings; the
    /// same one again until [`RecordSink::filled`] takes it.
    fn slot(&mut self) -> &mut LogRecord;
    /// Takes the record just decoded into the slot; false stops the reading.
    fn filled(&mut self) -> bool;
}

/// Where a reader starts inside the first frame it decodes.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// At this record index.
    Record(u64),
    /// At the first record at or above this block.
    Block(BlockNum),
    /// Already started.
    Started,
}

impl Start {
    /// Whether the reader starts after every record of the frame `header`
    /// heads.
    fn is_wholly_after(&self, header: &FrameHeader) -> bool {
        match *self {
            Start::Record(index) => header.end_record() <= index,
            Start::Block(block) => header.last_block < block,
            Start::Started => false,
        }
    }

    /// Whether the record at log position `index` and block `block` is at or
    /// after the start.
    fn admits(&self, index: u64, block: BlockNum) -> bool {
        match *self {
            Start::Record(first) => index >= first,
            Start::Block(first) => block >= first,
            Start::Started => true,
        }
    }
}

/// Iterator over log records in order, decompressing one frame at a time.
///
/// It owns its file handles, so it can outlive a borrow of the log; it reads
/// the log as it was when created (records appended later are not returned).
/// After an error it ends.
pub struct LogReader {
    cursor: Option<FrameCursor>,
    start: Start,
    buffered: std::vec::IntoIter<LogRecord>,
    /// Records given back with [`LogReader::recycle`], decoded into next.
    spares: Spares,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("location", &self.cursor.as_ref().map(FrameCursor::location))
            .field("buffered", &self.buffered.len())
            .field("spares", &self.spares.len())
            .finish()
    }
}

impl LogReader {
    /// A reader that returns nothing.
    pub(super) fn empty() -> Self {
        LogReader {
            cursor: None,
            start: Start::Started,
            buffered: Vec::new().into_iter(),
            spares: Spares::default(),
        }
    }

    /// Reads from record `index` on; `cursor` sits at or before its frame.
    pub(super) fn from_record(cursor: FrameCursor, index: u64) -> Self {
        LogReader {
            cursor: Some(cursor),
            start: Start::Record(index),
            buffered: Vec::new().into_iter(),
            spares: Spares::default(),
        }
    }

    /// Reads from the first record at or above `block`; `cursor` sits at or before its frame.
    pub(super) fn from_block(cursor: FrameCursor, block: BlockNum) -> Self {
        LogReader {
            cursor: Some(cursor),
            start: Start::Block(block),
            buffered: Vec::new().into_iter(),
            spares: Spares::default(),
        }
    }

    /// Gives back records this reader returned, once the caller is done
    /// with them: later frames are decoded into their strings instead of
    /// new ones, which saves a long read most of its allocating and freeing.
    pub fn recycle(&mut self, records: Vec<LogRecord>) {
        self.spares.keep(records);
    }

    /// Decodes the rest of the records into `sink`'s slots, until the log (as
    /// it was when the reader was made) ends or the sink stops it. A frame's
    /// records are checked as they come, so a frame that turns out bad
    /// further on (its checksum right, its records not: a bug, not a disk
    /// error) has given its earlier records before the error.
    pub fn drain_into(mut self, sink: &mut impl RecordSink) -> Result<(), StateError> {
        for record in self.buffered.by_ref() {
            *sink.slot() = record;
            if !sink.filled() {
                return Ok(());
            }
        }
        let Some(mut cursor) = self.cursor.take() else {
            return Ok(());
        };
        while let Some(header) = cursor.next_header()? {
            if self.start.is_wholly_after(&header) {
                cursor.skip_payload()?;
                continue;
            }
            let Some((header, at)) = cursor.open_pending()? else {
                return Ok(());
            };
            let mut records = FrameRecords::new(&header, &cursor.raw);
            while !records.is_done() {
                let index = header.first_record + u64::from(records.decoded());
                let slot = sink.slot();
                records
                    .decode_into(slot, &mut self.spares)
                    .map_err(|why| cursor.corrupt_at(at, why))?;
                if self.start.admits(index, slot.block()) && !sink.filled() {
                    return Ok(());
                }
            }
            self.start = Start::Started;
        }
        Ok(())
    }

    fn next_frame(&mut self) -> Result<bool, StateError> {
        let Some(cursor) = &mut self.cursor else {
            return Ok(false);
        };
        loop {
            let Some(header) = cursor.next_header()? else {
                return Ok(false);
            };
            if self.start.is_wholly_after(&header) {
                cursor.skip_payload()?;
                continue;
            }
            let mut records = cursor.read_records_reusing(&mut self.spares)?;
            let start = std::mem::replace(&mut self.start, Start::Started);
            let mut index = header.first_record;
            records.retain(|record| {
                let admitted = start.admits(index, record.block());
                index += 1;
                admitted
            });
            self.buffered = records.into_iter();
            return Ok(true);
        }
    }
}

impl Iterator for LogReader {
    type Item = Result<LogRecord, StateError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(record) = self.buffered.next() {
                return Some(Ok(record));
            }
            match self.next_frame() {
                Ok(true) => continue,
                Ok(false) => {
                    self.cursor = None;
                    return None;
                }
                Err(e) => {
                    self.cursor = None;
                    return Some(Err(e));
                }
            }
        }
    }
}
