//! Property: for any block N, `rollback_to(N)` leaves exactly the state of
//! a fresh token fed the log up to N (architecture.md invariant 1), and
//! retention keeps the newest checkpoints.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use replay::{CheckpointPolicy, RetentionPolicy};
use support::*;

const LAST: u64 = 1_500;

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

#[test]
fn rollback_to_any_block_equals_a_fresh_token_fed_up_to_it() {
    // One token fed once; every case rolls back a copy of it.
    let origin = tempfile::tempdir().unwrap();
    let batches = batches(1, LAST, 3, 25, 31);
    let all = batches.concat();
    {
        let backend = plain(origin.path());
        let rt = open(&backend, policy(250));
        feed(&rt, &batches);
        assert!(rt.checkpoints().unwrap().len() >= 5);
    }
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(&(0u64..=LAST), |target| {
            let dir = tempfile::tempdir().unwrap();
            copy_tree(origin.path(), dir.path());
            let backend = plain(dir.path());
            let rt = open(&backend, policy(250));
            let report = rt.rollback_to(target).unwrap();
            let keep = boundary(&all, target);
            let expected = readable(&reference(&dir.path().join("reference"), &all[..keep]));
            prop_assert_eq!(&live(&rt), &expected);
            prop_assert_eq!(report.log_records, keep as u64);
            prop_assert!(rt.checkpoints().unwrap().iter().all(|c| c.block <= target));
            Ok(())
        })
        .unwrap();
}

#[test]
fn retention_keeps_the_newest_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let policy = CheckpointPolicy {
        every_blocks: 100,
        retention: RetentionPolicy {
            keep_last: 3,
            keep_daily: 2,
        },
    };
    let rt = open(&backend, policy);
    let batches = batches(1, 1_000, 2, 20, 37);
    let mut taken = Vec::new();
    for batch in &batches {
        rt.apply_batch(batch).unwrap();
        if let Some(c) = rt.maybe_checkpoint().unwrap() {
            taken.push(c);
        }
    }
    // One checkpoint for each multiple of 100 crossed, at the batch's end.
    assert_eq!(taken.len(), 10, "{taken:?}");
    for (i, c) in taken.iter().enumerate() {
        assert_eq!(c.block / 100, i as u64 + 1, "{c:?}");
    }
    // All taken today: the newest three (today's newest among them) remain.
    let kept: Vec<String> = rt
        .checkpoints()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    let newest: Vec<String> = taken[7..].iter().map(|c| c.name.clone()).collect();
    assert_eq!(kept, newest);
    let on_disk = fs::read_dir(rt.layout().root.join("checkpoints"))
        .unwrap()
        .count();
    assert_eq!(on_disk, 3);
}
