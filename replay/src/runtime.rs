//! One token's writer side: the log, the projection, the checkpoints and the
//! catalog entry.
//!
//! Write order is what makes a crash harmless (architecture.md invariant 2):
//! a batch is first appended to the log and fsynced, then applied to LMDB in
//! one transaction that also records the log position. On open, a rollback
//! a crash interrupted is done again, then log records beyond the
//! projection's position are applied again; a torn log tail was already cut
//! by [`EventLog::open`].
//!
//! Subscribers hear of a change only once it is durable: a batch publishes
//! [`TokenEvent::Block`] after its LMDB commit, a rollback publishes
//! [`TokenEvent::Reorg`] after the swap, a replay one or the other for
//! where it lands.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datasets::{DatasetBackend, TokenLayout};
use state::projection::ApplySummary;
use state::{
    BlockRef, EventLog, LogRecord, Projection, TokenConfig, TokenEntry, TokenEvent, TokenStatus,
};
use tracing::{info, warn};

use crate::background_removal::BackgroundRemoval;
use crate::checkpoint::{self, CheckpointInfo, CheckpointStore};
use crate::crash::{CrashHook, CrashPoint};
use crate::error::ReplayError;
use crate::fsutil;
use crate::reapply::{reapply, Stop};
use crate::retention::CheckpointPolicy;
use crate::rollback;

/// How long a swap waits for readers to let go of the old projection.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Directory inside the state dataset where a replay builds the new projection.
pub(crate) const REPLAY_DIR: &str = "replay.tmp";

/// What a replay's work directory is renamed to once its projection is
/// swapped in, while the projection it replaced is deleted in the background.
pub(crate) const REPLACED_DIR: &str = "replay.old";

/// A token open for writing. Ingest calls [`TokenRuntime::apply_batch`] and
/// [`TokenRuntime::maybe_checkpoint`]; the query side reads through
/// [`TokenRuntime::entry`]; operators call [`TokenRuntime::checkpoint_now`],
/// [`TokenRuntime::replay`] and [`TokenRuntime::rollback_to`].
#[derive(Debug)]
pub struct TokenRuntime {
    pub(crate) entry: Arc<TokenEntry>,
    pub(crate) writer: Mutex<Writer>,
    pub(crate) ctx: Ctx,
    policy: Mutex<CheckpointPolicy>,
}

/// What never changes while the token is open.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) symbol: String,
    pub(crate) layout: TokenLayout,
    pub(crate) store: Box<dyn CheckpointStore>,
    pub(crate) crash: CrashHook,
}

/// Everything the writer lock guards.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) log: EventLog,
    /// `None` while a rollback or replay has the environment closed, or after
    /// one failed half-way (the next writer call opens it again).
    pub(crate) projection: Option<Projection>,
    /// Block of the newest checkpoint, so ingest's per-batch check lists nothing.
    pub(crate) newest_checkpoint: Option<u64>,
    /// The projection the last replay replaced, being deleted; taking the
    /// lock waits for it.
    pub(crate) removal: Option<BackgroundRemoval>,
}

impl Ctx {
    pub(crate) fn data_file(&self) -> PathBuf {
        self.layout.state_dir.join("data.mdb")
    }

    /// Removes the live projection's files (its environment must be
    /// closed): the next open starts from the genesis.
    pub(crate) fn remove_projection(&self) -> Result<(), ReplayError> {
        fsutil::remove_file(&self.data_file())?;
        fsutil::remove_file(&self.layout.state_dir.join("lock.mdb"))
    }

    pub(crate) fn replay_dir(&self) -> PathBuf {
        self.layout.state_dir.join(REPLAY_DIR)
    }

    pub(crate) fn replaced_dir(&self) -> PathBuf {
        self.layout.state_dir.join(REPLACED_DIR)
    }

    /// Brings the projection up if it is closed: finishes a pending
    /// rollback, else opens it and applies the log tail it misses.
    pub(crate) fn ensure_open(
        &self,
        w: &mut Writer,
        config: &TokenConfig,
    ) -> Result<Projection, ReplayError> {
        if w.projection.is_none() {
            // A rollback holds the writer until it has removed its marker,
            // or closed the projection after a failure, so a marker can only
            // be pending while the projection is closed.
            if let Some((target, source)) = rollback::pending_target(self)? {
                warn!(token = %self.symbol, target, "finishing a rollback that was interrupted");
                rollback::run(self, w, config, target, source)?;
                if let Err(e) = rollback::clear_pending(self) {
                    // Keep the marker's rule: pending only while closed.
                    w.projection = None;
                    return Err(e);
                }
            }
        }
        let projection = match &w.projection {
            Some(p) => p.clone(),
            None => {
                let p = match Projection::open(&self.layout.state_dir, config) {
                    Err(state::StateError::Outdated { detail, .. }) => {
                        // The projection is derived: the log rebuilds it.
                        warn!(token = %self.symbol, "{detail}: rebuilding it from the log");
                        self.wait_closed(&self.layout.state_dir)?;
                        self.remove_projection()?;
                        Projection::open(&self.layout.state_dir, config)?
                    }
                    opened => opened?,
                };
                w.projection = Some(p.clone());
                p
            }
        };
        catch_up(&self.symbol, &w.log, &projection)?;
        Ok(projection)
    }

    /// Waits until no clone of the live projection is left, so its files can
    /// be swapped and the environment opened again. The caller has dropped
    /// its own clones.
    pub(crate) fn wait_closed(&self, dir: &std::path::Path) -> Result<(), ReplayError> {
        let Ok(path) = dir.canonicalize() else {
            return Ok(());
        };
        if let Some(event) = heed::env_closing_event(&path) {
            if !event.wait_timeout(CLOSE_TIMEOUT) {
                return Err(ReplayError::Busy {
                    symbol: self.symbol.clone(),
                    seconds: CLOSE_TIMEOUT.as_secs(),
                });
            }
        }
        Ok(())
    }

    /// Removes what an interrupted replay or restore left in the state dataset.
    fn clean_state_dir(&self) -> Result<(), ReplayError> {
        fsutil::remove_dir(&self.replay_dir())?;
        fsutil::remove_dir(&self.replaced_dir())?;
        fsutil::remove_file(&self.layout.state_dir.join("data.mdb.restore"))
    }
}

impl TokenRuntime {
    /// Opens the token's dataset, log and projection with the default
    /// [`CheckpointPolicy`], and recovers (see [`TokenRuntime::open_with`]).
    pub fn open(
        backend: Arc<dyn DatasetBackend>,
        config: TokenConfig,
    ) -> Result<Arc<Self>, ReplayError> {
        Self::open_with(backend, config, CheckpointPolicy::default())
    }

    /// Opens the token's dataset, log and projection, and recovers: a torn
    /// log tail is cut, what an interrupted checkpoint or replay left is
    /// removed, an interrupted rollback is done again, and log records
    /// beyond the projection's position are applied again.
    pub fn open_with(
        backend: Arc<dyn DatasetBackend>,
        config: TokenConfig,
        policy: CheckpointPolicy,
    ) -> Result<Arc<Self>, ReplayError> {
        let symbol = config.symbol.clone();
        let layout = datasets::ensure_token_layout(backend.as_ref(), &symbol)?;
        let (log, report) = EventLog::open(&layout.log_dir)?;
        if let Some(detail) = &report.detail {
            warn!(token = %symbol, cut_bytes = report.truncated_bytes, "event log tail repaired: {detail}");
        }
        let store = checkpoint::open_store(&backend, &symbol, &layout);
        let ctx = Ctx {
            symbol,
            layout,
            store,
            crash: CrashHook::default(),
        };
        ctx.clean_state_dir()?;
        ctx.store.clean()?;
        let mut writer = Writer {
            log,
            projection: None,
            newest_checkpoint: None,
            removal: None,
        };
        let projection = ctx.ensure_open(&mut writer, &config)?;
        writer.newest_checkpoint = ctx.store.list()?.last().map(|c| c.block);
        let entry = Arc::new(TokenEntry::new(config, projection));
        Ok(Arc::new(TokenRuntime {
            entry,
            writer: Mutex::new(writer),
            ctx,
            policy: Mutex::new(policy),
        }))
    }

    /// The catalog entry (config, projection, status).
    pub fn entry(&self) -> &Arc<TokenEntry> {
        &self.entry
    }

    /// The token's symbol.
    pub fn symbol(&self) -> String {
        self.entry.symbol()
    }

    /// The token's directories.
    pub fn layout(&self) -> &TokenLayout {
        &self.ctx.layout
    }

    /// The last block fully applied. A projection that a replay left behind
    /// the log is brought up to the log's end first, so the cursor is always
    /// where the next batch must start.
    pub fn cursor(&self) -> Result<Option<BlockRef>, ReplayError> {
        let mut w = self.lock();
        let projection = self.open_projection(&mut w)?;
        Ok(projection.meta()?.cursor)
    }

    /// The checkpoint policy in force.
    pub fn checkpoint_policy(&self) -> CheckpointPolicy {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the checkpoint policy (it applies from the next batch).
    pub fn set_checkpoint_policy(&self, policy: CheckpointPolicy) {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    /// Appends `records` to the log (fsynced), then applies them to the
    /// projection in one transaction. `records` must end with a
    /// [`LogRecord::BlockEnd`] for the batch's last block, and start above the
    /// cursor. If the projection refuses the batch, the log is cut back so
    /// the two never disagree.
    pub fn apply_batch(&self, records: &[LogRecord]) -> Result<ApplySummary, ReplayError> {
        let symbol = self.symbol();
        let mut writer = self.lock();
        let projection = self.open_projection(&mut writer)?;
        let cursor = projection.meta()?.cursor;
        check_batch(&symbol, cursor.as_ref(), records)?;
        let before = writer.log.position().records;
        let after = writer.log.append(records)?;
        match projection.apply(records, after.records) {
            Ok(summary) => {
                // Only now is the batch durable in both the log and LMDB.
                self.publish_block(last_block(records));
                Ok(summary)
            }
            Err(apply_error) => {
                if let Err(cut_error) = writer.log.truncate_to_records(before) {
                    // The log now holds a batch the projection does not: recovery on the
                    // next open applies it again, so nothing is lost, but say so loudly.
                    warn!(token = %symbol, %cut_error, "could not cut the log back after a failed apply");
                }
                Err(apply_error.into())
            }
        }
    }

    /// Every checkpoint of the token, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<CheckpointInfo>, ReplayError> {
        let _w = self.lock();
        self.ctx.store.list()
    }

    /// Takes a checkpoint if the cursor crossed a multiple of the policy's
    /// `every_blocks` since the newest checkpoint (ingest calls this after
    /// each batch, so the cursor is at a block boundary), then prunes by the
    /// retention policy. Returns the new checkpoint, if one was taken.
    pub fn maybe_checkpoint(&self) -> Result<Option<CheckpointInfo>, ReplayError> {
        let policy = self.checkpoint_policy();
        let mut w = self.lock();
        let projection = self.open_projection(&mut w)?;
        let Some(cursor) = projection.meta()?.cursor else {
            return Ok(None);
        };
        if !policy.due(cursor.num, w.newest_checkpoint) {
            return Ok(None);
        }
        self.take_checkpoint(&mut w, &projection, &policy).map(Some)
    }

    /// Takes a checkpoint at the cursor now (or returns the one already
    /// there), then prunes by the retention policy.
    pub fn checkpoint_now(&self) -> Result<CheckpointInfo, ReplayError> {
        let policy = self.checkpoint_policy();
        let mut w = self.lock();
        let projection = self.open_projection(&mut w)?;
        self.take_checkpoint(&mut w, &projection, &policy)
    }

    fn take_checkpoint(
        &self,
        w: &mut Writer,
        projection: &Projection,
        policy: &CheckpointPolicy,
    ) -> Result<CheckpointInfo, ReplayError> {
        let meta = projection.meta()?;
        let Some(cursor) = meta.cursor else {
            return Err(ReplayError::NothingToCheckpoint {
                symbol: self.ctx.symbol.clone(),
            });
        };
        let name = checkpoint::checkpoint_name(cursor.num);
        let existing = self.ctx.store.list()?;
        if let Some(found) = existing.iter().find(|c| c.name == name) {
            return Ok(found.clone());
        }
        let now = now_unix();
        let info = CheckpointInfo {
            name,
            block: cursor.num,
            block_id: cursor.id,
            log_records: meta.log_records,
            state_hash: meta.state_hash,
            created_unix: now,
            bytes: projection.disk_size()?,
        };
        self.ctx.store.take(projection, &info, &self.ctx.crash)?;
        info!(token = %self.ctx.symbol, checkpoint = %info.name, "checkpoint taken");
        let all = self.ctx.store.list()?;
        for name in policy.retention.prunable(&all, now) {
            self.ctx.store.destroy(&name)?;
        }
        w.newest_checkpoint = self.ctx.store.list()?.last().map(|c| c.block);
        Ok(info)
    }

    /// Stops the next checkpoint, rollback or replay at `point` with
    /// [`ReplayError::SimulatedCrash`], for crash tests: drop the runtime
    /// afterwards and open the token again.
    #[doc(hidden)]
    pub fn set_crash_point(&self, point: Option<CrashPoint>) {
        self.ctx.crash.arm(point);
    }

    /// The writer's projection, opened (and caught up) if it is closed.
    pub(crate) fn open_projection(&self, w: &mut Writer) -> Result<Projection, ReplayError> {
        let was_closed = w.projection.is_none();
        let projection = self.ctx.ensure_open(w, &self.entry.config())?;
        if was_closed || self.entry.projection().is_none() {
            self.entry.set_projection(projection.clone());
        }
        Ok(projection)
    }

    /// Takes the projection away from readers (they get 503) and the writer,
    /// and waits until its environment is closed.
    pub(crate) fn close_projection(&self, w: &mut Writer) -> Result<(), ReplayError> {
        drop(self.entry.take_projection());
        drop(w.projection.take());
        self.ctx.wait_closed(&self.ctx.layout.state_dir)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the writer cannot leave it half-updated on
        // disk: the log and LMDB are both crash-safe, so keep going.
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Whatever the writer does next (a checkpoint snapshots the
        // dataset) sees the replaced projection gone.
        if let Some(removal) = w.removal.take() {
            removal.wait();
        }
        w
    }

    /// Waits for what the last replay left running in the background:
    /// deleting the projection it replaced. Every writer call (applying,
    /// a checkpoint, a rollback, another replay) waits for it first anyway.
    pub fn settle(&self) {
        drop(self.lock());
    }

    /// Tells subscribers that the projection now stands at `block`.
    pub(crate) fn publish_block(&self, block: Option<&BlockRef>) {
        if let Some(block) = block {
            let irreversible = block.num <= self.entry.chain_heads().1;
            self.entry.publish(TokenEvent::Block {
                block: block.clone(),
                irreversible,
            });
        }
    }

    /// Tells subscribers where a rollback or replay left the projection:
    /// a `Reorg` when it went back from `from`, else a `Block` at `to`.
    pub(crate) fn publish_moved(&self, from: Option<u64>, to: Option<&BlockRef>) {
        let from = from.unwrap_or(0);
        let to_num = to.map_or(0, |b| b.num);
        if to_num < from {
            self.entry.publish(TokenEvent::Reorg {
                depth: from - to_num,
                from_block: from,
                to_block: to.cloned(),
            });
        } else {
            self.publish_block(to);
        }
    }

    /// Sets `RollingBack` and returns the status to go back to.
    pub(crate) fn begin_swap(&self) -> TokenStatus {
        let (before, _) = self.entry.status();
        self.entry.set_status(TokenStatus::RollingBack, None);
        match before {
            TokenStatus::RollingBack => TokenStatus::Backfilling,
            other => other,
        }
    }

    /// Ends a swap: the status before it on success, `failed` with the error
    /// otherwise.
    pub(crate) fn end_swap<T>(&self, before: TokenStatus, result: &Result<T, ReplayError>) {
        match result {
            Ok(_) => self.entry.set_status(before, None),
            Err(e) => self
                .entry
                .set_status(TokenStatus::Failed, Some(e.to_string())),
        }
    }
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The block a checked batch ends with.
fn last_block(records: &[LogRecord]) -> Option<&BlockRef> {
    match records.last() {
        Some(LogRecord::BlockEnd(block)) => Some(block),
        _ => None,
    }
}

/// A batch must end with a BlockEnd, be in chain order and start above the cursor.
fn check_batch(
    symbol: &str,
    cursor: Option<&BlockRef>,
    records: &[LogRecord],
) -> Result<(), ReplayError> {
    let out_of_order = |detail: String| ReplayError::OutOfOrder {
        symbol: symbol.to_string(),
        detail,
    };
    let Some(LogRecord::BlockEnd(last)) = records.last() else {
        return Err(out_of_order(
            "a batch must end with a BlockEnd record".into(),
        ));
    };
    if let Some(cursor) = cursor {
        if let Some(first) = records.first() {
            if first.block() <= cursor.num {
                return Err(out_of_order(format!(
                    "batch starts at block {} but the token is already at block {}",
                    first.block(),
                    cursor.num
                )));
            }
        }
    }
    let mut previous = 0;
    for record in records {
        if record.block() < previous || record.block() > last.num {
            return Err(out_of_order(format!(
                "record at block {} after block {previous} (batch ends at {})",
                record.block(),
                last.num
            )));
        }
        previous = record.block();
    }
    Ok(())
}

/// Applies log records beyond the projection's position (after an unclean
/// stop, or a replay that stopped short of the log's end); refuses a log
/// that is shorter than what the projection already applied.
pub(crate) fn catch_up(
    symbol: &str,
    log: &EventLog,
    projection: &Projection,
) -> Result<(), ReplayError> {
    let applied = projection.meta()?.log_records;
    let logged = log.position().records;
    if logged < applied {
        return Err(state::StateError::Diverged {
            symbol: symbol.to_string(),
            detail: format!(
                "the projection applied {applied} log records but the log holds only {logged}; \
                 replay the token from a checkpoint"
            ),
        }
        .into());
    }
    if logged == applied {
        return Ok(());
    }
    info!(token = %symbol, records = logged - applied, "re-applying the log tail the projection misses");
    reapply(log, projection, applied, logged, &|_, _| {}, Stop::AtEnd, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(num: u64) -> LogRecord {
        LogRecord::BlockEnd(BlockRef {
            num,
            id: format!("{num:08x}{}", "0".repeat(32)),
            timestamp: "2025-01-01T00:00:00".into(),
        })
    }

    #[test]
    fn batches_must_end_with_a_block_end_and_move_forward() {
        let cursor = match end(10) {
            LogRecord::BlockEnd(b) => b,
            LogRecord::Op(_) => unreachable!(),
        };
        assert!(check_batch("T", None, &[end(5)]).is_ok());
        assert!(check_batch("T", None, &[]).is_err());
        assert!(check_batch("T", Some(&cursor), &[end(10)]).is_err());
        assert!(check_batch("T", Some(&cursor), &[end(11)]).is_ok());
        assert!(check_batch("T", None, &[end(7), end(6)]).is_err());
    }
}
