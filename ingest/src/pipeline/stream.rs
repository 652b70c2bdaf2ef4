//! One token's stream: fetch the next blocks up to the target head, apply
//! them, repeat. Each token has its own stream and cursor, so a token that
//! backfills from an old `startBlock` never holds back the live ones.

use std::sync::Arc;
use std::time::Duration;

use state::{TokenEntry, TokenStatus};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::fetch::{linked_prefix, FetchPlan};
use super::recent::RecentBlocks;
use super::records;
use super::slot::TokenSlot;
use super::workers::DecodePool;
use crate::client::{Failure, BAD_DATA_PAUSE};
use crate::decode::OpFilter;
use crate::Ingest;

/// A token within this many blocks of the target head is `live`.
const LIVE_WITHIN: u64 = 2;

/// Runs until the slot is cancelled (stop or removal) or an apply fails.
pub(crate) async fn run_token(ingest: Arc<Ingest>, slot: Arc<TokenSlot>, pool: DecodePool) {
    let mut cancel = slot.cancelled();
    let mut heads = ingest.heads.subscribe();
    let entry = slot.runtime.entry().clone();
    let symbol = slot.symbol.clone();
    let cursor = {
        let runtime = slot.runtime.clone();
        match tokio::task::spawn_blocking(move || runtime.cursor()).await {
            Ok(Ok(cursor)) => cursor,
            Ok(Err(e)) => return fail(&entry, &symbol, format!("cannot read the cursor: {e}")),
            Err(e) => return fail(&entry, &symbol, format!("cannot read the cursor: {e}")),
        }
    };
    let mut recent = RecentBlocks::new(cursor);
    // Only this token's prefix: an op whose longest prefix is ours starts with it.
    let filter = Arc::new(OpFilter::new([slot.prefix.clone()]));
    let config = &ingest.config;
    let plan = FetchPlan {
        client: &ingest.client,
        pool: &pool,
        filter: &filter,
        range_size: config.range_size,
        in_flight: config.ranges_in_flight,
    };
    let mut failures: u32 = 0;
    info!(token = %symbol, from = recent.next_block(slot.start_block), "token stream started");
    loop {
        if *cancel.borrow_and_update() {
            break;
        }
        let target = *heads.borrow_and_update();
        let next = recent.next_block(slot.start_block);
        update_status(&entry, next, target);
        if target == 0 || next > target {
            tokio::select! {
                changed = heads.changed() => if changed.is_err() { break },
                _ = cancel.changed() => {}
            }
            continue;
        }
        let last = target.min(next.saturating_add(config.max_batch_blocks - 1));
        let fetched = tokio::select! {
            fetched = plan.fetch(next, last) => fetched,
            _ = cancel.changed() => continue,
        };
        let chunks = match fetched {
            Ok(chunks) => chunks,
            Err(e) => {
                failures += 1;
                error!(token = %symbol, blocks = %format!("{next}..={last}"), "cannot fetch blocks, retrying: {e}");
                pause(&mut cancel, backoff(failures)).await;
                continue;
            }
        };
        let (blocks, unlinked) = linked_prefix(recent.head().map(|b| b.id.as_str()), chunks);
        if let Some(unlinked) = unlinked {
            warn!(token = %symbol, "dropped unlinked blocks, refetching from another node: {}", unlinked.detail);
            for node in unlinked.nodes {
                ingest.client.report(
                    node,
                    Failure::new("unlinked", unlinked.detail.clone()).with_pause(BAD_DATA_PAUSE),
                );
            }
            if blocks.is_empty() {
                failures += 1;
                if failures % 10 == 0 {
                    error!(token = %symbol, "no node serves a block linked to the token's cursor: {}", unlinked.detail);
                }
                pause(&mut cancel, backoff(failures)).await;
                continue;
            }
        }
        let Some(batch) = records::build(&symbol, &ingest.routes(), blocks) else {
            continue;
        };
        let worker = slot.clone();
        let records = batch.records;
        let applied = tokio::task::spawn_blocking(move || {
            let Some(_guard) = worker.lock_apply() else {
                return Ok(None);
            };
            worker.runtime.apply_batch(&records).map(Some)
        })
        .await;
        let summary = match applied {
            Ok(Ok(Some(summary))) => summary,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return fail(&entry, &symbol, format!("cannot apply the batch: {e}")),
            Err(e) => return fail(&entry, &symbol, format!("the apply task failed: {e}")),
        };
        failures = 0;
        let applied_blocks = batch.blocks.len() as u64;
        for block in batch.blocks {
            recent.push(block);
        }
        let head = recent.head().map_or(0, |b| b.num);
        metrics::counter!("honeygraph_blocks_applied_total", "token" => symbol.clone())
            .increment(applied_blocks);
        metrics::counter!("honeygraph_ops_applied_total", "token" => symbol.clone())
            .increment(summary.applied);
        metrics::counter!("honeygraph_ops_rejected_total", "token" => symbol.clone())
            .increment(summary.rejected);
        metrics::gauge!("honeygraph_token_head_block", "token" => symbol.clone()).set(head as f64);
        tracing::debug!(token = %symbol, head, ops = batch.ops, "batch applied");
    }
    info!(token = %symbol, "token stream stopped");
}

/// `backfilling` while more than [`LIVE_WITHIN`] blocks behind the target,
/// `live` within it. Failed and rolling-back tokens are left alone.
fn update_status(entry: &TokenEntry, next: u64, target: u64) {
    if target == 0 {
        return;
    }
    entry.set_chain_heads(target, target);
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

fn fail(entry: &TokenEntry, symbol: &str, message: String) {
    error!(token = %symbol, "token stopped: {message}");
    entry.set_status(TokenStatus::Failed, Some(message));
}

/// Capped exponential backoff for a stream that keeps failing.
fn backoff(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(6);
    Duration::from_millis(500)
        .saturating_mul(factor)
        .min(Duration::from_secs(30))
}

async fn pause(cancel: &mut watch::Receiver<bool>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = cancel.changed() => {}
    }
}
