//! Irreversible ranges fetched and decoded once for every token stream.
//!
//! Tokens at the same position (three tokens catching up from the same
//! start, or all live tokens) ask for the same `get_block_range` calls.
//! Without sharing, each stream fetches and decodes the chain again. Here
//! the first stream to ask for a range fetches it, decoded with the filter
//! of every registered prefix and split by prefix (each stream takes its
//! own part, see `parts`), and the others wait for that answer instead of
//! asking the node. A stream also
//! reads ahead: while it applies a batch, the next ranges are fetched.
//!
//! Only ranges at or below the irreversible block are shared: they can no
//! longer change. A stream that asks again for a range it already took (it
//! found the blocks unlinked, or an operator moved its cursor) gets a fresh
//! fetch, which replaces the shared one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use super::fetch::{Chunk, FetchPlan};
use super::parts::TokenParts;
use super::routes::Routes;
use super::workers::DecodePool;
use crate::{Ingest, IngestError};

/// Most ranges kept (decoded ranges hold only the matching ops, so a
/// range of 100 blocks is a few tens of KB).
const CAPACITY: usize = 256;

type Key = (u64, u32);

/// One shared range: filled once, by whoever asks first.
struct Slot {
    /// The routes (and so the prefix filter) it was decoded with.
    routes: Arc<Routes>,
    cell: OnceCell<Arc<TokenParts>>,
    /// Streams (by symbol) that took it.
    takers: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Slots {
    map: HashMap<Key, Arc<Slot>>,
    order: VecDeque<Key>,
}

/// The ranges being shared, kept in [`Ingest`].
#[derive(Default)]
pub(crate) struct SharedRanges {
    slots: Mutex<Slots>,
    /// Read-ahead fetches; they hold the `Ingest`, so `run` ends them
    /// ([`SharedRanges::stop`]) before it returns.
    tasks: Mutex<JoinSet<()>>,
}

impl std::fmt::Debug for SharedRanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRanges").finish_non_exhaustive()
    }
}

/// What a stream needs to share its fetches.
pub(crate) struct Sharing<'a> {
    pub(crate) ingest: &'a Arc<Ingest>,
    pub(crate) pool: &'a DecodePool,
    /// The stream's token symbol.
    pub(crate) taker: &'a str,
    /// The stream's token prefix: which part of a shared range it takes.
    pub(crate) prefix: &'a str,
    /// Ranges fetched ahead of the one asked for.
    pub(crate) read_ahead: u32,
}

impl SharedRanges {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Every change to the map is a complete step.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot for `key` under `routes`; a new one when there is none, it
    /// was decoded under other routes, or `taker` already took it.
    fn slot(&self, key: Key, routes: &Arc<Routes>, taker: Option<&str>) -> Arc<Slot> {
        let mut slots = self.lock();
        if let Some(slot) = slots.map.get(&key) {
            let taken = taker.is_some_and(|t| lock(&slot.takers).iter().any(|s| s == t));
            if Arc::ptr_eq(&slot.routes, routes) && !taken {
                return slot.clone();
            }
        }
        let slot = Arc::new(Slot {
            routes: routes.clone(),
            cell: OnceCell::new(),
            takers: Mutex::new(Vec::new()),
        });
        if slots.map.insert(key, slot.clone()).is_none() {
            slots.order.push_back(key);
        }
        while slots.order.len() > CAPACITY {
            if let Some(old) = slots.order.pop_front() {
                slots.map.remove(&old);
            }
        }
        slot
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Ends the read-ahead fetches and waits until they are gone.
    pub(crate) async fn stop(&self) {
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        tasks.shutdown().await;
        self.lock().map.clear();
        self.lock().order.clear();
    }

    fn contains(&self, key: Key, routes: &Arc<Routes>) -> bool {
        self.lock()
            .map
            .get(&key)
            .is_some_and(|slot| Arc::ptr_eq(&slot.routes, routes))
    }

    /// Notes that `taker` took the slot; once every token did, it is dropped.
    fn taken(&self, key: Key, slot: &Arc<Slot>, taker: &str) {
        let done = {
            let mut takers = lock(&slot.takers);
            takers.push(taker.to_string());
            takers.len() >= slot.routes.tokens()
        };
        if done {
            let mut slots = self.lock();
            if slots.map.get(&key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                slots.map.remove(&key);
                slots.order.retain(|k| *k != key);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sharing<'_> {
    /// Blocks `start..start + count` for this stream: shared when the range
    /// is irreversible, else fetched by `plan` alone.
    pub(crate) async fn fetch(
        &self,
        plan: &FetchPlan<'_>,
        start: u64,
        count: u32,
    ) -> Result<Chunk, IngestError> {
        let last = start + u64::from(count) - 1;
        let irreversible = self.ingest.heads.borrow().irreversible;
        if last > irreversible {
            return plan.fetch_fresh(start, count, plan.filter).await;
        }
        let routes = self.ingest.routes();
        let ranges = &self.ingest.shared;
        self.read_ahead(&routes, start, count, irreversible);
        let key = (start, count);
        let slot = ranges.slot(key, &routes, Some(self.taker));
        let parts = slot
            .cell
            .get_or_try_init(|| fetch_parts(plan, &routes, start, count))
            .await?
            .clone();
        ranges.taken(key, &slot, self.taker);
        match parts.take(self.prefix) {
            Some(chunk) => Ok(chunk),
            // Not split for this stream's prefix (its token is being added
            // or replaced): fetch alone.
            None => plan.fetch_fresh(start, count, plan.filter).await,
        }
    }

    /// Starts fetching the `read_ahead` ranges after this one that are
    /// irreversible and not already there.
    fn read_ahead(&self, routes: &Arc<Routes>, start: u64, count: u32, irreversible: u64) {
        let size = u64::from(count);
        for k in 1..=u64::from(self.read_ahead) {
            let ahead = start + k * size;
            if ahead + size - 1 > irreversible {
                break;
            }
            let key = (ahead, count);
            if self.ingest.shared.contains(key, routes) {
                continue;
            }
            let slot = self.ingest.shared.slot(key, routes, None);
            let ingest = self.ingest.clone();
            let pool = self.pool.clone();
            self.ingest.shared.spawn(async move {
                let config = &ingest.config;
                let plan = FetchPlan {
                    client: &ingest.client,
                    pool: &pool,
                    filter: slot.routes.filter(),
                    range_size: config.range_size,
                    in_flight: config.ranges_in_flight,
                    sharing: None,
                };
                // A failure is not kept: the stream that needs the range fetches it itself.
                let _ = slot
                    .cell
                    .get_or_try_init(|| fetch_parts(&plan, &slot.routes, ahead, count))
                    .await;
            });
        }
    }
}

/// A range fetched with the filter of every prefix in `routes`, split by prefix.
async fn fetch_parts(
    plan: &FetchPlan<'_>,
    routes: &Routes,
    start: u64,
    count: u32,
) -> Result<Arc<TokenParts>, IngestError> {
    let chunk = plan.fetch_fresh(start, count, routes.filter()).await?;
    Ok(Arc::new(TokenParts::split(chunk, routes.prefixes())))
}
