//! Figure 3: log replay into LMDB ([`TokenRuntime::replay`] from genesis),
//! against a plain heed put loop writing the same rows.

use std::path::Path;
use std::time::Instant;

use crate::cpu::CpuTime;
use crate::error::BenchError;
use crate::history::{self, OPS_PER_BLOCK};
use crate::lmdb::{self, Rows};
use crate::report::{num, Figure};
use crate::Sizes;

/// Log records one replay transaction holds (replay's own chunk size).
const REPLAY_CHUNK_RECORDS: u64 = 50_000;

pub(crate) fn figure(dir: &Path, sizes: &Sizes) -> Result<Figure, BenchError> {
    let work = tempdir(dir)?;
    let blocks = sizes.replay_ops / OPS_PER_BLOCK;
    let runtime = history::open(work.path(), "HISTR")?;
    let ops = history::extend(&runtime, blocks)?;
    let before = runtime
        .entry()
        .projection()
        .and_then(|p| p.meta().ok())
        .map(|m| m.state_hash);
    let cpu_before = CpuTime::now();
    let started = Instant::now();
    let report = runtime
        .replay(None, None, &|_, _| {})
        .map_err(|e| BenchError::failed("replaying the log", e))?;
    let seconds = started.elapsed().as_secs_f64();
    // The replay runs the contract on the calling thread; a thread of its own
    // reads the log, and another writes LMDB (`Projection::pipelined`).
    let cpu = cpu_before.zip(CpuTime::now()).map(|(before, after)| {
        after
            .since(before)
            .describe(seconds, Some("the contract's thread"))
    });
    if before.as_deref() != Some(report.state_hash.as_str()) {
        return Err(BenchError::Check(
            "the replayed projection's state hash differs from the one built by ingest".into(),
        ));
    }
    let state_dir = runtime.layout().state_dir.clone();
    drop(runtime);
    let replayed_file = file_mb(&state_dir.join("data.mdb"));
    let rows = lmdb::read_all(&state_dir)?;
    let commits = report.records.div_ceil(REPLAY_CHUNK_RECORDS).max(1);
    let baseline_dir = work.path().join("baseline");
    let baseline_seconds = lmdb::put_loop(&baseline_dir, &rows, commits)?;
    let mut figure = figure_from(ops, seconds, baseline_seconds, &rows, commits);
    figure.details.extend(cpu);
    figure.details.push(format!(
        "LMDB file after the replay {replayed_file:.0} MB, after the put loop {:.0} MB",
        file_mb(&baseline_dir.join("data.mdb"))
    ));
    Ok(figure)
}

fn figure_from(ops: u64, seconds: f64, baseline: f64, rows: &Rows, commits: u64) -> Figure {
    Figure {
        id: 3,
        name: "log replay into LMDB (TokenRuntime::replay from genesis)".into(),
        value: ops as f64 / seconds,
        unit: "ops/s".into(),
        baseline: Some((
            "plain heed put loop writing the same rows".into(),
            ops as f64 / baseline,
        )),
        target: "at least 1,000,000 ops/s and at least 50% of the baseline".into(),
        details: vec![
            format!(
                "{} send ops in {} blocks ({OPS_PER_BLOCK} a block, 1000 accounts): replay {:.2} s, put loop {:.2} s",
                num(ops as f64),
                num((ops / OPS_PER_BLOCK) as f64),
                seconds,
                baseline
            ),
            format!(
                "the put loop writes the {} rows ({:.1} MB) the replay left in {} databases, in key order, in {commits} transactions",
                num(rows.len() as f64),
                rows.bytes() as f64 / 1e6,
                rows.databases()
            ),
            rows_per_op_bound(ops, baseline, rows),
        ],
    }
}

/// What the put loop's speed says about the target: the replay can be no
/// faster than writing its rows, so 1M ops/s needs few enough rows per op.
fn rows_per_op_bound(ops: u64, baseline: f64, rows: &Rows) -> String {
    let rows_per_op = rows.len() as f64 / ops.max(1) as f64;
    let rows_per_second = rows.len() as f64 / baseline;
    format!(
        "{rows_per_op:.1} rows per op; the put loop wrote {} rows/s, so on this machine 1,000,000 ops/s needs at most {:.1} rows per op even at the put loop's speed",
        num(rows_per_second),
        rows_per_second / 1e6
    )
}

/// The size of `file` in MB (NaN when it cannot be read).
fn file_mb(file: &Path) -> f64 {
    std::fs::metadata(file).map_or(f64::NAN, |m| m.len() as f64 / 1e6)
}

pub(crate) fn tempdir(dir: &Path) -> Result<tempfile::TempDir, BenchError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
    tempfile::Builder::new()
        .prefix("honeygraph-bench-")
        .tempdir_in(dir)
        .map_err(|e| BenchError::io(format!("creating a directory in {}", dir.display()), e))
}
