//! Event log: round trips across segments, reads at every boundary, ordering rules.

mod log_support;

use log_support::{batch, end, op, read_all, segment_files, tiny};
use state::log::{EventLog, LogOptions, LogRecord, OpenReport};
use state::{RecordSink, StateError};

/// Appends many batches over small segments; returns the log and every record.
fn build(dir: &std::path::Path, options: LogOptions) -> (EventLog, Vec<LogRecord>) {
    let (mut log, report) = EventLog::open_with(dir, options).expect("open");
    assert_eq!(report, OpenReport::default());
    let mut all = Vec::new();
    // Blocks 100.. in batches of 1-4 blocks with 0-5 ops each; block 130
    // appears in two consecutive frames (ops, then its BlockEnd).
    let mut block = 100;
    for n in 0..40u64 {
        let records = if block == 130 {
            vec![op(130, 0), op(130, 1)]
        } else {
            batch(block..=block + n % 4, (n % 6) as u32)
        };
        if block == 130 {
            all.extend(records.clone());
            log.append(&records).expect("append");
            let tail = vec![end(130)];
            all.extend(tail.clone());
            log.append(&tail).expect("append");
            block += 1;
            continue;
        }
        block += n % 4 + 1;
        all.extend(records.clone());
        let pos = log.append(&records).expect("append");
        assert_eq!(pos.records, all.len() as u64);
        assert_eq!(pos.last_block, all.last().map(LogRecord::block));
    }
    (log, all)
}

#[test]
fn many_batches_round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path(), tiny(1500));
    let files = segment_files(dir.path());
    assert!(
        files.len() >= 4,
        "expected several segments, got {}",
        files.len()
    );
    assert_eq!(read_all(&log), all);
    let bytes: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).expect("meta").len())
        .sum();
    assert_eq!(log.position().bytes, bytes);
    assert_eq!(log.size_on_disk(), bytes);
    let verified = log.verify().expect("verify");
    assert_eq!(verified.records, all.len() as u64);
    assert_eq!(verified.frames, 41);
    let position = log.position();
    drop(log);

    // Reopening with other index spans reads the same log.
    for span in [0, 100, 1 << 20] {
        let options = LogOptions {
            segment_bytes: 1500,
            index_span_bytes: span,
            ..LogOptions::default()
        };
        let (log, report) = EventLog::open_with(dir.path(), options).expect("reopen");
        assert_eq!(report, OpenReport::default());
        assert_eq!(log.position(), position);
        assert_eq!(read_all(&log), all);
    }
}

/// A replay gives each chunk of records back to its reader, which decodes
/// later frames into their strings: what it reads must not change, whatever
/// the records given back held (longer lists, larger strings, the other kind).
#[test]
fn a_reader_given_its_records_back_reads_the_same_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path(), tiny(1500));
    let mut reader = log.read_from_record(0).expect("reader");
    let mut bulky = op(1, 1);
    if let LogRecord::Op(op) = &mut bulky {
        op.required_auths = (0..5).map(|i| format!("auth{i}")).collect();
        op.required_posting_auths = (0..4).map(|i| format!("posting{i}")).collect();
        op.json = "x".repeat(100_000);
        op.trx_id = "y".repeat(5_000);
    }
    // Operations and block ends are kept apart, each taken from the end
    // of its own kind: the bulky operations are reused first.
    let mut given = vec![op(2, 0), end(7)];
    given.extend(std::iter::repeat_n(bulky, 6));
    given.push(end(8));
    reader.recycle(given);
    let mut got = Vec::new();
    let mut held = Vec::new();
    while let Some(record) = reader.next() {
        let record = record.expect("decodes");
        if let LogRecord::Op(op) = &record {
            // A string reused for a shorter one keeps at most twice its size
            // (or 256 bytes), so a rare long `json` does not bloat the records.
            for text in [&op.json, &op.trx_id] {
                assert!(
                    text.capacity() <= (2 * text.len()).max(256),
                    "{} bytes held in {}",
                    text.len(),
                    text.capacity()
                );
            }
        }
        got.push(record.clone());
        held.push(record);
        // Give records back a few at a time, as a replay does per chunk.
        if held.len() == 7 {
            reader.recycle(std::mem::take(&mut held));
        }
    }
    assert_eq!(got, all);
}

#[test]
fn segment_names_show_first_record_and_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path(), tiny(1500));
    let mut first_record = 0u64;
    for (i, path) in segment_files(dir.path()).iter().enumerate() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let (record, block) = name
            .strip_prefix('r')
            .and_then(|s| s.strip_suffix(".seg"))
            .and_then(|s| s.split_once("-b"))
            .expect("r<record>-b<block>.seg");
        let record: u64 = record.parse().expect("record digits");
        let block: u64 = block.parse().expect("block digits");
        assert_eq!(all[record as usize].block(), block, "segment {name}");
        if i == 0 {
            assert_eq!(record, 0);
        }
        assert!(record >= first_record);
        first_record = record;
        let first = log
            .read_from_record(record)
            .expect("reader")
            .next()
            .expect("a record")
            .expect("decodes");
        assert_eq!(first, all[record as usize]);
    }
}

#[test]
fn read_from_record_at_every_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    for span in [0, 700] {
        let options = LogOptions {
            segment_bytes: 1500,
            index_span_bytes: span,
            ..LogOptions::default()
        };
        let sub = dir.path().join(format!("span{span}"));
        let (log, all) = build(&sub, options);
        for i in 0..=all.len() {
            let got: Vec<_> = log
                .read_from_record(i as u64)
                .expect("reader")
                .collect::<Result<_, _>>()
                .expect("decodes");
            assert_eq!(got, all[i..], "from record {i} (span {span})");
        }
        let past = log.read_from_record(all.len() as u64 + 1);
        assert!(matches!(past, Err(StateError::InvalidArgument(_))));
    }
}

/// Lends the records it holds as slots, in turn, then new ones, and stops
/// the reading once it has `most`.
struct Slots {
    records: Vec<LogRecord>,
    filled: usize,
    most: usize,
}

impl Slots {
    /// Slots that are used records of both kinds, in another order than
    /// the log's, so that most are decoded over and some change kind.
    fn over(used: &[LogRecord], most: usize) -> Slots {
        Slots {
            records: used.iter().rev().cloned().collect(),
            filled: 0,
            most,
        }
    }

    fn into_records(mut self) -> Vec<LogRecord> {
        self.records.truncate(self.filled);
        self.records
    }
}

impl RecordSink for Slots {
    fn slot(&mut self) -> &mut LogRecord {
        if self.filled == self.records.len() {
            self.records.push(end(0));
        }
        &mut self.records[self.filled]
    }

    fn filled(&mut self) -> bool {
        self.filled += 1;
        self.filled < self.most
    }
}

#[test]
fn draining_into_used_records_reads_the_same_from_every_record_and_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path(), tiny(1500));
    for most in [usize::MAX, 3] {
        for i in 0..=all.len() {
            let mut slots = Slots::over(&all, most);
            let reader = log.read_from_record(i as u64).expect("reader");
            reader.drain_into(&mut slots).expect("decodes");
            let expected: Vec<_> = all[i..].iter().take(most).cloned().collect();
            assert_eq!(
                slots.into_records(),
                expected,
                "from record {i}, at most {most}"
            );
        }
        let last = all.last().map(LogRecord::block).expect("records");
        for b in 0..=last + 2 {
            let mut slots = Slots::over(&all, most);
            let reader = log.read_from_block(b).expect("reader");
            reader.drain_into(&mut slots).expect("decodes");
            let expected: Vec<_> = all
                .iter()
                .filter(|r| r.block() >= b)
                .take(most)
                .cloned()
                .collect();
            assert_eq!(
                slots.into_records(),
                expected,
                "from block {b}, at most {most}"
            );
        }
    }
}

#[test]
fn read_from_block_and_records_through_block_at_every_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    for span in [0, 700] {
        let options = LogOptions {
            segment_bytes: 1500,
            index_span_bytes: span,
            ..LogOptions::default()
        };
        let sub = dir.path().join(format!("span{span}"));
        let (log, all) = build(&sub, options);
        let last = all.last().map(LogRecord::block).expect("records");
        for b in 0..=last + 2 {
            let start = all.iter().position(|r| r.block() >= b).unwrap_or(all.len());
            let got: Vec<_> = log
                .read_from_block(b)
                .expect("reader")
                .collect::<Result<_, _>>()
                .expect("decodes");
            assert_eq!(got, all[start..], "from block {b} (span {span})");
            let through = all.iter().filter(|r| r.block() <= b).count() as u64;
            assert_eq!(
                log.records_through_block(b).expect("count"),
                through,
                "through {b}"
            );
        }
    }
}

#[test]
fn empty_log_reads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, report) = EventLog::open(dir.path()).expect("open");
    assert_eq!(report, OpenReport::default());
    assert_eq!(log.position().records, 0);
    assert_eq!(log.position().last_block, None);
    assert_eq!(log.read_from_record(0).expect("reader").count(), 0);
    assert_eq!(log.read_from_block(0).expect("reader").count(), 0);
    assert_eq!(log.records_through_block(u64::MAX).expect("count"), 0);
    assert_eq!(log.verify().expect("verify").frames, 0);
    // An empty batch writes nothing.
    assert_eq!(log.append(&[]).expect("append").bytes, 0);
    assert!(segment_files(dir.path()).is_empty());
}

#[test]
fn records_out_of_chain_order_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open(dir.path()).expect("open");
    log.append(&batch(10..=12, 2)).expect("append");
    let before = log.position();

    let below_log = log.append(&[op(11, 0), end(13)]);
    assert!(
        matches!(below_log, Err(StateError::InvalidArgument(_))),
        "{below_log:?}"
    );
    let unsorted = log.append(&[op(14, 0), op(13, 0)]);
    assert!(
        matches!(unsorted, Err(StateError::InvalidArgument(_))),
        "{unsorted:?}"
    );
    assert_eq!(log.position(), before);

    // Equal to the last block is allowed (more records of the same block).
    log.append(&[op(12, 9)]).expect("same block");
    drop(log);
    let (log, report) = EventLog::open(dir.path()).expect("reopen");
    assert_eq!(report, OpenReport::default());
    let mut expected = batch(10..=12, 2);
    expected.push(op(12, 9));
    assert_eq!(read_all(&log), expected);
}

#[test]
fn a_frame_larger_than_a_segment_gets_its_own_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), tiny(200)).expect("open");
    let big = batch(1..=50, 5);
    log.append(&[end(0)]).expect("small");
    log.append(&big).expect("big");
    log.append(&[end(51)]).expect("small");
    assert_eq!(segment_files(dir.path()).len(), 3);
    let mut expected = vec![end(0)];
    expected.extend(big);
    expected.push(end(51));
    assert_eq!(read_all(&log), expected);
}

#[test]
fn a_reader_sees_the_log_as_it_was_when_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut log, _) = EventLog::open_with(dir.path(), tiny(300)).expect("open");
    log.append(&batch(1..=3, 2)).expect("append");
    let reader = log.read_from_record(0).expect("reader");
    log.append(&batch(4..=9, 2)).expect("append");
    let got: Vec<_> = reader.collect::<Result<_, _>>().expect("decodes");
    assert_eq!(got, batch(1..=3, 2));
}

#[test]
fn log_and_reader_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<EventLog>();
    send::<state::log::LogReader>();
}
