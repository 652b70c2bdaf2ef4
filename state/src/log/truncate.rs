//! Durable, crash-safe truncation.
//!
//! Cutting at a frame boundary needs no journal. The steps, in this order:
//! 1. remove the segments after the one holding the cut, last first, with a
//!    directory fsync after each removal, so the segments left on disk are
//!    always a gap-free prefix of the log;
//! 2. cut the segment holding the cut (or remove it, when the cut is at its
//!    first byte) and fsync it.
//!
//! A crash anywhere leaves a valid log that is a prefix of the old one and
//! at least as long as the requested one: `open` accepts it and the caller
//! (which decided to truncate) can simply truncate again.
//!
//! A cut inside a frame must rewrite that frame with the records it keeps,
//! and the old frame is gone before the new one is durable. To never lose the
//! kept records, the new frame goes into a redo journal first:
//! 0. write `truncate.pending.tmp` (segment, cut offset, the new frame, a
//!    checksum), fsync it, rename it to `truncate.pending`, fsync the
//!    directory: from here on the truncation will complete;
//!
//! then steps 1 and 2 cut at the old frame's start, and
//! 3. write the new frame there and fsync the segment;
//! 4. remove the journal and fsync the directory.
//!
//! `open` first looks for `truncate.pending` and, if it is there, repeats
//! steps 1 to 4 (all idempotent). A leftover `.tmp` means step 0 never
//! finished, so nothing was touched: it is deleted.

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::block::BlockNum;
use crate::error::StateError;
use crate::log::frame::{self, EncodeError};
use crate::log::segment::{self, HeaderScan, ScanItem};
use crate::log::{EventLog, LogPosition, OpenReport};

/// Name of the redo journal of an in-progress truncation.
const JOURNAL: &str = "truncate.pending";
/// Name the journal is written under before it is complete.
const JOURNAL_TMP: &str = "truncate.pending.tmp";
const JOURNAL_MAGIC: [u8; 4] = *b"HGLT";
const JOURNAL_VERSION: u16 = 1;
/// magic, version, reserved, segment first record, segment first block, cut offset, frame length.
const JOURNAL_HEADER_LEN: usize = 4 + 2 + 2 + 8 + 8 + 8 + 8;

/// A truncation as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    /// The segment holding the cut.
    segment_first_record: u64,
    /// Its first block (for the file name).
    segment_first_block: BlockNum,
    /// Byte offset where the segment is cut.
    cut_offset: u64,
    /// Frame written at the cut (the kept part of the straddling frame), if any.
    frame: Vec<u8>,
}

impl Plan {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(JOURNAL_HEADER_LEN + self.frame.len() + 4);
        out.extend_from_slice(&JOURNAL_MAGIC);
        out.extend_from_slice(&JOURNAL_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.segment_first_record.to_le_bytes());
        out.extend_from_slice(&self.segment_first_block.to_le_bytes());
        out.extend_from_slice(&self.cut_offset.to_le_bytes());
        out.extend_from_slice(&(self.frame.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.frame);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < JOURNAL_HEADER_LEN + 4 {
            return Err(format!("only {} bytes", bytes.len()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != stored {
            return Err("checksum mismatch".into());
        }
        if body[0..4] != JOURNAL_MAGIC || body[4..6] != JOURNAL_VERSION.to_le_bytes() {
            return Err("unknown journal format".into());
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(a)
        };
        let frame = &body[JOURNAL_HEADER_LEN..];
        if u64_at(32) != frame.len() as u64 {
            return Err("frame length does not match".into());
        }
        Ok(Plan {
            segment_first_record: u64_at(8),
            segment_first_block: u64_at(16),
            cut_offset: u64_at(24),
            frame: frame.to_vec(),
        })
    }

    fn segment_path(&self, dir: &Path) -> std::path::PathBuf {
        dir.join(segment::segment_file_name(
            self.segment_first_record,
            self.segment_first_block,
        ))
    }
}

/// Completes a truncation a crash interrupted (called by `open` before it
/// scans anything).
pub(super) fn finish_pending(dir: &Path, report: &mut OpenReport) -> Result<(), StateError> {
    let tmp = dir.join(JOURNAL_TMP);
    if tmp.exists() {
        fs::remove_file(&tmp).map_err(|e| StateError::io(&tmp, e))?;
        segment::sync_dir(dir)?;
    }
    let path = dir.join(JOURNAL);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StateError::io(&path, e)),
    };
    // The journal is renamed into place only once complete and fsynced, so
    // a bad one is damage, not a crash: refuse rather than guess.
    let plan = Plan::decode(&bytes).map_err(|why| StateError::Corrupt {
        path: path.clone(),
        detail: format!("the truncation journal is unreadable ({why}); the log is unchanged by it, delete the file to open the log as it is"),
    })?;
    apply(dir, &plan)?;
    report.add_detail(format!(
        "finished a truncation a crash interrupted: segment {} cut at byte {}{}",
        segment::segment_file_name(plan.segment_first_record, plan.segment_first_block),
        plan.cut_offset,
        if plan.frame.is_empty() {
            String::new()
        } else {
            format!(
                " and its kept records rewritten as a {}-byte frame",
                plan.frame.len()
            )
        }
    ));
    Ok(())
}

/// Steps 1 to 4 of the module docs; safe to repeat.
fn apply(dir: &Path, plan: &Plan) -> Result<(), StateError> {
    remove_segments_after(dir, plan.segment_first_record)?;
    let path = plan.segment_path(dir);
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StateError::io(&path, e))?;
    let len = file.metadata().map_err(|e| StateError::io(&path, e))?.len();
    if len < plan.cut_offset {
        return Err(StateError::Corrupt {
            path: path.clone(),
            detail: format!(
                "a pending truncation cuts at byte {} but the segment has only {len} bytes",
                plan.cut_offset
            ),
        });
    }
    let io = |e| StateError::io(&path, e);
    file.set_len(plan.cut_offset).map_err(io)?;
    file.seek(SeekFrom::Start(plan.cut_offset)).map_err(io)?;
    file.write_all(&plan.frame).map_err(io)?;
    file.sync_all().map_err(io)?;
    let journal = dir.join(JOURNAL);
    match fs::remove_file(&journal) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(StateError::io(&journal, e)),
    }
    segment::sync_dir(dir)
}

/// Removes every segment that starts after record `first_record`, last first.
fn remove_segments_after(dir: &Path, first_record: u64) -> Result<(), StateError> {
    let names = segment::list_segments(dir)?;
    for &(record, block) in names.iter().rev() {
        if record <= first_record {
            break;
        }
        let path = dir.join(segment::segment_file_name(record, block));
        fs::remove_file(&path).map_err(|e| StateError::io(&path, e))?;
        segment::sync_dir(dir)?;
    }
    Ok(())
}

fn write_journal(dir: &Path, plan: &Plan) -> Result<(), StateError> {
    let tmp = dir.join(JOURNAL_TMP);
    let mut file = File::create(&tmp).map_err(|e| StateError::io(&tmp, e))?;
    file.write_all(&plan.encode())
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&tmp, e))?;
    let path = dir.join(JOURNAL);
    fs::rename(&tmp, &path).map_err(|e| StateError::io(&path, e))?;
    segment::sync_dir(dir)
}

pub(super) fn truncate_to_records(
    log: &mut EventLog,
    keep: u64,
) -> Result<LogPosition, StateError> {
    log.check_usable()?;
    let Some((plan, seg, entry)) = plan_truncation(log, keep)? else {
        return Ok(log.position());
    };
    // From the first change on, a failure leaves the disk somewhere between
    // the old and the new log: refuse further changes until a reopen (which
    // finishes the journal or sees a valid prefix).
    log.writer = None;
    let done = execute(&log.dir, &plan);
    if let Err(e) = &done {
        log.broken = Some(format!("truncating to {keep} records failed: {e}"));
    }
    done?;

    let seg_kept = plan.cut_offset > 0 || !plan.frame.is_empty();
    log.segments.truncate(if seg_kept { seg + 1 } else { seg });
    log.index.truncate(entry);
    let reindexed = reindex_tail(log, entry);
    if let Err(e) = &reindexed {
        log.broken = Some(format!("re-reading the log after truncating failed: {e}"));
    }
    reindexed?;
    Ok(log.position())
}

/// What truncating to `keep` records means on disk: the plan, the position
/// of the segment holding the cut and of the index entry holding it. `None`
/// when nothing is to be removed.
fn plan_truncation(log: &EventLog, keep: u64) -> Result<Option<(Plan, usize, usize)>, StateError> {
    if keep > log.records {
        return Err(StateError::InvalidArgument(format!(
            "cannot truncate the log to {keep} records: it holds only {}",
            log.records
        )));
    }
    let Some(entry) = log.index.find_record(keep) else {
        return Ok(None);
    };
    let Some(mut cursor) = log.cursor_at_entry(entry) else {
        return Ok(None);
    };
    // Find the frame holding record `keep`: the cut goes at its start, and the
    // records it has below `keep` are re-framed.
    let (header, seg, offset) = loop {
        let Some(header) = cursor.next_header()? else {
            return Err(StateError::Corrupt {
                path: log.dir.clone(),
                detail: format!("the frame holding record {keep} is missing"),
            });
        };
        if header.end_record() > keep {
            let (seg, offset) = cursor.location();
            break (header, seg, offset);
        }
        cursor.skip_payload()?;
    };
    let frame = if header.first_record < keep {
        let mut records = cursor.read_records()?;
        records.truncate(usize::try_from(keep - header.first_record).unwrap_or(usize::MAX));
        let (_, bytes) = frame::encode_frame(&records, header.first_record, log.options.zstd_level)
            .map_err(|e| match e {
                EncodeError::TooLarge(why) | EncodeError::Compress(why) => StateError::io(
                    &log.dir,
                    std::io::Error::other(format!("re-framing kept records failed: {why}")),
                ),
            })?;
        bytes
    } else {
        Vec::new()
    };
    let segment = &log.segments[seg];
    let plan = Plan {
        segment_first_record: segment.first_record,
        segment_first_block: segment.first_block,
        cut_offset: offset,
        frame,
    };
    Ok(Some((plan, seg, entry)))
}

/// Runs the truncation steps for `plan` (with the journal only when a frame is rewritten).
fn execute(dir: &Path, plan: &Plan) -> Result<(), StateError> {
    if !plan.frame.is_empty() {
        write_journal(dir, plan)?;
        return apply(dir, plan);
    }
    remove_segments_after(dir, plan.segment_first_record)?;
    let path = plan.segment_path(dir);
    if plan.cut_offset == 0 {
        fs::remove_file(&path).map_err(|e| StateError::io(&path, e))?;
        return segment::sync_dir(dir);
    }
    let file = File::options()
        .write(true)
        .open(&path)
        .map_err(|e| StateError::io(&path, e))?;
    file.set_len(plan.cut_offset)
        .and_then(|()| file.sync_all())
        .map_err(|e| StateError::io(&path, e))
}

/// After a truncation: refreshes the last segment's length, re-indexes its
/// frames from where index entry `from_entry` began, and reopens the writer.
fn reindex_tail(log: &mut EventLog, from_entry: usize) -> Result<(), StateError> {
    let Some(last) = log.segments.len().checked_sub(1) else {
        log.records = 0;
        log.last_block = None;
        return Ok(());
    };
    let path = log.segments[last].path(&log.dir);
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| StateError::io(&path, e))?;
    let len = file
        .seek(SeekFrom::End(0))
        .map_err(|e| StateError::io(&path, e))?;
    log.segments[last].len = len;
    // Entries before `from_entry` are intact; the cut entry restarts at its old offset.
    let restart = match log.index.get(from_entry.wrapping_sub(1)) {
        Some(prev) if prev.segment == last => prev.offset + prev.len,
        _ => 0,
    };
    let reader = file.try_clone().map_err(|e| StateError::io(&path, e))?;
    let mut scan = HeaderScan::new(&path, reader, restart, len)?;
    while let Some(item) = scan.next_item()? {
        match item {
            ScanItem::Frame { offset, header } => log.index.push(last, offset, &header),
            ScanItem::Stop { offset, problem } => {
                return Err(StateError::Corrupt {
                    path,
                    detail: format!("after truncating, byte {offset}: {problem}"),
                });
            }
        }
    }
    let tail = log.index.get(log.index.len().wrapping_sub(1)).copied();
    log.records = tail.map_or(0, |e| e.end_record());
    log.last_block = tail.map(|e| e.last_block);
    log.writer = Some(file);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockRef;
    use crate::log::{LogOptions, LogRecord};

    fn end(num: u64) -> LogRecord {
        LogRecord::BlockEnd(BlockRef {
            num,
            id: format!("{num:08x}{}", "cd".repeat(16)),
            timestamp: "2025-07-08T23:09:27".into(),
        })
    }

    fn options() -> LogOptions {
        LogOptions {
            segment_bytes: 300,
            index_span_bytes: 0,
            ..LogOptions::default()
        }
    }

    /// A log of 8 frames of 5 records (blocks 1..=40) over several segments.
    fn build(dir: &Path) -> Vec<LogRecord> {
        let (mut log, _) = EventLog::open_with(dir, options()).expect("open");
        let mut all = Vec::new();
        for f in 0..8 {
            let batch: Vec<_> = (1..=5).map(|i| end(f * 5 + i)).collect();
            log.append(&batch).expect("append");
            all.extend(batch);
        }
        assert!(segment::list_segments(dir).expect("list").len() >= 3);
        all
    }

    fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out: Vec<_> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| {
                let p = e.expect("entry").path();
                let bytes = fs::read(&p).expect("read");
                (p, bytes)
            })
            .collect();
        out.sort();
        out
    }

    fn restore(dir: &Path, snap: &[(std::path::PathBuf, Vec<u8>)]) {
        for entry in fs::read_dir(dir).expect("read dir") {
            fs::remove_file(entry.expect("entry").path()).expect("remove");
        }
        for (p, bytes) in snap {
            fs::write(p, bytes).expect("write");
        }
    }

    fn read_all(log: &EventLog) -> Vec<LogRecord> {
        log.read_from_record(0)
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("decodes")
    }

    /// Every intermediate disk state of a truncation that rewrites a frame:
    /// `open` finishes it and the log holds exactly the kept records.
    #[test]
    fn a_crash_at_any_step_of_a_rewriting_truncation_is_finished_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let all = build(dir.path());
        let keep = 12; // inside the third frame
        let (log, _) = EventLog::open_with(dir.path(), options()).expect("open");
        let (plan, _, _) = plan_truncation(&log, keep)
            .expect("plan")
            .expect("something to cut");
        assert!(!plan.frame.is_empty(), "the cut is inside a frame");
        drop(log);
        let snap = files(dir.path());
        let target = plan.segment_path(dir.path());
        let later: Vec<_> = segment::list_segments(dir.path())
            .expect("list")
            .into_iter()
            .filter(|(r, _)| *r > plan.segment_first_record)
            .map(|(r, b)| dir.path().join(segment::segment_file_name(r, b)))
            .collect();
        assert!(later.len() >= 2, "several later segments to remove");

        // Each stage does a little more of the work before "crashing".
        for stage in 0..7 {
            restore(dir.path(), &snap);
            if stage == 0 {
                // Journal never finished: only a partial temp file exists.
                fs::write(dir.path().join(JOURNAL_TMP), &plan.encode()[..10]).expect("tmp");
            } else {
                write_journal(dir.path(), &plan).expect("journal");
            }
            if stage >= 2 {
                fs::remove_file(later.last().expect("later")).expect("remove last");
            }
            if stage >= 3 {
                for p in &later {
                    let _ = fs::remove_file(p);
                }
            }
            if stage >= 4 {
                let f = File::options().write(true).open(&target).expect("open");
                f.set_len(plan.cut_offset).expect("cut");
            }
            if stage >= 5 {
                let mut f = File::options().write(true).open(&target).expect("open");
                f.seek(SeekFrom::Start(plan.cut_offset)).expect("seek");
                let half = plan.frame.len() / 2;
                f.write_all(&plan.frame[..if stage == 5 { half } else { plan.frame.len() }])
                    .expect("write");
            }
            let (log, report) = EventLog::open_with(dir.path(), options()).expect("open");
            let expected = if stage == 0 {
                &all[..]
            } else {
                &all[..keep as usize]
            };
            assert_eq!(read_all(&log), expected, "stage {stage}");
            assert_eq!(log.verify().expect("verify").records, expected.len() as u64);
            if stage == 0 {
                assert_eq!(report, OpenReport::default());
            } else {
                assert!(
                    report
                        .detail
                        .as_deref()
                        .is_some_and(|d| d.contains("finished a truncation")),
                    "stage {stage}: {report:?}"
                );
            }
            assert!(!dir.path().join(JOURNAL).exists());
            assert!(!dir.path().join(JOURNAL_TMP).exists());
        }
    }

    /// A truncation at a frame boundary interrupted between segment removals
    /// leaves a longer but valid prefix.
    #[test]
    fn a_crash_during_a_boundary_truncation_leaves_a_valid_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let all = build(dir.path());
        let names = segment::list_segments(dir.path()).expect("list");
        let last = names.last().expect("segments");
        fs::remove_file(dir.path().join(segment::segment_file_name(last.0, last.1)))
            .expect("remove");
        let (log, report) = EventLog::open_with(dir.path(), options()).expect("open");
        assert_eq!(report, OpenReport::default());
        assert_eq!(read_all(&log), all[..last.0 as usize]);
    }

    #[test]
    fn a_damaged_journal_is_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        build(dir.path());
        let (log, _) = EventLog::open_with(dir.path(), options()).expect("open");
        let (plan, _, _) = plan_truncation(&log, 12)
            .expect("plan")
            .expect("something to cut");
        drop(log);
        let mut bytes = plan.encode();
        bytes[20] ^= 1;
        fs::write(dir.path().join(JOURNAL), &bytes).expect("write");
        let before = files(dir.path());
        let opened = EventLog::open_with(dir.path(), options());
        assert!(matches!(opened, Err(StateError::Corrupt { path, .. }) if path.ends_with(JOURNAL)));
        assert_eq!(files(dir.path()), before);
    }

    #[test]
    fn journal_round_trips_and_rejects_damage() {
        let plan = Plan {
            segment_first_record: 12,
            segment_first_block: 99,
            cut_offset: 4096,
            frame: vec![1, 2, 3],
        };
        let bytes = plan.encode();
        assert_eq!(Plan::decode(&bytes), Ok(plan));
        for cut in 0..bytes.len() {
            assert!(Plan::decode(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        bad[30] ^= 1;
        assert!(Plan::decode(&bad).is_err());
    }
}
