//! The persistent registry of tokens: one JSON file, replaced atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::router::PrefixRouter;
use crate::token::{validate_op_prefix, validate_symbol, TokenConfig};

/// On-disk form of the registry.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    tokens: BTreeMap<String, TokenConfig>,
}

/// All registered tokens, persisted in `<data>/registry.json`. Every change is
/// written to a temporary file, synced and renamed over the old one, so a
/// crash leaves either the old or the new registry, never a torn one.
#[derive(Debug)]
pub struct Registry {
    path: PathBuf,
    tokens: BTreeMap<String, TokenConfig>,
}

impl Registry {
    /// Opens the registry file at `path`, or starts an empty one if it does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StateError> {
        let path = path.into();
        let tokens = match fs::read(&path) {
            Ok(bytes) => {
                let file: RegistryFile =
                    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                        path: path.clone(),
                        detail: format!("registry is not valid JSON: {e}"),
                    })?;
                file.tokens
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(StateError::io(&path, e)),
        };
        Ok(Registry { path, tokens })
    }

    /// Path of the registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All tokens, by symbol.
    pub fn tokens(&self) -> impl Iterator<Item = &TokenConfig> {
        self.tokens.values()
    }

    /// One token by symbol (case-insensitive).
    pub fn get(&self, symbol: &str) -> Option<&TokenConfig> {
        self.tokens.get(&symbol.to_ascii_uppercase())
    }

    /// Adds a token. A symbol or an `opPrefix` that is taken already is a
    /// [`StateError::Conflict`].
    pub fn add(&mut self, config: TokenConfig) -> Result<(), StateError> {
        validate_symbol(&config.symbol)?;
        validate_op_prefix(&config.op_prefix)?;
        if self.tokens.contains_key(&config.symbol) {
            return Err(StateError::Conflict(format!(
                "token {} is already registered",
                config.symbol
            )));
        }
        if let Some(other) = self
            .tokens
            .values()
            .find(|t| t.op_prefix == config.op_prefix)
        {
            return Err(StateError::Conflict(format!(
                "opPrefix `{}` is already used by {}",
                config.op_prefix, other.symbol
            )));
        }
        self.tokens.insert(config.symbol.clone(), config);
        self.save()
    }

    /// Replaces a token's definition. Symbol and `opPrefix` cannot change.
    pub fn update(&mut self, config: TokenConfig) -> Result<(), StateError> {
        let Some(old) = self.tokens.get(&config.symbol) else {
            return Err(StateError::UnknownToken(config.symbol));
        };
        if old.op_prefix != config.op_prefix {
            return Err(StateError::InvalidToken {
                field: "opPrefix",
                reason: "cannot be changed after registration".into(),
            });
        }
        self.tokens.insert(config.symbol.clone(), config);
        self.save()
    }

    /// Removes a token and returns its definition.
    pub fn remove(&mut self, symbol: &str) -> Result<TokenConfig, StateError> {
        let symbol = symbol.to_ascii_uppercase();
        let removed = self
            .tokens
            .remove(&symbol)
            .ok_or(StateError::UnknownToken(symbol))?;
        self.save()?;
        Ok(removed)
    }

    /// A router over the registered prefixes.
    pub fn router(&self) -> PrefixRouter {
        PrefixRouter::new(
            self.tokens
                .values()
                .map(|t| (t.op_prefix.clone(), t.symbol.clone())),
        )
    }

    fn save(&self) -> Result<(), StateError> {
        let file = RegistryFile {
            version: 1,
            tokens: self.tokens.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| StateError::Corrupt {
            path: self.path.clone(),
            detail: format!("cannot serialise registry: {e}"),
        })?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let tmp = self.path.with_extension("json.tmp");
        let mut f = fs::File::create(&tmp).map_err(|e| StateError::io(&tmp, e))?;
        f.write_all(&bytes).map_err(|e| StateError::io(&tmp, e))?;
        f.sync_all().map_err(|e| StateError::io(&tmp, e))?;
        fs::rename(&tmp, &self.path).map_err(|e| StateError::io(&self.path, e))?;
        if let Ok(d) = fs::File::open(dir) {
            // Make the rename durable; a failure here only weakens durability.
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::preset;

    #[test]
    fn persists_and_rejects_conflicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        let mut registry = Registry::open(&path).expect("open");
        registry.add(preset("SPK").expect("SPK")).expect("add SPK");
        registry
            .add(preset("LARYNX").expect("LARYNX"))
            .expect("add LARYNX");
        assert!(matches!(
            registry.add(preset("SPK").expect("SPK")),
            Err(StateError::Conflict(_))
        ));
        let mut clash = preset("DLUX").expect("DLUX");
        clash.op_prefix = "spkcc_".into();
        assert!(matches!(registry.add(clash), Err(StateError::Conflict(_))));

        let reopened = Registry::open(&path).expect("reopen");
        let symbols: Vec<_> = reopened.tokens().map(|t| t.symbol.as_str()).collect();
        assert_eq!(symbols, ["LARYNX", "SPK"]);
        assert_eq!(
            reopened.router().route("spkcc_spk_send").map(|r| r.symbol),
            Some("SPK")
        );
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_registry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        fs::write(&path, b"{not json").expect("write");
        assert!(matches!(
            Registry::open(&path),
            Err(StateError::Corrupt { .. })
        ));
    }
}
