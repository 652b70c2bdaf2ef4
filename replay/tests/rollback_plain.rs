//! Rollback on plain directories: the result is exactly a fresh token fed
//! the log up to the block, wherever the block lies relative to the
//! checkpoints and the undo journal's reach, and ingesting the same blocks
//! again ends where it ended.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use replay::{RollbackSource, RollbackVia};
use state::LogRecord;
use support::*;

const LAST: u64 = 3_000;

fn log() -> Vec<Vec<LogRecord>> {
    batches(1, LAST, 3, 40, 7)
}

/// Rolls a freshly fed token back to `target` and checks it against a
/// reference fed only the records up to the boundary; then feeds the rest
/// again and checks the final state.
fn check_rollback(target: u64, source: RollbackSource, via: RollbackVia) {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(500));
    let batches = log();
    feed(&rt, &batches);
    let final_state = live(&rt);
    let checkpoints = rt.checkpoints().unwrap();
    assert!(
        checkpoints.len() >= 5,
        "checkpoints every 500 blocks: {checkpoints:?}"
    );

    let report = rt.rollback_with(target, source).unwrap();
    let all: Vec<LogRecord> = batches.concat();
    let keep = boundary(&all, target);
    let reference = reference(&dir.path().join("reference"), &all[..keep]);
    let expected = readable(&reference);
    assert_eq!(live(&rt), expected, "rollback to {target}");
    assert_eq!(report.block, expected.meta.cursor);
    assert_eq!(report.log_records, keep as u64);
    assert_eq!(report.via, via, "{report:?}");
    assert_eq!(
        report.checkpoint.is_some(),
        via == RollbackVia::Checkpoint,
        "{report:?}"
    );
    assert!(report.block.as_ref().is_none_or(|b| b.num <= target));
    assert_eq!(rt.cursor().unwrap(), expected.meta.cursor);
    assert!(rt.checkpoints().unwrap().iter().all(|c| c.block <= target));
    assert_eq!(rt.entry().status().0, state::TokenStatus::Backfilling);

    // Ingest fetches again from the block after the one the rollback ended at.
    let again = rebatch(&all[keep..]);
    feed(&rt, &again);
    assert_eq!(
        live(&rt),
        final_state,
        "re-ingesting after the rollback to {target}"
    );

    // And the state survives a restart.
    drop(reference);
    drop(rt);
    let rt = open(&backend, policy(500));
    assert_eq!(live(&rt), final_state);
}

#[test]
fn rollback_within_the_undo_journal_undoes_the_blocks_above() {
    // The journal reaches 1,200 blocks below the tip at 3,000.
    check_rollback(2_777, RollbackSource::Auto, RollbackVia::Journal);
}

#[test]
fn rollback_within_the_journal_may_still_start_from_a_checkpoint() {
    check_rollback(2_777, RollbackSource::Checkpoint, RollbackVia::Checkpoint);
}

#[test]
fn rollback_beyond_the_journal_restores_the_checkpoint_below() {
    check_rollback(1_777, RollbackSource::Auto, RollbackVia::Checkpoint);
}

#[test]
fn rollback_onto_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(500));
    feed(&rt, &log());
    let third = rt.checkpoints().unwrap()[2].clone();
    drop(rt);
    drop(backend);
    drop(dir);
    check_rollback(third.block, RollbackSource::Auto, RollbackVia::Checkpoint);
}

#[test]
fn rollback_below_the_oldest_checkpoint_replays_from_genesis() {
    check_rollback(321, RollbackSource::Auto, RollbackVia::Genesis);
}

#[test]
fn rollback_to_the_cursor_changes_nothing_and_above_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(500));
    feed(&rt, &log());
    let before = live(&rt);
    let cursor = rt.cursor().unwrap().unwrap();
    assert_eq!(cursor.num, LAST);
    let report = rt.rollback_to(LAST).unwrap();
    assert_eq!(report.reapplied, 0);
    assert_eq!(live(&rt), before);
    let err = rt.rollback_to(LAST + 1).unwrap_err();
    assert!(
        matches!(err, replay::ReplayError::BlockAboveCursor { block, cursor: Some(c), .. } if block == LAST + 1 && c == LAST)
    );
    assert!(
        err.to_string().contains("it is only at block 3000"),
        "{err}"
    );
    assert_eq!(live(&rt), before);
}

#[test]
fn rollback_below_the_first_block_leaves_the_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(500));
    let batches = batches(50, 400, 3, 10, 3);
    feed(&rt, &batches);
    let report = rt.rollback_to(10).unwrap();
    assert_eq!(report.block, None);
    assert_eq!(report.log_records, 0);
    let genesis = reference(&dir.path().join("reference"), &[]);
    assert_eq!(live(&rt), readable(&genesis));
    feed(&rt, &batches);
    drop(genesis);
    let again = reference(&dir.path().join("reference2"), &batches.concat());
    assert_eq!(live(&rt), readable(&again));
}
