//! Directory-tree helpers of the plain backend: the dataset marker, durable
//! recursive copies, sizes and removal.

use std::fs;
use std::io;
use std::path::Path;

use crate::error::DatasetError;

/// Empty file that marks a directory as a dataset (so `list` and `exists`
/// can tell datasets from ordinary subdirectories a writer made).
pub(crate) const MARKER: &str = ".hg-dataset";

/// The snapshot store inside a top-level dataset.
pub(crate) const SNAPSHOTS_DIR: &str = ".snapshots";

/// Prefixes of the backend's own temporary entries, never copied or listed.
pub(crate) const TMP_PREFIX: &str = ".hg-tmp-";
pub(crate) const NEW_PREFIX: &str = ".hg-new-";
pub(crate) const OLD_PREFIX: &str = ".hg-old-";
pub(crate) const RECV_PREFIX: &str = ".hg-recv-";

/// Whether `name` is one of the backend's temporary entries.
pub(crate) fn is_bookkeeping(name: &str) -> bool {
    [TMP_PREFIX, NEW_PREFIX, OLD_PREFIX, RECV_PREFIX]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether `path` is a dataset directory.
pub(crate) fn is_dataset(path: &Path) -> bool {
    path.join(MARKER).is_file()
}

/// Marks `dir` as a dataset.
pub(crate) fn write_marker(dir: &Path) -> Result<(), DatasetError> {
    let marker = dir.join(MARKER);
    fs::File::create(&marker)
        .and_then(|f| f.sync_all())
        .map_err(|e| DatasetError::io("creating", &marker, e))
}

/// Copies the tree `src` to the new directory `dst`, leaving out the
/// backend's temporary entries and, at the top, the snapshot store. Files
/// and directories are fsynced, so a copy that was renamed into place
/// survives a crash. Symlinks are copied as links. Returns the bytes copied.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> Result<u64, DatasetError> {
    copy_dir(src, dst, true)
}

fn copy_dir(src: &Path, dst: &Path, top: bool) -> Result<u64, DatasetError> {
    fs::create_dir(dst).map_err(|e| DatasetError::io("creating directory", dst, e))?;
    let mut bytes = 0;
    let entries = fs::read_dir(src).map_err(|e| DatasetError::io("reading directory", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DatasetError::io("reading directory", src, e))?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if is_bookkeeping(&name_str) || (top && name_str == SNAPSHOTS_DIR) {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|e| DatasetError::io("reading", &from, e))?;
        if file_type.is_dir() {
            bytes += copy_dir(&from, &to, false)?;
        } else if file_type.is_file() {
            bytes += fs::copy(&from, &to).map_err(|e| DatasetError::io("copying", &from, e))?;
            fs::File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(|e| DatasetError::io("syncing", &to, e))?;
        } else if file_type.is_symlink() {
            let target =
                fs::read_link(&from).map_err(|e| DatasetError::io("reading link", &from, e))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| DatasetError::io("creating link", &to, e))?;
        } else {
            tracing::warn!(path = %from.display(), "not copying a special file (fifo, socket or device)");
        }
    }
    let permissions = fs::metadata(src)
        .map_err(|e| DatasetError::io("reading", src, e))?
        .permissions();
    fs::set_permissions(dst, permissions)
        .map_err(|e| DatasetError::io("setting permissions of", dst, e))?;
    sync_dir(dst)?;
    Ok(bytes)
}

/// Total size of the regular files under `path` (0 if it is missing).
pub(crate) fn tree_size(path: &Path) -> Result<u64, DatasetError> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(DatasetError::io("reading directory", path, e)),
    };
    let mut bytes = 0;
    for entry in entries {
        let entry = entry.map_err(|e| DatasetError::io("reading directory", path, e))?;
        let file_type = entry
            .file_type()
            .map_err(|e| DatasetError::io("reading", entry.path(), e))?;
        if file_type.is_dir() {
            bytes += tree_size(&entry.path())?;
        } else if file_type.is_file() {
            bytes += entry
                .metadata()
                .map_err(|e| DatasetError::io("reading", entry.path(), e))?
                .len();
        }
    }
    Ok(bytes)
}

/// fsyncs a directory, so renames and new entries in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DatasetError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| DatasetError::io("syncing directory", dir, e))
}

/// Removes a tree; a missing one is fine.
pub(crate) fn remove_tree(path: &Path) -> Result<(), DatasetError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DatasetError::io("removing", path, e)),
    }
}

/// Renames, mapping the error.
pub(crate) fn rename(from: &Path, to: &Path) -> Result<(), DatasetError> {
    fs::rename(from, to).map_err(|e| DatasetError::io("renaming", from, e))
}

/// A sibling of `path` named `<prefix><file name>`.
pub(crate) fn sibling(path: &Path, prefix: &str) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{prefix}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_keeps_content_and_links_and_skips_bookkeeping() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("sub"))?;
        fs::write(src.join("a"), b"alpha")?;
        fs::write(src.join("sub/b"), b"beta!")?;
        std::os::unix::fs::symlink("a", src.join("link"))?;
        fs::create_dir(src.join(SNAPSHOTS_DIR))?;
        fs::create_dir(src.join(".hg-tmp-x"))?;
        fs::create_dir(src.join("sub").join(SNAPSHOTS_DIR))?;
        let dst = dir.path().join("dst");
        let bytes = copy_tree(&src, &dst)?;
        assert_eq!(bytes, 10);
        assert_eq!(fs::read(dst.join("a"))?, b"alpha");
        assert_eq!(fs::read(dst.join("sub/b"))?, b"beta!");
        assert_eq!(fs::read_link(dst.join("link"))?, Path::new("a"));
        assert!(!dst.join(SNAPSHOTS_DIR).exists());
        assert!(!dst.join(".hg-tmp-x").exists());
        // Only the top level's snapshot store is left out.
        assert!(dst.join("sub").join(SNAPSHOTS_DIR).is_dir());
        assert_eq!(tree_size(&dst)?, 10);
        Ok(())
    }

    #[test]
    fn sibling_names() {
        assert_eq!(
            sibling(Path::new("/a/b/log"), OLD_PREFIX),
            Path::new("/a/b/.hg-old-log")
        );
    }
}
