//! The plain-directory backend: each dataset is a directory under the root
//! (`DATA_PATH/tokens`), marked by an empty `.hg-dataset` file; snapshots
//! are full copies kept in the top-level dataset's `.snapshots/`.
//!
//! Every change goes through a temporary name and a rename, and
//! [`PlainBackend::open`] finishes or undoes what a crash interrupted (see
//! the `swap` module). One process owns a root at a time; within it, a lock
//! serialises the operations.

mod store;
mod stream;
mod swap;
mod tree;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::backend::{BackendKind, DatasetBackend, SnapshotInfo, StreamKind};
use crate::error::DatasetError;
use crate::name::{self, validate_dataset_name, validate_snapshot_name};
use store::{is_ancestor_or_self, Store};
use stream::StreamHeader;
use tree::{is_dataset, RECV_PREFIX, SNAPSHOTS_DIR};

/// Datasets as directories under one root.
#[derive(Debug)]
pub struct PlainBackend {
    root: PathBuf,
    lock: Mutex<()>,
    scratch_counter: AtomicU64,
}

/// A validated dataset name and where it lives.
struct Located {
    /// The name relative to the backend.
    name: String,
    /// Its directory.
    path: PathBuf,
    /// The top-level dataset's directory.
    top: PathBuf,
    /// The name relative to the top-level dataset (`""` for itself).
    sub: String,
}

impl PlainBackend {
    /// Uses (creating it if needed) the directory `root`, first finishing or
    /// undoing whatever a crash interrupted there.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, DatasetError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| DatasetError::io("creating directory", &root, e))?;
        let backend = Self {
            root,
            lock: Mutex::new(()),
            scratch_counter: AtomicU64::new(0),
        };
        backend.recover()?;
        Ok(backend)
    }

    /// The directory holding the datasets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        // A panic elsewhere cannot leave the directories half-changed in a way
        // the lock protects, so a poisoned lock is still usable.
        self.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn locate(&self, dataset: &str) -> Result<Located, DatasetError> {
        validate_dataset_name(dataset)?;
        let (top, sub) = dataset.split_once('/').unwrap_or((dataset, ""));
        Ok(Located {
            name: dataset.to_owned(),
            path: self.root.join(dataset),
            top: self.root.join(top),
            sub: sub.to_owned(),
        })
    }

    fn existing(&self, dataset: &str) -> Result<Located, DatasetError> {
        let at = self.locate(dataset)?;
        if is_dataset(&at.path) {
            Ok(at)
        } else {
            Err(DatasetError::NotFound {
                dataset: dataset.to_owned(),
            })
        }
    }

    fn recover(&self) -> Result<(), DatasetError> {
        swap::recover_dir(&self.root)?;
        for top in self.list_inner()?.iter().filter(|name| !name.contains('/')) {
            let top = self.root.join(top);
            swap::recover_dir(&top.join(SNAPSHOTS_DIR))?;
            self.recover_tree(&top)?;
        }
        Ok(())
    }

    fn recover_tree(&self, dir: &Path) -> Result<(), DatasetError> {
        swap::recover_dir(dir)?;
        for child in child_datasets(dir)? {
            self.recover_tree(&dir.join(child))?;
        }
        Ok(())
    }

    fn list_inner(&self) -> Result<Vec<String>, DatasetError> {
        let mut names = Vec::new();
        collect_datasets(&self.root, "", &mut names)?;
        names.sort();
        Ok(names)
    }

    /// Creates the dataset directory (and its missing ancestors).
    fn ensure_chain(&self, dataset: &str) -> Result<(), DatasetError> {
        let mut prefix = String::new();
        for component in dataset.split('/') {
            prefix = name::join(&prefix, component);
            let path = self.root.join(&prefix);
            if is_dataset(&path) {
                continue;
            }
            // An existing plain directory (an older layout) is adopted.
            match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => {}
                Err(e) => return Err(DatasetError::io("creating directory", &path, e)),
            }
            tree::write_marker(&path)?;
            tree::sync_dir(path.parent().unwrap_or(&self.root))?;
        }
        Ok(())
    }

    /// The sub-dataset names (relative to the top level) of `at` and its
    /// descendants.
    fn subtree(&self, at: &Located) -> Result<Vec<String>, DatasetError> {
        let mut below = Vec::new();
        collect_datasets(&at.path, "", &mut below)?;
        let mut subs = vec![at.sub.clone()];
        subs.extend(below.into_iter().map(|b| name::join(&at.sub, &b)));
        Ok(subs)
    }

    /// The full dataset name of the sub-dataset `sub` of `at`'s top level.
    fn full_name(at: &Located, sub: &str) -> String {
        let top = at.name.split('/').next().unwrap_or(&at.name);
        if sub.is_empty() {
            top.to_owned()
        } else {
            name::join(top, sub)
        }
    }

    fn snapshot_inner(&self, at: &Located, snapshot: &str) -> Result<(), DatasetError> {
        if Store::of(&at.top).create(snapshot, &at.sub, &at.path)? {
            Ok(())
        } else {
            Err(DatasetError::SnapshotExists {
                dataset: at.name.clone(),
                snapshot: snapshot.to_owned(),
            })
        }
    }

    fn require(&self, at: &Located, snapshot: &str) -> Result<store::Manifest, DatasetError> {
        Store::of(&at.top)
            .find(snapshot, &at.sub)?
            .ok_or_else(|| DatasetError::SnapshotNotFound {
                dataset: at.name.clone(),
                snapshot: snapshot.to_owned(),
            })
    }

    fn new_target(&self, target: &str) -> Result<Located, DatasetError> {
        let at = self.locate(target)?;
        if at.path.exists() {
            return Err(DatasetError::AlreadyExists {
                dataset: target.to_owned(),
            });
        }
        if let Some(parent) = name::parent_of(target) {
            self.existing(parent)?;
        }
        Ok(at)
    }

    fn scratch_dir(&self) -> Result<PathBuf, DatasetError> {
        let n = self.scratch_counter.fetch_add(1, Ordering::Relaxed);
        let dir = self
            .root
            .join(format!("{RECV_PREFIX}{}-{n}", std::process::id()));
        tree::remove_tree(&dir)?;
        fs::create_dir(&dir).map_err(|e| DatasetError::io("creating directory", &dir, e))?;
        Ok(dir)
    }

    fn receive_inner(
        &self,
        target: &str,
        kind: StreamKind,
        input: &mut dyn Read,
    ) -> Result<(), DatasetError> {
        let at = match kind {
            StreamKind::Full => self.new_target(target)?,
            StreamKind::Incremental => self.existing(target)?,
        };
        let scratch = self.scratch_dir()?;
        let result = (|| {
            let header = stream::read(input, &scratch)?;
            validate_snapshot_name(&header.snapshot)?;
            let data = scratch.join(stream::DATA);
            if !is_dataset(&data) {
                return Err(DatasetError::InvalidStream {
                    reason: "the stream holds no dataset".to_owned(),
                });
            }
            match (kind, header.incremental_from.as_deref()) {
                (StreamKind::Full, None) => {
                    tree::rename(&data, &at.path)?;
                    tree::sync_dir(at.path.parent().unwrap_or(&self.root))?;
                }
                (StreamKind::Incremental, Some(base)) => {
                    self.check_incremental_base(&at, base, &header.snapshot)?;
                    let tmp = swap::prepare(&at.path)?;
                    tree::rename(&data, &tmp)?;
                    swap::commit(&at.path, at.sub.is_empty())?;
                }
                (StreamKind::Full, Some(base)) => {
                    return Err(DatasetError::InvalidStream {
                        reason: format!(
                        "this is an incremental stream (from {base:?}); receive it as incremental"
                    ),
                    })
                }
                (StreamKind::Incremental, None) => {
                    return Err(DatasetError::InvalidStream {
                        reason: "this is a full stream; receive it as full into a new dataset"
                            .to_owned(),
                    })
                }
            }
            self.snapshot_inner(&at, &header.snapshot)
        })();
        tree::remove_tree(&scratch)?;
        result
    }

    /// An incremental stream applies on top of its base, which must be the
    /// target's newest snapshot, and must not bring a name it already has.
    fn check_incremental_base(
        &self,
        at: &Located,
        base: &str,
        snapshot: &str,
    ) -> Result<(), DatasetError> {
        let store = Store::of(&at.top);
        let held: Vec<String> = store
            .list()?
            .into_iter()
            .filter(|(_, m)| m.covers(&at.sub))
            .map(|(n, _)| n)
            .collect();
        if held.iter().any(|n| n == snapshot) {
            return Err(DatasetError::SnapshotExists {
                dataset: at.name.clone(),
                snapshot: snapshot.to_owned(),
            });
        }
        match held.last() {
            Some(newest) if newest == base => Ok(()),
            Some(newest) => Err(DatasetError::InvalidStream {
                reason: format!(
                    "the stream's base is {base:?} but {}'s newest snapshot is {newest:?}",
                    at.name
                ),
            }),
            None => Err(DatasetError::SnapshotNotFound {
                dataset: at.name.clone(),
                snapshot: base.to_owned(),
            }),
        }
    }
}

/// Names (relative to `dir`) of the datasets below `dir`, recursively.
fn collect_datasets(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), DatasetError> {
    for child in child_datasets(dir)? {
        let name = name::join(prefix, &child);
        collect_datasets(&dir.join(&child), &name, out)?;
        out.push(name);
    }
    Ok(())
}

/// The direct subdirectories of `dir` that are datasets.
fn child_datasets(dir: &Path) -> Result<Vec<String>, DatasetError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DatasetError::io("reading directory", dir, e)),
    };
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DatasetError::io("reading directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.')
            && name::validate_component(&name).is_ok()
            && is_dataset(&entry.path())
        {
            children.push(name);
        }
    }
    children.sort();
    Ok(children)
}

impl DatasetBackend for PlainBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Plain
    }

    fn create(&self, dataset: &str, children: &[&str]) -> Result<PathBuf, DatasetError> {
        let at = self.locate(dataset)?;
        let children: Vec<String> = children.iter().map(|c| name::join(dataset, c)).collect();
        for child in &children {
            validate_dataset_name(child)?;
        }
        let _guard = self.guard();
        self.ensure_chain(dataset)?;
        for child in &children {
            self.ensure_chain(child)?;
        }
        Ok(at.path)
    }

    fn destroy(&self, dataset: &str) -> Result<(), DatasetError> {
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        if !at.sub.is_empty() {
            Store::of(&at.top).forget(&at.sub)?;
        }
        let old = tree::sibling(&at.path, tree::OLD_PREFIX);
        tree::remove_tree(&old)?;
        tree::rename(&at.path, &old)?;
        tree::sync_dir(at.path.parent().unwrap_or(&self.root))?;
        tree::remove_tree(&old)
    }

    fn exists(&self, dataset: &str) -> Result<bool, DatasetError> {
        let at = self.locate(dataset)?;
        let _guard = self.guard();
        Ok(is_dataset(&at.path))
    }

    fn list(&self) -> Result<Vec<String>, DatasetError> {
        let _guard = self.guard();
        self.list_inner()
    }

    fn mountpoint(&self, dataset: &str) -> Result<PathBuf, DatasetError> {
        let _guard = self.guard();
        Ok(self.existing(dataset)?.path)
    }

    fn snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError> {
        validate_snapshot_name(snapshot)?;
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        self.snapshot_inner(&at, snapshot)
    }

    fn list_snapshots(&self, dataset: &str) -> Result<Vec<SnapshotInfo>, DatasetError> {
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        let store = Store::of(&at.top);
        let mut infos = Vec::new();
        for (name, manifest) in store.list()?.into_iter().filter(|(_, m)| m.covers(&at.sub)) {
            let bytes = if manifest.dataset == at.sub {
                manifest.referenced_bytes
            } else {
                tree::tree_size(&store.data_of(&name, &manifest, &at.sub))?
            };
            infos.push(SnapshotInfo {
                dataset: at.name.clone(),
                name,
                created_unix: manifest.created_unix,
                used_bytes: Some(bytes),
                referenced_bytes: Some(bytes),
            });
        }
        Ok(infos)
    }

    fn destroy_snapshot(&self, dataset: &str, snapshot: &str) -> Result<(), DatasetError> {
        validate_snapshot_name(snapshot)?;
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        let manifest = self.require(&at, snapshot)?;
        let store = Store::of(&at.top);
        if manifest.dataset == at.sub {
            store.remove(snapshot)
        } else {
            store.exclude(snapshot, &manifest, &at.sub)
        }
    }

    fn rollback(&self, dataset: &str, snapshot: &str) -> Result<Vec<String>, DatasetError> {
        validate_snapshot_name(snapshot)?;
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        let target = self.require(&at, snapshot)?;
        let store = Store::of(&at.top);
        let subtree = self.subtree(&at)?;
        // Check everything first, so a missing snapshot changes nothing.
        for sub in &subtree {
            if !target.covers(sub) || !is_dataset(&store.data_of(snapshot, &target, sub)) {
                return Err(DatasetError::SnapshotNotFound {
                    dataset: Self::full_name(&at, sub),
                    snapshot: snapshot.to_owned(),
                });
            }
        }
        let mut destroyed = Vec::new();
        for (name, manifest) in store
            .list()?
            .into_iter()
            .filter(|(_, m)| m.seq > target.seq)
        {
            let held: Vec<&String> = subtree.iter().filter(|sub| manifest.covers(sub)).collect();
            if held.is_empty() {
                continue;
            }
            destroyed.extend(
                held.iter()
                    .map(|sub| format!("{}@{name}", Self::full_name(&at, sub))),
            );
            if is_ancestor_or_self(&at.sub, &manifest.dataset) {
                store.remove(&name)?;
            } else {
                store.exclude(&name, &manifest, &at.sub)?;
            }
        }
        let tmp = swap::prepare(&at.path)?;
        if let Err(err) = tree::copy_tree(&store.data_of(snapshot, &target, &at.sub), &tmp) {
            let _ = tree::remove_tree(&tmp);
            return Err(err);
        }
        swap::commit(&at.path, at.sub.is_empty())?;
        Ok(destroyed)
    }

    fn clone_snapshot(
        &self,
        dataset: &str,
        snapshot: &str,
        target: &str,
    ) -> Result<PathBuf, DatasetError> {
        validate_snapshot_name(snapshot)?;
        name::validate_dataset_name(target)?;
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        let manifest = self.require(&at, snapshot)?;
        let to = self.new_target(target)?;
        let tmp = swap::prepare(&to.path)?;
        let copied = tree::copy_tree(
            &Store::of(&at.top).data_of(snapshot, &manifest, &at.sub),
            &tmp,
        )
        .and_then(|_| tree::write_marker(&tmp))
        .and_then(|()| tree::rename(&tmp, &to.path))
        .and_then(|()| tree::sync_dir(to.path.parent().unwrap_or(&self.root)));
        if let Err(err) = copied {
            let _ = tree::remove_tree(&tmp);
            return Err(err);
        }
        Ok(to.path)
    }

    fn send(
        &self,
        dataset: &str,
        snapshot: &str,
        from: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<(), DatasetError> {
        validate_snapshot_name(snapshot)?;
        if let Some(from) = from {
            validate_snapshot_name(from)?;
        }
        let _guard = self.guard();
        let at = self.existing(dataset)?;
        let manifest = self.require(&at, snapshot)?;
        if let Some(from) = from {
            let base = self.require(&at, from)?;
            if base.seq >= manifest.seq {
                return Err(DatasetError::InvalidStream {
                    reason: format!("the base snapshot {from:?} is not older than {snapshot:?}"),
                });
            }
        }
        let header = StreamHeader::new(dataset, snapshot, from);
        stream::write(
            &header,
            &Store::of(&at.top).data_of(snapshot, &manifest, &at.sub),
            out,
        )
    }

    fn receive(
        &self,
        target: &str,
        kind: StreamKind,
        input: &mut dyn Read,
    ) -> Result<(), DatasetError> {
        validate_dataset_name(target)?;
        let _guard = self.guard();
        self.receive_inner(target, kind, input)
    }

    fn set_quota(&self, dataset: &str, bytes: Option<u64>) -> Result<(), DatasetError> {
        let _guard = self.guard();
        self.existing(dataset)?;
        match bytes {
            None => Ok(()),
            Some(_) => Err(DatasetError::Unsupported {
                backend: BackendKind::Plain,
                what: "quotas (directories cannot enforce one; put DATA_PATH on a file system of the wanted size, \
                       such as a small tmpfs, or use ZFS)"
                    .to_owned(),
            }),
        }
    }

    fn quota(&self, dataset: &str) -> Result<Option<u64>, DatasetError> {
        let _guard = self.guard();
        self.existing(dataset)?;
        Ok(None)
    }
}
