//! Figure 4: a 20-block rollback on tokens with longer and longer logs.

use std::path::Path;
use std::time::Instant;

use crate::error::BenchError;
use crate::history::{self, OPS_PER_BLOCK};
use crate::report::{num, Figure};
use crate::Sizes;

/// How far back the rollback goes.
const DEPTH: u64 = 20;

/// Blocks between the checkpoint and the cursor at most: the default
/// checkpoint interval, so the rollback re-applies what a token with the
/// default policy would at worst.
const CHECKPOINT_DISTANCE: u64 = 10_000;

pub(crate) fn figure(dir: &Path, sizes: &Sizes) -> Result<Figure, BenchError> {
    let mut details = Vec::new();
    let mut worst = 0f64;
    for &ops in &sizes.rollback_ops {
        let (seconds, detail) = one(dir, ops)?;
        worst = worst.max(seconds);
        details.push(detail);
    }
    Ok(Figure {
        id: 4,
        name: format!("{DEPTH}-block rollback (slowest of the sizes)"),
        value: worst * 1000.0,
        unit: "ms".into(),
        baseline: None,
        target: "under 1 s each, and flat as history grows".into(),
        details,
    })
}

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
    let cursor = crate::tokens::cursor(&runtime)?;
    let target = cursor - DEPTH;
    let data = runtime.layout().state_dir.join("data.mdb");
    let size = std::fs::metadata(&data).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    let report = runtime
        .rollback_to(target)
        .map_err(|e| BenchError::failed("rolling back", e))?;
    let seconds = started.elapsed().as_secs_f64();
    if report.block.as_ref().map(|b| b.num) != Some(target) {
        return Err(BenchError::Check(format!(
            "the rollback to {target} landed at {:?}",
            report.block.map(|b| b.num)
        )));
    }
    let detail = format!(
        "{} logged ops: {:.1} ms via {:?} (checkpoint {} blocks back, {} log records re-applied, LMDB file {:.0} MB)",
        num(ops as f64),
        seconds * 1000.0,
        report.via,
        num(distance as f64),
        num(report.reapplied as f64),
        size as f64 / 1e6
    );
    Ok((seconds, detail))
}
