//! Figure 4: a 20-block rollback on tokens with longer and longer logs.

use std::path::Path;
use std::time::Instant;

use crate::decode::median;
use crate::error::BenchError;
use crate::history::{self, OPS_PER_BLOCK};
use crate::report::{num, Figure};
use crate::Sizes;
use replay::TokenRuntime;

/// How far back each rollback goes.
const DEPTH: u64 = 20;

/// Rollbacks per size; the median is reported. One rollback is a few tens
/// of milliseconds, too short for one sample to stand for it on a noisy VM.
/// Between two, the token is put back as it was (untimed): rolled back to
/// where its last batch began and given the same batch again, so each
/// rollback lands in a batch of the same shape and re-applies as much.
const ROLLBACKS: usize = 5;

/// Blocks between the checkpoint and the cursor at most: the default
/// checkpoint interval, so the rollback re-applies what a token with the
/// default policy would at worst.
const CHECKPOINT_DISTANCE: u64 = 10_000;

pub(crate) fn figure(dir: &Path, sizes: &Sizes) -> Result<Figure, BenchError> {
    let mut details = Vec::new();
    let mut medians = Vec::new();
    for &ops in &sizes.rollback_ops {
        let (seconds, detail) = one(dir, ops)?;
        medians.push(seconds);
        details.push(detail);
    }
    let slowest = medians.iter().copied().fold(0f64, f64::max);
    let fastest = medians.iter().copied().fold(f64::INFINITY, f64::min);
    details.push(format!(
        "the slowest size's median is {:.2}x the fastest's, over {}x the history",
        slowest / fastest,
        num(sizes.rollback_ops.iter().max().copied().unwrap_or(1) as f64
            / sizes.rollback_ops.iter().min().copied().unwrap_or(1).max(1) as f64)
    ));
    Ok(Figure {
        id: 4,
        name: format!("{DEPTH}-block rollback (slowest of the sizes' medians)"),
        value: slowest * 1000.0,
        unit: "ms".into(),
        baseline: None,
        target: "under 1 s each, and flat as history grows".into(),
        details,
    })
}

/// Builds a token with `ops` logged operations and rolls it back
/// [`ROLLBACKS`] times; returns the median time and the detail line.
fn one(dir: &Path, ops: u64) -> Result<(f64, String), BenchError> {
    let work = crate::replay::tempdir(dir)?;
    let runtime = history::open(work.path(), "HISTK")?;
    let blocks = (ops / OPS_PER_BLOCK).max(DEPTH + 2);
    let distance = CHECKPOINT_DISTANCE.min(blocks / 2);
    history::extend(&runtime, blocks - distance)?;
    runtime
        .checkpoint_now()
        .map_err(|e| BenchError::failed("taking the checkpoint", e))?;
    history::extend(&runtime, distance)?;
    let data = runtime.layout().state_dir.join("data.mdb");
    let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    let mut times = Vec::with_capacity(ROLLBACKS);
    let mut reapplied = Vec::with_capacity(ROLLBACKS);
    let mut vias = Vec::new();
    // `extend` ends with a batch of this many blocks.
    let last_batch = match distance % history::BATCH_BLOCKS {
        0 => history::BATCH_BLOCKS.min(distance),
        rest => rest,
    };
    if last_batch < DEPTH {
        return Err(BenchError::Check(format!(
            "a history of {ops} ops ends with a batch of {last_batch} blocks, shorter than the {DEPTH}-block rollback"
        )));
    }
    let cursor = crate::tokens::cursor(&runtime)?;
    for round in 0..ROLLBACKS {
        if round > 0 {
            put_back(&runtime, cursor, last_batch)?;
        }
        let target = cursor - DEPTH;
        let started = Instant::now();
        let report = runtime
            .rollback_to(target)
            .map_err(|e| BenchError::failed("rolling back", e))?;
        times.push(started.elapsed().as_secs_f64());
        if report.block.as_ref().map(|b| b.num) != Some(target) {
            return Err(BenchError::Check(format!(
                "the rollback to {target} landed at {:?}",
                report.block.map(|b| b.num)
            )));
        }
        reapplied.push(report.reapplied.to_string());
        if !vias.contains(&report.via) {
            vias.push(report.via);
        }
    }
    let median = median(&times);
    let listed: Vec<String> = times.iter().map(|t| format!("{:.1}", t * 1000.0)).collect();
    let detail = format!(
        "{} logged ops: {:.1} ms, the median of {ROLLBACKS} rollbacks, the token put back between them ({} ms) via {} (checkpoint {} blocks back, log records re-applied {}, LMDB file {:.0} MB)",
        num(ops as f64),
        median * 1000.0,
        listed.join(" / "),
        vias.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(" and "),
        num(distance as f64),
        reapplied.join(" / "),
        size as f64 / 1e6
    );
    Ok((median, detail))
}

/// Puts the token back at `cursor`, as it stood before the first rollback:
/// rolls it back to where its last batch (of `last_batch` blocks) began and
/// applies that batch again.
fn put_back(runtime: &TokenRuntime, cursor: u64, last_batch: u64) -> Result<(), BenchError> {
    let batch_start = cursor - last_batch;
    let report = runtime
        .rollback_to(batch_start)
        .map_err(|e| BenchError::failed("rolling back to the last batch", e))?;
    if report.reapplied != 0 {
        return Err(BenchError::Check(format!(
            "the rollback to block {batch_start}, where the last batch began, re-applied {} records",
            report.reapplied
        )));
    }
    history::extend(runtime, last_batch)?;
    if crate::tokens::cursor(runtime)? != cursor {
        return Err(BenchError::Check(format!(
            "the token is not back at block {cursor}"
        )));
    }
    Ok(())
}
