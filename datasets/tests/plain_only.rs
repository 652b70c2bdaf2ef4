//! What only the plain backend does: no quotas, full file systems, crash
//! recovery of its temporary names, and being chosen by `open_backend`.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{incompressible, TestResult};
use datasets::{
    ensure_token_layout, open_backend, BackendKind, DatasetBackend, DatasetError, PlainBackend,
};

#[test]
fn quotas_are_refused_clearly() -> TestResult {
    let dir = tempfile::tempdir()?;
    let b = PlainBackend::open(dir.path())?;
    ensure_token_layout(&b, "HIVE")?;
    let err = b
        .set_quota("HIVE", Some(1 << 20))
        .expect_err("plain cannot enforce quotas");
    assert!(
        matches!(
            err,
            DatasetError::Unsupported {
                backend: BackendKind::Plain,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("tmpfs"),
        "the error says what to do instead: {err}"
    );
    b.set_quota("HIVE", None)?;
    assert_eq!(b.quota("HIVE")?, None);
    assert!(matches!(
        b.quota("NOPE"),
        Err(DatasetError::NotFound { .. })
    ));
    Ok(())
}

#[test]
fn open_backend_without_zfs_parent_uses_data_path_tokens() -> TestResult {
    let data = tempfile::tempdir()?;
    let b = open_backend(None, data.path())?;
    assert_eq!(b.kind(), BackendKind::Plain);
    let l = ensure_token_layout(b.as_ref(), "HIVE")?;
    assert_eq!(l.root, data.path().join("tokens/HIVE"));
    assert_eq!(l.log_dir, data.path().join("tokens/HIVE/log"));
    assert_eq!(l.state_dir, data.path().join("tokens/HIVE/state"));

    // A ZFS_PARENT whose pool does not exist (or no zfs at all): plain.
    let b = open_backend(Some("hgnosuchpool/honeygraph"), data.path())?;
    assert_eq!(b.kind(), BackendKind::Plain);
    assert!(b.exists("HIVE")?);

    // A ZFS_PARENT that is not a valid name is a configuration error.
    let err = open_backend(Some("tank/honey graph"), data.path()).expect_err("invalid name");
    assert!(matches!(err, DatasetError::InvalidName { .. }), "{err}");
    Ok(())
}

#[test]
fn existing_directories_are_adopted() -> TestResult {
    let data = tempfile::tempdir()?;
    let root = data.path().join("tokens");
    fs::create_dir_all(root.join("HIVE/log"))?;
    fs::write(root.join("HIVE/log/segment"), b"kept")?;
    fs::create_dir_all(root.join("HIVE/log/not-a-dataset"))?;
    let b = PlainBackend::open(&root)?;
    assert!(
        b.list()?.is_empty(),
        "unmarked directories are not datasets"
    );
    let l = ensure_token_layout(&b, "HIVE")?;
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"kept");
    assert_eq!(b.list()?, ["HIVE", "HIVE/log", "HIVE/state"]);
    Ok(())
}

#[test]
fn reopening_cleans_up_after_a_crash() -> TestResult {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("tokens");
    let l = {
        let b = PlainBackend::open(&root)?;
        let l = ensure_token_layout(&b, "HIVE")?;
        fs::write(l.log_dir.join("segment"), b"live")?;
        b.snapshot("HIVE", "b1")?;
        l
    };
    // What a SIGKILL in the middle of a snapshot, a destroy, a receive and a
    // rollback (after its copy was committed) leaves behind.
    let store = l.root.join(".snapshots");
    fs::create_dir_all(store.join(".hg-tmp-b2/data"))?;
    fs::create_dir_all(root.join(".hg-old-GONE/log"))?;
    fs::create_dir_all(root.join(".hg-recv-1-0/data"))?;
    fs::create_dir_all(l.root.join(".hg-new-state"))?;
    fs::write(l.root.join(".hg-new-state/data.mdb"), b"rolled back")?;
    fs::write(l.root.join(".hg-new-state/.hg-dataset"), b"")?;

    let b = PlainBackend::open(&root)?;
    assert_eq!(names_in(&store)?, ["b1"]);
    assert_eq!(names_in(&root)?, ["HIVE"]);
    assert_eq!(
        names_in(&l.root)?,
        [".hg-dataset", ".snapshots", "log", "state"]
    );
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, b"rolled back");
    assert_eq!(fs::read(l.log_dir.join("segment"))?, b"live");
    assert_eq!(b.list_snapshots("HIVE")?.len(), 1);
    Ok(())
}

fn names_in(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

/// A small tmpfs mounted for one test (root only), unmounted on drop.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if out.status.success() {
            Some(Self { dir })
        } else {
            println!(
                "skipped: cannot mount a tmpfs here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_file_system_gives_a_clear_error_and_keeps_existing_files() -> TestResult {
    let Some(small) = SmallFs::mount("2m") else {
        return Ok(());
    };
    let b = PlainBackend::open(small.path().join("tokens"))?;
    let l = ensure_token_layout(&b, "HIVE")?;
    let precious = incompressible(256 * 1024, 9);
    fs::write(l.state_dir.join("data.mdb"), &precious)?;
    b.snapshot("HIVE", "b1")?;

    let big = l.log_dir.join("big");
    let mut filler = fs::File::create(&big)?;
    let write_err = {
        let chunk = vec![1u8; 64 * 1024];
        let mut err = None;
        for _ in 0..64 {
            if let Err(e) = filler.write_all(&chunk).and_then(|()| filler.sync_data()) {
                err = Some(e);
                break;
            }
        }
        err.expect("4 MiB cannot fit in a 2 MiB tmpfs")
    };
    assert!(datasets::is_out_of_space(&write_err), "{write_err:?}");

    // A snapshot needs room for its copy: it fails clearly and leaves no
    // half-made copy behind.
    let err = b.snapshot("HIVE", "b2").expect_err("no room for a copy");
    assert!(err.is_out_of_space(), "{err}");
    assert!(err.to_string().contains("out of space"), "{err}");
    assert_eq!(names_in(&l.root.join(".snapshots"))?, ["b1"]);
    assert_eq!(b.list_snapshots("HIVE")?.len(), 1);
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, precious);

    // After space is freed, everything works again. The filler is emptied
    // before it is closed: other tests in this binary spawn `mount` and
    // `umount`, and a child between fork and exec holds a copy of every open
    // descriptor, so a file only closed and removed could keep its blocks
    // until that child execs.
    filler.set_len(0)?;
    drop(filler);
    fs::remove_file(&big)?;
    b.snapshot("HIVE", "b2")?;
    b.rollback("HIVE", "b1")?;
    assert_eq!(fs::read(l.state_dir.join("data.mdb"))?, precious);
    Ok(())
}
