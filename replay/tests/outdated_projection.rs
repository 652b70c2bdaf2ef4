//! A projection an earlier build wrote in another history layout is not
//! misread: the token's runtime rebuilds it from the log when it opens it.
// Helpers outside #[test] functions unwrap too: a failure is the test's failure.
#![allow(clippy::unwrap_used)]

mod support;

use heed::types::Bytes;
use heed::{CommitOrAbort, Database, EnvFlags, EnvOpenOptions};
use replay::{RollbackSource, RollbackVia};
use support::*;

/// Sets the history layout stored in the projection's meta record, as an
/// earlier build would have left it.
#[allow(unsafe_code)]
fn set_stored_layout(state_dir: &std::path::Path, layout: u32) {
    // SAFETY: the token's runtime was dropped and its environment closed;
    // nothing else maps this file while the test writes to it.
    // NO_LOCK: no lock file is left in a checkpoint's directory.
    let env = unsafe {
        EnvOpenOptions::new()
            .max_dbs(32)
            .map_size(1 << 30)
            .flags(EnvFlags::NO_LOCK)
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

/// The directories under `root` holding a `data.mdb`, but `except`.
fn data_dirs(root: &std::path::Path, except: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(data_dirs(&path, except));
        } else if path.file_name() == Some("data.mdb".as_ref()) && path.parent() != Some(except) {
            found.push(path.parent().unwrap().to_path_buf());
        }
    }
    found
}

#[test]
fn a_rollback_to_a_checkpoint_of_an_older_layout_goes_back_from_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let backend = plain(dir.path());
    let batches = batches(1, 600, 3, 30, 22);
    let all = batches.concat();
    let rt = open(&backend, policy(200));
    feed(&rt, &batches);
    let checkpoints = rt.checkpoints().unwrap();
    assert!(!checkpoints.is_empty());
    let state_dir = rt.layout().state_dir.clone();
    let copies = data_dirs(dir.path(), &state_dir);
    assert_eq!(copies.len(), checkpoints.len(), "{copies:?}");
    for copy in &copies {
        set_stored_layout(copy, 1);
    }

    let target = 450;
    let report = rt
        .rollback_with(target, RollbackSource::Checkpoint)
        .unwrap();
    assert_eq!(
        (report.via, report.checkpoint),
        (RollbackVia::Genesis, None)
    );
    let kept = &all[..boundary(&all, target)];
    let expected = reference(&dir.path().join("reference"), kept);
    assert_eq!(live(&rt), readable(&expected));
}
