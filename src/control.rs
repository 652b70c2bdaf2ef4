//! The registry writes of a running server: the binary is the one place that
//! owns the registry file, the datasets and ingest together, so it implements
//! `query::Control` for the HTTP routes.

use std::sync::{Arc, Mutex, MutexGuard};

use datasets::DatasetBackend;
use ingest::{Ingest, IngestError};
use query::{Control, ControlError, TokenPatch};
use replay::ReplayError;
use replay::{CheckpointPolicy, TokenRuntime};
use serde_json::Value;
use state::{Catalog, Registry, TokenConfig, TokenSpec};
use tracing::{info, warn};

/// Registry changes made while the server runs.
pub(crate) struct ServeControl {
    registry: Mutex<Registry>,
    backend: Arc<dyn DatasetBackend>,
    checkpoints: CheckpointPolicy,
    catalog: Arc<Catalog>,
    ingest: Arc<Ingest>,
}

impl ServeControl {
    pub(crate) fn new(
        registry: Registry,
        backend: Arc<dyn DatasetBackend>,
        checkpoints: CheckpointPolicy,
        catalog: Arc<Catalog>,
        ingest: Arc<Ingest>,
    ) -> Self {
        ServeControl {
            registry: Mutex::new(registry),
            backend,
            checkpoints,
            catalog,
            ingest,
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every registry change is written to disk before it is made in
        // memory, so a panic elsewhere cannot leave the two apart.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The default `startBlock` of a new token: the irreversible head now.
    fn irreversible_head(&self) -> Result<u64, ControlError> {
        self.ingest.last_irreversible().ok_or_else(|| {
            ControlError::Unavailable(
                "no Hive node has answered yet, so the irreversible head (the default startBlock) \
                 is unknown: give startBlock explicitly or retry shortly"
                    .into(),
            )
        })
    }
}

impl Control for ServeControl {
    fn tokens(&self) -> Vec<TokenConfig> {
        self.registry().tokens().cloned().collect()
    }

    fn add_token(&self, spec: TokenSpec) -> Result<TokenConfig, ControlError> {
        let default_start = match spec.start_block {
            Some(_) => 0,
            None => self.irreversible_head()?,
        };
        let config = spec.resolve(default_start)?;
        let mut registry = self.registry();
        if registry.get(&config.symbol).is_some() {
            return Err(ControlError::Conflict(format!(
                "token {} is already registered",
                config.symbol
            )));
        }
        if let Some(other) = registry.tokens().find(|t| t.op_prefix == config.op_prefix) {
            return Err(ControlError::Conflict(format!(
                "opPrefix `{}` is already used by {}",
                config.op_prefix, other.symbol
            )));
        }
        // Open the datasets first: a token whose data cannot be created is
        // never registered.
        let runtime =
            TokenRuntime::open_with(self.backend.clone(), config.clone(), self.checkpoints)
                .map_err(|e| {
                    ControlError::Failed(format!(
                        "cannot open the datasets of {}: {e}",
                        config.symbol
                    ))
                })?;
        registry.add(config.clone())?;
        self.catalog.insert(runtime.entry().clone());
        self.ingest.add_token(runtime);
        info!(token = %config.symbol, start_block = config.start_block, "token registered; indexing starts now");
        Ok(config)
    }

    fn update_token(&self, symbol: &str, patch: TokenPatch) -> Result<TokenConfig, ControlError> {
        let mut registry = self.registry();
        let current = registry.get(symbol).cloned().ok_or_else(|| {
            ControlError::NotFound(format!(
                "token {} is not registered",
                symbol.to_ascii_uppercase()
            ))
        })?;
        let updated = patch.apply(&current)?;
        registry.update(updated.clone())?;
        if let Some(entry) = self.catalog.get(symbol) {
            entry.set_config(updated.clone());
        }
        info!(token = %updated.symbol, "token definition updated");
        Ok(updated)
    }

    fn checkpoint(&self, symbol: &str) -> Result<Value, ControlError> {
        let info = self.ingest.checkpoint_token(symbol).map_err(admin_error)?;
        json(&info)
    }

    fn checkpoints(&self, symbol: &str) -> Result<Vec<Value>, ControlError> {
        let runtime = self
            .ingest
            .token(symbol)
            .ok_or_else(|| not_registered(symbol))?;
        let list = runtime.checkpoints().map_err(|source| {
            admin_error(IngestError::Token {
                symbol: symbol.to_string(),
                action: "list checkpoints",
                source,
            })
        })?;
        list.iter().map(json).collect()
    }

    fn rollback(
        &self,
        symbol: &str,
        to_block: u64,
        from_checkpoint: bool,
    ) -> Result<Value, ControlError> {
        let report = self
            .ingest
            .rollback_token(symbol, to_block, crate::admin_cmd::source(from_checkpoint))
            .map_err(admin_error)?;
        json(&report)
    }

    fn replay(
        &self,
        symbol: &str,
        from_snapshot: Option<String>,
        to_block: Option<u64>,
    ) -> Result<Value, ControlError> {
        let report = self
            .ingest
            .replay_token(symbol, from_snapshot.as_deref(), to_block, &|_, _| {})
            .map_err(admin_error)?;
        json(&report)
    }

    fn remove_token(&self, symbol: &str, purge: bool) -> Result<(), ControlError> {
        let mut registry = self.registry();
        let config = registry.remove(symbol)?;
        let runtime = self.ingest.remove_token(&config.symbol);
        self.catalog.remove(&config.symbol);
        if purge {
            // The runtime holds the LMDB environment and the log open: close
            // them before the data goes. Settling first waits for a replay's
            // background work in the dataset even if a clone lingers.
            if let Some(runtime) = &runtime {
                runtime.settle();
            }
            drop(runtime);
            datasets::destroy_token(self.backend.as_ref(), &config.symbol).map_err(|e| {
                warn!(token = %config.symbol, "unregistered, but its data could not be destroyed: {e}");
                ControlError::Failed(format!(
                    "token {} is unregistered, but destroying its data failed: {e}",
                    config.symbol
                ))
            })?;
            info!(token = %config.symbol, "token removed and its data destroyed");
        } else {
            info!(token = %config.symbol, "token removed; its data is kept");
        }
        Ok(())
    }
}

fn not_registered(symbol: &str) -> ControlError {
    ControlError::NotFound(symbol.to_ascii_uppercase())
}

fn json(value: &impl serde::Serialize) -> Result<Value, ControlError> {
    serde_json::to_value(value)
        .map_err(|e| ControlError::Failed(format!("cannot describe the result: {e}")))
}

/// The caller's mistakes (an unknown checkpoint, a block the token does not
/// have) are 4xx; a token that is busy is 503; the rest is the server's.
fn admin_error(error: IngestError) -> ControlError {
    let message = error.to_string();
    match error {
        IngestError::UnknownToken(symbol) => not_registered(&symbol),
        IngestError::Token { source, .. } => match source {
            ReplayError::UnknownCheckpoint { .. } => ControlError::Invalid {
                field: "fromSnapshot".into(),
                reason: message,
            },
            ReplayError::BlockAboveCursor { .. }
            | ReplayError::BlockBelowCheckpoint { .. }
            | ReplayError::BlockBeyondLog { .. } => ControlError::Invalid {
                field: "toBlock".into(),
                reason: message,
            },
            ReplayError::NothingToCheckpoint { .. }
            | ReplayError::Busy { .. }
            | ReplayError::Unavailable { .. } => ControlError::Unavailable(message),
            _ => ControlError::Failed(message),
        },
        _ => ControlError::Failed(message),
    }
}
