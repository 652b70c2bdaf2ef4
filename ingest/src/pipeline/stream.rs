//! One token's stream: fetch the next blocks up to the target head, apply
//! them, repeat. Each token has its own stream and cursor, so a token that
//! backfills from an old `startBlock` never holds back the live ones.
//!
//! In head mode, blocks above the irreversible block are applied one per
//! batch, so each has a `BlockEnd` a rollback can land on; a block that does
//! not link to the cursor (or a new head id at a height we applied) starts
//! the fork handling of [`super::reorg`].

use std::sync::Arc;
use std::time::Duration;

use state::contract::Reject;
use state::{BlockRef, LogRecord, TokenEntry, TokenStatus};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::apply::{self, Applied};
use super::fetch::{linked_prefix, FetchPlan, Unlinked};
use super::heads::Heads;
use super::recent::RecentBlocks;
use super::records;
use super::reorg::{self, Flow};
use super::shared::Sharing;
use super::slot::TokenSlot;
use super::workers::DecodePool;
use crate::client::{Failure, BAD_DATA_PAUSE};
use crate::decode::{DecodedBlock, OpFilter};
use crate::{FollowMode, Ingest};

/// A token within this many blocks of the target head is `live`.
const LIVE_WITHIN: u64 = 2;

/// A stream's moving parts.
pub(crate) struct Stream {
    pub(crate) ingest: Arc<Ingest>,
    pub(crate) slot: Arc<TokenSlot>,
    pub(crate) entry: Arc<TokenEntry>,
    pub(crate) symbol: String,
    pub(crate) recent: RecentBlocks,
    /// The slot generation `recent` was read under.
    pub(crate) generation: u64,
    pub(crate) failures: u32,
    pub(crate) cancel: watch::Receiver<bool>,
    /// The head `(num, id)` a fork check last looked at, so an unchanged
    /// head is not checked again.
    pub(crate) checked_head: Option<(u64, String)>,
}

/// Runs until the slot is cancelled (stop or removal). A token that fails
/// waits, applying nothing, until an operator moves its cursor (rollback),
/// then goes on from there.
pub(crate) async fn run_token(ingest: Arc<Ingest>, slot: Arc<TokenSlot>, pool: DecodePool) {
    let mut stream = Stream {
        entry: slot.runtime.entry().clone(),
        symbol: slot.symbol.clone(),
        recent: RecentBlocks::new(None, ingest.config.max_reorg_depth),
        generation: slot.generation(),
        failures: 0,
        cancel: slot.cancelled(),
        checked_head: None,
        ingest,
        slot,
    };
    loop {
        if stream.reload().await {
            info!(token = %stream.symbol, from = stream.next(), "token stream started");
            stream.run(&pool).await;
        }
        if !stream.park().await {
            break;
        }
    }
    info!(token = %stream.symbol, "token stream stopped");
}

impl Stream {
    fn next(&self) -> u64 {
        self.recent.next_block(self.slot.start_block)
    }

    fn mode(&self) -> FollowMode {
        self.ingest.config.follow
    }

    async fn run(&mut self, pool: &DecodePool) {
        let mut heads_rx = self.ingest.heads.subscribe();
        let mut generations = self.slot.generations();
        // Only this token's prefix: an op whose longest prefix is ours starts with it.
        let filter = Arc::new(OpFilter::new([self.slot.prefix.clone()]));
        let ingest = self.ingest.clone();
        let config = &ingest.config;
        let symbol = self.symbol.clone();
        let prefix = self.slot.prefix.clone();
        let plan = FetchPlan {
            client: &ingest.client,
            pool,
            filter: &filter,
            range_size: config.range_size,
            in_flight: config.ranges_in_flight,
            sharing: Some(Sharing {
                ingest: &ingest,
                pool,
                taker: &symbol,
                prefix: &prefix,
                read_ahead: read_ahead(config),
            }),
        };
        loop {
            if *self.cancel.borrow_and_update() {
                return;
            }
            if self.slot.generation() != self.generation && !self.reload().await {
                return;
            }
            let heads = heads_rx.borrow_and_update().clone();
            let target = heads.target(self.mode());
            let next = self.next();
            update_status(&self.entry, next, &heads, self.mode());
            if target == 0 || next > target {
                if self.head_replaced(&heads) {
                    match reorg::resolve(self, &heads, None).await {
                        Flow::Continue => continue,
                        Flow::Stop => return,
                    }
                }
                tokio::select! {
                    changed = heads_rx.changed() => if changed.is_err() { return },
                    _ = self.cancel.changed() => {}
                    _ = generations.changed() => {}
                }
                continue;
            }
            let last = target.min(next.saturating_add(config.max_batch_blocks - 1));
            let fetched = tokio::select! {
                fetched = plan.fetch(next, last) => fetched,
                _ = self.cancel.changed() => continue,
            };
            let chunks = match fetched {
                Ok(chunks) => chunks,
                Err(e) => {
                    error!(token = %self.symbol, blocks = %format!("{next}..={last}"), "cannot fetch blocks, retrying: {e}");
                    self.fail_pause().await;
                    continue;
                }
            };
            let spans = super::confirm::spans(&chunks);
            let (blocks, unlinked) =
                linked_prefix(self.recent.head().map(|b| b.id.as_str()), chunks);
            if let Some(unlinked) = unlinked {
                if self.mode() == FollowMode::Head
                    && blocks.is_empty()
                    && self.recent.head().is_some()
                {
                    // The block after our cursor does not link to it: a fork (or a bad node).
                    match reorg::resolve(self, &heads, Some(&unlinked)).await {
                        Flow::Continue => continue,
                        Flow::Stop => return,
                    }
                }
                if self.mode() == FollowMode::Irreversible {
                    warn!(token = %self.symbol, "dropped unlinked blocks, refetching from another node: {}", unlinked.detail);
                    self.blame(&unlinked);
                }
                // In head mode a later chunk may come from after a fork: apply
                // what links, the next round refetches the rest.
                if blocks.is_empty() {
                    if self.failures % 10 == 9 {
                        error!(token = %self.symbol, "no node serves a block linked to the token's cursor: {}", unlinked.detail);
                    }
                    self.fail_pause().await;
                    continue;
                }
            }
            if self.recent.head().is_none() && !self.confirmed(&spans, &blocks).await {
                self.fail_pause().await;
                continue;
            }
            let reversible_from = match self.mode() {
                FollowMode::Irreversible => u64::MAX,
                FollowMode::Head => heads.irreversible.saturating_add(1),
            };
            if !self.apply(blocks, reversible_from).await {
                return;
            }
        }
    }

    /// Builds the batches (blocks from `reversible_from` on one per batch)
    /// and applies them; false when the stream must stop.
    async fn apply(&mut self, blocks: Vec<DecodedBlock>, reversible_from: u64) -> bool {
        let routes = self.ingest.routes();
        let mut records: Vec<Vec<LogRecord>> = Vec::new();
        let mut block_refs: Vec<Vec<BlockRef>> = Vec::new();
        let mut ops = 0;
        for group in split(blocks, reversible_from) {
            if let Some(batch) = records::build(&self.symbol, &routes, group) {
                ops += batch.ops;
                records.push(batch.records);
                block_refs.push(batch.blocks);
            }
        }
        if records.is_empty() {
            return true;
        }
        let slot = self.slot.clone();
        let generation = self.generation;
        // Everything logged while the range is applied (checkpoints, errors)
        // carries the token and the block range.
        let first = block_refs
            .first()
            .and_then(|b| b.first())
            .map_or(0, |b| b.num);
        let last = block_refs
            .last()
            .and_then(|b| b.last())
            .map_or(0, |b| b.num);
        let span = tracing::info_span!("range", token = %self.symbol, from = first, to = last);
        let applied = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            apply::apply(&slot, generation, &records)
        })
        .await;
        let (done, failure) = match applied {
            Ok(Applied::Done(done)) => (done, None),
            Ok(Applied::Stale) => return true,
            Ok(Applied::Removed) => return false,
            Ok(Applied::Failed { done, error }) => (done, Some(error)),
            Err(e) => (Vec::new(), Some(format!("the apply task failed: {e}"))),
        };
        let mut applied_blocks = 0;
        let mut applied_ops = 0;
        let mut rejected = [0u64; Reject::ALL.len()];
        for (summary, blocks) in done.iter().zip(block_refs) {
            applied_blocks += blocks.len() as u64;
            applied_ops += summary.applied;
            for (total, n) in rejected.iter_mut().zip(summary.rejected_by_reason) {
                *total += n;
            }
            for block in blocks {
                self.recent.push(block);
            }
        }
        let symbol = self.symbol.clone();
        let head = self.recent.head().map_or(0, |b| b.num);
        metrics::counter!("honeygraph_blocks_applied_total", "token" => symbol.clone())
            .increment(applied_blocks);
        metrics::counter!("honeygraph_ops_applied_total", "token" => symbol.clone())
            .increment(applied_ops);
        for (reason, n) in Reject::ALL.iter().zip(rejected) {
            if n > 0 {
                metrics::counter!(
                    "honeygraph_ops_rejected_total",
                    "token" => symbol.clone(),
                    "reason" => reason.as_str()
                )
                .increment(n);
            }
        }
        metrics::gauge!("honeygraph_token_head_block", "token" => symbol).set(head as f64);
        if let Some(error) = failure {
            fail(&self.entry, &self.symbol, error);
            return false;
        }
        self.failures = 0;
        tracing::debug!(token = %self.symbol, head, ops, "batch applied");
        true
    }

    /// After `run` returned: false when cancelled; else the token failed,
    /// and this waits until an operator moved its cursor (true) or the
    /// stream is cancelled (false).
    async fn park(&mut self) -> bool {
        let mut generations = self.slot.generations();
        let mut told = false;
        loop {
            if *self.cancel.borrow_and_update() {
                return false;
            }
            if *generations.borrow_and_update() != self.generation {
                return true;
            }
            if !told {
                told = true;
                info!(token = %self.symbol, "token stream paused until an operator rolls the token back");
            }
            tokio::select! {
                changed = generations.changed() => if changed.is_err() { return false },
                _ = self.cancel.changed() => {}
            }
        }
    }

    /// Reads the cursor again (at start, and after an operator moved it);
    /// false when the token failed.
    pub(crate) async fn reload(&mut self) -> bool {
        // Set first: after a failed read, wait for the next operator action.
        self.generation = self.slot.generation();
        let runtime = self.slot.runtime.clone();
        let read = move || runtime.cursor();
        let cursor = match tokio::task::spawn_blocking(read).await {
            Ok(Ok(cursor)) => cursor,
            Ok(Err(e)) => {
                fail(
                    &self.entry,
                    &self.symbol,
                    format!("cannot read the cursor: {e}"),
                );
                return false;
            }
            Err(e) => {
                fail(
                    &self.entry,
                    &self.symbol,
                    format!("cannot read the cursor: {e}"),
                );
                return false;
            }
        };
        self.recent = RecentBlocks::new(cursor, self.ingest.config.max_reorg_depth);
        self.checked_head = None;
        true
    }

    /// Head mode, at the head: the node's head block is at a height we
    /// applied but is not ours (a fork that did not grow the chain yet).
    fn head_replaced(&mut self, heads: &Heads) -> bool {
        if self.mode() != FollowMode::Head || heads.head_id.is_empty() {
            return false;
        }
        let Some(ours) = self.recent.get(heads.head) else {
            return false;
        };
        let seen = (heads.head, heads.head_id.clone());
        if ours.id == heads.head_id || self.checked_head.as_ref() == Some(&seen) {
            return false;
        }
        self.checked_head = Some(seen);
        true
    }

    pub(crate) fn blame(&self, unlinked: &Unlinked) {
        for &node in &unlinked.nodes {
            self.ingest.client.report(
                node,
                Failure::new("unlinked", unlinked.detail.clone()).with_pause(BAD_DATA_PAUSE),
            );
        }
    }

    /// Counts a failure and waits (capped exponential backoff) or until cancelled.
    pub(crate) async fn fail_pause(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32 << self.failures.saturating_sub(1).min(6);
        let wait = Duration::from_millis(500)
            .saturating_mul(factor)
            .min(Duration::from_secs(30));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.cancel.changed() => {}
        }
    }
}

/// Ranges a stream has fetched ahead of the one it asks for: the rest of
/// a batch beyond the ranges in flight, so the next batch is on its way
/// while this one is applied.
fn read_ahead(config: &crate::IngestConfig) -> u32 {
    let per_batch = config
        .max_batch_blocks
        .div_ceil(u64::from(config.range_size.max(1)));
    u32::try_from(per_batch.min(32)).unwrap_or(32).max(1)
}

/// Blocks below `reversible_from` in one group, each block from it on alone.
fn split(blocks: Vec<DecodedBlock>, reversible_from: u64) -> Vec<Vec<DecodedBlock>> {
    let mut groups: Vec<Vec<DecodedBlock>> = Vec::new();
    let mut settled = Vec::new();
    for block in blocks {
        if block.block.num < reversible_from {
            settled.push(block);
        } else {
            if !settled.is_empty() {
                groups.push(std::mem::take(&mut settled));
            }
            groups.push(vec![block]);
        }
    }
    if !settled.is_empty() {
        groups.push(settled);
    }
    groups
}

/// `backfilling` while more than [`LIVE_WITHIN`] blocks behind the target,
/// `live` within it. Failed and rolling-back tokens are left alone.
fn update_status(entry: &TokenEntry, next: u64, heads: &Heads, mode: FollowMode) {
    let target = heads.target(mode);
    if target == 0 {
        return;
    }
    entry.set_chain_heads(target, heads.irreversible);
    let (status, _) = entry.status();
    if matches!(status, TokenStatus::Failed | TokenStatus::RollingBack) {
        return;
    }
    let behind = target.saturating_sub(next.saturating_sub(1));
    let wanted = if behind <= LIVE_WITHIN {
        TokenStatus::Live
    } else {
        TokenStatus::Backfilling
    };
    if wanted != status {
        entry.set_status(wanted, None);
    }
}

pub(crate) fn fail(entry: &TokenEntry, symbol: &str, message: String) {
    error!(token = %symbol, "token stopped: {message}");
    entry.set_status(TokenStatus::Failed, Some(message));
}
