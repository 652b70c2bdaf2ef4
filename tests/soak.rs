//! Soak: head-follow mode with forks, node faults and query load at once,
//! for 60 seconds (`HONEYGRAPH_SOAK_SECS` for longer). The chain grows a few
//! blocks at a time and forks now and then; the node answers with 500s,
//! 429s, HTML, truncated JSON and short stalls; four threads query REST and
//! GraphQL all along. At the end the answers equal the reference model on
//! the final branch.
//!
//! The server's anonymous resident memory (the heap, from
//! `/proc/<pid>/status`) is sampled every half second. The first third of
//! the run is warm-up (arenas, caches and connection buffers reach their
//! working size); no sample of the second half may exceed the warm-up's
//! highest by more than [`GROWTH_MARGIN_PERCENT`] plus [`GROWTH_MARGIN_KIB`]
//! (allocator noise: free pages go back to the system every few seconds, so
//! samples swing by a few MiB). A leak, or an allocator that keeps what it
//! freed, shows as a second half above that line; the default minute is too
//! short to see a slow one, a 10-minute run
//! (`HONEYGRAPH_SOAK_SECS=600`) is not.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::check::{chain, check_token, register};
use common::reference::{run_chain, RefToken, RefTokenDef};
use common::{wait_until, Server};
use hivesim::{Faults, SimConfig, SimNode};
use serde_json::json;

const SYMBOL: &str = "ABC";
/// Relative growth allowed from the warm-up's peak to the second half's.
const GROWTH_MARGIN_PERCENT: u64 = 25;
/// Absolute growth allowed on top, in KiB.
const GROWTH_MARGIN_KIB: u64 = 4 * 1024;
/// Time between memory samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Resident memory of `pid` in KiB: (total, anonymous). The total includes
/// LMDB's file pages, which grow with the data; the heap is in the anonymous part.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn faults() -> Faults {
    Faults {
        http_500_rate: 0.03,
        http_429_rate: 0.02,
        rpc_error_rate: 0.02,
        html_rate: 0.02,
        truncated_rate: 0.02,
        stall_rate: 0.02,
        stall: Duration::from_millis(300),
        ..Faults::default()
    }
}

fn at_head(server: &Server, sim: &SimNode) -> bool {
    let (status, state) = server.get(&format!("/{SYMBOL}/state"));
    let head = sim.head();
    status == 200
        && state["lastBlock"] == head
        && sim
            .block_appbase(head)
            .is_some_and(|b| b["block_id"] == state["lastBlockId"])
}

/// Queries of every kind until `stop`; counts answers by class.
fn load(port: u16, accounts: Vec<String>, stop: Arc<AtomicBool>, counts: Arc<[AtomicU64; 3]>) {
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let account = &accounts[i % accounts.len()];
        let request = match i % 5 {
            0 => client.get(format!("{base}/{SYMBOL}/state")),
            1 => client.get(format!("{base}/{SYMBOL}/balance/{account}")),
            2 => client.get(format!("{base}/{SYMBOL}/transfers?limit=50&account={account}")),
            3 => client.get(format!("{base}/{SYMBOL}/richlist?limit=20")),
            _ => client.post(format!("{base}/{SYMBOL}/graphql")).json(&json!({
                "query": "{ _meta { block { number } stateHash } transfers(first: 20) { nodes { trxId amount } } }"
            })),
        };
        let class = match request.send() {
            Ok(r) if r.status().is_success() => 0,
            Ok(r) if r.status().as_u16() == 503 => 1,
            Ok(r) => panic!("{} from the load: {:?}", r.status(), r.text()),
            Err(_) => 2,
        };
        counts[class].fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn head_mode_with_forks_faults_and_load_keeps_memory_flat() {
    let seconds: u64 = std::env::var("HONEYGRAPH_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let sim = SimNode::start_in_background(SimConfig {
        seed: 101,
        history: 1_000,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        token_ops_per_block: 6.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let def = RefTokenDef {
        prefix: "abc_".to_string(),
        start_block: sim.first_block(),
        transfers: true,
        staking: true,
        interval: 30,
        genesis_balances: sim.accounts().into_iter().map(|a| (a, 5_000_000)).collect(),
        genesis_power: Default::default(),
    };
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        data.path(),
        &sim.url(),
        &[
            ("HONEYGRAPH_FOLLOW", "head"),
            ("HONEYGRAPH_CHECKPOINT_EVERY", "500"),
            ("RUST_LOG", "warn"),
        ],
    );
    register(&server, SYMBOL, &def);
    wait_until("the first catch-up", Duration::from_secs(120), || {
        at_head(&server, &sim).then_some(())
    });
    let pid = server.child.id();

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let loaders: Vec<_> = (0..4)
        .map(|_| {
            let (stop, counts, accounts) = (stop.clone(), counts.clone(), sim.accounts());
            let port = server.port;
            std::thread::spawn(move || load(port, accounts, stop, counts))
        })
        .collect();
    sim.set_faults(faults());

    let started = Instant::now();
    let run = Duration::from_secs(seconds);
    // (time since the load started, (total, anonymous) KiB), every half
    // second while the rounds wait for the server.
    let mut samples: Vec<(Duration, (u64, u64))> = vec![(Duration::ZERO, rss_kib(pid))];
    let sample = |samples: &mut Vec<(Duration, (u64, u64))>| {
        let now = started.elapsed();
        if samples.last().is_none_or(|(t, _)| now >= *t + SAMPLE_EVERY) {
            samples.push((now, rss_kib(pid)));
        }
    };
    let (mut forks, mut round) = (0u64, 0u64);
    while started.elapsed() < run {
        round += 1;
        sim.advance(1 + round % 3);
        if round % 7 == 0 {
            let depth = 1 + round % 5;
            if sim.fork(depth).is_ok() {
                forks += 1;
            }
        }
        wait_until(
            "the token to follow the head",
            Duration::from_secs(60),
            || {
                sample(&mut samples);
                at_head(&server, &sim).then_some(())
            },
        );
        sample(&mut samples);
    }
    stop.store(true, Ordering::Relaxed);
    for loader in loaders {
        loader.join().expect("load thread");
    }
    sim.set_faults(Faults::default());
    wait_until(
        "the token at the final head",
        Duration::from_secs(60),
        || at_head(&server, &sim).then_some(()),
    );
    let end = rss_kib(pid);
    let [ok, busy, failed] = &*counts;
    eprintln!(
        "soak {seconds}s: {round} rounds, {forks} forks, head {}, queries ok {} / 503 {} / transport errors {}",
        sim.head(),
        ok.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    let anon_peak = |range: std::ops::Range<Duration>| {
        samples
            .iter()
            .filter(|(t, _)| range.contains(t))
            .map(|(_, (_, anon))| *anon)
            .max()
    };
    let warm_up = anon_peak(Duration::ZERO..run / 3).expect("a sample in the warm-up");
    let second_half = anon_peak(run / 2..Duration::MAX).expect("a sample in the second half");
    let limit = warm_up + warm_up * GROWTH_MARGIN_PERCENT / 100 + GROWTH_MARGIN_KIB;
    let first = samples.first().map(|(_, rss)| *rss).expect("a sample");
    let after_warm_up = samples
        .iter()
        .find(|(t, _)| *t >= run / 3)
        .map_or(end, |(_, rss)| *rss);
    let mut every_5s: Vec<(u64, u64)> = Vec::new();
    for (t, (_, anon)) in &samples {
        if every_5s
            .last()
            .is_none_or(|(last, _)| t.as_secs() >= last + 5)
        {
            every_5s.push((t.as_secs(), *anon));
        }
    }
    eprintln!(
        "RSS KiB (total, anonymous): start {first:?}, after warm-up {after_warm_up:?}, end {end:?}; \
         anonymous peak {warm_up} in the warm-up, {second_half} in the second half (limit {limit}); \
         anonymous every 5 s (s, KiB) {every_5s:?}"
    );

    // The answers are the model's on the final branch.
    let head = sim.head();
    let mut model = RefToken::new(def.clone());
    run_chain(
        std::slice::from_mut(&mut model),
        &chain(&sim, sim.first_block(), head),
    );
    check_token(&server, &sim, SYMBOL, &model, head);

    assert!(forks > 0, "no fork happened");
    assert!(ok.load(Ordering::Relaxed) > 0, "no query was answered");
    // Flat memory after warm-up; LMDB's file pages (in the total) are bounded too.
    assert!(
        second_half <= limit,
        "anonymous memory kept growing: peak {warm_up} KiB in the warm-up, {second_half} KiB in the second half (limit {limit} KiB)"
    );
    assert!(
        end.0 < 1024 * 1024,
        "resident memory reached {} KiB ({} anonymous)",
        end.0,
        end.1
    );
}
