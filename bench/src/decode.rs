//! Figure 1: decode throughput on realistic blocks, against
//! `serde_json::from_slice::<serde_json::Value>` on the same bytes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ingest::decode::{block_range_response, OpFilter};

use crate::chain::{Chain, TOKENS, TOKEN_OPS_PER_BLOCK};
use crate::error::BenchError;
use crate::report::{num, Figure};
use crate::Sizes;

/// Blocks per `get_block_range` body, as ingest asks for them.
pub const RANGE: u64 = 100;

/// The first block of the bench chains (a 2025 height).
pub const FIRST_BLOCK: u64 = 97_000_000;

/// Bodies of `ranges` consecutive `get_block_range` answers.
pub fn bodies(chain: &Chain, ranges: u64) -> Vec<(u64, Vec<u8>)> {
    (0..ranges)
        .map(|r| {
            let start = chain.first() + r * RANGE;
            let mut body = Vec::new();
            chain.range_body(r + 1, start, RANGE, &mut body);
            (start, body)
        })
        .collect()
}

/// The filter ingest would use for the three bench tokens.
pub fn bench_filter() -> OpFilter {
    OpFilter::new(TOKENS.iter().map(|(_, prefix)| *prefix))
}

pub(crate) fn figure(sizes: &Sizes) -> Result<Figure, BenchError> {
    let chain = Chain::new(FIRST_BLOCK)?;
    let bodies = bodies(&chain, sizes.decode_ranges);
    let filter = bench_filter();
    let bytes: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    let blocks = bodies.len() as u64 * RANGE;
    // Correctness first: every block decodes, linked, with its token ops.
    for (start, body) in &bodies {
        let decoded = block_range_response(body, *start, RANGE as u32, &filter)
            .map_err(|e| BenchError::failed("decoding a generated range", e))?;
        let ops: usize = decoded.iter().map(|b| b.ops.len()).sum();
        if ops as u64 != RANGE * TOKEN_OPS_PER_BLOCK {
            return Err(BenchError::Check(format!(
                "a generated range decoded to {ops} token operations, not {}",
                RANGE * TOKEN_OPS_PER_BLOCK
            )));
        }
    }
    let (ours, baseline) = time_alternating(
        sizes.measure,
        || {
            for (start, body) in &bodies {
                let decoded = block_range_response(body, *start, RANGE as u32, &filter);
                black_box(decoded.map(|d| d.len()).unwrap_or(0));
            }
        },
        || {
            for (_, body) in &bodies {
                let value = serde_json::from_slice::<serde_json::Value>(body);
                black_box(value.map(|v| v.is_object()).unwrap_or(false));
            }
        },
    );
    let mb = |seconds_per_pass: f64| bytes as f64 / 1e6 / seconds_per_pass;
    let blocks_per_s = |seconds_per_pass: f64| blocks as f64 / seconds_per_pass;
    Ok(Figure {
        id: 1,
        name: "decode throughput (get_block_range bodies, 3 token prefixes)".into(),
        value: mb(ours),
        unit: "MB/s".into(),
        baseline: Some(("serde_json::from_slice::<Value>".into(), mb(baseline))),
        target: "at least 3x the baseline".into(),
        details: vec![
            format!(
                "blocks/s: {} (baseline {})",
                num(blocks_per_s(ours)),
                num(blocks_per_s(baseline))
            ),
            format!(
                "input: {blocks} blocks in {} bodies of {RANGE}, {:.1} KB a block, 15 transactions and 3 token ops a block on average",
                bodies.len(),
                bytes as f64 / blocks as f64 / 1e3
            ),
        ],
    })
}

/// Seconds one call of `ours` and one of `baseline` take: the medians of
/// passes run in turn (ours, baseline, ours, ...) within `budget`, at least
/// five each, after one warm-up pass of each. Taking turns gives both the
/// same machine: timing all of one and then all of the other let a burst of
/// other work on this shared machine, or the allocator's state after the
/// first, move one side alone (the baseline read 230 or 445 MB/s depending
/// on what ran before it). The median is less swayed by such bursts than
/// the mean.
pub(crate) fn time_alternating(
    budget: Duration,
    mut ours: impl FnMut(),
    mut baseline: impl FnMut(),
) -> (f64, f64) {
    ours();
    baseline();
    let started = Instant::now();
    let (mut ours_times, mut baseline_times) = (Vec::new(), Vec::new());
    while ours_times.len() < 5 || started.elapsed() < budget {
        ours_times.push(time_one(&mut ours));
        baseline_times.push(time_one(&mut baseline));
    }
    (median(&ours_times), median(&baseline_times))
}

fn time_one(pass: &mut impl FnMut()) -> f64 {
    let t = Instant::now();
    pass();
    t.elapsed().as_secs_f64()
}

/// The middle value (the upper middle one of an even count; NaN of none).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}
