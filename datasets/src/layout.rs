//! The per-token layout: `<symbol>` with children `log` and `state`.

use std::path::PathBuf;

use crate::backend::DatasetBackend;
use crate::error::DatasetError;
use crate::name::validate_component;

/// Child dataset holding the token's event log.
pub const LOG_CHILD: &str = "log";
/// Child dataset holding the token's LMDB projection.
pub const STATE_CHILD: &str = "state";

/// The directories of one token's dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLayout {
    /// The token's dataset root (`<parent>/<symbol>` mountpoint or `DATA_PATH/tokens/<symbol>`).
    pub root: PathBuf,
    /// Where the event log lives (`.../log`).
    pub log_dir: PathBuf,
    /// Where the LMDB projection lives (`.../state`).
    pub state_dir: PathBuf,
}

/// The dataset name of a token's `log` child (`HIVE/log`).
pub fn log_dataset(symbol: &str) -> String {
    format!("{symbol}/{LOG_CHILD}")
}

/// The dataset name of a token's `state` child (`HIVE/state`).
pub fn state_dataset(symbol: &str) -> String {
    format!("{symbol}/{STATE_CHILD}")
}

/// Creates (if missing) the token's dataset with its `log` and `state`
/// children and returns where they are mounted.
pub fn ensure_token_layout(
    backend: &dyn DatasetBackend,
    symbol: &str,
) -> Result<TokenLayout, DatasetError> {
    validate_component(symbol)?;
    let root = backend.create(symbol, &[LOG_CHILD, STATE_CHILD])?;
    Ok(TokenLayout {
        root,
        log_dir: backend.mountpoint(&log_dataset(symbol))?,
        state_dir: backend.mountpoint(&state_dataset(symbol))?,
    })
}

/// Destroys the token's dataset and everything in it (snapshots included).
/// A token without a dataset is left as it is.
pub fn destroy_token(backend: &dyn DatasetBackend, symbol: &str) -> Result<(), DatasetError> {
    validate_component(symbol)?;
    match backend.destroy(symbol) {
        Ok(()) | Err(DatasetError::NotFound { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}
