//! Giving back the LMDB map's pages: after `release_pages` the process's
//! file-backed resident memory drops by about what reading the projection
//! had mapped, and every read still answers the same.
//!
//! One test in its own binary: it reads the process's own memory figures,
//! which other tests running alongside would disturb.
#![cfg(target_os = "linux")]

mod contract_support;

use contract_support::*;
use state::projection::ProjectionOptions;
use state::{LogRecord, Projection};

/// `RssFile` of this process, in KiB.
fn rss_file_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssFile:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssFile in /proc/self/status")
}

#[test]
fn released_pages_leave_resident_memory_and_reads_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with(genesis(&[("alice", 1_000_000_000, 0)]), 3);
    let options = ProjectionOptions {
        map_size: 1 << 28,
        ..ProjectionOptions::default()
    };
    let p = Projection::open_with(dir.path(), &config, &options).expect("opens");
    let mut position = 0;
    for block in 1..=1_500u64 {
        let mut batch: Vec<LogRecord> = (0..10u32)
            .map(|i| {
                let json = format!(
                    r#"{{"to":"user{}","amount":{}}}"#,
                    (block * 10 + u64::from(i)) % 700,
                    block
                );
                LogRecord::Op(op_at(block, i, 0, "send", "alice", Auth::Active, &json))
            })
            .collect();
        batch.push(end(block));
        position += batch.len() as u64;
        p.apply(&batch, position).expect("applies");
    }
    let file = std::fs::metadata(dir.path().join("data.mdb"))
        .expect("data.mdb")
        .len();
    assert!(
        file > 4 << 20,
        "a projection of {file} bytes is too small to tell"
    );

    // Reading every table maps (nearly) all of the file.
    p.release_pages().expect("releases");
    let released = rss_file_kib();
    let before = p.raw_tables().expect("tables");
    let read = rss_file_kib();
    assert!(
        read >= released + file / 1024 / 2,
        "reading {file} bytes mapped only {} KiB",
        read.saturating_sub(released)
    );

    let advised = p.release_pages().expect("releases");
    assert!(
        advised >= file,
        "advised {advised} bytes of a {file}-byte file"
    );
    let after_release = rss_file_kib();
    assert!(
        after_release + file / 1024 / 2 <= read,
        "RssFile {read} KiB before the release, {after_release} KiB after"
    );
    assert_eq!(
        p.raw_tables().expect("tables"),
        before,
        "reads answer the same"
    );
    assert!(p.account("user7").expect("account").0.balance > 0);
}
