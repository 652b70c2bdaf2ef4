//! Replay: rebuild the projection from a checkpoint (or genesis) and the
//! log, without touching the log, and swap it in.
//!
//! The new projection is built in `state/replay.tmp/` while the old one
//! keeps answering queries; the writer lock is held throughout, so ingest
//! waits. The swap closes the old environment (the token answers 503 for
//! that moment only) and renames the new `data.mdb` over the old one: a
//! crash before the rename leaves the old projection, after it the new one;
//! `replay.tmp` is removed on open either way. The replaced projection is
//! deleted on a background thread after the swap (`background_removal`),
//! from `replay.old`, which opening the token removes too.

use std::fs;

use state::projection::ProjectionOptions;
use state::{BlockRef, Projection};

use crate::background_removal::BackgroundRemoval;
use crate::checkpoint::{check_fits_log, check_restored};
use crate::crash::CrashPoint;
use crate::error::ReplayError;
use crate::fsutil;
use crate::reapply::{boundary_at_or_below, reapply_pipelined};
use crate::runtime::{TokenRuntime, Writer};

/// Name of the replaced projection's file in the work directory after the swap.
const REPLACED_FILE: &str = "replaced.mdb";

/// What a replay built.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// The block the new projection stands at; `None` when it holds no block.
    pub block: Option<BlockRef>,
    /// Its `stateHash`.
    pub state_hash: String,
    /// Log records applied on top of the checkpoint (or genesis).
    pub records: u64,
    /// The checkpoint it started from, `None` for genesis.
    pub checkpoint: Option<String>,
}

impl TokenRuntime {
    /// Rebuilds the projection from the checkpoint named `from_checkpoint`
    /// (genesis when `None`) by re-applying the log up to the last block
    /// boundary at or below `to_block` (the end of the log when `None`), and
    /// swaps it in. The log is not changed. `progress` gets (records
    /// applied, records to apply).
    ///
    /// Stopping short of the log's end leaves the projection behind the
    /// log, as after an unclean stop: queries see the state at that block
    /// until the next writer call ([`TokenRuntime::apply_batch`], a
    /// checkpoint, a rollback, or opening the token) applies the rest of
    /// the log again.
    pub fn replay(
        &self,
        from_checkpoint: Option<&str>,
        to_block: Option<u64>,
        progress: &dyn Fn(u64, u64),
    ) -> Result<ReplayReport, ReplayError> {
        let mut w = self.lock();
        // Finishes an interrupted rollback first, so the log is final.
        let old_cursor = self.open_projection(&mut w)?.meta()?.cursor.map(|c| c.num);
        let symbol = self.ctx.symbol.clone();
        let base = match from_checkpoint {
            None => None,
            Some(name) => {
                let all = self.ctx.store.list()?;
                match all.iter().find(|c| c.name == name) {
                    Some(found) => Some(found.clone()),
                    None => {
                        return Err(ReplayError::UnknownCheckpoint {
                            symbol,
                            name: name.to_string(),
                            available: all.into_iter().map(|c| c.name).collect(),
                        })
                    }
                }
            }
        };
        if let Some(c) = &base {
            check_fits_log(&symbol, &w.log, c)?;
        }
        let start = base.as_ref().map_or(0, |c| c.log_records);
        let (end, last_block) = match to_block {
            None => (w.log.position().records, w.log.position().last_block),
            Some(block) => {
                if let Some(c) = base.as_ref().filter(|c| c.block > block) {
                    return Err(ReplayError::BlockBelowCheckpoint {
                        symbol,
                        block,
                        checkpoint: c.name.clone(),
                    });
                }
                let last = w.log.position().last_block;
                if last.is_none_or(|l| block > l) {
                    return Err(ReplayError::BlockBeyondLog {
                        symbol,
                        block,
                        last,
                    });
                }
                let (end, last) = boundary_at_or_below(&w.log, start, block)?;
                (end, last.map(|b| b.num))
            }
        };
        let work = self.ctx.replay_dir();
        fsutil::remove_dir(&work)?;
        fsutil::create_dir(&work)?;
        let built = self.build(&w, base.as_ref(), start, end, last_block, progress);
        let records = match built {
            Ok(records) => records,
            Err(e) => {
                if let Err(cleanup) = fsutil::remove_dir(&work) {
                    tracing::warn!(token = %symbol, %cleanup, "could not remove the replay's work directory");
                }
                return Err(e);
            }
        };
        self.ctx.crash.check(CrashPoint::ReplayBeforeSwap)?;
        let before = self.begin_swap();
        let swapped = self.swap_in(&mut w);
        if swapped.is_err() {
            // Whatever the swap left there (the new file, or a second name
            // for the old one) would hold its disk space until the next open.
            if let Err(cleanup) = fsutil::remove_dir(&work) {
                tracing::warn!(token = %symbol, %cleanup, "could not remove the replay's work directory");
            }
        }
        self.end_swap(before, &swapped);
        let projection = swapped?;
        let meta = projection.meta()?;
        self.publish_moved(old_cursor, meta.cursor.as_ref());
        Ok(ReplayReport {
            block: meta.cursor,
            state_hash: meta.state_hash,
            records,
            checkpoint: base.map(|c| c.name),
        })
    }

    /// Builds the new projection in the work directory; returns the records applied.
    fn build(
        &self,
        w: &Writer,
        base: Option<&crate::CheckpointInfo>,
        start: u64,
        end: u64,
        last_block: Option<u64>,
        progress: &dyn Fn(u64, u64),
    ) -> Result<u64, ReplayError> {
        let work = self.ctx.replay_dir();
        if let Some(c) = base {
            self.ctx.store.materialize(c, &work)?;
        }
        let records = {
            let config = self.entry.config();
            // The copy is fsynced as a whole before the swap, and thrown
            // away if the build stops: its commits need not wait for the disk.
            let options = ProjectionOptions {
                sync_commits: false,
                ..ProjectionOptions::for_token(&config)
            };
            let projection = Projection::open_with(&work, &config, &options)?;
            if let Some(c) = base {
                check_restored(&self.ctx.symbol, &projection, c)?;
            }
            // Frames of blocks the journal's window has left behind would
            // only be written to be pruned again.
            let undo_from = last_block
                .unwrap_or(0)
                .saturating_sub(projection.undo_blocks());
            // Nothing else writes to the work copy: the contract of one
            // transaction may run while the one before is written.
            reapply_pipelined(&w.log, &projection, start, end, progress, undo_from)?
        };
        self.ctx.wait_closed(&work)?;
        fsutil::sync_file(&work.join("data.mdb"))?;
        Ok(records)
    }

    /// Replaces the live projection by the one built in the work directory.
    fn swap_in(&self, w: &mut Writer) -> Result<Projection, ReplayError> {
        let work = self.ctx.replay_dir();
        self.close_projection(w)?;
        let live = self.ctx.data_file();
        // The rename drops the old file's last name, and the kernel would
        // free all of it right there, with the token closed: a second
        // name in the work directory keeps it for a background thread.
        // Without one (a file system refusing hard links) it is freed here.
        if let Err(error) = fs::hard_link(&live, work.join(REPLACED_FILE)) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!(token = %self.ctx.symbol, %error, "the replaced projection is deleted in the swap");
            }
        }
        fs::rename(work.join("data.mdb"), &live)
            .map_err(|e| ReplayError::io("swapping in the replayed projection", &live, e))?;
        fsutil::sync_dir(&self.ctx.layout.state_dir)?;
        self.ctx.crash.check(CrashPoint::ReplayAfterRename)?;
        // The new projection is in place: what is left is cleaning up, and
        // failing at it must not report the replay as failed.
        w.removal = self.remove_work_dir();
        let projection = Projection::open(&self.ctx.layout.state_dir, &self.entry.config())?;
        w.projection = Some(projection.clone());
        self.entry.set_projection(projection.clone());
        Ok(projection)
    }

    /// Removes the work directory, and the replaced projection in it, on a
    /// background thread when it can (see `background_removal`). Its
    /// removal need not be durable, and a failure is only logged: opening
    /// the token removes both directories again.
    fn remove_work_dir(&self) -> Option<BackgroundRemoval> {
        let work = self.ctx.replay_dir();
        let replaced = self.ctx.replaced_dir();
        // Only an earlier removal that failed leaves it.
        let moved = fsutil::remove_dir(&replaced)
            .and_then(|()| {
                fs::rename(&work, &replaced).map_err(|e| ReplayError::io("moving aside", &work, e))
            })
            .map(|()| BackgroundRemoval::start(&replaced));
        let left = match moved {
            Ok(Ok(removal)) => return Some(removal),
            Ok(Err(_)) => fsutil::remove_dir(&replaced),
            Err(_) => fsutil::remove_dir(&work),
        };
        if let Err(error) = left {
            tracing::warn!(token = %self.ctx.symbol, %error, "could not remove the replay's work directory; it goes when the token is next opened");
        }
        None
    }
}
