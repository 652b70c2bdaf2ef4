//! Opening a log: finish an interrupted truncation, scan the frame headers of
//! every segment, and cut a torn tail.
//!
//! What counts as a torn tail is narrow on purpose, because only the last
//! `append` can have been interrupted (every earlier one was fsynced):
//! - bytes after the last complete frame of the last segment that are not a
//!   frame (short header, no magic, bad header checksum, frame running past
//!   the end of the file), provided no checksum-valid frame follows them; or
//! - a last frame of the last segment that is complete but fails its frame
//!   checksum, with nothing after it;
//! - a last segment left empty by a crash right after its creation.
//!
//! Anything else (a bad frame followed by a good one, a bad frame in an
//! earlier segment, a missing segment, records out of order) is corruption of
//! data that was acknowledged as durable: `open` refuses it with
//! [`StateError::Corrupt`] and changes nothing.

use std::fs::File;
use std::path::{Path, PathBuf};

use tracing::warn;

use crate::block::BlockNum;
use crate::error::StateError;
use crate::log::frame::FrameHeader;
use crate::log::index::FrameIndex;
use crate::log::segment::{self, HeaderScan, ScanItem, ScanStop, Segment};
use crate::log::{truncate, EventLog, LogOptions, OpenReport};

/// What the scan has accepted so far.
struct Accepted {
    index: FrameIndex,
    records: u64,
    last_block: Option<BlockNum>,
}

pub(super) fn open(dir: &Path, options: LogOptions) -> Result<(EventLog, OpenReport), StateError> {
    std::fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
    let mut report = OpenReport::default();
    truncate::finish_pending(dir, &mut report)?;

    let names = segment::list_segments(dir)?;
    let mut accepted = Accepted {
        index: FrameIndex::new(options.index_span_bytes),
        records: 0,
        last_block: None,
    };
    let mut segments: Vec<Segment> = Vec::with_capacity(names.len());
    for (i, &(first_record, first_block)) in names.iter().enumerate() {
        let mut segment = Segment {
            first_record,
            first_block,
            len: 0,
        };
        let path = segment.path(dir);
        if first_record != accepted.records {
            return Err(corrupt(
                &path,
                format!(
                    "the segment starts at record {first_record} but the segments before it end \
                     at record {}: a segment is missing or misnamed",
                    accepted.records
                ),
            ));
        }
        let is_last = i + 1 == names.len();
        let file = File::options()
            .read(true)
            .write(is_last)
            .open(&path)
            .map_err(|e| StateError::io(&path, e))?;
        segment.len = file.metadata().map_err(|e| StateError::io(&path, e))?.len();
        let kept = scan_segment(
            dir,
            &segment,
            segments.len(),
            file,
            is_last,
            &mut accepted,
            &mut report,
        )?;
        // Only the last segment can come back as `None` (emptied by the tail cut).
        if let Some(len) = kept {
            segment.len = len;
            segments.push(segment);
        }
    }
    let writer = match segments.last() {
        Some(last) => {
            let path = last.path(dir);
            let file = File::options()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| StateError::io(&path, e))?;
            Some(file)
        }
        None => None,
    };
    if let Some(detail) = &report.detail {
        warn!(
            log = %dir.display(),
            cut_bytes = report.truncated_bytes,
            "event log repaired on open: {detail}"
        );
    }
    let log = EventLog {
        dir: dir.to_path_buf(),
        options,
        segments,
        index: accepted.index,
        records: accepted.records,
        last_block: accepted.last_block,
        writer,
        broken: None,
    };
    Ok((log, report))
}

fn corrupt(path: &Path, detail: String) -> StateError {
    StateError::Corrupt {
        path: path.to_path_buf(),
        detail,
    }
}

/// Scans one segment, adding its frames to `accepted`. For the last segment
/// it also repairs a torn tail. Returns the segment's length, or `None` when
/// the (last) segment ended up empty and was removed.
fn scan_segment(
    dir: &Path,
    segment: &Segment,
    position: usize,
    mut file: File,
    is_last: bool,
    accepted: &mut Accepted,
    report: &mut OpenReport,
) -> Result<Option<u64>, StateError> {
    let path = segment.path(dir);
    let reader = file.try_clone().map_err(|e| StateError::io(&path, e))?;
    let mut scan = HeaderScan::new(&path, reader, 0, segment.len)?;
    // The newest frame is held back until the next one shows up, so the last
    // frame of the last segment can still be rejected after its checksum.
    let mut held: Option<(u64, FrameHeader)> = None;
    let mut stop: Option<(u64, ScanStop)> = None;
    while let Some(item) = scan.next_item()? {
        match item {
            ScanItem::Frame { offset, header } => {
                let (expected_record, floor_block) = match held {
                    Some((_, h)) => (h.end_record(), Some(h.last_block)),
                    None => (accepted.records, accepted.last_block),
                };
                check_sequence(
                    &path,
                    segment,
                    offset,
                    &header,
                    expected_record,
                    floor_block,
                )?;
                if let Some((o, h)) = held.replace((offset, header)) {
                    accept(accepted, position, o, &h);
                }
            }
            ScanItem::Stop { offset, problem } => stop = Some((offset, problem)),
        }
    }

    let mut cut: Option<(u64, String)> = None;
    if let Some((offset, problem)) = stop {
        if !is_last {
            return Err(corrupt(
                &path,
                format!("byte {offset}: {problem}, and later segments follow"),
            ));
        }
        if let Some(good) = segment::find_valid_frame_after(&path, &mut file, offset, segment.len)?
        {
            return Err(corrupt(
                &path,
                format!(
                    "byte {offset}: {problem}, but a valid frame follows at byte {good}: \
                     this is corruption inside the log, not a torn tail"
                ),
            ));
        }
        cut = Some((offset, format!("{problem} at byte {offset}")));
    }
    if let Some((offset, header)) = held {
        let checked = if is_last {
            segment::check_frame_crc(&path, &mut file, offset, &header)?
        } else {
            Ok(())
        };
        match (checked, &cut) {
            (Ok(()), _) => accept(accepted, position, offset, &header),
            (Err(why), None) => {
                cut = Some((offset, format!("last frame at byte {offset}: {why}")));
            }
            (Err(why), Some((garbage, _))) => {
                return Err(corrupt(
                    &path,
                    format!(
                        "the last complete frame at byte {offset} fails its checksum ({why}) \
                         and unreadable bytes follow at byte {garbage}: more than one append \
                         is damaged, which a crash cannot cause"
                    ),
                ));
            }
        }
    }

    let Some((cut_at, why)) = cut else {
        if segment.len == 0 {
            if !is_last {
                return Err(corrupt(
                    &path,
                    "the segment is empty but later segments follow".into(),
                ));
            }
            remove_segment(dir, &path)?;
            report.add_detail(format!(
                "removed empty segment {} (created just before a crash)",
                segment.file_name()
            ));
            return Ok(None);
        }
        return Ok(Some(segment.len));
    };
    let cut_bytes = segment.len - cut_at;
    report.truncated_bytes += cut_bytes;
    if cut_at == 0 {
        remove_segment(dir, &path)?;
        report.add_detail(format!(
            "removed segment {} ({cut_bytes} bytes): {why}",
            segment.file_name()
        ));
        return Ok(None);
    }
    file.set_len(cut_at)
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&path, e))?;
    report.add_detail(format!(
        "cut {cut_bytes} bytes from the end of segment {} (kept {cut_at} bytes): {why}",
        segment.file_name()
    ));
    Ok(Some(cut_at))
}

fn accept(accepted: &mut Accepted, position: usize, offset: u64, header: &FrameHeader) {
    accepted.index.push(position, offset, header);
    accepted.records = header.end_record();
    accepted.last_block = Some(header.last_block);
}

/// A checksum-valid header that does not continue the log is corruption
/// (or a bug), never a torn write.
fn check_sequence(
    path: &Path,
    segment: &Segment,
    offset: u64,
    header: &FrameHeader,
    expected_record: u64,
    floor_block: Option<BlockNum>,
) -> Result<(), StateError> {
    let problem = if header.first_record != expected_record {
        Some(format!(
            "starts at record {} where record {expected_record} was expected",
            header.first_record
        ))
    } else if offset == 0 && header.first_block != segment.first_block {
        Some(format!(
            "starts at block {} but the file name says block {}",
            header.first_block, segment.first_block
        ))
    } else {
        floor_block
            .filter(|floor| header.first_block < *floor)
            .map(|floor| {
                format!(
                    "starts at block {}, below block {floor} of the frame before it",
                    header.first_block
                )
            })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(corrupt(path, format!("frame at byte {offset} {problem}"))),
    }
}

fn remove_segment(dir: &Path, path: &PathBuf) -> Result<(), StateError> {
    std::fs::remove_file(path).map_err(|e| StateError::io(path, e))?;
    segment::sync_dir(dir)
}
