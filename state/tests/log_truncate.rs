//! Event log: truncation at frame boundaries and inside frames, then append and reopen.

mod log_support;

use std::fs;
use std::path::{Path, PathBuf};

use log_support::{batch, op, read_all, segment_files};
use state::log::{EventLog, LogOptions, LogRecord, OpenReport};
use state::StateError;

fn options(span: u64) -> LogOptions {
    LogOptions {
        segment_bytes: 700,
        index_span_bytes: span,
        ..LogOptions::default()
    }
}

/// Batches over blocks 1..=24, two blocks a batch, some blocks without ops.
fn batches() -> Vec<Vec<LogRecord>> {
    (0..12u64)
        .map(|i| batch(2 * i + 1..=2 * i + 2, (i % 4) as u32))
        .collect()
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    segment_files(dir)
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

/// The log in `dir` (open and reopened) holds exactly `expected`.
fn check(log: &EventLog, expected: &[LogRecord], span: u64) {
    assert_eq!(read_all(log), expected);
    assert_eq!(log.position().records, expected.len() as u64);
    assert_eq!(
        log.position().last_block,
        expected.last().map(LogRecord::block)
    );
    let on_disk: u64 = segment_files(log.dir())
        .iter()
        .map(|p| fs::metadata(p).expect("meta").len())
        .sum();
    assert_eq!(log.position().bytes, on_disk);
    let (reopened, report) = EventLog::open_with(log.dir(), options(span)).expect("reopen");
    assert_eq!(report, OpenReport::default(), "a truncated log opens clean");
    assert_eq!(reopened.position(), log.position());
    assert_eq!(read_all(&reopened), expected);
    assert_eq!(
        reopened.verify().expect("verify").records,
        expected.len() as u64
    );
}

#[test]
fn truncate_to_every_record_count_then_append_and_reopen() {
    for span in [0, 300] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = EventLog::open_with(dir.path(), options(span)).expect("open");
        for b in batches() {
            log.append(&b).expect("append");
        }
        drop(log);
        assert!(segment_files(dir.path()).len() >= 3);
        let all = batches().concat();
        let snap = snapshot(dir.path());
        for keep in 0..=all.len() {
            restore(dir.path(), &snap);
            let (mut log, _) = EventLog::open_with(dir.path(), options(span)).expect("open");
            let position = log.truncate_to_records(keep as u64).expect("truncate");
            assert_eq!(position.records, keep as u64);
            check(&log, &all[..keep], span);
            // Readers by block and counts agree with the shorter log.
            let last = all[..keep].last().map_or(0, LogRecord::block);
            assert_eq!(log.records_through_block(last).expect("count"), keep as u64);
            // Appending continues the log right after the cut.
            let more = vec![op(last + 1, 0), op(last + 1, 1)];
            log.append(&more).expect("append after truncate");
            let mut expected = all[..keep].to_vec();
            expected.extend(more);
            check(&log, &expected, span);
        }
    }
}

#[test]
fn truncate_after_every_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), options(0)).expect("open");
    for b in batches() {
        log.append(&b).expect("append");
    }
    drop(log);
    let all = batches().concat();
    let snap = snapshot(dir.path());
    for block in 0..=26 {
        restore(dir.path(), &snap);
        let (mut log, _) = EventLog::open_with(dir.path(), options(0)).expect("open");
        log.truncate_after_block(block).expect("truncate");
        let expected: Vec<_> = all.iter().filter(|r| r.block() <= block).cloned().collect();
        check(&log, &expected, 0);
        log.append(&batch(block + 1..=block + 1, 1))
            .expect("append");
        let mut expected = expected;
        expected.extend(batch(block + 1..=block + 1, 1));
        check(&log, &expected, 0);
    }
}

#[test]
fn truncating_past_the_end_is_refused_and_to_the_end_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), options(0)).expect("open");
    log.append(&batch(1..=3, 2)).expect("append");
    let before = log.position();
    assert!(matches!(
        log.truncate_to_records(before.records + 1),
        Err(StateError::InvalidArgument(_))
    ));
    assert_eq!(
        log.truncate_to_records(before.records).expect("noop"),
        before
    );
    assert_eq!(log.truncate_after_block(3).expect("noop"), before);
    assert_eq!(log.truncate_after_block(u64::MAX).expect("noop"), before);
    assert_eq!(read_all(&log), batch(1..=3, 2));
}

#[test]
fn truncate_to_zero_leaves_an_empty_log_that_starts_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), options(0)).expect("open");
    for b in batches() {
        log.append(&b).expect("append");
    }
    log.truncate_to_records(0).expect("truncate");
    assert!(segment_files(dir.path()).is_empty());
    assert_eq!(log.position().last_block, None);
    // A log emptied this way accepts any block again.
    log.append(&batch(1..=1, 1)).expect("append");
    check(&log, &batch(1..=1, 1), 0);
}

#[test]
fn no_journal_is_left_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), options(0)).expect("open");
    log.append(&batch(1..=5, 3)).expect("append");
    log.truncate_to_records(7).expect("truncate inside a frame");
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}
