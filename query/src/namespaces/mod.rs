//! Namespaces: a namespace is a token, named by its symbol.
//!
//! - `GET /namespaces`: `{"namespaces": [{"namespace", "name", "status",
//!   "lastBlock", "accounts"}]}` by symbol;
//! - `GET /namespaces/:ns/stats`: `{"namespace", "accounts", "holders",
//!   "logRecords", "logBytes", "lmdbBytes", "snapshots", "lastBlock",
//!   "status"}`. `logBytes` is the size of the files under the token's log
//!   directory, the sibling `log/` of its `state/` directory in the dataset
//!   layout (null when the projection is not in that layout);
//!   `lmdbBytes` is the LMDB environment's size on disk; `snapshots` is the
//!   number of checkpoints the registry reports (null if it cannot);
//! - `GET /namespaces/:ns/export?format=json|csv`: every stored account
//!   (see `export`), streamed.
//!
//! Names are checked before any lookup: 3 to 10 letters or digits (a
//! symbol), so nothing like `..` or `/` ever reaches a path.

use std::path::Path as FsPath;

use poem::web::{Data, Json, Path};
use poem::{handler, Route};
use serde::Serialize;
use state::TokenEntry;

use crate::context::{open_projection, AppContext};
use crate::error::{blocking, ApiError};

mod export;

/// Adds the `/namespaces` routes to `route`.
pub(crate) fn routes(route: Route) -> Route {
    route
        .at("/namespaces", poem::get(list))
        .at("/namespaces/:namespace/stats", poem::get(stats))
        .at("/namespaces/:namespace/export", poem::get(export::export))
}

/// True for a well-formed symbol: 3 to 10 ASCII letters or digits.
pub(crate) fn is_valid_symbol(name: &str) -> bool {
    (3..=10).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The namespace's token: 400 `INVALID_NAMESPACE` for a malformed name,
/// 404 `TOKEN_NOT_FOUND` for an unknown one.
pub(crate) fn entry(ctx: &AppContext, name: &str) -> Result<std::sync::Arc<TokenEntry>, ApiError> {
    if !is_valid_symbol(name) {
        return Err(ApiError::bad_request(
            "INVALID_NAMESPACE",
            "a namespace is a token symbol: 3 to 10 letters or digits",
        ));
    }
    ctx.entry(name)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    namespace: String,
    name: String,
    status: &'static str,
    last_block: Option<u64>,
    accounts: Option<u64>,
}

#[derive(Serialize)]
struct NamespacesBody {
    namespaces: Vec<Summary>,
}

#[handler]
async fn list(Data(ctx): Data<&AppContext>) -> Result<Json<NamespacesBody>, ApiError> {
    let entries = ctx.catalog.list();
    let namespaces = blocking(move || {
        let mut out: Vec<Summary> = entries
            .iter()
            .map(|entry| {
                // A token being swapped has no figures for a moment.
                let meta = entry.projection().and_then(|p| p.meta().ok());
                Summary {
                    namespace: entry.symbol(),
                    name: entry.with_config(|c| c.name.clone()),
                    status: entry.status().0.as_str(),
                    last_block: meta.as_ref().and_then(|m| m.cursor.as_ref().map(|c| c.num)),
                    accounts: meta.map(|m| m.accounts),
                }
            })
            .collect();
        out.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        Ok(out)
    })
    .await?;
    Ok(Json(NamespacesBody { namespaces }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    namespace: String,
    accounts: u64,
    holders: u64,
    log_records: u64,
    log_bytes: Option<u64>,
    lmdb_bytes: u64,
    snapshots: Option<usize>,
    last_block: Option<u64>,
    status: &'static str,
}

/// Bytes of the regular files under `dir` (not following links).
fn dir_size(dir: &FsPath) -> std::io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for item in std::fs::read_dir(&dir)? {
            let item = item?;
            let kind = item.file_type()?;
            if kind.is_dir() {
                pending.push(item.path());
            } else if kind.is_file() {
                total += item.metadata()?.len();
            }
        }
    }
    Ok(total)
}

/// The token's log directory, when its projection is in the dataset
/// layout (`<root>/state` beside `<root>/log`).
fn log_dir(env_path: &FsPath) -> Option<std::path::PathBuf> {
    if env_path.file_name()? != "state" {
        return None;
    }
    let log = env_path.parent()?.join("log");
    log.is_dir().then_some(log)
}

#[handler]
async fn stats(
    Path(namespace): Path<String>,
    Data(ctx): Data<&AppContext>,
) -> Result<Json<Stats>, ApiError> {
    let entry = entry(ctx, &namespace)?;
    let projection = open_projection(&entry)?;
    let control = ctx.control.clone();
    let stats = blocking(move || {
        let meta = projection.meta().map_err(ApiError::from_state)?;
        let symbol = entry.symbol();
        let log_bytes = log_dir(projection.env_path()).and_then(|dir| {
            dir_size(&dir)
                .map_err(|e| tracing::warn!("{symbol}: cannot size {}: {e}", dir.display()))
                .ok()
        });
        let snapshots = control.checkpoints(&symbol).ok().map(|c| c.len());
        Ok(Stats {
            namespace: symbol,
            accounts: meta.accounts,
            holders: meta.holders,
            log_records: meta.log_records,
            log_bytes,
            lmdb_bytes: projection.disk_size().map_err(ApiError::from_state)?,
            snapshots,
            last_block: meta.cursor.map(|c| c.num),
            status: entry.status().0.as_str(),
        })
    })
    .await?;
    Ok(Json(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_symbols_are_namespaces() {
        for good in ["ABC", "test", "LARYNX", "A1B2C3D4E5"] {
            assert!(is_valid_symbol(good), "{good}");
        }
        for bad in [
            "..",
            "../etc",
            "AB",
            "A/B/C",
            "ABC.",
            "%2e%2e",
            "ABCDEFGHIJK",
            "a b c",
            "",
        ] {
            assert!(!is_valid_symbol(bad), "{bad}");
        }
    }

    #[test]
    fn log_size_counts_files_below_the_sibling_log_dir() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("state")).unwrap();
        std::fs::create_dir_all(root.path().join("log/seg")).unwrap();
        std::fs::write(root.path().join("log/a"), [0u8; 10]).unwrap();
        std::fs::write(root.path().join("log/seg/b"), [0u8; 5]).unwrap();
        let dir = log_dir(&root.path().join("state")).unwrap();
        assert_eq!(dir_size(&dir).unwrap(), 15);
        assert!(log_dir(&root.path().join("other")).is_none());
    }
}
