//! A projection an earlier build wrote in another history layout is not
//! misread: the token's runtime rebuilds it from the log when it opens it.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use heed::types::Bytes;
use heed::{CommitOrAbort, Database, EnvOpenOptions};
use support::*;

/// Sets the history layout stored in the projection's meta record, as an
/// earlier build would have left it.
#[allow(unsafe_code)]
fn set_stored_layout(state_dir: &std::path::Path, layout: u32) {
    // SAFETY: the token's runtime was dropped and its environment closed;
    // nothing else maps this file while the test writes to it.
    let env = unsafe {
        EnvOpenOptions::new()
            .max_dbs(32)
            .map_size(1 << 30)
            .open(state_dir)
            .unwrap()
    };
    let wtxn = env.write_txn().unwrap();
    let opened = env
        .create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
            let meta: Database<Bytes, Bytes> = opener.create_database(wtxn, Some("meta"))?;
            Ok(CommitOrAbort::<_, ()>::Commit(meta))
        })
        .unwrap();
    let CommitOrAbort::Commit(meta) = opened else {
        panic!("the meta database was not opened");
    };
    let mut wtxn = env.write_txn().unwrap();
    let mut record: serde_json::Value =
        serde_json::from_slice(meta.get(&wtxn, b"meta").unwrap().unwrap()).unwrap();
    record["history_layout"] = layout.into();
    meta.put(&mut wtxn, b"meta", &serde_json::to_vec(&record).unwrap())
        .unwrap();
    wtxn.commit().unwrap();
    env.prepare_for_closing().wait();
}

#[test]
fn a_projection_in_an_older_layout_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let batches = batches(1, 600, 3, 30, 21);
    let (expected, state_dir) = {
        let rt = open(&backend, policy(100_000));
        feed(&rt, &batches);
        (live(&rt), rt.layout().state_dir.clone())
    };
    let wait = std::time::Instant::now();
    while heed::env_closing_event(state_dir.canonicalize().unwrap()).is_some() {
        assert!(
            wait.elapsed().as_secs() < 30,
            "the runtime's environment stays open"
        );
        std::thread::yield_now();
    }
    set_stored_layout(&state_dir, 1);

    let rt = open(&backend, policy(100_000));
    assert_eq!(live(&rt), expected);
    // The rebuilt projection is the current layout: opening it again keeps it.
    drop(rt);
    let rt = open(&backend, policy(100_000));
    assert_eq!(live(&rt), expected);
}
