//! Event log: a torn or corrupt tail is cut and reported on open; damage in
//! the middle of the log is an error that changes nothing.

mod log_support;

use std::fs;
use std::path::{Path, PathBuf};

use log_support::{append_tracking, batch, end, read_all, segment_files, tiny};
use state::log::{EventLog, LogRecord, OpenReport};
use state::StateError;

/// Writes `batches` (one frame each) to a log in `dir` with small segments;
/// returns every record and each frame's (file, offset, length).
fn build(dir: &Path, batches: &[Vec<LogRecord>]) -> (Vec<LogRecord>, Vec<(PathBuf, u64, u64)>) {
    let (mut log, _) = EventLog::open_with(dir, tiny(600)).expect("open");
    let frames = append_tracking(&mut log, batches);
    (batches.concat(), frames)
}

fn batches() -> Vec<Vec<LogRecord>> {
    (0..8u64)
        .map(|i| batch(10 * i + 1..=10 * i + 2, 2))
        .collect()
}

/// The log in `dir` holds exactly `expected` and verifies.
fn assert_log(dir: &Path, expected: &[LogRecord]) -> OpenReport {
    let (log, report) = EventLog::open_with(dir, tiny(600)).expect("open");
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.verify().expect("verify").records, expected.len() as u64);
    assert_eq!(log.position().records, expected.len() as u64);
    report
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).expect("read");
            (p, bytes)
        })
        .collect()
}

fn restore(dir: &Path, snap: &[(PathBuf, Vec<u8>)]) {
    for entry in fs::read_dir(dir).expect("read dir") {
        fs::remove_file(entry.expect("entry").path()).expect("remove");
    }
    for (p, bytes) in snap {
        fs::write(p, bytes).expect("write");
    }
}

fn expect_corrupt(result: Result<(EventLog, OpenReport), StateError>, file: &Path, offset: u64) {
    match result {
        Err(StateError::Corrupt { path, detail }) => {
            assert_eq!(path, file, "{detail}");
            assert!(detail.contains(&format!("byte {offset}")), "{detail}");
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok((_, report)) => panic!("expected Corrupt, log opened with {report:?}"),
    }
}

#[test]
fn a_last_frame_cut_at_any_byte_is_removed_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all_batches = batches();
    let (all, frames) = build(dir.path(), &all_batches);
    let (last_file, offset, len) = frames.last().cloned().expect("frames");
    assert!(offset > 0, "the last segment should hold several frames");
    let kept = &all[..all.len() - all_batches[7].len()];
    let snap = snapshot(dir.path());
    let full = fs::read(&last_file).expect("read");
    for cut in offset..offset + len {
        restore(dir.path(), &snap);
        fs::write(&last_file, &full[..cut as usize]).expect("cut");
        let report = assert_log(
            dir.path(),
            if cut == offset {
                &all[..kept.len()]
            } else {
                kept
            },
        );
        if cut == offset {
            assert_eq!(
                report,
                OpenReport::default(),
                "a clean frame boundary is not torn"
            );
        } else {
            assert_eq!(report.truncated_bytes, cut - offset, "cut at {cut}");
            assert!(
                report.detail.as_deref().is_some_and(|d| d.contains("byte")),
                "{report:?}"
            );
        }
        assert_eq!(
            fs::metadata(&last_file).expect("meta").len(),
            offset,
            "file cut back"
        );
    }
    // After the repair, appending the lost batch again gives the whole log.
    let (mut log, _) = EventLog::open_with(dir.path(), tiny(600)).expect("open");
    log.append(&all_batches[7]).expect("append");
    drop(log);
    assert_eq!(assert_log(dir.path(), &all), OpenReport::default());
}

#[test]
fn a_torn_first_frame_of_the_last_segment_removes_the_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all_batches = batches();
    let (all, frames) = build(dir.path(), &all_batches);
    // Find a batch whose frame starts a segment (not the first segment).
    let (i, (file, _, len)) = frames
        .iter()
        .enumerate()
        .find(|(i, (_, offset, _))| *i > 0 && *offset == 0)
        .expect("a frame that starts a segment");
    let keep: usize = all_batches[..i].iter().map(Vec::len).sum();
    let (mut log, _) = EventLog::open_with(dir.path(), tiny(600)).expect("open");
    log.truncate_to_records(keep as u64 + all_batches[i].len() as u64)
        .expect("truncate");
    drop(log);
    let full = fs::read(file).expect("read");
    for cut in [1, len / 2, len - 1] {
        fs::write(file, &full[..cut as usize]).expect("cut");
        let report = assert_log(dir.path(), &all[..keep]);
        assert_eq!(report.truncated_bytes, cut);
        assert!(!file.exists(), "the emptied segment is removed");
        fs::write(file, &full).expect("restore");
    }
}

#[test]
fn an_empty_last_segment_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (all, _) = build(dir.path(), &batches());
    let empty = dir
        .path()
        .join(format!("r{:020}-b{:020}.seg", all.len(), 99));
    fs::write(&empty, b"").expect("create");
    let report = assert_log(dir.path(), &all);
    assert_eq!(report.truncated_bytes, 0);
    assert!(report.detail.is_some());
    assert!(!empty.exists());
}

#[test]
fn any_flipped_byte_in_the_last_frame_cuts_only_that_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all_batches = batches();
    let (all, frames) = build(dir.path(), &all_batches);
    let (last_file, offset, len) = frames.last().cloned().expect("frames");
    let kept = &all[..all.len() - all_batches[7].len()];
    let full = fs::read(&last_file).expect("read");
    for at in offset..offset + len {
        let mut bad = full.clone();
        bad[at as usize] ^= 0x55;
        fs::write(&last_file, &bad).expect("write");
        let report = assert_log(dir.path(), kept);
        assert_eq!(report.truncated_bytes, len, "flip at {at}");
        fs::write(&last_file, &full).expect("restore");
    }
}

#[test]
fn garbage_after_the_last_frame_is_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (all, frames) = build(dir.path(), &batches());
    let (last_file, _, _) = frames.last().cloned().expect("frames");
    let full = fs::read(&last_file).expect("read");
    for garbage in [
        vec![0u8; 4096],
        b"HGLF and then nonsense".to_vec(),
        vec![0xff; 3],
    ] {
        let mut bad = full.clone();
        bad.extend_from_slice(&garbage);
        fs::write(&last_file, &bad).expect("write");
        let report = assert_log(dir.path(), &all);
        assert_eq!(report.truncated_bytes, garbage.len() as u64);
        assert_eq!(fs::read(&last_file).expect("read"), full);
    }
}

#[test]
fn a_damaged_frame_followed_by_a_good_one_is_an_error_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, frames) = build(dir.path(), &batches());
    let snap = snapshot(dir.path());
    // The second-to-last frame lives in the last segment; damage its header
    // (bad header checksum) and, separately, its length (frame runs long).
    let (file, offset, _) = frames[frames.len() - 2].clone();
    assert_eq!(
        file,
        frames[frames.len() - 1].0,
        "both frames in the last segment"
    );
    for at in [offset, offset + 9, offset + 17] {
        restore(dir.path(), &snap);
        let mut bad = fs::read(&file).expect("read");
        bad[at as usize] ^= 0x01;
        fs::write(&file, &bad).expect("write");
        expect_corrupt(EventLog::open_with(dir.path(), tiny(600)), &file, offset);
        assert_eq!(fs::read(&file).expect("read"), bad, "nothing was cut");
    }
}

#[test]
fn damage_in_an_earlier_segment_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, frames) = build(dir.path(), &batches());
    let (file, offset, len) = frames[0].clone();
    let full = fs::read(&file).expect("read");

    // A torn-looking end of a segment that is not the last one.
    fs::write(&file, &full[..(offset + len - 1) as usize]).expect("cut");
    expect_corrupt(EventLog::open_with(dir.path(), tiny(600)), &file, offset);
    fs::write(&file, &full).expect("restore");

    // A bad header in the first segment.
    let mut bad = full.clone();
    bad[(offset + 3) as usize] ^= 0x10;
    fs::write(&file, &bad).expect("write");
    expect_corrupt(EventLog::open_with(dir.path(), tiny(600)), &file, offset);
}

#[test]
fn a_bad_payload_in_the_middle_is_reported_by_reads_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all_batches = batches();
    let (all, frames) = build(dir.path(), &all_batches);
    let (file, offset, len) = frames[2].clone();
    let mut bad = fs::read(&file).expect("read");
    bad[(offset + 48 + (len - 52) / 2) as usize] ^= 0x08;
    fs::write(&file, &bad).expect("write");

    // Open reads headers only: the damage surfaces, with file and offset,
    // on the first read through that frame and on verify; never as data.
    let (log, report) = EventLog::open_with(dir.path(), tiny(600)).expect("open");
    assert_eq!(report, OpenReport::default());
    let before: usize = all_batches[..2].iter().map(Vec::len).sum();
    let mut reader = log.read_from_record(0).expect("reader");
    for expected in &all[..before] {
        assert_eq!(reader.next().expect("record").expect("decodes"), *expected);
    }
    match reader.next() {
        Some(Err(StateError::Corrupt { path, detail })) => {
            assert_eq!(path, file);
            assert!(detail.contains(&format!("byte {offset}")), "{detail}");
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    assert!(reader.next().is_none(), "a reader ends after an error");
    assert!(matches!(log.verify(), Err(StateError::Corrupt { .. })));
    // Records after the damaged frame are still reachable by index.
    let after = before + all_batches[2].len();
    let rest: Vec<_> = log
        .read_from_record(after as u64)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(rest, all[after..]);
}

#[test]
fn a_missing_segment_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), &batches());
    let files = segment_files(dir.path());
    assert!(files.len() >= 3);
    fs::remove_file(&files[1]).expect("remove");
    match EventLog::open_with(dir.path(), tiny(600)) {
        Err(StateError::Corrupt { path, detail }) => {
            assert_eq!(path, files[2]);
            assert!(detail.contains("missing"), "{detail}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
    }
    fs::remove_file(&files[0]).expect("remove");
    assert!(matches!(
        EventLog::open_with(dir.path(), tiny(600)),
        Err(StateError::Corrupt { .. })
    ));
}

#[test]
fn a_frame_of_a_newer_format_at_the_tail_is_refused_not_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, frames) = build(dir.path(), &batches());
    let (file, offset, _) = frames.last().cloned().expect("frames");
    let mut bytes = fs::read(&file).expect("read");
    let header = offset as usize;
    bytes[header + 4] = 2; // format version 2, with a valid header checksum
    let crc = crc32fast::hash(&bytes[header..header + 44]);
    bytes[header + 44..header + 48].copy_from_slice(&crc.to_le_bytes());
    fs::write(&file, &bytes).expect("write");
    expect_corrupt(EventLog::open_with(dir.path(), tiny(600)), &file, offset);
    assert_eq!(fs::read(&file).expect("read"), bytes);
}

#[test]
fn blocks_out_of_order_across_frames_are_corruption() {
    // Segment names claim an order the frames do not follow: renaming the
    // second segment to start at another block is caught.
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), &[batch(1..=40, 3), vec![end(41)]]);
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 2);
    let name = files[1].file_name().and_then(|n| n.to_str()).expect("name");
    let renamed = dir.path().join(name.replace("-b0000", "-b0001"));
    fs::rename(&files[1], &renamed).expect("rename");
    expect_corrupt(EventLog::open_with(dir.path(), tiny(600)), &renamed, 0);
}
