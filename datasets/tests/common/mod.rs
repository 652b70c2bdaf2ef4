//! Shared fixtures: a backend of either kind in a place of its own, removed
//! afterwards. ZFS fixtures need `HONEYGRAPH_TEST_ZFS_POOL` (see
//! `.ci/zfs-setup.sh`); without it ZFS tests print that they skipped.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use datasets::{DatasetBackend, PlainBackend, ZfsBackend};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub const POOL_VAR: &str = "HONEYGRAPH_TEST_ZFS_POOL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// zfs-fuse has hung when two tests of one binary made datasets at the same
/// moment (both `zfs create`s stuck in the kernel, waiting on the FUSE mount
/// of a dataset made just before), so the ZFS tests of a binary take turns.
static ZFS_TURN: Mutex<()> = Mutex::new(());

/// This test's turn at the ZFS pool, held until it is dropped.
pub fn zfs_turn() -> MutexGuard<'static, ()> {
    // A test that panicked holding it leaves nothing to repair.
    ZFS_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A backend for one test.
pub struct Fixture {
    pub backend: Box<dyn DatasetBackend>,
    /// The ZFS parent dataset made for this test (removed on drop).
    pub zfs_parent: Option<String>,
    _dir: Option<tempfile::TempDir>,
    /// Dropped after the parent is destroyed (fields drop after `drop`).
    _turn: Option<MutexGuard<'static, ()>>,
}

impl Fixture {
    /// Plain directories in a fresh temporary directory.
    pub fn plain() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let backend = PlainBackend::open(dir.path().join("tokens")).expect("plain backend opens");
        Self {
            backend: Box::new(backend),
            zfs_parent: None,
            _dir: Some(dir),
            _turn: None,
        }
    }

    /// ZFS datasets under a fresh child of the test pool, or `None` (after
    /// printing why) when no pool is configured.
    pub fn zfs(test: &str) -> Option<Self> {
        let turn = zfs_turn();
        let parent = fresh_zfs_parent(test)?;
        Some(Self::adopt_zfs_parent(&parent, turn))
    }

    /// A fixture for a parent made with [`fresh_zfs_parent`] during `turn`,
    /// so it is removed (and the turn ends) with the fixture.
    pub fn adopt_zfs_parent(parent: &str, turn: MutexGuard<'static, ()>) -> Self {
        let backend = ZfsBackend::open(parent).expect("ZFS backend opens on the fresh parent");
        Self {
            backend: Box::new(backend),
            zfs_parent: Some(parent.to_owned()),
            _dir: None,
            _turn: Some(turn),
        }
    }

    pub fn zfs_backend(&self) -> Option<ZfsBackend> {
        self.zfs_parent
            .as_deref()
            .map(|p| ZfsBackend::open(p).expect("ZFS backend opens"))
    }
}

/// The test pool, or `None` after printing the skip notice.
pub fn test_pool() -> Option<String> {
    match std::env::var(POOL_VAR) {
        Ok(pool) if !pool.is_empty() => Some(pool),
        _ => {
            println!("skipped: {POOL_VAR} not set");
            None
        }
    }
}

/// Creates `<pool>/hg-<pid>-<n>-<test>` and returns its name.
pub fn fresh_zfs_parent(test: &str) -> Option<String> {
    let pool = test_pool()?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let short: String = test.chars().take(40).collect();
    let parent = format!("{pool}/hg-{}-{n}-{short}", std::process::id());
    zfs(&["create", &parent]).expect("creating the test's parent dataset");
    Some(parent)
}

/// Runs `zfs` directly (outside the code under test).
pub fn zfs(args: &[&str]) -> Result<String, String> {
    let out = Command::new("zfs")
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(parent) = &self.zfs_parent {
            // zfs-fuse briefly reports just-unmounted datasets as busy.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match zfs(&["destroy", "-R", parent]) {
                    Ok(_) => break,
                    Err(e) if e.contains("busy") && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100))
                    }
                    Err(e) => {
                        eprintln!("could not remove test dataset {parent}: {e}");
                        break;
                    }
                }
            }
        }
    }
}

/// The files under `dir` (relative path -> contents), leaving out hidden
/// entries (markers, snapshot stores, `.zfs`).
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files);
    files
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            files.insert(rel, fs::read(&path).expect("readable file"));
        }
    }
}

/// Bytes that do not compress (so compression cannot hide a quota).
pub fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
