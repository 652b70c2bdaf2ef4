//! The `Ingest` handle: tokens in, streams running, heads polled.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use replay::TokenRuntime;
use state::Catalog;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info};

use crate::client::HiveClient;
use crate::pipeline::heads::{self, Heads};
use crate::pipeline::routes::Routes;
use crate::pipeline::shared::SharedRanges;
use crate::pipeline::slot::TokenSlot;
use crate::pipeline::stream;
use crate::pipeline::workers::DecodePool;
use crate::{IngestConfig, IngestError};

/// Tails Hive and feeds every registered token. Create with [`Ingest::new`],
/// register tokens with [`Ingest::add_token`], drive with [`Ingest::run`].
pub struct Ingest {
    pub(crate) config: IngestConfig,
    pub(crate) client: HiveClient,
    catalog: Arc<Catalog>,
    registry: Mutex<Registry>,
    routes: RwLock<Arc<Routes>>,
    last_irreversible: AtomicU64,
    /// The chain heads the streams follow; zero until a node answered.
    pub(crate) heads: watch::Sender<Heads>,
    /// Irreversible ranges fetched once for every stream.
    pub(crate) shared: SharedRanges,
}

#[derive(Default)]
struct Registry {
    tokens: BTreeMap<String, Arc<TokenSlot>>,
    /// Set while `run` is going: new tokens are handed to it to start.
    spawner: Option<mpsc::UnboundedSender<Arc<TokenSlot>>>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("nodes", &self.config.nodes)
            .field("tokens", &self.lock().tokens.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Ingest {
    /// Checks the configuration and builds the client.
    pub fn new(config: IngestConfig, catalog: Arc<Catalog>) -> Result<Arc<Ingest>, IngestError> {
        config.validate()?;
        let client = HiveClient::new(config.nodes.clone(), config.request_timeout)?;
        Ok(Arc::new(Ingest {
            config,
            client,
            catalog,
            registry: Mutex::new(Registry::default()),
            routes: RwLock::new(Arc::new(Routes::default())),
            last_irreversible: AtomicU64::new(0),
            heads: watch::channel(Heads::default()).0,
            shared: SharedRanges::default(),
        }))
    }

    /// The client ingest uses.
    pub fn client(&self) -> &HiveClient {
        &self.client
    }

    /// Registers a token; it starts indexing at once if `run` is running
    /// (backfilling from its cursor or `startBlock` in its own stream).
    /// Routing takes its prefix into account from its `startBlock` on.
    /// A token with the same symbol is replaced.
    pub fn add_token(&self, runtime: Arc<TokenRuntime>) {
        if self.catalog.get(&runtime.symbol()).is_none() {
            self.catalog.insert(runtime.entry().clone());
        }
        let slot = Arc::new(TokenSlot::new(runtime));
        let replaced = {
            let mut registry = self.lock();
            let replaced = registry.tokens.insert(slot.symbol.clone(), slot.clone());
            self.rebuild_routes(&registry);
            if let Some(spawner) = &registry.spawner {
                // `run` owns the receiver while the spawner is set.
                let _ = spawner.send(slot.clone());
            }
            replaced
        };
        if let Some(old) = replaced {
            old.remove();
        }
        info!(token = %slot.symbol, prefix = %slot.prefix, start_block = slot.start_block, "token added to ingest");
    }

    /// Stops indexing a token and returns its runtime; returns once no batch
    /// of it is being applied. Its prefix no longer takes part in routing.
    pub fn remove_token(&self, symbol: &str) -> Option<Arc<TokenRuntime>> {
        let slot = {
            let mut registry = self.lock();
            let slot = registry.tokens.remove(&symbol.to_ascii_uppercase())?;
            self.rebuild_routes(&registry);
            slot
        };
        slot.remove();
        info!(token = %slot.symbol, "token removed from ingest");
        Some(slot.runtime.clone())
    }

    /// The runtime of a token ingest indexes, by symbol (case-insensitive).
    pub fn token(&self, symbol: &str) -> Option<Arc<TokenRuntime>> {
        self.slot(symbol).ok().map(|slot| slot.runtime.clone())
    }

    /// The last irreversible block a node reported, if any did yet.
    pub fn last_irreversible(&self) -> Option<u64> {
        match self.last_irreversible.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// The newest head block a node reported, if any did yet.
    pub fn last_head(&self) -> Option<u64> {
        match self.heads.borrow().head {
            0 => None,
            n => Some(n),
        }
    }

    /// Asks a node for the chain heads now and makes them the streams'
    /// targets; returns the last irreversible block. Never moves a target
    /// back: a lagging node's older answer is ignored.
    pub async fn fetch_irreversible(&self) -> Result<u64, IngestError> {
        self.fetch_heads().await?;
        Ok(self.last_irreversible.load(Ordering::Relaxed))
    }

    pub(crate) async fn fetch_heads(&self) -> Result<(), IngestError> {
        let polled = self.client.dynamic_global_properties().await?;
        self.last_irreversible
            .fetch_max(polled.last_irreversible_block_num, Ordering::Relaxed);
        self.heads.send_if_modified(|heads| heads.merge(&polled));
        Ok(())
    }

    /// The registered token `symbol` (any case).
    pub(crate) fn slot(&self, symbol: &str) -> Result<Arc<TokenSlot>, IngestError> {
        self.lock()
            .tokens
            .get(&symbol.to_ascii_uppercase())
            .cloned()
            .ok_or_else(|| IngestError::UnknownToken(symbol.to_string()))
    }

    /// Runs ingest until `stop` resolves: polls the chain heads and runs
    /// one stream per token (tokens added meanwhile start at once). On stop,
    /// fetching stops, each batch being applied is finished, and `run`
    /// returns `Ok(())`. A token whose batch fails (or, in head mode, that
    /// meets a fork deeper than `max_reorg_depth`) is marked `failed` and
    /// applies nothing more until [`Ingest::rollback_token`]; the others go on.
    pub async fn run(
        self: Arc<Self>,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<(), IngestError> {
        let pool = DecodePool::start(self.config.decode_workers)?;
        let (spawner, mut spawned) = mpsc::unbounded_channel();
        let initial: Vec<Arc<TokenSlot>> = {
            let mut registry = self.lock();
            if registry.spawner.is_some() {
                return Err(IngestError::AlreadyRunning);
            }
            registry.spawner = Some(spawner);
            registry.tokens.values().cloned().collect()
        };
        let (stop_heads, heads_stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(heads::poll_heads(self.clone(), heads_stopped));
        for slot in initial {
            slot.set_cancel(false);
            tasks.spawn(stream::run_token(self.clone(), slot, pool.clone()));
        }
        info!(nodes = %self.config.nodes.join(","), "ingest running");
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                Some(slot) = spawned.recv() => {
                    tasks.spawn(stream::run_token(self.clone(), slot, pool.clone()));
                }
                Some(joined) = tasks.join_next() => {
                    if let Err(e) = joined {
                        error!("an ingest task ended abnormally: {e}");
                    }
                }
            }
        }
        let running: Vec<Arc<TokenSlot>> = {
            let mut registry = self.lock();
            registry.spawner = None;
            registry.tokens.values().cloned().collect()
        };
        stop_heads.send_replace(true);
        for slot in &running {
            slot.set_cancel(true);
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                error!("an ingest task ended abnormally: {e}");
            }
        }
        self.shared.stop().await;
        info!("ingest stopped");
        Ok(())
    }

    pub(crate) fn routes(&self) -> Arc<Routes> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn rebuild_routes(&self, registry: &Registry) {
        let routes = Routes::new(
            registry
                .tokens
                .values()
                .map(|s| (s.prefix.clone(), s.symbol.clone(), s.start_block))
                .collect(),
        );
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routes);
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // The registry is only changed in small, complete steps.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}
