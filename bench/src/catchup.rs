//! Figures 2 and 6: end-to-end catch-up of three tokens from a local node
//! serving the generated chain, in blocks/s, and the peak RSS meanwhile.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest::{Ingest, IngestConfig};
use replay::{CheckpointPolicy, TokenRuntime};
use state::Catalog;
use tokio::sync::oneshot;

use crate::chain::{Chain, TOKENS};
use crate::cpu::CpuTime;
use crate::decode::FIRST_BLOCK;
use crate::error::BenchError;
use crate::node::LocalNode;
use crate::rendered::RenderedRanges;
use crate::report::{num, Figure};
use crate::{rss, tokens, Sizes};

/// One catch-up run.
pub(crate) struct CatchUp {
    pub(crate) blocks: u64,
    pub(crate) seconds: f64,
    /// Peak RSS during the run, bytes.
    pub(crate) peak_rss: Option<u64>,
    /// RSS when the run started, bytes.
    pub(crate) start_rss: Option<u64>,
    /// Highest anonymous and file-backed RSS seen (sampled), bytes.
    pub(crate) peak_split: (u64, u64),
    /// CPU time the whole process (node, ingest, bench) used meanwhile.
    pub(crate) cpu: Option<CpuTime>,
}

impl CatchUp {
    pub(crate) fn blocks_per_s(&self) -> f64 {
        self.blocks as f64 / self.seconds
    }
}

/// The settings the catch-up runs ingest with, on the node at `url`.
fn ingest_config(url: String) -> IngestConfig {
    IngestConfig {
        nodes: vec![url],
        poll_interval: Duration::from_millis(50),
        ..IngestConfig::default()
    }
}

/// The answers to every range a catch-up over `blocks` blocks asks for,
/// rendered once for the runs of figure 2.
pub(crate) fn render(blocks: u64) -> Result<Arc<RenderedRanges>, BenchError> {
    let chain = Chain::new(FIRST_BLOCK)?;
    let head = FIRST_BLOCK + blocks - 1;
    let range_size = ingest_config(String::new()).range_size;
    Ok(Arc::new(RenderedRanges::new(&chain, head, range_size)))
}

/// Catches three fresh tokens up over `blocks` blocks; returns once every
/// token's cursor is the node's head. The node serves the ranges in
/// `rendered` as they are; when it had any, a range it had to assemble is
/// an error (the figure would no longer measure what it says).
pub(crate) fn run(
    dir: &Path,
    blocks: u64,
    rendered: Option<Arc<RenderedRanges>>,
) -> Result<CatchUp, BenchError> {
    let work = crate::replay::tempdir(dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-catchup")
        .build()
        .map_err(|e| BenchError::io("starting a runtime", e))?;
    let chain = Arc::new(Chain::new(FIRST_BLOCK)?);
    let head = FIRST_BLOCK + blocks - 1;
    // Checkpoints off: without ZFS each is a copy of the LMDB file, a cost
    // of its own that would hide the pipeline's.
    let policy = CheckpointPolicy {
        every_blocks: 0,
        ..CheckpointPolicy::default()
    };
    let runtimes: Vec<Arc<TokenRuntime>> = TOKENS
        .iter()
        .map(|(symbol, prefix)| {
            tokens::open_token(work.path(), symbol, prefix, FIRST_BLOCK, policy)
        })
        .collect::<Result<_, _>>()?;
    let result = rt.block_on(async {
        let rendering = rendered.is_some();
        let node = LocalNode::start(chain.clone(), head, rendered).await?;
        let config = ingest_config(node.url.clone());
        let catalog = Arc::new(Catalog::new());
        let ingest = Ingest::new(config, catalog.clone())
            .map_err(|e| BenchError::failed("starting ingest", e))?;
        for runtime in &runtimes {
            ingest.add_token(runtime.clone());
        }
        let start_rss = rss::reset_peak().then(rss::current).flatten();
        let cpu_before = CpuTime::now();
        let started = Instant::now();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ingest.clone().run(async move {
            let _ = stopped.await;
        }));
        let deadline = started + Duration::from_secs(120 + blocks / 500);
        let mut peak_split = (0, 0);
        loop {
            if let Some((anon, file)) = rss::split() {
                peak_split = (peak_split.0.max(anon), peak_split.1.max(file));
            }
            let mut done = true;
            for runtime in &runtimes {
                let entry = runtime.entry();
                if let (state::TokenStatus::Failed, error) = entry.status() {
                    return Err(BenchError::Check(format!(
                        "token {} failed during the catch-up: {}",
                        entry.symbol(),
                        error.unwrap_or_default()
                    )));
                }
                let at = entry
                    .projection()
                    .and_then(|p| p.meta().ok())
                    .and_then(|m| m.cursor)
                    .map_or(0, |c| c.num);
                done &= at >= head;
            }
            if done {
                break;
            }
            if Instant::now() > deadline {
                return Err(BenchError::Check(format!(
                    "the catch-up of {blocks} blocks did not finish in time"
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_before
            .zip(CpuTime::now())
            .map(|(before, after)| after.since(before));
        let peak_rss = rss::peak();
        let _ = stop.send(());
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(BenchError::failed("ingest", e)),
            Err(e) => return Err(BenchError::failed("ingest", e)),
        }
        let assembled = node.assembled_answers();
        if rendering && assembled > 0 {
            return Err(BenchError::Check(format!(
                "the local node assembled {assembled} range answers it should have had rendered: the catch-up asked for other ranges than were rendered"
            )));
        }
        drop(node);
        Ok(CatchUp {
            blocks,
            seconds,
            peak_rss,
            start_rss,
            peak_split,
            cpu,
        })
    })?;
    for runtime in &runtimes {
        check_token(runtime, blocks)?;
    }
    Ok(result)
}

/// Every block's operation of this token was applied.
fn check_token(runtime: &TokenRuntime, blocks: u64) -> Result<(), BenchError> {
    let meta = runtime
        .entry()
        .projection()
        .and_then(|p| p.meta().ok())
        .ok_or_else(|| BenchError::Check("a token has no projection after the catch-up".into()))?;
    // One operation a block, plus at least one BlockEnd.
    if meta.log_records <= blocks {
        return Err(BenchError::Check(format!(
            "token {} logged {} records for {blocks} blocks with one operation each",
            runtime.symbol(),
            meta.log_records
        )));
    }
    Ok(())
}

/// Figure 2 from several catch-ups: the median one's speed and CPU time,
/// and every run's speed, since one run alone moves with this shared
/// machine's slow spells.
pub(crate) fn figure_2(mut runs: Vec<CatchUp>, decode_blocks_per_s: f64) -> Figure {
    // In the order they ran.
    let speeds: Vec<String> = runs.iter().map(|r| num(r.blocks_per_s())).collect();
    runs.sort_by(|a, b| a.blocks_per_s().total_cmp(&b.blocks_per_s()));
    let count = runs.len();
    let median = runs.get(count / 2);
    Figure {
        id: 2,
        name: "end-to-end catch-up, 3 tokens, local HTTP node".into(),
        value: median.map_or(f64::NAN, CatchUp::blocks_per_s),
        unit: "blocks/s".into(),
        baseline: Some(("figure 1, decode only".into(), decode_blocks_per_s)),
        target: "at least 15,000 blocks/s and at least 50% of figure 1".into(),
        details: median
            .into_iter()
            .flat_map(|run| {
                std::iter::once(format!(
                    "{} blocks in {:.2} s (the median of {count} runs, in the order they ran: {} blocks/s); each token logs and applies one op a block",
                    num(run.blocks as f64),
                    run.seconds,
                    speeds.join(" / ")
                ))
                .chain(run.cpu.map(|cpu| cpu.describe(run.seconds, None)))
            })
            .collect(),
    }
}

pub(crate) fn figure_6(dir: &Path, sizes: &Sizes) -> Result<Figure, BenchError> {
    // From the templates: rendered answers would be most of the memory.
    let short = run(dir, sizes.rss_blocks / 4, None)?;
    let long = run(dir, sizes.rss_blocks, None)?;
    let mb = |b: Option<u64>| b.map_or(f64::NAN, |b| b as f64 / 1e6);
    Ok(Figure {
        id: 6,
        name: format!("peak RSS during a {}-block catch-up", num(long.blocks as f64)),
        value: mb(long.peak_rss),
        unit: "MB".into(),
        baseline: None,
        target: "under 300 MB, and flat in chain length".into(),
        details: vec![
            format!(
                "{} blocks: peak {:.0} MB; {} blocks: peak {:.0} MB (whole process, local node included)",
                num(short.blocks as f64),
                mb(short.peak_rss),
                num(long.blocks as f64),
                mb(long.peak_rss)
            ),
            format!(
                "of which (sampled every 10 ms) anonymous memory peaked at {:.0} MB and mapped files (the LMDB maps) at {:.0} MB; {} blocks: {:.0} MB and {:.0} MB",
                long.peak_split.0 as f64 / 1e6,
                long.peak_split.1 as f64 / 1e6,
                num(short.blocks as f64),
                short.peak_split.0 as f64 / 1e6,
                short.peak_split.1 as f64 / 1e6,
            ),
            format!(
                "RSS when the catch-up started: {:.0} MB; catch-up speed {} blocks/s",
                mb(long.start_rss),
                num(long.blocks_per_s())
            ),
        ],
    })
}
