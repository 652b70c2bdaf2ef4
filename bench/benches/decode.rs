//! Criterion version of figure 1: decoding one 100-block `get_block_range`
//! body of realistic blocks, against `serde_json::Value` on the same bytes.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;

use bench::chain::Chain;
use bench::decode::{bench_filter, bodies, FIRST_BLOCK, RANGE};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ingest::decode::block_range_response;

fn decode(c: &mut Criterion) {
    let Ok(chain) = Chain::new(FIRST_BLOCK) else {
        eprintln!("the block templates do not load");
        return;
    };
    let bodies = bodies(&chain, 1);
    let (start, body) = &bodies[0];
    let filter = bench_filter();
    let mut group = c.benchmark_group("get_block_range body, 100 blocks");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("ingest::decode (3 prefixes)", |b| {
        b.iter(|| black_box(block_range_response(body, *start, RANGE as u32, &filter).is_ok()))
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(body).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
