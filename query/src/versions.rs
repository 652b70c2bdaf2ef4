//! Versioned per-token texts (BYO GraphQL schemas and custom API scripts):
//! every upload is kept as version 1, 2, ...; one version (or none) is
//! active, and its compiled form is what requests use.
//!
//! With a directory (see [`AppContext::with_custom_dir`](crate::AppContext::with_custom_dir))
//! versions survive restarts: `<dir>/<SYMBOL>/<kind>/v<N>.<ext>` holds each
//! text and `<dir>/<SYMBOL>/<kind>/active` the active version number (or
//! `none`), each written to a temporary file and renamed so a crash never
//! leaves half a file. Without a directory versions live in memory only.
//!
//! Writes (publish, rollback, deactivate) are serialized by one mutex per
//! kind; reads of the live compiled form take a read lock and clone an
//! `Arc`, so a swap never waits for a running request nor tears one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use poem::http::StatusCode;
use serde::Serialize;

use crate::error::ApiError;

/// Which texts a store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GraphQL SDL (`schema/v<N>.graphql`).
    Schema,
    /// rhai scripts (`api/v<N>.rhai`).
    Api,
}

impl Kind {
    /// The directory name, also the word used in URLs and messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Schema => "schema",
            Kind::Api => "api",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Schema => "graphql",
            Kind::Api => "rhai",
        }
    }
}

/// Failure to read or write the versions directory.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct CustomDirError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

fn io_error(path: &Path, source: std::io::Error) -> CustomDirError {
    CustomDirError {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Clone)]
struct Version {
    text: Arc<str>,
    /// Seconds since the Unix epoch.
    created: u64,
}

#[derive(Default)]
struct TokenVersions {
    versions: BTreeMap<u32, Version>,
    active: Option<u32>,
}

/// One version in a listing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionInfo {
    pub(crate) version: u32,
    /// Seconds since the Unix epoch.
    pub(crate) created_at: u64,
    pub(crate) bytes: usize,
    pub(crate) active: bool,
}

/// `GET /registry/tokens/:symbol/<kind>`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Listing {
    pub(crate) symbol: String,
    pub(crate) kind: &'static str,
    /// Active version; null when the built-in behaviour is in force.
    pub(crate) active: Option<u32>,
    /// Text of the active version.
    pub(crate) text: Option<String>,
    pub(crate) versions: Vec<VersionInfo>,
    /// For scripts: the routes of the active version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) routes: Option<Vec<String>>,
}

/// The versions of one kind for every token, and the compiled active ones.
pub(crate) struct Versioned<C> {
    kind: Kind,
    dir: Option<PathBuf>,
    state: Mutex<HashMap<String, TokenVersions>>,
    live: RwLock<HashMap<String, Arc<C>>>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn poisoned() -> ApiError {
    ApiError::internal("a previous write of custom schemas or scripts panicked")
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, text: &str) -> Result<(), CustomDirError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

impl<C: Send + Sync> Versioned<C> {
    /// An empty store, persisted under `dir` when given.
    pub(crate) fn new(kind: Kind, dir: Option<PathBuf>) -> Self {
        Versioned {
            kind,
            dir,
            state: Mutex::new(HashMap::new()),
            live: RwLock::new(HashMap::new()),
        }
    }

    /// Loads every token's versions from the directory and compiles the
    /// active ones. A stored version that no longer compiles is logged and
    /// left inactive (the token falls back to the built-in behaviour).
    pub(crate) fn load(
        kind: Kind,
        dir: &Path,
        compile: impl Fn(&str, &str) -> Result<C, ApiError>,
    ) -> Result<Self, CustomDirError> {
        let store = Versioned::new(kind, Some(dir.to_path_buf()));
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let mut state = HashMap::new();
        let mut live = HashMap::new();
        for token in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
            let token = token.map_err(|e| io_error(dir, e))?;
            let symbol = token.file_name().to_string_lossy().to_string();
            if !crate::namespaces::is_valid_symbol(&symbol) {
                continue;
            }
            let kind_dir = token.path().join(kind.as_str());
            if !kind_dir.is_dir() {
                continue;
            }
            let versions = read_versions(kind, &kind_dir)?;
            if let Some(n) = versions.active {
                match versions.versions.get(&n) {
                    Some(v) => match compile(&symbol, &v.text) {
                        Ok(compiled) => {
                            live.insert(symbol.clone(), Arc::new(compiled));
                        }
                        Err(e) => tracing::warn!(
                            "{symbol}: stored {} v{n} does not compile, serving the built-in one: {}",
                            kind.as_str(),
                            e.message
                        ),
                    },
                    None => tracing::warn!(
                        "{symbol}: active {} v{n} is missing on disk",
                        kind.as_str()
                    ),
                }
            }
            state.insert(symbol, versions);
        }
        *store
            .state
            .lock()
            .map_err(|_| io_error(dir, std::io::Error::other("lock poisoned while loading")))? =
            state;
        *store
            .live
            .write()
            .map_err(|_| io_error(dir, std::io::Error::other("lock poisoned while loading")))? =
            live;
        Ok(store)
    }

    /// The compiled active version of `symbol`, if any.
    pub(crate) fn live(&self, symbol: &str) -> Option<Arc<C>> {
        self.live
            .read()
            .ok()
            .and_then(|live| live.get(&symbol.to_ascii_uppercase()).cloned())
    }

    fn set_live(&self, symbol: &str, compiled: Option<C>) -> Result<(), ApiError> {
        let mut live = self.live.write().map_err(|_| poisoned())?;
        match compiled {
            Some(c) => live.insert(symbol.to_string(), Arc::new(c)),
            None => live.remove(symbol),
        };
        Ok(())
    }

    fn kind_dir(&self, symbol: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(symbol).join(self.kind.as_str()))
    }

    fn persist_active(&self, symbol: &str, active: Option<u32>) -> Result<(), ApiError> {
        if let Some(dir) = self.kind_dir(symbol) {
            let text = active.map_or("none".to_string(), |n| n.to_string());
            write_atomic(&dir.join("active"), &text).map_err(storage_error)?;
        }
        Ok(())
    }

    /// Stores `text` as the next version of `symbol` and makes `compiled`
    /// (its compiled form) live. Answers the new version number.
    pub(crate) fn publish(&self, symbol: &str, text: &str, compiled: C) -> Result<u32, ApiError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let versions = state.entry(symbol.to_string()).or_default();
        let n = versions
            .versions
            .keys()
            .next_back()
            .map_or(1, |last| last.saturating_add(1));
        if let Some(dir) = self.kind_dir(symbol) {
            std::fs::create_dir_all(&dir).map_err(|e| storage_error(io_error(&dir, e)))?;
            let file = dir.join(format!("v{n}.{}", self.kind.extension()));
            write_atomic(&file, text).map_err(storage_error)?;
        }
        self.persist_active(symbol, Some(n))?;
        versions.versions.insert(
            n,
            Version {
                text: Arc::from(text),
                created: now(),
            },
        );
        versions.active = Some(n);
        self.set_live(symbol, Some(compiled))?;
        Ok(n)
    }

    /// Makes version `n` active again (compiled by `compile`), or with
    /// `None` goes back to the built-in behaviour.
    pub(crate) fn activate(
        &self,
        symbol: &str,
        n: Option<u32>,
        compile: impl FnOnce(&str) -> Result<C, ApiError>,
    ) -> Result<(), ApiError> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let versions = state.entry(symbol.to_string()).or_default();
        let compiled = match n {
            Some(n) => {
                let version = versions
                    .versions
                    .get(&n)
                    .ok_or_else(|| self.version_not_found(symbol, n))?;
                Some(compile(&version.text)?)
            }
            None => None,
        };
        self.persist_active(symbol, n)?;
        versions.active = n;
        self.set_live(symbol, compiled)
    }

    fn version_not_found(&self, symbol: &str, n: u32) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "VERSION_NOT_FOUND",
            format!("token {symbol} has no {} version {n}", self.kind.as_str()),
        )
    }

    /// The text of version `n`.
    pub(crate) fn text(&self, symbol: &str, n: u32) -> Result<Arc<str>, ApiError> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        state
            .get(symbol)
            .and_then(|v| v.versions.get(&n))
            .map(|v| v.text.clone())
            .ok_or_else(|| self.version_not_found(symbol, n))
    }

    /// Every version of `symbol`, oldest first, and the active one.
    pub(crate) fn listing(&self, symbol: &str) -> Result<Listing, ApiError> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        let (active, text, versions) = match state.get(symbol) {
            None => (None, None, Vec::new()),
            Some(v) => (
                v.active,
                v.active
                    .and_then(|n| v.versions.get(&n))
                    .map(|v| v.text.to_string()),
                v.versions
                    .iter()
                    .map(|(n, version)| VersionInfo {
                        version: *n,
                        created_at: version.created,
                        bytes: version.text.len(),
                        active: v.active == Some(*n),
                    })
                    .collect(),
            ),
        };
        Ok(Listing {
            symbol: symbol.to_string(),
            kind: self.kind.as_str(),
            active,
            text,
            versions,
            routes: None,
        })
    }
}

fn storage_error(e: CustomDirError) -> ApiError {
    tracing::error!("cannot store a custom schema or script: {e}");
    ApiError::internal(format!("cannot store the new version: {e}"))
}

/// Reads `v<N>.<ext>` files and the `active` pointer of one token and kind.
fn read_versions(kind: Kind, dir: &Path) -> Result<TokenVersions, CustomDirError> {
    let mut out = TokenVersions::default();
    for file in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let file = file.map_err(|e| io_error(dir, e))?;
        let name = file.file_name().to_string_lossy().to_string();
        let number = name
            .strip_prefix('v')
            .and_then(|rest| rest.strip_suffix(&format!(".{}", kind.extension())))
            .and_then(|n| n.parse::<u32>().ok());
        let Some(n) = number else { continue };
        let path = file.path();
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        let created = file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        out.versions.insert(
            n,
            Version {
                text: Arc::from(text),
                created,
            },
        );
    }
    let pointer = dir.join("active");
    match std::fs::read_to_string(&pointer) {
        Ok(text) => out.active = text.trim().parse::<u32>().ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&pointer, e)),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(_: &str, text: &str) -> Result<String, ApiError> {
        if text.contains("bad") {
            Err(ApiError::bad_request("X", "bad"))
        } else {
            Ok(text.to_uppercase())
        }
    }

    #[test]
    fn versions_survive_a_reload_with_the_active_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let store: Versioned<String> = Versioned::load(Kind::Api, dir.path(), compile).unwrap();
        assert_eq!(store.publish("ABC", "one", "ONE".into()).unwrap(), 1);
        assert_eq!(store.publish("ABC", "two", "TWO".into()).unwrap(), 2);
        store
            .activate("ABC", Some(1), |t| compile("ABC", t))
            .unwrap();
        assert_eq!(store.live("abc").unwrap().as_str(), "ONE");

        let again: Versioned<String> = Versioned::load(Kind::Api, dir.path(), compile).unwrap();
        assert_eq!(again.live("ABC").unwrap().as_str(), "ONE");
        let listing = again.listing("ABC").unwrap();
        assert_eq!(listing.active, Some(1));
        assert_eq!(listing.versions.len(), 2);
        assert_eq!(&*again.text("ABC", 2).unwrap(), "two");
        assert!(dir.path().join("ABC/api/v2.rhai").is_file());

        again.activate("ABC", None, |t| compile("ABC", t)).unwrap();
        let third: Versioned<String> = Versioned::load(Kind::Api, dir.path(), compile).unwrap();
        assert!(third.live("ABC").is_none());
        assert_eq!(third.listing("ABC").unwrap().active, None);
    }

    #[test]
    fn unknown_versions_are_404() {
        let store: Versioned<String> = Versioned::new(Kind::Schema, None);
        let e = store.text("ABC", 3).unwrap_err();
        assert_eq!(e.code, "VERSION_NOT_FOUND");
        let e = store
            .activate("ABC", Some(3), |t| compile("ABC", t))
            .unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
    }
}
