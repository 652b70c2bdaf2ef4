//! `honeygraph bench`: the performance figures of issue 6, each printed
//! with the baseline measured in the same run and the ratio to it.
//!
//! It owns the bench harness and nothing the indexer runs:
//! - [`chain`]: realistic blocks built from four real 2025 blocks as
//!   templates (about 15 transactions and 3 token operations a block);
//! - figure 1 (`decode`): [`ingest::decode`] against
//!   `serde_json::from_slice::<Value>` on the same bytes;
//! - figures 2 and 6 (`catchup`): [`ingest::Ingest`] catching three tokens
//!   up from a local HTTP node serving answers rendered before the run
//!   (`node`, `rendered`), and the peak RSS of such a run (from the
//!   templates, which take no memory per block);
//! - figure 3 (`replay`): [`replay::TokenRuntime::replay`] against a plain
//!   heed put loop writing the same rows (`lmdb`);
//! - figure 4 (`rollback`): a 20-block rollback on longer and longer logs;
//! - figure 5 (`load`): REST and GraphQL reads of [`query::serve`] under
//!   the bench's own load generator (`loadgen`), bodies checked.
//!
//! [`run`] with [`BenchOptions::quick`] is the smoke version CI runs: the
//! same code on small sizes, in seconds, with no timed assertion.

mod catchup;
pub mod chain;
mod cpu;
pub mod decode;
mod error;
mod history;
mod lmdb;
mod load;
mod loadgen;
mod node;
mod pieces;
mod rendered;
mod replay;
mod report;
mod rollback;
mod rss;
mod tokens;

use std::path::PathBuf;
use std::time::Duration;

pub use error::BenchError;
pub use report::{Figure, Report};

/// What `honeygraph bench` runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchOptions {
    /// Small sizes, a few seconds: the smoke version CI runs.
    pub quick: bool,
    /// Where the bench's throwaway data goes (default: the system's
    /// temporary directory); it is removed afterwards.
    pub dir: Option<PathBuf>,
    /// Only these figures (1 to 6); empty: all. Figure 2 needs figure 1's
    /// result as its baseline, so asking for 2 measures 1 too.
    pub only: Vec<u8>,
}

/// The sizes of one run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    /// How long the timed decode passes (ours and the baseline, in turn) run at least.
    pub(crate) measure: Duration,
    /// `get_block_range` bodies of 100 blocks decoded in figure 1.
    pub(crate) decode_ranges: u64,
    /// Blocks of the figure 2 catch-up.
    pub(crate) catchup_blocks: u64,
    /// Operations replayed in figure 3.
    pub(crate) replay_ops: u64,
    /// Logged operations of the figure 4 tokens.
    pub(crate) rollback_ops: Vec<u64>,
    /// Length of each figure 5 load run.
    pub(crate) load_duration: Duration,
    /// Blocks of the figure 6 catch-up (a quarter as long is run too).
    pub(crate) rss_blocks: u64,
    /// Runs of figure 2's catch-up, and turns of figure 3's replay and put
    /// loop, whose medians are reported.
    pub(crate) rounds: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                measure: Duration::from_millis(200),
                decode_ranges: 4,
                catchup_blocks: 2_000,
                replay_ops: 20_000,
                rollback_ops: vec![2_000, 10_000, 20_000],
                load_duration: Duration::from_millis(300),
                rss_blocks: 4_000,
                rounds: 3,
            }
        } else {
            Sizes {
                measure: Duration::from_secs(6),
                decode_ranges: 10,
                catchup_blocks: 200_000,
                replay_ops: 1_000_000,
                rollback_ops: vec![100_000, 1_000_000, 5_000_000],
                load_duration: Duration::from_secs(5),
                rss_blocks: 1_000_000,
                rounds: 3,
            }
        }
    }
}

/// Measures the figures asked for, printing each as soon as it is known,
/// and returns them all.
pub fn run(options: &BenchOptions) -> Result<Report, BenchError> {
    let sizes = Sizes::new(options.quick);
    let dir = options.dir.clone().unwrap_or_else(std::env::temp_dir);
    let wanted = |id: u8| options.only.is_empty() || options.only.contains(&id);
    let mut report = Report::default();
    let emit = |figure: Figure, report: &mut Report| {
        println!("{figure}");
        report.figures.push(figure);
    };
    println!(
        "honeygraph bench{} (release build: {})",
        if options.quick { " --quick" } else { "" },
        !cfg!(debug_assertions)
    );
    if wanted(1) || wanted(2) {
        let figure = decode::figure(&sizes)?;
        emit(figure, &mut report);
    }
    if wanted(2) {
        let decode_blocks_per_s = report
            .figure(1)
            .and_then(|f| {
                let blocks_per_mb = decode_blocks_per_mb(&sizes)?;
                Some(f.value * blocks_per_mb)
            })
            .unwrap_or(f64::NAN);
        let rendered = catchup::render(sizes.catchup_blocks)?;
        let runs = (0..sizes.rounds.max(1))
            .map(|_| catchup::run(&dir, sizes.catchup_blocks, Some(rendered.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        // 2.1 GB for the full size: given back before figure 6 measures
        // the process's memory.
        drop(rendered);
        emit(catchup::figure_2(runs, decode_blocks_per_s), &mut report);
    }
    if wanted(6) {
        emit(catchup::figure_6(&dir, &sizes)?, &mut report);
    }
    if wanted(3) {
        emit(replay::figure(&dir, &sizes)?, &mut report);
    }
    if wanted(4) {
        emit(rollback::figure(&dir, &sizes)?, &mut report);
    }
    if wanted(5) {
        emit(load::figure(&dir, &sizes)?, &mut report);
    }
    Ok(report)
}

/// Blocks per MB of the figure 1 input, to turn its MB/s into blocks/s.
fn decode_blocks_per_mb(sizes: &Sizes) -> Option<f64> {
    let chain = chain::Chain::new(decode::FIRST_BLOCK).ok()?;
    let bodies = decode::bodies(&chain, sizes.decode_ranges);
    let bytes: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    Some((bodies.len() as u64 * decode::RANGE) as f64 / (bytes as f64 / 1e6))
}
