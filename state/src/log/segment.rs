//! Segment files: naming, listing, durability helpers and the header scan.
//!
//! A segment is a file of back-to-back frames named
//! `r<first record, 20 digits>-b<first block, 20 digits>.seg`, so a directory
//! listing shows where each segment starts and sorts in log order.

use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::block::BlockNum;
use crate::error::StateError;
use crate::log::frame::{self, FrameHeader, HeaderError, HEADER_LEN, TRAILER_LEN};

/// Suffix of segment files.
const SEGMENT_SUFFIX: &str = ".seg";

/// One segment file as the log knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
    /// Index of the segment's first record in the log.
    pub(super) first_record: u64,
    /// Block of the segment's first record.
    pub(super) first_block: BlockNum,
    /// Bytes in the file.
    pub(super) len: u64,
}

impl Segment {
    /// The segment's file name.
    pub(super) fn file_name(&self) -> String {
        segment_file_name(self.first_record, self.first_block)
    }

    /// The segment's path inside `dir`.
    pub(super) fn path(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }
}

/// The file name of a segment starting at `first_record` / `first_block`.
pub(super) fn segment_file_name(first_record: u64, first_block: BlockNum) -> String {
    format!("r{first_record:020}-b{first_block:020}{SEGMENT_SUFFIX}")
}

/// Parses a segment file name back into (first record, first block).
pub(super) fn parse_segment_name(name: &str) -> Option<(u64, BlockNum)> {
    let stem = name.strip_suffix(SEGMENT_SUFFIX)?;
    let (record, block) = stem.strip_prefix('r')?.split_once("-b")?;
    let digits = |s: &str| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(record) || !digits(block) {
        return None;
    }
    Some((record.parse().ok()?, block.parse().ok()?))
}

/// The segments in `dir` as (first record, first block), in log order.
/// Files with other names are ignored.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<(u64, BlockNum)>, StateError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StateError::io(dir, e))? {
        let entry = entry.map_err(|e| StateError::io(dir, e))?;
        if let Some(parsed) = entry.file_name().to_str().and_then(parse_segment_name) {
            found.push(parsed);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Makes creations, renames and removals in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StateError::io(dir, e))
}

/// What stopped a header scan before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ScanStop {
    /// Fewer bytes than a header are left.
    ShortHeader {
        /// Bytes left in the file.
        have: u64,
    },
    /// The bytes are not a frame header (magic or header checksum).
    NotAFrame(String),
    /// The header is fine but the frame runs past the end of the file.
    ShortFrame {
        /// Bytes the frame needs.
        need: u64,
        /// Bytes left in the file.
        have: u64,
    },
}

impl std::fmt::Display for ScanStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanStop::ShortHeader { have } => {
                write!(f, "incomplete frame header ({have} of {HEADER_LEN} bytes)")
            }
            ScanStop::NotAFrame(why) => write!(f, "not a frame: {why}"),
            ScanStop::ShortFrame { need, have } => {
                write!(f, "incomplete frame ({have} of {need} bytes)")
            }
        }
    }
}

/// One step of a header scan.
#[derive(Debug)]
pub(super) enum ScanItem {
    /// A frame whose header checks out and whose bytes are all present.
    Frame {
        /// Byte offset of the frame in the file.
        offset: u64,
        /// Its header.
        header: FrameHeader,
    },
    /// The scan cannot go on at `offset`.
    Stop {
        /// Byte offset where the problem starts.
        offset: u64,
        /// What is wrong there.
        problem: ScanStop,
    },
}

/// Walks the frame headers of one file without reading payloads.
pub(super) struct HeaderScan {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    end: u64,
    done: bool,
}

impl HeaderScan {
    /// Scans `file` (at `path`) from `offset` up to `end` bytes.
    pub(super) fn new(path: &Path, file: File, offset: u64, end: u64) -> Result<Self, StateError> {
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| StateError::io(path, e))?;
        Ok(HeaderScan {
            path: path.to_path_buf(),
            reader,
            offset,
            end,
            done: false,
        })
    }

    /// The next frame, `Ok(None)` at the end, or the problem that stops the
    /// scan. A header that checks out but cannot be read by this build is an
    /// error: it is never a torn write.
    pub(super) fn next_item(&mut self) -> Result<Option<ScanItem>, StateError> {
        if self.done || self.offset == self.end {
            return Ok(None);
        }
        let offset = self.offset;
        let have = self.end - offset;
        let stop = |problem| Ok(Some(ScanItem::Stop { offset, problem }));
        if have < HEADER_LEN as u64 {
            self.done = true;
            return stop(ScanStop::ShortHeader { have });
        }
        let mut bytes = [0u8; HEADER_LEN];
        self.reader
            .read_exact(&mut bytes)
            .map_err(|e| StateError::io(&self.path, e))?;
        let header = match frame::parse_header(&bytes) {
            Ok(header) => header,
            Err(HeaderError::Invalid(why)) => {
                self.done = true;
                return stop(ScanStop::NotAFrame(why));
            }
            Err(HeaderError::Unsupported(why)) => {
                return Err(StateError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("frame at byte {offset}: {why}"),
                });
            }
        };
        let need = header.frame_len();
        if need > have {
            self.done = true;
            return stop(ScanStop::ShortFrame { need, have });
        }
        let skip = i64::from(header.payload_len) + TRAILER_LEN as i64;
        self.reader
            .seek_relative(skip)
            .map_err(|e| StateError::io(&self.path, e))?;
        self.offset += need;
        Ok(Some(ScanItem::Frame { offset, header }))
    }
}

/// Reads the payload and trailer of the frame at `offset` and checks the
/// frame checksum (without decompressing). `Ok(Err(why))` when it fails.
pub(super) fn check_frame_crc(
    path: &Path,
    file: &mut File,
    offset: u64,
    header: &FrameHeader,
) -> Result<Result<(), String>, StateError> {
    let io = |e| StateError::io(path, e);
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut header_bytes = [0u8; HEADER_LEN];
    file.read_exact(&mut header_bytes).map_err(io)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&header_bytes);
    let mut left = u64::from(header.payload_len);
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        file.read_exact(&mut buf[..n]).map_err(io)?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    let mut trailer = [0u8; TRAILER_LEN];
    file.read_exact(&mut trailer).map_err(io)?;
    let stored = u32::from_le_bytes(trailer);
    let computed = hasher.finalize();
    if stored == computed {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "frame checksum mismatch (stored {stored:08x}, computed {computed:08x})"
        )))
    }
}

/// The offset of the first complete, checksum-valid frame that starts after
/// `from` and ends by `end`, if any: used to tell a torn tail (nothing valid
/// follows) from corruption in the middle (good frames follow a bad one).
pub(super) fn find_valid_frame_after(
    path: &Path,
    file: &mut File,
    from: u64,
    end: u64,
) -> Result<Option<u64>, StateError> {
    const CHUNK: usize = 1024 * 1024;
    let overlap = frame::MAGIC.len() as u64 - 1;
    let finder = memchr::memmem::Finder::new(&frame::MAGIC);
    let mut buf = vec![0u8; CHUNK];
    let mut chunk_start = from + 1;
    while chunk_start + (frame::MAGIC.len() as u64) <= end {
        let n = usize::try_from((end - chunk_start).min(CHUNK as u64)).unwrap_or(CHUNK);
        file.seek(SeekFrom::Start(chunk_start))
            .map_err(|e| StateError::io(path, e))?;
        file.read_exact(&mut buf[..n])
            .map_err(|e| StateError::io(path, e))?;
        let candidates: Vec<u64> = finder
            .find_iter(&buf[..n])
            .map(|i| chunk_start + i as u64)
            .collect();
        for candidate in candidates {
            if is_valid_frame_at(path, file, candidate, end)? {
                return Ok(Some(candidate));
            }
        }
        if chunk_start + n as u64 >= end {
            break;
        }
        chunk_start += n as u64 - overlap;
    }
    Ok(None)
}

fn is_valid_frame_at(
    path: &Path,
    file: &mut File,
    offset: u64,
    end: u64,
) -> Result<bool, StateError> {
    if end - offset < HEADER_LEN as u64 {
        return Ok(false);
    }
    let mut bytes = [0u8; HEADER_LEN];
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| StateError::io(path, e))?;
    file.read_exact(&mut bytes)
        .map_err(|e| StateError::io(path, e))?;
    let header = match frame::parse_header(&bytes) {
        Ok(header) => header,
        // An unsupported but checksum-valid header is real data too.
        Err(HeaderError::Unsupported(_)) => return Ok(true),
        Err(HeaderError::Invalid(_)) => return Ok(false),
    };
    if header.frame_len() > end - offset {
        return Ok(false);
    }
    Ok(check_frame_crc(path, file, offset, &header)?.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_in_log_order() {
        let a = segment_file_name(9, 97_000_000);
        let b = segment_file_name(10, 5);
        assert_eq!(parse_segment_name(&a), Some((9, 97_000_000)));
        assert_eq!(parse_segment_name(&b), Some((10, 5)));
        assert!(a < b);
        assert_eq!(
            segment_file_name(u64::MAX, u64::MAX).len(),
            "r-b.seg".len() + 40
        );
        assert_eq!(parse_segment_name("r1-b2.seg"), None);
        assert_eq!(parse_segment_name("truncate.pending"), None);
        assert_eq!(parse_segment_name(&format!("{a}.tmp")), None);
    }
}
