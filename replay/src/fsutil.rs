//! Durable file helpers: every change that must survive a crash is written
//! to a temporary name, fsynced, renamed, and its directory fsynced.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ReplayError;

/// Fsyncs a directory so renames and removals in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ReplayError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ReplayError::io("syncing directory", dir, e))
}

/// Fsyncs a file's data (all dirty pages, whichever handle wrote them).
pub(crate) fn sync_file(path: &Path) -> Result<(), ReplayError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| ReplayError::io("syncing", path, e))
}

/// Writes `value` as JSON to `path` atomically: a crash leaves the old
/// file or the new one, never a torn one.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ReplayError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| ReplayError::io("encoding", path, std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    written.map_err(|e| ReplayError::io("writing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ReplayError::io("renaming into place", path, e))?;
    sync_parent(path)
}

/// Reads a JSON file; `None` when it does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ReplayError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReplayError::io("reading", path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ReplayError::io("decoding", path, std::io::Error::other(e)))
}

/// Removes a file if it exists, durably.
pub(crate) fn remove_file(path: &Path) -> Result<(), ReplayError> {
    match fs::remove_file(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReplayError::io("removing", path, e)),
    }
}

/// Removes a directory tree if it exists, durably.
pub(crate) fn remove_dir(path: &Path) -> Result<(), ReplayError> {
    match fs::remove_dir_all(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReplayError::io("removing", path, e)),
    }
}

/// Copies `src` to `dst` (replacing it) and fsyncs the copy.
pub(crate) fn copy_file(src: &Path, dst: &Path) -> Result<(), ReplayError> {
    fs::copy(src, dst).map_err(|e| ReplayError::io("copying", src, e))?;
    sync_file(dst)
}

/// Creates `dir` (and its parents) if missing.
pub(crate) fn create_dir(dir: &Path) -> Result<(), ReplayError> {
    fs::create_dir_all(dir).map_err(|e| ReplayError::io("creating directory", dir, e))
}

fn sync_parent(path: &Path) -> Result<(), ReplayError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}
