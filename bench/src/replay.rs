//! Figure 3: log replay into LMDB ([`TokenRuntime::replay`] from genesis),
//! against a plain heed put loop writing the same rows.

use std::path::Path;
use std::time::Instant;

use replay::TokenRuntime;

use crate::cpu::CpuTime;
use crate::decode::median;
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
    let built = runtime
        .entry()
        .projection()
        .and_then(|p| p.meta().ok())
        .map(|m| m.state_hash);
    let state_dir = runtime.layout().state_dir.clone();
    let baseline_dir = |round: usize| work.path().join(format!("baseline-{round}"));
    // A first replay, untimed, leaves the rows the put loop writes; they
    // are read with the projection closed. Then the replay and the put
    // loop take turns, as figure 1's two sides do, all with the rows in
    // memory, and each side's median is kept: a single pair let a slow
    // spell of this shared machine land on one side alone.
    let first = replay_once(&runtime, built.as_deref())?;
    let commits = first.records.div_ceil(REPLAY_CHUNK_RECORDS).max(1);
    drop(runtime);
    let rows = lmdb::read_all(&state_dir)?;
    let runtime = history::open(work.path(), "HISTR")?;
    let mut rounds: Vec<Round> = Vec::with_capacity(sizes.rounds);
    for round in 0..sizes.rounds.max(1) {
        let replayed = replay_once(&runtime, built.as_deref())?;
        if round > 0 {
            remove_dir(&baseline_dir(round - 1))?;
        }
        let put_loop = lmdb::put_loop(&baseline_dir(round), &rows, commits)?;
        rounds.push(Round {
            replay: replayed.seconds,
            put_loop,
            cpu: replayed.cpu,
        });
    }
    drop(runtime);
    let replayed_file = file_mb(&state_dir.join("data.mdb"));
    let baseline_file = file_mb(&baseline_dir(rounds.len().saturating_sub(1)).join("data.mdb"));
    let replays: Vec<f64> = rounds.iter().map(|r| r.replay).collect();
    let put_loops: Vec<f64> = rounds.iter().map(|r| r.put_loop).collect();
    let (seconds, baseline_seconds) = (median(&replays), median(&put_loops));
    let mut figure = figure_from(ops, seconds, baseline_seconds, &rows, commits);
    figure.details.push(format!(
        "medians of {} rounds, replay and put loop in turn, after an untimed first replay: replay {}, put loop {}",
        rounds.len(),
        seconds_list(&replays),
        seconds_list(&put_loops)
    ));
    if let Some(cpu) = rounds
        .iter()
        .find(|r| r.replay == seconds)
        .and_then(|r| r.cpu.clone())
    {
        figure.details.push(format!("the median replay's {cpu}"));
    }
    figure.details.push(format!(
        "LMDB file after the replay {replayed_file:.0} MB, after the put loop {baseline_file:.0} MB"
    ));
    Ok(figure)
}

/// One turn of each side.
struct Round {
    replay: f64,
    put_loop: f64,
    cpu: Option<String>,
}

/// One replay from genesis.
struct Replayed {
    seconds: f64,
    records: u64,
    cpu: Option<String>,
}

/// Replays `runtime`'s log from genesis and checks that it ends on the
/// state hash the history was built with.
fn replay_once(runtime: &TokenRuntime, built: Option<&str>) -> Result<Replayed, BenchError> {
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
    // The replaced projection is deleted in the background once the token
    // serves again; the put loop that runs next must not share the machine
    // with that.
    runtime.settle();
    if built != Some(report.state_hash.as_str()) {
        return Err(BenchError::Check(
            "the replayed projection's state hash differs from the one built by ingest".into(),
        ));
    }
    Ok(Replayed {
        seconds,
        records: report.records,
        cpu,
    })
}

fn seconds_list(values: &[f64]) -> String {
    let list: Vec<String> = values.iter().map(|s| format!("{s:.2}")).collect();
    format!("{} s", list.join(" / "))
}

fn remove_dir(dir: &Path) -> Result<(), BenchError> {
    std::fs::remove_dir_all(dir)
        .map_err(|e| BenchError::io(format!("removing {}", dir.display()), e))
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
