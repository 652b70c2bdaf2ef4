//! The catalog of open tokens: the one place ingest (the writer) and query
//! (the readers) meet. It holds no data of its own; each entry points at a
//! token's [`Projection`] and carries its status and its bus of commit
//! events ([`TokenEvent`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use crate::events::{EventBus, TokenEvent, EVENT_BUFFER};
use crate::projection::Projection;
use crate::token::TokenConfig;

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it; the
    // values behind these locks are replaced whole, so they are never torn.
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// Where a token is in its life, in the manner of graph-node's indexing status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    /// Catching up from `startBlock` or from its cursor.
    Backfilling,
    /// Within a few blocks of the target head.
    Live,
    /// A rollback or replay is swapping the projection; queries get 503.
    RollingBack,
    /// Stopped on an error that needs an operator.
    Failed,
}

impl TokenStatus {
    /// The status as the API spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenStatus::Backfilling => "backfilling",
            TokenStatus::Live => "live",
            TokenStatus::RollingBack => "rolling_back",
            TokenStatus::Failed => "failed",
        }
    }
}

/// One open token.
#[derive(Debug)]
pub struct TokenEntry {
    config: RwLock<Arc<TokenConfig>>,
    projection: RwLock<Option<Projection>>,
    status: RwLock<(TokenStatus, Option<String>)>,
    target_head: AtomicU64,
    irreversible: AtomicU64,
    events: EventBus,
}

impl TokenEntry {
    /// A new entry, `backfilling`, serving `projection`.
    pub fn new(config: TokenConfig, projection: Projection) -> Self {
        TokenEntry {
            config: RwLock::new(Arc::new(config)),
            projection: RwLock::new(Some(projection)),
            status: RwLock::new((TokenStatus::Backfilling, None)),
            target_head: AtomicU64::new(0),
            irreversible: AtomicU64::new(0),
            events: EventBus::new(EVENT_BUFFER),
        }
    }

    /// The token's symbol.
    pub fn symbol(&self) -> String {
        read(&self.config).symbol.clone()
    }

    /// A copy of the token's definition. The copy includes the genesis
    /// allocations, which can be large: readers that need one field use
    /// [`TokenEntry::decimals`] or [`TokenEntry::with_config`].
    pub fn config(&self) -> TokenConfig {
        TokenConfig::clone(&read(&self.config))
    }

    /// The token's definition as it is now, shared rather than copied (a
    /// later [`TokenEntry::set_config`] does not change it).
    pub fn shared_config(&self) -> Arc<TokenConfig> {
        Arc::clone(&read(&self.config))
    }

    /// The number of decimals of the token's display form, without copying
    /// the definition.
    pub fn decimals(&self) -> u8 {
        read(&self.config).decimals
    }

    /// Runs `f` on the token's definition, under its read lock (so `f`
    /// must be short and must not touch this entry's config again).
    pub fn with_config<T>(&self, f: impl FnOnce(&TokenConfig) -> T) -> T {
        f(&read(&self.config))
    }

    /// Replaces the definition (name, description, features...).
    pub fn set_config(&self, config: TokenConfig) {
        *write(&self.config) = Arc::new(config);
    }

    /// The projection to read, or `None` while it is being swapped (answer 503).
    pub fn projection(&self) -> Option<Projection> {
        read(&self.projection).clone()
    }

    /// Takes the projection away (readers get `None`) and returns it, so a
    /// rollback can close and reopen the environment.
    pub fn take_projection(&self) -> Option<Projection> {
        write(&self.projection).take()
    }

    /// Puts a (re)opened projection in place.
    pub fn set_projection(&self, projection: Projection) {
        *write(&self.projection) = Some(projection);
    }

    /// Status and, for `failed`, the error message.
    pub fn status(&self) -> (TokenStatus, Option<String>) {
        read(&self.status).clone()
    }

    /// Sets the status; `error` explains a `failed` status.
    pub fn set_status(&self, status: TokenStatus, error: Option<String>) {
        *write(&self.status) = (status, error);
    }

    /// Records the chain head this token follows and the irreversible block;
    /// publishes [`TokenEvent::Irreversible`] when committed head blocks
    /// became final.
    pub fn set_chain_heads(&self, target_head: u64, irreversible: u64) {
        self.target_head.store(target_head, Ordering::Relaxed);
        self.irreversible.store(irreversible, Ordering::Relaxed);
        self.events.chain_irreversible(irreversible);
    }

    /// Tells live readers about a committed change. The writer calls it
    /// only after the change is durable (see [`crate::events`]); it never
    /// blocks.
    pub fn publish(&self, event: TokenEvent) {
        self.events.publish(event);
    }

    /// A receiver of the events published from now on. It keeps up to
    /// [`EVENT_BUFFER`] events; a receiver further behind gets
    /// `RecvError::Lagged`.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<TokenEvent> {
        self.events.subscribe()
    }

    /// How many receivers are subscribed (live subscriptions).
    pub fn subscribers(&self) -> usize {
        self.events.receivers()
    }

    /// `(target head, irreversible block)` as last seen by ingest.
    pub fn chain_heads(&self) -> (u64, u64) {
        (
            self.target_head.load(Ordering::Relaxed),
            self.irreversible.load(Ordering::Relaxed),
        )
    }
}

/// All open tokens by upper-case symbol.
#[derive(Debug, Default)]
pub struct Catalog {
    tokens: RwLock<BTreeMap<String, Arc<TokenEntry>>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a token.
    pub fn insert(&self, entry: Arc<TokenEntry>) {
        let symbol = entry.symbol();
        write(&self.tokens).insert(symbol, entry);
    }

    /// Removes a token and returns it.
    pub fn remove(&self, symbol: &str) -> Option<Arc<TokenEntry>> {
        write(&self.tokens).remove(&symbol.to_ascii_uppercase())
    }

    /// A token by symbol, case-insensitive.
    pub fn get(&self, symbol: &str) -> Option<Arc<TokenEntry>> {
        read(&self.tokens)
            .get(&symbol.to_ascii_uppercase())
            .cloned()
    }

    /// Every token, ordered by symbol.
    pub fn list(&self) -> Vec<Arc<TokenEntry>> {
        read(&self.tokens).values().cloned().collect()
    }
}
