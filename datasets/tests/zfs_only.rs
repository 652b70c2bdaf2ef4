//! What only the ZFS backend does: properties, quotas, the CLI's errors, and
//! choosing ZFS in `open_backend`. Run on the pool named by
//! HONEYGRAPH_TEST_ZFS_POOL; without it each test prints that it skipped.

mod common;

use std::fs;
use std::io::Write;
use std::process::Command;

use common::{fresh_zfs_parent, incompressible, test_pool, zfs, zfs_turn, Fixture, TestResult};
use datasets::{
    ensure_token_layout, open_backend, BackendKind, DatasetBackend, DatasetError, StreamKind,
    ZfsBackend,
};

/// Whether the pool can do lz4 (OpenZFS lists the `lz4_compress` feature;
/// zfs-fuse, at pool version 23, cannot).
fn pool_supports_lz4() -> bool {
    Command::new("zpool")
        .args(["upgrade", "-v"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("lz4"))
        .unwrap_or(false)
}

#[test]
fn created_datasets_get_compression_and_atime_off() -> TestResult {
    let Some(f) = Fixture::zfs("props") else {
        return Ok(());
    };
    let Some(zb) = f.zfs_backend() else {
        return Ok(());
    };
    let l = ensure_token_layout(&zb, "HIVE")?;
    let expected = if pool_supports_lz4() { "lz4" } else { "on" };
    for dataset in ["HIVE", "HIVE/log", "HIVE/state"] {
        assert_eq!(zb.property(dataset, "compression")?, expected, "{dataset}");
        assert_eq!(zb.property(dataset, "atime")?, "off", "{dataset}");
        // Set on the dataset itself, not inherited from the test's parent.
        let full = format!("{}/{dataset}", zb.parent());
        let source = zfs(&["get", "-H", "-o", "source", "compression,atime", &full])?;
        assert!(
            source.lines().all(|s| s.trim() == "local"),
            "{dataset}: {source}"
        );
    }
    // Clones get the same properties.
    zb.snapshot("HIVE", "b1")?;
    zb.clone_snapshot("HIVE", "b1", "COPY")?;
    assert_eq!(zb.property("COPY/log", "compression")?, expected);
    assert_eq!(zb.property("COPY/log", "atime")?, "off");

    // The layout is mounted under the parent's mountpoint.
    let parent_mount = zfs(&["get", "-H", "-o", "value", "mountpoint", zb.parent()])?;
    assert_eq!(
        l.root,
        std::path::Path::new(parent_mount.trim()).join("HIVE")
    );
    Ok(())
}

#[test]
fn a_failing_command_reports_its_command_line_and_stderr() -> TestResult {
    let Some(f) = Fixture::zfs("stderr") else {
        return Ok(());
    };
    let b = f.backend.as_ref();
    let l = ensure_token_layout(b, "HIVE")?;
    fs::write(l.log_dir.join("segment"), incompressible(256 * 1024, 1))?;
    // A quota below what is used: zfs itself refuses.
    let err = b
        .set_quota("HIVE", Some(1024))
        .expect_err("quota below usage");
    match &err {
        DatasetError::Command {
            command, stderr, ..
        } => {
            assert!(
                command.starts_with("zfs set quota=1024 ") && command.ends_with("/HIVE"),
                "{command}"
            );
            assert!(
                stderr.contains("size is less than current used"),
                "{stderr}"
            );
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("zfs set quota=1024") && text.contains("size is less than"),
        "{text}"
    );
    Ok(())
}

#[test]
fn a_full_quota_gives_a_clear_error_and_keeps_existing_files() -> TestResult {
    let Some(f) = Fixture::zfs("quota") else {
        return Ok(());
    };
    let b = f.backend.as_ref();
    let l = ensure_token_layout(b, "HIVE")?;
    let precious = incompressible(64 * 1024, 2);
    fs::write(l.state_dir.join("data.mdb"), &precious)?;
    b.snapshot("HIVE", "before")?;

    let quota = 4 << 20;
    b.set_quota("HIVE", Some(quota))?;
    assert_eq!(b.quota("HIVE")?, Some(quota));
    assert_eq!(
        b.quota("HIVE/log")?,
        None,
        "the quota is the parent's, not the child's"
    );

    // A writer fills the quota and gets EDQUOT.
    let big = l.log_dir.join("big");
    let write_err = {
        let mut file = fs::File::create(&big)?;
        let chunk = incompressible(64 * 1024, 3);
        let mut err = None;
        for _ in 0..(64 << 20) / chunk.len() {
            if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_data()) {
                err = Some(e);
                break;
            }
        }
        err.expect("writing 64 MiB into a 4 MiB quota must fail")
    };
    assert!(datasets::is_out_of_space(&write_err), "{write_err:?}");

    // ZFS commands that need space say so clearly.
    let mut stream = Vec::new();
    b.send("HIVE", "before", None, &mut stream)?;
    let err = b
        .receive("HIVE/copy", StreamKind::Full, &mut stream.as_slice())
        .expect_err("no room to receive");
    assert!(err.is_out_of_space(), "{err}");
    assert!(err.to_string().contains("out of space"), "{err}");
    assert!(err.to_string().contains("zfs receive"), "{err}");
    match b.create("HIVE", &["extra"]) {
        Err(err) => {
            assert!(err.is_out_of_space(), "{err}");
            assert!(
                !b.exists("HIVE/extra")?,
                "a failed create leaves no dataset"
            );
        }
        // Real ZFS may fit a small dataset's metadata in; zfs-fuse cannot mount it.
        Ok(_) => println!("note: this pool created a dataset under a full quota"),
    }

    // Nothing already written is harmed.
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, precious);
    assert_eq!(b.list_snapshots("HIVE")?.len(), 1);

    // Freeing space (or lifting the quota) makes the dataset usable again.
    fs::remove_file(&big)?;
    b.set_quota("HIVE", None)?;
    assert_eq!(b.quota("HIVE")?, None);
    fs::write(l.log_dir.join("after"), b"room again")?;
    b.snapshot("HIVE", "after")?;
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, precious);
    Ok(())
}

#[test]
fn open_backend_uses_zfs_and_creates_a_missing_parent() -> TestResult {
    let turn = zfs_turn();
    let Some(parent) = fresh_zfs_parent("open") else {
        return Ok(());
    };
    let _cleanup = Fixture::adopt_zfs_parent(&parent, turn);
    let data = tempfile::tempdir()?;

    let existing = open_backend(Some(&parent), data.path())?;
    assert_eq!(existing.kind(), BackendKind::Zfs);

    let missing = format!("{parent}/made/by-open");
    let created = open_backend(Some(&missing), data.path())?;
    assert_eq!(created.kind(), BackendKind::Zfs);
    assert!(zfs(&["list", "-H", "-o", "name", &missing]).is_ok());
    let l = ensure_token_layout(created.as_ref(), "HIVE")?;
    assert!(l.log_dir.is_dir());
    assert!(
        !data.path().join("tokens").exists(),
        "no plain directories when ZFS is used"
    );

    // A pool that does not exist: plain directories, with a warning.
    let fallback = open_backend(Some("hgnosuchpool/honeygraph"), data.path())?;
    assert_eq!(fallback.kind(), BackendKind::Plain);
    Ok(())
}

#[test]
fn zfs_open_refuses_a_missing_parent() -> TestResult {
    let Some(pool) = test_pool() else {
        return Ok(());
    };
    let err = ZfsBackend::open(&format!("{pool}/hg-never-created")).expect_err("missing parent");
    assert!(matches!(err, DatasetError::NotFound { .. }), "{err}");
    Ok(())
}
