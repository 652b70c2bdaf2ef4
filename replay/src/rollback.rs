//! Rollback to a block: cut the log after it, then bring the projection
//! back to it. Two ways, the first that applies:
//!
//! - the undo journal ([`Projection::rewind`]): undo the frames above
//!   the block and re-apply the few log records between the frame start
//!   it lands on and the block, both in one LMDB transaction on the open
//!   environment (a frame ends at each block end a batch has, see
//!   [`state::projection::FRAME_RECORDS`], so there is often nothing to
//!   re-apply). The cost follows what the undone blocks changed, never the
//!   token's history; it reaches back
//!   [`state::projection::DEFAULT_UNDO_BLOCKS`] blocks;
//! - a checkpoint: restore the newest checkpoint at or below the block
//!   (genesis when there is none) and re-apply the log up to it.
//!   [`RollbackSource::Checkpoint`] asks for this one even within the
//!   journal's reach, for a caller who distrusts the live projection.
//!
//! The target is the last block boundary the log has at or below the block
//! asked for (a batch ends with one `BlockEnd`, so the blocks inside a batch
//! have none): the rollback reports the block it ended at, and ingest
//! fetches again from the block after it.
//!
//! Crash safety: `rollback.pending` (the target) is written in the token's
//! root before anything changes and removed when the projection is whole
//! again. Every step is idempotent, so opening a token with the marker does
//! the whole rollback again.

use serde::{Deserialize, Serialize};
use state::{BlockRef, Projection, TokenConfig};
use tracing::{info, warn};

use crate::checkpoint::{check_fits_log, check_restored};
use crate::crash::CrashPoint;
use crate::error::ReplayError;
use crate::fsutil;
use crate::reapply::{boundary_at_or_below, reapply, records_to_boundary, Stop};
use crate::runtime::{Ctx, TokenRuntime, Writer};

const MARKER: &str = "rollback.pending";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pending {
    target_block: u64,
    #[serde(default)]
    from_checkpoint: bool,
}

/// Where a rollback may start from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RollbackSource {
    /// The undo journal when it reaches the block, else a checkpoint.
    #[default]
    Auto,
    /// A checkpoint (or genesis), never the live projection: for an
    /// operator who distrusts it.
    Checkpoint,
}

/// How a rollback got back to its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RollbackVia {
    /// Undone with the undo journal.
    Journal,
    /// Restored from a checkpoint.
    Checkpoint,
    /// Replayed from genesis.
    Genesis,
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackReport {
    /// The block the token now stands at (the last block boundary at or
    /// below the block asked for); `None` when no block is left.
    pub block: Option<BlockRef>,
    /// The projection's `stateHash` there.
    pub state_hash: String,
    /// How it got there.
    pub via: RollbackVia,
    /// The checkpoint restored, `None` when undone or replayed from genesis.
    pub checkpoint: Option<String>,
    /// Log records re-applied on top of the checkpoint or the undone state.
    pub reapplied: u64,
    /// Log records kept.
    pub log_records: u64,
    /// Checkpoints destroyed because they were above the block.
    pub destroyed: Vec<String>,
}

impl TokenRuntime {
    /// Rolls the token back to `block`: truncates the log after the last
    /// block boundary at or below it (destroying the checkpoints above) and
    /// undoes the projection with the undo journal, or, beyond its reach,
    /// restores the newest checkpoint at or below (genesis when there is
    /// none) and re-applies the log from it. Queries of this token answer
    /// 503 meanwhile (status `rolling_back`); other tokens are not affected.
    /// Within the journal's reach the cost follows what the undone blocks
    /// changed, not the token's history.
    pub fn rollback_to(&self, block: u64) -> Result<RollbackReport, ReplayError> {
        self.rollback_with(block, RollbackSource::Auto)
    }

    /// [`TokenRuntime::rollback_to`], choosing where to start from.
    pub fn rollback_with(
        &self,
        block: u64,
        source: RollbackSource,
    ) -> Result<RollbackReport, ReplayError> {
        let config = self.entry.config();
        let mut w = self.lock();
        let projection = self.open_projection(&mut w)?;
        let meta = projection.meta()?;
        let cursor = meta.cursor.as_ref().map(|c| c.num);
        if cursor.is_none_or(|c| block > c) {
            return Err(ReplayError::BlockAboveCursor {
                symbol: self.ctx.symbol.clone(),
                block,
                cursor,
            });
        }
        if cursor == Some(block) && meta.log_records == w.log.position().records {
            return Ok(RollbackReport {
                block: meta.cursor,
                state_hash: meta.state_hash,
                via: RollbackVia::Journal,
                checkpoint: None,
                reapplied: 0,
                log_records: meta.log_records,
                destroyed: Vec::new(),
            });
        }
        let before = self.begin_swap();
        let result = match source {
            RollbackSource::Auto => self.rollback_open(&mut w, projection, &config, block),
            RollbackSource::Checkpoint => {
                drop(projection);
                self.rollback_closed(&mut w, &config, block, source)
            }
        };
        if result.is_ok() {
            if let Some(p) = &w.projection {
                self.entry.set_projection(p.clone());
            }
        }
        self.end_swap(before, &result);
        if let Ok(report) = &result {
            self.publish_moved(cursor, report.block.as_ref());
            info!(
                token = %self.ctx.symbol,
                block = report.block.as_ref().map(|b| b.num),
                via = ?report.via,
                checkpoint = report.checkpoint.as_deref().unwrap_or("-"),
                reapplied = report.reapplied,
                "rolled back"
            );
        }
        result
    }

    /// The rollback with the projection's environment kept open for the
    /// undo journal; it is closed only when a checkpoint has to serve.
    fn rollback_open(
        &self,
        w: &mut Writer,
        projection: Projection,
        config: &TokenConfig,
        block: u64,
    ) -> Result<RollbackReport, ReplayError> {
        // Readers get 503 while it changes; the writer's clone keeps the
        // environment open (closing a large map costs milliseconds).
        drop(self.entry.take_projection());
        // A panic (the writer's lock survives it) must leave the projection
        // closed too, or the next call would not see the pending marker.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.rollback_in_place(w, projection, config, block)
        }));
        if !matches!(outcome, Ok(Ok(_))) {
            // The next writer call finishes the rollback from its marker,
            // which it does only with the environment closed.
            if let Err(e) = self.close_projection(w) {
                warn!(token = %self.ctx.symbol, error = %e, "could not close the projection after a failed rollback");
            }
        }
        outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// `projection` is the writer's, open.
    fn rollback_in_place(
        &self,
        w: &mut Writer,
        projection: Projection,
        config: &TokenConfig,
        block: u64,
    ) -> Result<RollbackReport, ReplayError> {
        let ctx = &self.ctx;
        mark_pending(ctx, block, RollbackSource::Auto)?;
        ctx.crash.check(CrashPoint::RollbackAfterMarker)?;
        let (checkpoints, destroyed) = destroy_above(ctx, block)?;
        w.newest_checkpoint = checkpoints.last().map(|c| c.block);
        let report = match by_journal(ctx, w, &projection, block, &destroyed)? {
            Some(report) => report,
            None => {
                drop(projection);
                self.close_projection(w)?;
                from_checkpoint(ctx, w, config, block, checkpoints, destroyed)?
            }
        };
        clear_pending(ctx)?;
        Ok(report)
    }

    fn rollback_closed(
        &self,
        w: &mut Writer,
        config: &TokenConfig,
        block: u64,
        source: RollbackSource,
    ) -> Result<RollbackReport, ReplayError> {
        self.close_projection(w)?;
        mark_pending(&self.ctx, block, source)?;
        self.ctx.crash.check(CrashPoint::RollbackAfterMarker)?;
        let report = run(&self.ctx, w, config, block, source)?;
        clear_pending(&self.ctx)?;
        Ok(report)
    }
}

fn marker_path(ctx: &Ctx) -> std::path::PathBuf {
    ctx.layout.root.join(MARKER)
}

fn mark_pending(ctx: &Ctx, target_block: u64, source: RollbackSource) -> Result<(), ReplayError> {
    let pending = Pending {
        target_block,
        from_checkpoint: source == RollbackSource::Checkpoint,
    };
    fsutil::write_json(&marker_path(ctx), &pending)
}

/// The target of a rollback a crash interrupted, if any, and where it started from.
pub(crate) fn pending_target(ctx: &Ctx) -> Result<Option<(u64, RollbackSource)>, ReplayError> {
    Ok(fsutil::read_json::<Pending>(&marker_path(ctx))?.map(|p| {
        let source = if p.from_checkpoint {
            RollbackSource::Checkpoint
        } else {
            RollbackSource::Auto
        };
        (p.target_block, source)
    }))
}

pub(crate) fn clear_pending(ctx: &Ctx) -> Result<(), ReplayError> {
    fsutil::remove_file(&marker_path(ctx))
}

/// The rollback itself, with the projection's environment closed; leaves
/// the reopened projection in `w`. Idempotent, so it can be run again after
/// a crash at any step.
pub(crate) fn run(
    ctx: &Ctx,
    w: &mut Writer,
    config: &TokenConfig,
    target: u64,
    source: RollbackSource,
) -> Result<RollbackReport, ReplayError> {
    let (checkpoints, destroyed) = destroy_above(ctx, target)?;
    if source == RollbackSource::Auto {
        w.newest_checkpoint = checkpoints.last().map(|c| c.block);
        let state_dir = &ctx.layout.state_dir;
        // A reader may still hold the environment a failed rollback left.
        ctx.wait_closed(state_dir)?;
        match Projection::open(state_dir, config) {
            // Left by an earlier build (a rollback it did not finish): its
            // journal is of another layout, so a checkpoint or genesis serves.
            Err(state::StateError::Outdated { .. }) => ctx.wait_closed(state_dir)?,
            opened => {
                let projection = opened?;
                if let Some(report) = by_journal(ctx, w, &projection, target, &destroyed)? {
                    return Ok(report);
                }
                drop(projection);
                ctx.wait_closed(state_dir)?;
            }
        }
    }
    from_checkpoint(ctx, w, config, target, checkpoints, destroyed)
}

/// Destroys the checkpoints above `target`, which describe blocks the log
/// is about to lose; returns the ones left (oldest first) and the names
/// destroyed.
fn destroy_above(
    ctx: &Ctx,
    target: u64,
) -> Result<(Vec<crate::CheckpointInfo>, Vec<String>), ReplayError> {
    let mut checkpoints = ctx.store.list()?;
    let mut destroyed = Vec::new();
    for c in checkpoints.iter().rev().filter(|c| c.block > target) {
        ctx.store.destroy(&c.name)?;
        destroyed.push(c.name.clone());
    }
    checkpoints.retain(|c| c.block <= target);
    ctx.crash.check(CrashPoint::RollbackAfterDestroy)?;
    Ok((checkpoints, destroyed))
}

/// The rollback from the newest checkpoint at or below `target` that fits
/// the log (genesis when there is none), with the projection's environment
/// closed.
fn from_checkpoint(
    ctx: &Ctx,
    w: &mut Writer,
    config: &TokenConfig,
    target: u64,
    mut checkpoints: Vec<crate::CheckpointInfo>,
    mut destroyed: Vec<String>,
) -> Result<RollbackReport, ReplayError> {
    let mut base = None;
    while let Some(c) = checkpoints.pop() {
        match check_fits_log(&ctx.symbol, &w.log, &c) {
            Ok(()) => {
                base = Some(c);
                break;
            }
            Err(e) => {
                // It can never fit again: the log only loses records below it by truncation.
                warn!(token = %ctx.symbol, checkpoint = %c.name, error = %e, "destroying a checkpoint that does not fit the log");
                ctx.store.destroy(&c.name)?;
                destroyed.push(c.name.clone());
            }
        }
    }
    w.newest_checkpoint = base.as_ref().map(|c| c.block);
    let start = base.as_ref().map_or(0, |c| c.log_records);
    let (end, _) = boundary_at_or_below(&w.log, start, target)?;
    if end < w.log.position().records {
        w.log.truncate_to_records(end)?;
    }
    ctx.crash.check(CrashPoint::RollbackAfterTruncate)?;
    let state_dir = &ctx.layout.state_dir;
    match &base {
        Some(c) => ctx.store.restore_live(c, state_dir)?,
        None => ctx.remove_projection()?,
    }
    ctx.crash.check(CrashPoint::RollbackAfterRestore)?;
    let (projection, start) = match Projection::open(state_dir, config) {
        // A checkpoint an earlier build took, in another layout or contract
        // version: the log rebuilds the projection from genesis instead.
        Err(state::StateError::Outdated { detail, .. }) if base.is_some() => {
            warn!(token = %ctx.symbol, "{detail}: rolling back from genesis instead of the checkpoint");
            base = None;
            ctx.wait_closed(state_dir)?;
            ctx.remove_projection()?;
            (Projection::open(state_dir, config)?, 0)
        }
        opened => (opened?, start),
    };
    if let Some(c) = &base {
        check_restored(&ctx.symbol, &projection, c)?;
    }
    let (reapplied, meta) = finish(ctx, w, projection, start, end)?;
    Ok(RollbackReport {
        block: meta.cursor,
        state_hash: meta.state_hash,
        via: if base.is_some() {
            RollbackVia::Checkpoint
        } else {
            RollbackVia::Genesis
        },
        checkpoint: base.map(|c| c.name),
        reapplied,
        log_records: end,
        destroyed,
    })
}

/// The rollback with the undo journal, if it reaches `target`; `None`, with
/// the projection as it was, when the journal cannot serve it. Safe to run
/// again after a crash at any step: the log is cut first, and the
/// projection, ahead of the log or not, is rewound to the cut in one
/// transaction.
fn by_journal(
    ctx: &Ctx,
    w: &mut Writer,
    projection: &Projection,
    target: u64,
    destroyed: &[String],
) -> Result<Option<RollbackReport>, ReplayError> {
    let plan = match projection.unwind_base(target)? {
        Some(base) if base <= w.log.position().records => Some(base),
        _ => None,
    };
    let Some(base) = plan else {
        return Ok(None);
    };
    let (end, records) = records_to_boundary(&w.log, base, target)?;
    if end < w.log.position().records {
        w.log.truncate_to_records(end)?;
    }
    ctx.crash.check(CrashPoint::RollbackAfterTruncate)?;
    // The rewind is one transaction: a crash in it leaves the projection
    // as it was after the cut, so that is where this crash point stops.
    ctx.crash.check(CrashPoint::RollbackMidReapply)?;
    let Some(landed) = projection.rewind(&records, base, end)? else {
        warn!(token = %ctx.symbol, target, "the undo journal fell short: restoring a checkpoint instead");
        return Ok(None);
    };
    ctx.crash.check(CrashPoint::RollbackAfterRestore)?;
    // The marker goes next: what it protected must be on disk first.
    fsutil::sync_file(&ctx.data_file())?;
    let meta = projection.meta()?;
    w.projection = Some(projection.clone());
    Ok(Some(RollbackReport {
        block: meta.cursor,
        state_hash: meta.state_hash,
        via: RollbackVia::Journal,
        checkpoint: None,
        reapplied: end - landed,
        log_records: end,
        destroyed: destroyed.to_vec(),
    }))
}

/// Re-applies the log `[from, end)` to the restored or unwound projection,
/// syncs it and hands it to the writer; returns the records re-applied and
/// where the projection stands.
fn finish(
    ctx: &Ctx,
    w: &mut Writer,
    projection: Projection,
    from: u64,
    end: u64,
) -> Result<(u64, state::projection::Meta), ReplayError> {
    let stop = if ctx.crash.armed(CrashPoint::RollbackMidReapply) {
        Stop::Midway
    } else {
        Stop::AtEnd
    };
    let reapplied = reapply(&w.log, &projection, from, end, &|_, _| {}, stop, 0)?;
    if stop == Stop::Midway {
        return Err(ReplayError::SimulatedCrash(CrashPoint::RollbackMidReapply));
    }
    // The marker goes next: what it protected must be on disk first.
    fsutil::sync_file(&ctx.data_file())?;
    let meta = projection.meta()?;
    w.projection = Some(projection);
    Ok((reapplied, meta))
}
