//! Behaviour both backends must share, written once and run against each:
//! `plain::*` always, `zfs::*` on the pool named by HONEYGRAPH_TEST_ZFS_POOL.

mod common;

use std::fs;

use common::{tree, Fixture, TestResult};
use datasets::{
    destroy_token, ensure_token_layout, BackendKind, DatasetBackend, DatasetError, StreamKind,
    TokenLayout,
};

macro_rules! for_both_backends {
    ($($name:ident),* $(,)?) => {
        mod plain {
            $(
                #[test]
                fn $name() -> super::TestResult {
                    super::$name(&super::Fixture::plain())
                }
            )*
        }
        mod zfs {
            $(
                #[test]
                fn $name() -> super::TestResult {
                    match super::Fixture::zfs(stringify!($name)) {
                        Some(fixture) => super::$name(&fixture),
                        None => Ok(()),
                    }
                }
            )*
        }
    };
}

for_both_backends!(
    layout_paths_exist_and_are_writable,
    snapshot_list_and_rollback_restore_contents,
    rollback_of_one_child_leaves_its_sibling,
    rollback_refuses_before_changing_anything,
    snapshot_names_are_unique_and_destroyable,
    clone_copies_a_snapshot_into_a_new_dataset,
    send_and_receive_full_then_incremental,
    receive_checks_its_target,
    destroy_removes_datasets_and_snapshots,
    invalid_names_are_rejected,
);

fn layout(backend: &dyn DatasetBackend, symbol: &str) -> Result<TokenLayout, DatasetError> {
    ensure_token_layout(backend, symbol)
}

fn names(backend: &dyn DatasetBackend, dataset: &str) -> Result<Vec<String>, DatasetError> {
    Ok(backend
        .list_snapshots(dataset)?
        .into_iter()
        .map(|s| s.name)
        .collect())
}

fn layout_paths_exist_and_are_writable(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    assert!(!b.exists("HIVE")?);
    let l = layout(b, "HIVE")?;
    assert_eq!(l.log_dir, l.root.join("log"));
    assert_eq!(l.state_dir, l.root.join("state"));
    for dir in [&l.root, &l.log_dir, &l.state_dir] {
        assert!(dir.is_dir(), "{dir:?}");
    }
    fs::write(l.log_dir.join("segment"), b"log bytes")?;
    fs::write(l.state_dir.join("data.mdb"), b"state bytes")?;
    assert!(b.exists("HIVE")? && b.exists("HIVE/log")? && b.exists("HIVE/state")?);
    assert!(!b.exists("HIVE/other")?);
    assert_eq!(b.list()?, ["HIVE", "HIVE/log", "HIVE/state"]);
    assert_eq!(b.mountpoint("HIVE/log")?, l.log_dir);

    // Idempotent: a second call finds the same places and keeps the files.
    assert_eq!(layout(b, "HIVE")?, l);
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"log bytes");

    let other = layout(b, "LEO")?;
    assert_ne!(other.root, l.root);
    assert_eq!(
        b.list()?,
        [
            "HIVE",
            "HIVE/log",
            "HIVE/state",
            "LEO",
            "LEO/log",
            "LEO/state"
        ]
    );
    assert_eq!(b.quota("HIVE")?, None);
    Ok(())
}

fn snapshot_list_and_rollback_restore_contents(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let l = layout(b, "HIVE")?;
    let seg = l.log_dir.join("segment");
    fs::write(&seg, b"one")?;
    fs::write(l.state_dir.join("data.mdb"), b"state one")?;
    b.snapshot("HIVE", "b1")?;
    fs::write(&seg, b"two")?;
    fs::write(l.log_dir.join("added"), b"later")?;
    b.snapshot("HIVE", "b2")?;
    fs::write(&seg, b"three")?;
    fs::write(l.state_dir.join("data.mdb"), b"state three")?;
    b.snapshot("HIVE", "b3")?;
    fs::write(&seg, b"four, not snapshotted")?;

    // Snapshots are recursive and listed oldest first, even within a second.
    for dataset in ["HIVE", "HIVE/log", "HIVE/state"] {
        assert_eq!(names(b, dataset)?, ["b1", "b2", "b3"], "{dataset}");
    }
    let infos = b.list_snapshots("HIVE/log")?;
    for info in &infos {
        assert_eq!(info.dataset, "HIVE/log");
        assert!(info.created_unix > 1_600_000_000, "{info:?}");
        assert!(info.referenced_bytes.is_some_and(|n| n > 0), "{info:?}");
        assert!(info.used_bytes.is_some(), "{info:?}");
    }

    // Back to b2: b3 is gone everywhere below HIVE, and says so.
    let mut destroyed = b.rollback("HIVE", "b2")?;
    destroyed.sort();
    assert_eq!(destroyed, ["HIVE/log@b3", "HIVE/state@b3", "HIVE@b3"]);
    assert_eq!(fs::read(&seg)?, b"two");
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, b"state one");
    assert_eq!(fs::read(l.log_dir.join("added"))?, b"later");
    assert_eq!(names(b, "HIVE")?, ["b1", "b2"]);

    // Back to b1: the file added later disappears.
    assert_eq!(b.rollback("HIVE", "b1")?.len(), 3);
    assert_eq!(
        tree(&l.root).keys().collect::<Vec<_>>(),
        ["log/segment", "state/data.mdb"]
    );
    assert_eq!(fs::read(&seg)?, b"one");
    assert_eq!(names(b, "HIVE/state")?, ["b1"]);

    // The rolled-back dataset is live: it can be written and snapshotted.
    fs::write(&seg, b"one, then more")?;
    b.snapshot("HIVE", "b4")?;
    assert_eq!(names(b, "HIVE")?, ["b1", "b4"]);
    Ok(())
}

fn rollback_of_one_child_leaves_its_sibling(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let l = layout(b, "HIVE")?;
    fs::write(l.log_dir.join("segment"), b"L1")?;
    fs::write(l.state_dir.join("data.mdb"), b"S1")?;
    b.snapshot("HIVE", "b1")?;
    fs::write(l.log_dir.join("segment"), b"L2")?;
    fs::write(l.state_dir.join("data.mdb"), b"S2")?;
    b.snapshot("HIVE", "b2")?;

    let destroyed = b.rollback("HIVE/state", "b1")?;
    assert_eq!(destroyed, ["HIVE/state@b2"]);
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, b"S1");
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"L2");
    assert_eq!(names(b, "HIVE")?, ["b1", "b2"]);
    assert_eq!(names(b, "HIVE/log")?, ["b1", "b2"]);
    assert_eq!(names(b, "HIVE/state")?, ["b1"]);

    // HIVE@b2 no longer covers state, so HIVE as a whole cannot go back to it.
    let err = b
        .rollback("HIVE", "b2")
        .expect_err("state has no b2 any more");
    assert!(
        matches!(&err, DatasetError::SnapshotNotFound { dataset, snapshot } if dataset == "HIVE/state" && snapshot == "b2"),
        "{err}"
    );
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"L2");
    Ok(())
}

fn rollback_refuses_before_changing_anything(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let l = layout(b, "HIVE")?;
    fs::write(l.log_dir.join("segment"), b"before")?;
    b.snapshot("HIVE", "b1")?;
    fs::write(l.log_dir.join("segment"), b"after")?;
    b.create("HIVE", &["extra"])?;

    let err = b.rollback("HIVE", "b1").expect_err("HIVE/extra has no b1");
    assert!(
        matches!(&err, DatasetError::SnapshotNotFound { dataset, .. } if dataset == "HIVE/extra"),
        "{err}"
    );
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"after");
    assert_eq!(names(b, "HIVE")?, ["b1"]);

    let err = b.rollback("HIVE", "nope").expect_err("no such snapshot");
    assert!(
        matches!(err, DatasetError::SnapshotNotFound { .. }),
        "{err}"
    );
    let err = b.rollback("NOPE", "b1").expect_err("no such dataset");
    assert!(matches!(err, DatasetError::NotFound { .. }), "{err}");
    Ok(())
}

fn snapshot_names_are_unique_and_destroyable(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    layout(b, "HIVE")?;
    b.snapshot("HIVE", "b1")?;
    let err = b.snapshot("HIVE", "b1").expect_err("duplicate");
    assert!(matches!(err, DatasetError::SnapshotExists { .. }), "{err}");
    let err = b.snapshot("NOPE", "b1").expect_err("no dataset");
    assert!(matches!(err, DatasetError::NotFound { .. }), "{err}");
    b.snapshot("HIVE", "b2")?;

    // Destroying a child's snapshot leaves the parent's.
    b.destroy_snapshot("HIVE/log", "b2")?;
    assert_eq!(names(b, "HIVE/log")?, ["b1"]);
    assert_eq!(names(b, "HIVE")?, ["b1", "b2"]);
    assert_eq!(names(b, "HIVE/state")?, ["b1", "b2"]);

    b.destroy_snapshot("HIVE", "b1")?;
    for dataset in ["HIVE", "HIVE/log", "HIVE/state"] {
        assert!(!names(b, dataset)?.contains(&"b1".to_owned()), "{dataset}");
    }
    let err = b.destroy_snapshot("HIVE", "b1").expect_err("already gone");
    assert!(
        matches!(err, DatasetError::SnapshotNotFound { .. }),
        "{err}"
    );
    Ok(())
}

fn clone_copies_a_snapshot_into_a_new_dataset(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let l = layout(b, "HIVE")?;
    fs::write(l.log_dir.join("segment"), b"at b1")?;
    fs::write(l.state_dir.join("data.mdb"), b"state at b1")?;
    b.snapshot("HIVE", "b1")?;
    fs::write(l.log_dir.join("segment"), b"later")?;

    let root = b.clone_snapshot("HIVE", "b1", "COPY")?;
    assert_eq!(root, b.mountpoint("COPY")?);
    assert_eq!(fs::read(root.join("log/segment"))?, b"at b1");
    assert_eq!(fs::read(root.join("state/data.mdb"))?, b"state at b1");
    assert!(b.exists("COPY/log")? && b.exists("COPY/state")?);
    assert_eq!(b.mountpoint("COPY/state")?, root.join("state"));

    // The clone is independent of the live dataset.
    fs::write(root.join("log/segment"), b"changed in the clone")?;
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"later");

    // A child's snapshot clones on its own.
    let state_copy = b.clone_snapshot("HIVE/state", "b1", "COPY/state-at-b1")?;
    assert_eq!(fs::read(state_copy.join("data.mdb"))?, b"state at b1");

    let err = b
        .clone_snapshot("HIVE", "b1", "COPY")
        .expect_err("target exists");
    assert!(matches!(err, DatasetError::AlreadyExists { .. }), "{err}");
    let err = b
        .clone_snapshot("HIVE", "b1", "MISSING/child")
        .expect_err("no parent");
    assert!(matches!(err, DatasetError::NotFound { .. }), "{err}");
    let err = b
        .clone_snapshot("HIVE", "nope", "OTHER")
        .expect_err("no snapshot");
    assert!(
        matches!(err, DatasetError::SnapshotNotFound { .. }),
        "{err}"
    );

    // ZFS clones depend on their origin; plain clones are copies.
    match b.kind() {
        BackendKind::Zfs => {
            let err = b.destroy("HIVE").expect_err("a clone depends on HIVE@b1");
            assert!(err.to_string().contains("clone"), "{err}");
            b.destroy("COPY")?;
            b.destroy("HIVE")?;
        }
        BackendKind::Plain => {
            b.destroy("HIVE")?;
            assert_eq!(fs::read(root.join("log/segment"))?, b"changed in the clone");
        }
    }
    Ok(())
}

fn send_and_receive_full_then_incremental(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let a = layout(b, "SRC")?;
    fs::write(a.log_dir.join("segment"), b"v1")?;
    fs::write(a.state_dir.join("data.mdb"), b"state v1")?;
    b.snapshot("SRC", "s1")?;

    let mut full = Vec::new();
    b.send("SRC", "s1", None, &mut full)?;
    assert!(!full.is_empty());
    b.receive("DST", StreamKind::Full, &mut full.as_slice())?;
    let dst = b.mountpoint("DST")?;
    assert_eq!(tree(&dst), tree(&a.root));
    assert!(b.exists("DST/log")? && b.exists("DST/state")?);
    assert!(names(b, "DST")?.contains(&"s1".to_owned()));
    assert!(names(b, "DST/state")?.contains(&"s1".to_owned()));

    fs::write(a.log_dir.join("segment"), b"v2")?;
    fs::write(a.log_dir.join("segment.2"), b"new segment")?;
    fs::remove_file(a.state_dir.join("data.mdb"))?;
    fs::write(a.state_dir.join("data.mdb"), b"state v2")?;
    b.snapshot("SRC", "s2")?;

    let mut incremental = Vec::new();
    b.send("SRC", "s2", Some("s1"), &mut incremental)?;
    b.receive("DST", StreamKind::Incremental, &mut incremental.as_slice())?;
    assert_eq!(tree(&dst), tree(&a.root));
    assert_eq!(fs::read(dst.join("log/segment.2"))?, b"new segment");
    let got = names(b, "DST")?;
    assert!(
        got.contains(&"s1".to_owned()) && got.contains(&"s2".to_owned()),
        "{got:?}"
    );

    // The received dataset is a normal one: it rolls back like any other.
    b.rollback("DST", "s1")?;
    assert_eq!(fs::read(dst.join("log/segment"))?, b"v1");
    Ok(())
}

fn receive_checks_its_target(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let a = layout(b, "SRC")?;
    fs::write(a.log_dir.join("segment"), b"v1")?;
    b.snapshot("SRC", "s1")?;
    b.snapshot("SRC", "s2")?;
    let mut full = Vec::new();
    b.send("SRC", "s1", None, &mut full)?;

    // A full stream never overwrites an existing dataset.
    let err = b
        .receive("SRC", StreamKind::Full, &mut full.as_slice())
        .expect_err("target exists");
    assert!(matches!(err, DatasetError::AlreadyExists { .. }), "{err}");
    assert_eq!(fs::read(a.log_dir.join("segment"))?, b"v1");

    let mut incremental = Vec::new();
    b.send("SRC", "s2", Some("s1"), &mut incremental)?;
    let err = b
        .receive("NEW", StreamKind::Incremental, &mut incremental.as_slice())
        .expect_err("no target");
    assert!(matches!(err, DatasetError::NotFound { .. }), "{err}");
    assert!(!b.exists("NEW")?);

    let err = b
        .send("SRC", "nope", None, &mut Vec::new())
        .expect_err("no snapshot");
    assert!(
        matches!(err, DatasetError::SnapshotNotFound { .. }),
        "{err}"
    );
    let err = b
        .send("SRC", "s2", Some("nope"), &mut Vec::new())
        .expect_err("no base");
    assert!(
        matches!(err, DatasetError::SnapshotNotFound { .. }),
        "{err}"
    );

    // Garbage is refused and leaves nothing behind.
    let garbage = vec![7u8; 4096];
    assert!(b
        .receive("JUNK", StreamKind::Full, &mut garbage.as_slice())
        .is_err());
    assert!(!b.exists("JUNK")?);
    assert_eq!(b.list()?, ["SRC", "SRC/log", "SRC/state"]);
    Ok(())
}

fn destroy_removes_datasets_and_snapshots(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    let l = layout(b, "HIVE")?;
    layout(b, "LEO")?;
    fs::write(l.log_dir.join("segment"), b"x")?;
    b.snapshot("HIVE", "b1")?;

    b.destroy("HIVE/state")?;
    assert!(!b.exists("HIVE/state")?);
    assert_eq!(names(b, "HIVE")?, ["b1"]);
    assert!(matches!(
        b.list_snapshots("HIVE/state"),
        Err(DatasetError::NotFound { .. })
    ));

    destroy_token(b, "HIVE")?;
    assert!(!b.exists("HIVE")?);
    assert!(!l.root.join("log").exists());
    assert_eq!(b.list()?, ["LEO", "LEO/log", "LEO/state"]);
    // Destroying a token that is not there is not an error; destroying a
    // dataset that is not there is.
    destroy_token(b, "HIVE")?;
    assert!(matches!(
        b.destroy("HIVE"),
        Err(DatasetError::NotFound { .. })
    ));

    // A destroyed token can be made again, empty and without old snapshots.
    let again = layout(b, "HIVE")?;
    assert!(tree(&again.root).is_empty());
    assert!(names(b, "HIVE")?.is_empty());
    Ok(())
}

fn invalid_names_are_rejected(f: &Fixture) -> TestResult {
    let b = f.backend.as_ref();
    layout(b, "HIVE")?;
    let bad = [
        "",
        "..",
        "../HIVE",
        "HIVE/..",
        "-rf",
        "a b",
        "a;rm",
        "$(id)",
        "/HIVE",
        "HIVE/",
        "HIVE@b1",
        ".snapshots",
    ];
    for name in bad {
        let invalid =
            |r: Result<(), DatasetError>| matches!(r, Err(DatasetError::InvalidName { .. }));
        assert!(invalid(b.create(name, &[]).map(|_| ())), "create {name:?}");
        assert!(
            invalid(b.create("HIVE", &[name]).map(|_| ())),
            "create child {name:?}"
        );
        assert!(invalid(b.exists(name).map(|_| ())), "exists {name:?}");
        assert!(invalid(b.destroy(name)), "destroy {name:?}");
        assert!(invalid(b.snapshot("HIVE", name)), "snapshot {name:?}");
        assert!(
            invalid(b.rollback("HIVE", name).map(|_| ())),
            "rollback {name:?}"
        );
        assert!(
            invalid(b.clone_snapshot("HIVE", "x", name).map(|_| ())),
            "clone {name:?}"
        );
        assert!(
            invalid(b.receive(name, StreamKind::Full, &mut [0u8; 0].as_slice())),
            "receive {name:?}"
        );
        assert!(
            invalid(ensure_token_layout(b, name).map(|_| ())),
            "layout {name:?}"
        );
    }
    assert_eq!(b.list()?, ["HIVE", "HIVE/log", "HIVE/state"]);
    Ok(())
}
