//! Not a test but a measurement, run by hand:
//! `cargo test -p replay --release --test measure -- --ignored --nocapture`.
//! Prints how long a 20-block rollback takes on tokens with about 100k and
//! 1M logged operations, with the tip 5,020 blocks past the newest
//! checkpoint (default policy: every 10,000 blocks) in both, so the work is
//! the same and only the history differs; a full replay from genesis is
//! printed beside it for scale, and a rollback of the next 20 blocks
//! forced to restore the checkpoint instead of using the undo journal.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use datasets::DatasetBackend;
use replay::CheckpointPolicy;
use support::*;

fn measure(label: &str, backend: &Arc<dyn DatasetBackend>, ops: u64) {
    let every = CheckpointPolicy::default().every_blocks;
    let tip = (ops / 10 / every).max(1) * every + 5_020;
    let max_ops = (2 * ops).div_ceil(tip);
    let rt = open(backend, CheckpointPolicy::default());
    let started = Instant::now();
    let mut logged = 0;
    let mut first = 1;
    while first <= tip {
        let last = (first + 4_999).min(tip);
        let chunk = batches(first, last, max_ops, 500, first);
        logged += chunk
            .iter()
            .flatten()
            .filter(|r| matches!(r, state::LogRecord::Op(_)))
            .count();
        feed(&rt, &chunk);
        first = last + 1;
    }
    let fed = started.elapsed();
    let size = std::fs::metadata(rt.layout().state_dir.join("data.mdb"))
        .unwrap()
        .len();
    let started = Instant::now();
    let report = rt.rollback_to(tip - 20).unwrap();
    let rollback = started.elapsed();
    let started = Instant::now();
    let restored = rt
        .rollback_with(tip - 40, replay::RollbackSource::Checkpoint)
        .unwrap();
    let from_checkpoint = started.elapsed();
    println!(
        "{label}: the next 20 blocks from checkpoint {} instead: re-applied {} records in {from_checkpoint:.2?}",
        restored.checkpoint.as_deref().unwrap_or("genesis"),
        restored.reapplied,
    );
    let started = Instant::now();
    let full = rt.replay(None, None, &|_, _| {}).unwrap();
    let replay = started.elapsed();
    println!(
        "{label}: {logged} ops over {tip} blocks (fed in {fed:.1?}, data.mdb {} MiB): rollback of 20 blocks \
         from {} re-applied {} records in {rollback:.2?}; full replay from genesis ({} records) {replay:.2?}",
        size >> 20,
        report.checkpoint.as_deref().unwrap_or(match report.via {
            replay::RollbackVia::Journal => "the undo journal",
            _ => "genesis",
        }),
        report.reapplied,
        full.records,
    );
}

#[test]
#[ignore = "a measurement, not a test: run it by hand with --release --ignored --nocapture"]
fn rollback_cost_does_not_grow_with_history() {
    for ops in [100_000, 1_000_000] {
        let dir =
            tempfile::tempdir_in(std::env::var_os("MEASURE_DIR").unwrap_or_else(|| ".".into()))
                .unwrap();
        measure("plain", &plain(dir.path()), ops);
    }
    // The 1M-op token needs a pool of a few GB (HG_ZFS_SIZE=4G for .ci/zfs-setup.sh).
    for ops in [100_000, 1_000_000] {
        if let Some(fx) = ZfsFixture::new("measure") {
            measure("zfs", &fx.backend, ops);
        }
    }
}
