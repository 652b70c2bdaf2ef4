//! The same guarantees on ZFS (checkpoints are recursive snapshots, a
//! rollback rolls back only `SYMBOL/state`). Needs `HONEYGRAPH_TEST_ZFS_POOL`;
//! without it the tests print that they are skipped.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use replay::{CrashPoint, ReplayError, RollbackSource, RollbackVia};
use support::*;

const LAST: u64 = 1_200;

#[test]
fn zfs_checkpoints_rollback_and_replay() {
    let Some(fx) = ZfsFixture::new("main") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = open(&fx.backend, policy(300));
    let batches = batches(1, LAST, 3, 25, 41);
    feed(&rt, &batches);
    let final_state = live(&rt);
    let all = batches.concat();
    let checkpoints = rt.checkpoints().unwrap();
    assert_eq!(checkpoints.len(), 4, "{checkpoints:?}");
    let snapshots: Vec<String> = fx
        .backend
        .list_snapshots("TEST")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let names: Vec<String> = checkpoints.iter().map(|c| c.name.clone()).collect();
    assert_eq!(snapshots, names, "one recursive snapshot per checkpoint");

    // Replay from every checkpoint and from genesis: the live state.
    for c in &checkpoints {
        let report = rt.replay(Some(&c.name), None, &|_, _| {}).unwrap();
        assert_eq!(
            report.state_hash, final_state.meta.state_hash,
            "from {}",
            c.name
        );
        assert_eq!(live(&rt), final_state);
    }
    rt.replay(None, None, &|_, _| {}).unwrap();
    assert_eq!(live(&rt), final_state);
    assert!(fx
        .backend
        .list()
        .unwrap()
        .iter()
        .all(|d| !d.contains("restore-")));

    // Rollback between checkpoints from the checkpoint below (not the undo
    // journal), then ingest the same blocks again.
    let target = checkpoints[2].block + 77;
    let report = rt
        .rollback_with(target, RollbackSource::Checkpoint)
        .unwrap();
    assert_eq!(report.via, RollbackVia::Checkpoint);
    assert_eq!(
        report.checkpoint.as_deref(),
        Some(checkpoints[2].name.as_str())
    );
    let keep = boundary(&all, target);
    let expected = readable(&reference(&dir.path().join("r1"), &all[..keep]));
    assert_eq!(live(&rt), expected);
    let left: Vec<String> = fx
        .backend
        .list_snapshots("TEST")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(left, names[..3].to_vec());
    feed(&rt, &rebatch(&all[keep..]));
    assert_eq!(live(&rt), final_state);

    // A crash in the middle of a rollback (by the undo journal) is finished on open.
    let target = checkpoints[1].block + 5;
    rt.set_crash_point(Some(CrashPoint::RollbackMidReapply));
    assert!(matches!(
        rt.rollback_to(target),
        Err(ReplayError::SimulatedCrash(_))
    ));
    drop(rt);
    let rt = open(&fx.backend, policy(300));
    let keep = boundary(&all, target);
    assert_eq!(
        live(&rt),
        readable(&reference(&dir.path().join("r2"), &all[..keep]))
    );

    // Below the oldest checkpoint: from genesis.
    let report = rt.rollback_with(100, RollbackSource::Checkpoint).unwrap();
    assert_eq!(report.checkpoint, None);
    assert_eq!(report.via, RollbackVia::Genesis);
    let keep = boundary(&all, 100);
    assert_eq!(
        live(&rt),
        readable(&reference(&dir.path().join("r3"), &all[..keep]))
    );
    assert!(rt.checkpoints().unwrap().is_empty());
    assert!(fx.backend.list_snapshots("TEST").unwrap().is_empty());
}
