//! A crash at any step of a checkpoint, a rollback or a replay leaves a
//! token that opens (or, without a restart, serves on the next call) with
//! exactly the state it should have: the crash points stop the operation
//! where a SIGKILL would, with every earlier step's files on disk.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::sync::Arc;

use datasets::DatasetBackend;
use replay::{CrashPoint, ReplayError, TokenRuntime};
use state::{LogRecord, TokenStatus};
use support::*;

const LAST: u64 = 2_000;

struct Fed {
    dir: tempfile::TempDir,
    backend: Arc<dyn DatasetBackend>,
    rt: Arc<TokenRuntime>,
    all: Vec<LogRecord>,
    final_state: Readable,
}

fn fed() -> Fed {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let rt = open(&backend, policy(400));
    let batches = batches(1, LAST, 3, 30, 23);
    feed(&rt, &batches);
    let final_state = live(&rt);
    Fed {
        dir,
        backend,
        rt,
        all: batches.concat(),
        final_state,
    }
}

fn state_at(dir: &Path, all: &[LogRecord], block: u64, name: &str) -> Readable {
    readable(&reference(&dir.join(name), &all[..boundary(all, block)]))
}

fn assert_crashed(result: Result<impl std::fmt::Debug, ReplayError>, point: CrashPoint) {
    match result {
        Err(ReplayError::SimulatedCrash(at)) => assert_eq!(at, point),
        other => panic!("expected a simulated crash at {point:?}, got {other:?}"),
    }
}

const ROLLBACK_POINTS: [CrashPoint; 5] = [
    CrashPoint::RollbackAfterMarker,
    CrashPoint::RollbackAfterDestroy,
    CrashPoint::RollbackAfterTruncate,
    CrashPoint::RollbackAfterRestore,
    CrashPoint::RollbackMidReapply,
];

#[test]
fn a_rollback_interrupted_at_any_step_is_finished_on_open() {
    for target in [1_333, 250] {
        for point in ROLLBACK_POINTS {
            let f = fed();
            f.rt.set_crash_point(Some(point));
            assert_crashed(f.rt.rollback_to(target), point);
            let (status, error) = f.rt.entry().status();
            assert_eq!(status, TokenStatus::Failed);
            assert!(error.unwrap().contains("simulated crash"));
            assert!(
                f.rt.entry().projection().is_none(),
                "queries get 503, not a half-rolled-back state"
            );
            drop(f.rt);

            let rt = open(&f.backend, policy(400));
            let expected = state_at(f.dir.path(), &f.all, target, "reference");
            assert_eq!(
                live(&rt),
                expected,
                "rollback to {target} interrupted at {point:?}"
            );
            assert!(!rt.layout().root.join("rollback.pending").exists());
            assert!(rt.checkpoints().unwrap().iter().all(|c| c.block <= target));
            // The token goes on: the same blocks again end in the same state.
            feed(&rt, &rebatch(&f.all[boundary(&f.all, target)..]));
            assert_eq!(live(&rt), f.final_state, "{point:?}");
        }
    }
}

#[test]
fn a_rollback_interrupted_in_process_is_finished_by_the_next_call() {
    let f = fed();
    f.rt.set_crash_point(Some(CrashPoint::RollbackAfterTruncate));
    assert_crashed(f.rt.rollback_to(1_111), CrashPoint::RollbackAfterTruncate);
    f.rt.set_crash_point(None);
    let cursor = f.rt.cursor().unwrap();
    let expected = state_at(f.dir.path(), &f.all, 1_111, "reference");
    assert_eq!(cursor, expected.meta.cursor);
    assert_eq!(live(&f.rt), expected);
}

#[test]
fn a_replay_interrupted_before_or_after_the_swap_leaves_a_whole_projection() {
    let points = [CrashPoint::ReplayBeforeSwap, CrashPoint::ReplayAfterRename];
    for point in points {
        for to_block in [None, Some(900)] {
            let f = fed();
            let from = f.rt.checkpoints().unwrap()[0].name.clone();
            f.rt.set_crash_point(Some(point));
            assert_crashed(f.rt.replay(Some(&from), to_block, &|_, _| {}), point);
            drop(f.rt);
            let rt = open(&f.backend, policy(400));
            // Before the swap the old projection is intact; after it the new
            // one is whole, and opening applies the rest of the log.
            assert_eq!(live(&rt), f.final_state, "{point:?} to {to_block:?}");
            assert!(!rt.layout().state_dir.join("replay.tmp").exists());
            assert!(!rt.layout().state_dir.join("replay.old").exists());
        }
    }
}

#[test]
fn a_replaced_projection_whose_deletion_was_cut_short_goes_on_open() {
    // A process killed while a replay's background removal runs leaves the
    // work directory moved aside, with the replaced file (a second name of
    // nothing live) still in it, or the work directory itself with both.
    let f = fed();
    f.rt.replay(None, None, &|_, _| {}).unwrap();
    let state_dir = f.rt.layout().state_dir.clone();
    drop(f.rt);
    for leftover in ["replay.old", "replay.tmp"] {
        std::fs::create_dir_all(state_dir.join(leftover)).unwrap();
        std::fs::copy(
            state_dir.join("data.mdb"),
            state_dir.join(leftover).join("replaced.mdb"),
        )
        .unwrap();
    }
    let rt = open(&f.backend, policy(400));
    assert_eq!(live(&rt), f.final_state);
    assert!(!state_dir.join("replay.old").exists());
    assert!(!state_dir.join("replay.tmp").exists());
}

#[test]
fn a_checkpoint_interrupted_before_it_is_published_does_not_exist() {
    let f = fed();
    let before = f.rt.checkpoints().unwrap();
    f.rt.apply_batch(&batches(LAST + 1, LAST + 50, 2, 50, 5)[0])
        .unwrap();
    f.rt.set_crash_point(Some(CrashPoint::CheckpointBeforePublish));
    assert_crashed(f.rt.checkpoint_now(), CrashPoint::CheckpointBeforePublish);
    let final_state = live(&f.rt);
    drop(f.rt);
    let rt = open(&f.backend, policy(400));
    assert_eq!(rt.checkpoints().unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(rt.layout().root.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(live(&rt), final_state);
    let taken = rt.checkpoint_now().unwrap();
    assert_eq!(taken.state_hash, final_state.meta.state_hash);
}
