//! Irreversible ranges fetched and decoded once for every token stream.
//!
//! Tokens at the same position (three tokens catching up from the same
//! start, or all live tokens) ask for the same `get_block_range` calls.
//! Without sharing, each stream fetches and decodes the chain again. Here
//! the first stream to ask for a range fetches it, decoded with the filter
//! of every registered prefix (each stream then keeps its own ops), and the
//! others wait for that answer instead of asking the node. A stream also
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
use super::routes::Routes;
use super::workers::DecodePool;
use crate::decode::{DecodedBlock, OpFilter};
use crate::{Ingest, IngestError};

/// Most ranges kept (decoded ranges hold only the matching ops, so a
/// range of 100 blocks is a few tens of KB).
const CAPACITY: usize = 256;

type Key = (u64, u32);

/// One shared range: filled once, by whoever asks first.
struct Slot {
    /// The routes (and so the prefix filter) it was decoded with.
    routes: Arc<Routes>,
    cell: OnceCell<Arc<Chunk>>,
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

/// A copy of a shared block with only the operations `own` (the taking
/// stream's prefix) lets through. The others belong to other tokens: an id
/// that does not start with this token's prefix never routes to it, however
/// the routes change before the batch is built, so copying them (every
/// token's operations, for every token) was wasted work.
fn own_ops(block: &DecodedBlock, own: &OpFilter) -> DecodedBlock {
    DecodedBlock {
        block: block.block.clone(),
        previous: block.previous.clone(),
        transactions: block.transactions,
        ops: block
            .ops
            .iter()
            .filter(|op| own.matches(&op.id))
            .cloned()
            .collect(),
    }
}

/// `block` with only the operations `own` lets through: [`own_ops`] for a
/// block no other stream holds, without the copy.
fn keep_own_ops(mut block: DecodedBlock, own: &OpFilter) -> DecodedBlock {
    block.ops.retain(|op| own.matches(&op.id));
    block
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
        let chunk = slot
            .cell
            .get_or_try_init(|| async {
                plan.fetch_fresh(start, count, routes.filter())
                    .await
                    .map(Arc::new)
            })
            .await?
            .clone();
        ranges.taken(key, &slot, self.taker);
        drop(slot);
        let node = chunk.node;
        // The last stream to take a range is usually its only holder by
        // now (`taken` dropped the slot): it keeps the blocks instead of
        // copying them. With one token that is nearly every range; a range
        // someone else still holds (a read-ahead task finishing) is copied.
        let blocks = match Arc::try_unwrap(chunk) {
            Ok(chunk) => chunk
                .blocks
                .into_iter()
                .map(|block| keep_own_ops(block, plan.filter))
                .collect(),
            Err(shared) => shared
                .blocks
                .iter()
                .map(|block| own_ops(block, plan.filter))
                .collect(),
        };
        Ok(Chunk { node, blocks })
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
                    .get_or_try_init(|| async {
                        plan.fetch_fresh(ahead, count, slot.routes.filter())
                            .await
                            .map(Arc::new)
                    })
                    .await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{keep_own_ops, own_ops};
    use crate::decode::{CustomJson, DecodedBlock, OpFilter};

    fn op(op_index: u32, id: &str) -> CustomJson {
        CustomJson {
            trx_index: 0,
            op_index,
            trx_id: "ab".repeat(20),
            id: id.into(),
            required_auths: vec!["alice".into()],
            required_posting_auths: vec![],
            json: "{}".into(),
        }
    }

    /// Keeping a block and copying it leave the same operations: the
    /// token's own, in chain order, and the block's identity untouched.
    #[test]
    fn a_kept_block_holds_what_a_copied_one_would() {
        let block = DecodedBlock {
            block: state::BlockRef {
                num: 7,
                id: format!("00000007{}", "00".repeat(16)),
                timestamp: "2025-01-01T00:00:00".into(),
            },
            previous: format!("00000006{}", "00".repeat(16)),
            transactions: 3,
            ops: vec![
                op(0, "spkcc_send"),
                op(1, "dlux_send"),
                op(2, "spkcc_power_up"),
                op(3, "spkccx_send"),
            ],
        };
        let own = OpFilter::new(["spkcc_"]);
        let copied = own_ops(&block, &own);
        let kept = keep_own_ops(block.clone(), &own);
        assert_eq!(kept, copied);
        let ids: Vec<&str> = kept.ops.iter().map(|op| op.id.as_str()).collect();
        assert_eq!(ids, ["spkcc_send", "spkcc_power_up"]);
        assert_eq!((kept.block, kept.previous), (block.block, block.previous));
    }
}
