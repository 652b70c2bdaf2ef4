//! Replay on plain directories: from every checkpoint and from genesis it
//! rebuilds exactly the live projection, without changing the log; a replay
//! to a block shows that block's state until the next write catches up.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::cell::Cell;

use replay::ReplayError;
use state::LogRecord;
use support::*;

const LAST: u64 = 2_500;

#[test]
fn replay_from_every_checkpoint_and_genesis_gives_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(400));
    let batches = batches(1, LAST, 3, 30, 11);
    feed(&rt, &batches);
    let expected = live(&rt);
    let checkpoints = rt.checkpoints().unwrap();
    assert!(checkpoints.len() >= 5, "{checkpoints:?}");
    let total_records = batches.concat().len() as u64;

    for c in &checkpoints {
        let report = rt.replay(Some(&c.name), None, &|_, _| {}).unwrap();
        assert_eq!(report.checkpoint.as_deref(), Some(c.name.as_str()));
        assert_eq!(report.records, total_records - c.log_records);
        assert_eq!(
            report.state_hash, expected.meta.state_hash,
            "from {}",
            c.name
        );
        assert_eq!(live(&rt), expected, "from {}", c.name);
    }
    let last_progress = Cell::new((0, 0));
    let report = rt
        .replay(None, None, &|done, total| last_progress.set((done, total)))
        .unwrap();
    assert_eq!(report.checkpoint, None);
    assert_eq!(report.records, total_records);
    assert_eq!(last_progress.get(), (total_records, total_records));
    assert_eq!(live(&rt), expected);
    // The replaced projection is deleted in the background; once that is
    // done the state dataset holds the new projection's files alone.
    rt.settle();
    let mut left: Vec<String> = std::fs::read_dir(&rt.layout().state_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".hg-dataset", "data.mdb", "lock.mdb"]);
    // Replays leave the checkpoints and the log alone, and the token writable.
    assert_eq!(rt.checkpoints().unwrap(), checkpoints);
    let more = batches_after(LAST);
    feed(&rt, &more);
    let all: Vec<LogRecord> = [batches.concat(), more.concat()].concat();
    let reference = reference(&dir.path().join("reference"), &all);
    assert_eq!(live(&rt), readable(&reference));
    // Nothing is left of the work directory.
    assert!(!rt.layout().state_dir.join("replay.tmp").exists());
}

fn batches_after(last: u64) -> Vec<Vec<LogRecord>> {
    batches(last + 1, last + 300, 3, 30, 12)
}

#[test]
fn replay_to_a_block_shows_that_block_until_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(400));
    let batches = batches(1, LAST, 3, 30, 13);
    feed(&rt, &batches);
    let expected = live(&rt);
    let all = batches.concat();
    let first = rt.checkpoints().unwrap()[1].clone();
    let target = first.block + 333;
    let report = rt
        .replay(Some(&first.name), Some(target), &|_, _| {})
        .unwrap();
    let keep = boundary(&all, target);
    let at_target = reference(&dir.path().join("reference"), &all[..keep]);
    assert_eq!(live(&rt), readable(&at_target));
    assert_eq!(report.block, readable(&at_target).meta.cursor);
    assert_eq!(report.records, keep as u64 - first.log_records);
    // The next writer call applies the rest of the log again.
    assert_eq!(rt.checkpoint_now().unwrap().block, LAST);
    assert_eq!(live(&rt), expected);

    // Same from genesis, then a restart catches up.
    rt.replay(None, Some(100), &|_, _| {}).unwrap();
    assert_eq!(
        live(&rt).meta.cursor.unwrap().num,
        boundary_block(&all, 100)
    );
    drop(rt);
    let rt = open(&backend, policy(400));
    assert_eq!(live(&rt), expected);
}

fn boundary_block(all: &[LogRecord], block: u64) -> u64 {
    all[..boundary(all, block)].last().map_or(0, |r| r.block())
}

#[test]
fn replay_refuses_what_it_cannot_do_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(400));
    feed(&rt, &batches(1, 1_000, 2, 30, 17));
    let before = live(&rt);
    let names: Vec<String> = rt
        .checkpoints()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names.len(), 2);

    let err = rt.replay(Some("b999999"), None, &|_, _| {}).unwrap_err();
    match &err {
        ReplayError::UnknownCheckpoint {
            name, available, ..
        } => {
            assert_eq!(name, "b999999");
            assert_eq!(available, &names);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains(&names.join(", ")), "{err}");

    let err = rt
        .replay(Some(&names[1]), Some(10), &|_, _| {})
        .unwrap_err();
    assert!(
        matches!(err, ReplayError::BlockBelowCheckpoint { block: 10, .. }),
        "{err:?}"
    );
    let err = rt.replay(None, Some(5_000), &|_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            ReplayError::BlockBeyondLog {
                block: 5_000,
                last: Some(1_000),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("its log ends at block 1000"),
        "{err}"
    );
    assert_eq!(live(&rt), before);
    assert_eq!(rt.entry().status().0, state::TokenStatus::Backfilling);
}

#[test]
fn checkpoints_are_taken_at_block_boundaries_with_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(0));
    assert!(matches!(
        rt.checkpoint_now().unwrap_err(),
        ReplayError::NothingToCheckpoint { .. }
    ));
    let batches = batches(1, 900, 3, 30, 19);
    feed(&rt, &batches);
    assert!(
        rt.checkpoints().unwrap().is_empty(),
        "every_blocks 0: only on demand"
    );
    let meta = live(&rt).meta;
    let info = rt.checkpoint_now().unwrap();
    assert_eq!(info.name, "b900");
    assert_eq!(info.block, 900);
    assert_eq!(Some(info.block_id.clone()), meta.cursor.map(|c| c.id));
    assert_eq!(info.log_records, meta.log_records);
    assert_eq!(info.state_hash, meta.state_hash);
    // Asking again at the same block gives the same checkpoint.
    assert_eq!(rt.checkpoint_now().unwrap(), info);
    assert_eq!(rt.checkpoints().unwrap(), vec![info.clone()]);
    // It survives a restart, and lives beside the datasets without being one.
    drop(rt);
    let rt = open(&backend, policy(0));
    assert_eq!(rt.checkpoints().unwrap(), vec![info]);
    assert_eq!(
        backend.list().unwrap(),
        vec!["TEST", "TEST/log", "TEST/state"]
    );
}

/// A replay from genesis writes no undo frames for the transactions the
/// journal's window (1,200 blocks) leaves behind, yet a rollback within the
/// window still undoes through the journal, and one below it restores a
/// checkpoint; both end exactly where a fresh token fed the log would.
#[test]
fn after_a_replay_the_journal_still_reaches_back_its_window() {
    const LONG: u64 = 24_000;
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(5_000));
    let batches = batches(1, LONG, 5, 400, 23);
    feed(&rt, &batches);
    let all: Vec<LogRecord> = batches.concat();
    // More than one replay transaction (50,000 records), so the first is
    // applied without undo frames.
    assert!(all.len() > 60_000, "{} records", all.len());
    let expected = live(&rt);
    rt.replay(None, None, &|_, _| {}).unwrap();
    assert_eq!(live(&rt), expected);

    // Rolls back to `target`, expecting `via`, and compares with a fresh
    // token fed the log up to there.
    let check = |target: u64, via: replay::RollbackVia, name: &str| {
        let report = rt
            .rollback_with(target, replay::RollbackSource::Auto)
            .unwrap();
        assert_eq!(report.via, via, "{report:?}");
        let keep = boundary(&all, target);
        let reference = reference(&dir.path().join(name), &all[..keep]);
        assert_eq!(live(&rt), readable(&reference), "rollback to {target}");
    };
    check(LONG - 1_000, replay::RollbackVia::Journal, "reference");

    // Inside the first replay transaction, which wrote no frames. (The
    // journal may reach further back than the window: to the start of the
    // oldest transaction it keeps, here the second one.)
    let beyond = 16_000;
    assert!(boundary(&all, beyond) < 50_000);
    check(beyond, replay::RollbackVia::Checkpoint, "reference-2");
}
