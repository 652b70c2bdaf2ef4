//! Choosing the backend from the settings.

use std::path::Path;
use std::sync::Arc;

use crate::backend::DatasetBackend;
use crate::error::DatasetError;
use crate::name::validate_zfs_parent;
use crate::plain::PlainBackend;
use crate::zfs::{ParentStatus, ZfsBackend};

/// Directory under `DATA_PATH` that holds the plain backend's datasets.
pub const PLAIN_DIR: &str = "tokens";

/// Chooses the backend and logs which one and why.
///
/// With `zfs_parent` set (a name that is not valid is an error): ZFS when
/// `zfs` works and the parent dataset exists, or can be created because its
/// pool exists. When `zfs` is missing or not working, or the pool does not
/// exist, a warning says so and plain directories are used. Without
/// `zfs_parent`: plain directories under `data_path/tokens`.
pub fn open_backend(
    zfs_parent: Option<&str>,
    data_path: &Path,
) -> Result<Arc<dyn DatasetBackend>, DatasetError> {
    if let Some(parent) = zfs_parent {
        validate_zfs_parent(parent)?;
        match try_zfs(parent) {
            Ok(backend) => return Ok(Arc::new(backend)),
            Err(reason) => {
                tracing::warn!(
                    zfs_parent = parent,
                    reason = %reason,
                    "ZFS_PARENT is set but ZFS cannot be used: falling back to plain directories"
                );
            }
        }
    } else {
        tracing::info!("ZFS_PARENT is not set: using plain directories");
    }
    let root = data_path.join(PLAIN_DIR);
    let backend = PlainBackend::open(&root)?;
    tracing::info!(root = %root.display(), "datasets are plain directories (no quotas; checkpoints are copies)");
    Ok(Arc::new(backend))
}

fn try_zfs(parent: &str) -> Result<ZfsBackend, DatasetError> {
    let backend = ZfsBackend::with_programs(parent, "zfs", "zpool")?;
    match backend.parent_status()? {
        ParentStatus::Present => {
            tracing::info!(
                zfs_parent = parent,
                "datasets are ZFS datasets under ZFS_PARENT"
            );
        }
        ParentStatus::MissingInExistingPool => {
            backend.create_parent()?;
            tracing::info!(
                zfs_parent = parent,
                "created the ZFS_PARENT dataset; datasets are ZFS datasets under it"
            );
        }
        ParentStatus::PoolMissing => {
            let pool = parent.split('/').next().unwrap_or(parent);
            return Err(DatasetError::NotFound {
                dataset: format!("{parent} (its pool {pool:?} does not exist)"),
            });
        }
    }
    Ok(backend)
}
