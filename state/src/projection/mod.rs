//! The LMDB projection of one token: balances, grants, power-downs,
//! transfers, outcomes and the cursor, in one heed environment.
//!
//! Invariant 2 of architecture.md: [`Projection::apply`] commits the effects
//! of the records, the cursor and the log position in one write transaction.
//! The effects themselves come from [`crate::contract::apply_records`], the
//! same code the in-memory [`MemLedger`](crate::contract::MemLedger) runs.
//!
//! - `env`: opening the environment and its databases;
//! - `codec`: key and value layouts;
//! - `cursor_puts`: sorted puts through one cursor;
//! - `meta`: the books, log position and contract version;
//! - `store`: the contract's ledger over a write transaction;
//! - `batch_accounts`, `op_rows`, `deferred`: what a batch writes, gathered
//!   before the flush (by that ledger, or by a pipelined apply's recorder);
//! - `read`: transfers, rich list and outcome queries;
//! - `history`: figures and totals as of a past block (time travel).
//!
//! # History
//!
//! Every block that changes an account leaves a row with the account's
//! figures after that block, and a row with the token's supply and holders,
//! written by the same transaction as the effects. [`Projection::account_at`],
//! [`Projection::supply_at`] and [`Projection::richlist_at`] answer "as of
//! block N" from them. [`ProjectionOptions::history_blocks`] bounds how far
//! back (default: all); a block below [`Projection::earliest_block`] is
//! [`StateError::HistoryPruned`], one above the cursor
//! [`StateError::BlockNotIndexed`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use heed::{CompactionOption, Env, RwTxn, WithoutTls};
use serde::{Deserialize, Serialize};

use crate::block::{BlockNum, BlockRef};
use crate::contract::{
    self, apply_records, genesis_books, Outcome, PowerDown, Reject, CONTRACT_VERSION,
};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::token::TokenConfig;

mod batch_accounts;
mod codec;
mod cursor_puts;
mod deferred;
mod early_writeback;
mod env;
mod frame_stretches;
mod held_trx_rows;
mod history;
mod journal;
mod meta;
mod op_rows;
mod pages;
mod pipeline;
mod read;
mod recorder;
mod store;
mod stored;
mod transfer_chunks;
mod varint;

pub use env::{ProjectionOptions, DEFAULT_MAP_SIZE, DEFAULT_UNDO_BLOCKS};
pub use frame_stretches::FRAME_RECORDS;
pub use history::MAX_HISTORICAL_RICHLIST_ACCOUNTS;
pub use pipeline::Pipeline;

/// Whether [`Projection::apply_with`] records a batch in the undo journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// The batch can be unwound later (what [`Projection::apply`] does).
    Record,
    /// The batch cannot be unwound: no frame is written, and the frames of
    /// earlier batches are dropped, since an unwind cannot step over it.
    /// Rollbacks below it restore a checkpoint instead.
    Skip,
}

use env::Dbs;
use frame_stretches::batch_frames;
use history::HISTORY_LAYOUT;
use journal::FrameBuilder;
use meta::StoredMeta;
use read::Reader;
use store::LmdbLedger;
use transfer_chunks::ChunkWriter;

/// An account's figures in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Liquid balance.
    pub balance: u64,
    /// Own staked power.
    pub power: u64,
    /// Power others granted to this account.
    pub granted_in: u64,
    /// Power this account granted away.
    pub granted_out: u64,
}

/// The projection's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Last block fully applied, or `None` before the first batch.
    pub cursor: Option<BlockRef>,
    /// Number of log records applied (the log position the projection is at).
    pub log_records: u64,
    /// Running hash over every block's applied effects, 64 hex characters.
    pub state_hash: String,
    /// Sum over accounts of `balance + power`.
    pub supply: u128,
    /// Accounts with `balance + power > 0`.
    pub holders: u64,
    /// Number of accounts with any non-zero figure.
    pub accounts: u64,
    /// Contract version the projection was built with.
    pub contract_version: u32,
    /// Earliest block a query "as of block N" may ask for: the token's start
    /// block minus one (its genesis) unless history retention pruned more.
    pub earliest_block: BlockNum,
}

/// One transfer (a successful `send`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Block number.
    pub block: BlockNum,
    /// Transaction id.
    pub trx_id: String,
    /// Index of the transaction in the block.
    pub trx_index: u32,
    /// Index of the operation in the transaction.
    pub op_index: u32,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Amount in base units.
    pub amount: u64,
    /// Memo, at most 2048 bytes.
    pub memo: String,
    /// Block timestamp.
    pub timestamp: String,
}

/// Filter and page of a transfers query. Results are newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferQuery {
    /// Transfers from or to this account.
    pub account: Option<String>,
    /// Transfers from this account.
    pub from: Option<String>,
    /// Transfers to this account.
    pub to: Option<String>,
    /// Lowest block, inclusive.
    pub from_block: Option<BlockNum>,
    /// Highest block, inclusive.
    pub to_block: Option<BlockNum>,
    /// Page size (callers cap it).
    pub limit: usize,
    /// Opaque cursor from a previous page's `next`.
    pub cursor: Option<String>,
}

/// One page of transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferPage {
    /// The transfers, newest first.
    pub transfers: Vec<Transfer>,
    /// Cursor of the next page, `None` on the last page.
    pub next: Option<String>,
}

/// One entry of the rich list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichEntry {
    /// Account name.
    pub account: String,
    /// Its figures.
    pub state: AccountState,
}

/// One page of the rich list, by `balance + power` descending, ties by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichPage {
    /// The accounts.
    pub entries: Vec<RichEntry>,
    /// Cursor of the next page, `None` on the last page.
    pub next: Option<String>,
}

/// The stored outcome of one logged operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpOutcome {
    /// Block number.
    pub block: BlockNum,
    /// Transaction id.
    pub trx_id: String,
    /// Index of the transaction in the block.
    pub trx_index: u32,
    /// Index of the operation in the transaction.
    pub op_index: u32,
    /// Operation name (id without prefix).
    pub name: String,
    /// Sender, if any.
    pub sender: Option<String>,
    /// What happened.
    pub outcome: Outcome,
}

/// Raw rows by database name (see [`Projection::raw_tables`]).
#[doc(hidden)]
pub type RawTables = std::collections::BTreeMap<&'static str, Vec<(Vec<u8>, Vec<u8>)>>;

/// What one `apply` call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Operations applied.
    pub applied: u64,
    /// Operations rejected.
    pub rejected: u64,
    /// Operations rejected, by reason: index `i` counts `Reject::ALL[i]`.
    pub rejected_by_reason: [u64; Reject::ALL.len()],
    /// Operations unsupported.
    pub unsupported: u64,
    /// Blocks completed (BlockEnd records).
    pub blocks: u64,
}

impl ApplySummary {
    /// Adds what `other` counted.
    pub fn add(&mut self, other: &ApplySummary) {
        self.applied += other.applied;
        self.rejected += other.rejected;
        for (mine, theirs) in self
            .rejected_by_reason
            .iter_mut()
            .zip(other.rejected_by_reason)
        {
            *mine += theirs;
        }
        self.unsupported += other.unsupported;
        self.blocks += other.blocks;
    }
}

/// A token's LMDB projection. Cheap to clone (shares the environment).
///
/// One environment per directory and process: open each token's projection
/// once and share the clones (the [`Catalog`](crate::Catalog) does).
#[derive(Clone)]
pub struct Projection {
    inner: Arc<Inner>,
}

struct Inner {
    env: Env<WithoutTls>,
    dbs: Dbs,
    config: TokenConfig,
    path: PathBuf,
    history_blocks: Option<u64>,
    undo_blocks: u64,
    /// When this process last gave back the map's pages (see `pages`).
    pages_released: std::sync::Mutex<std::time::Instant>,
}

impl fmt::Debug for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Projection")
            .field("symbol", &self.inner.config.symbol)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Projection {
    /// Opens the projection in `dir`, creating it and applying the genesis of
    /// `config` if it is new.
    /// History is kept for the token's `historyBlocks` (all of it when unset).
    pub fn open(dir: &Path, config: &TokenConfig) -> Result<Self, StateError> {
        Projection::open_with(dir, config, &ProjectionOptions::for_token(config))
    }

    /// [`Projection::open`] with explicit options.
    pub fn open_with(
        dir: &Path,
        config: &TokenConfig,
        options: &ProjectionOptions,
    ) -> Result<Self, StateError> {
        std::fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let lmdb = |e| StateError::lmdb(dir, e);
        let env = env::open_env(dir, options).map_err(lmdb)?;
        let dbs = env::create_dbs(&env).map_err(lmdb)?;
        let projection = Projection {
            inner: Arc::new(Inner {
                env,
                dbs,
                config: config.clone(),
                path: dir.to_path_buf(),
                history_blocks: options.history_blocks,
                undo_blocks: options.undo_blocks,
                pages_released: std::sync::Mutex::new(std::time::Instant::now()),
            }),
        };
        projection.init()?;
        Ok(projection)
    }

    /// Applies the genesis to a new projection; checks the contract version of an old one.
    fn init(&self) -> Result<(), StateError> {
        let inner = &*self.inner;
        let mut wtxn = inner.env.write_txn().map_err(|e| self.lmdb(e))?;
        match meta::load(&wtxn, &inner.dbs, &inner.path)? {
            Some(stored)
                if stored.contract_version == CONTRACT_VERSION
                    && stored.history_layout == HISTORY_LAYOUT =>
            {
                return Ok(())
            }
            Some(stored) if stored.contract_version == CONTRACT_VERSION => {
                return Err(StateError::Outdated {
                    symbol: inner.config.symbol.clone(),
                    detail: format!(
                        "the projection in {} has history layout {} but this build writes \
                         layout {HISTORY_LAYOUT}",
                        inner.path.display(),
                        stored.history_layout
                    ),
                })
            }
            Some(stored) => {
                return Err(StateError::Outdated {
                    symbol: inner.config.symbol.clone(),
                    detail: format!(
                        "the projection in {} was built by contract version {} but this is version \
                         {CONTRACT_VERSION}",
                        inner.path.display(),
                        stored.contract_version
                    ),
                })
            }
            None => {}
        }
        let books = {
            let mut ledger = LmdbLedger::new(
                &mut wtxn,
                &inner.dbs,
                &inner.path,
                inner.history_blocks.is_some(),
                None,
            );
            let books = genesis_books(&mut ledger, &inner.config)?;
            ledger.flush()?;
            books
        };
        let stored = StoredMeta {
            books,
            log_records: 0,
            contract_version: CONTRACT_VERSION,
            history_layout: HISTORY_LAYOUT,
            history_from: 0,
            journal_next: 0,
        };
        meta::store(&mut wtxn, &inner.dbs, &inner.path, &stored)?;
        wtxn.commit().map_err(|e| self.lmdb(e))
    }

    fn lmdb(&self, e: heed::Error) -> StateError {
        StateError::lmdb(&self.inner.path, e)
    }

    /// Runs `f` over one read transaction.
    fn read<T>(
        &self,
        f: impl FnOnce(&Reader<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let inner = &*self.inner;
        let rtxn = inner.env.read_txn().map_err(|e| self.lmdb(e))?;
        f(&Reader {
            txn: &rtxn,
            dbs: &inner.dbs,
            path: &inner.path,
        })
    }

    fn stored_meta(&self, reader: &Reader<'_>) -> Result<StoredMeta, StateError> {
        meta::load(reader.txn, reader.dbs, reader.path)?.ok_or_else(|| StateError::Corrupt {
            path: self.inner.path.clone(),
            detail: "the projection has no meta record".into(),
        })
    }

    /// Applies log records in one write transaction and records that the
    /// projection now stands at log position `log_records_after`. The batch
    /// can be undone later ([`Undo::Record`]).
    ///
    /// Records must continue where the projection stands (operations in
    /// strictly increasing chain order, nothing in a completed block);
    /// otherwise nothing is applied and the error is
    /// [`StateError::InvalidArgument`]. Any error leaves the projection as it was.
    pub fn apply(
        &self,
        records: &[LogRecord],
        log_records_after: u64,
    ) -> Result<ApplySummary, StateError> {
        self.apply_with(records, log_records_after, Undo::Record)
    }

    /// [`Projection::apply`], saying whether the batch goes in the undo
    /// journal. A replay skips it for batches older than the journal's
    /// window would keep anyway: their frames would only be written to be
    /// pruned.
    ///
    /// A recorded batch with several block ends gets a frame per stretch
    /// of at least [`FRAME_RECORDS`] records, cut at its block ends (all in
    /// its one transaction): one per block, so a rollback into it undoes
    /// only the blocks above its target, not the whole batch.
    pub fn apply_with(
        &self,
        records: &[LogRecord],
        log_records_after: u64,
        undo: Undo,
    ) -> Result<ApplySummary, StateError> {
        let (mut wtxn, mut stored) = self.begin_batch()?;
        let summary =
            self.apply_frames(&mut wtxn, &mut stored, records, log_records_after, undo)?;
        self.end_batch(wtxn, stored, log_records_after)?;
        Ok(summary)
    }

    /// Applies `records` in `wtxn`, in frames cut at its block ends
    /// ([`FRAME_RECORDS`]) when the batch is recorded; `stored` is brought
    /// up to date but not written, and its log position is the caller's to
    /// set (`end_batch`).
    fn apply_frames(
        &self,
        wtxn: &mut RwTxn<'_>,
        stored: &mut StoredMeta,
        records: &[LogRecord],
        log_records_after: u64,
        undo: Undo,
    ) -> Result<ApplySummary, StateError> {
        let config = &self.inner.config;
        let stretches = batch_frames(
            records,
            &stored.books,
            stored.log_records,
            log_records_after,
            undo,
        )?;
        let mut summary = ApplySummary::default();
        let mut chunks = ChunkWriter::for_transaction();
        for stretch in stretches {
            let done = self.write_frame(wtxn, stored, undo, &mut chunks, |ledger, books| {
                apply_records(ledger, books, config, stretch)
            })?;
            summary.add(&done);
            // The next frame's header says where this one ends.
            stored.log_records = stored.log_records.saturating_add(stretch.len() as u64);
        }
        let inner = &*self.inner;
        chunks.finish(wtxn, inner.dbs.account_transfers, &inner.path)?;
        Ok(summary)
    }

    /// A write transaction and the meta record it starts from.
    fn begin_batch(&self) -> Result<(RwTxn<'_>, StoredMeta), StateError> {
        let inner = &*self.inner;
        let wtxn = inner.env.write_txn().map_err(|e| self.lmdb(e))?;
        let stored =
            meta::load(&wtxn, &inner.dbs, &inner.path)?.ok_or_else(|| StateError::Corrupt {
                path: inner.path.clone(),
                detail: "the projection has no meta record".into(),
            })?;
        Ok((wtxn, stored))
    }

    /// Runs `run` on a ledger, flushes its rows and writes its undo frame
    /// (with `stored` as the frame's header), or drops the journal when
    /// the batch skips it; `stored` is brought up to date but not written.
    fn write_frame<T>(
        &self,
        wtxn: &mut RwTxn<'_>,
        stored: &mut StoredMeta,
        undo: Undo,
        chunks: &mut ChunkWriter,
        run: impl FnOnce(&mut LmdbLedger<'_, '_>, &mut contract::Books) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let inner = &*self.inner;
        let before = stored.clone();
        let (out, frame) = {
            let mut ledger = LmdbLedger::new(
                wtxn,
                &inner.dbs,
                &inner.path,
                inner.history_blocks.is_some(),
                (undo == Undo::Record).then(|| FrameBuilder::new(&before)),
            )
            .with_chunk_writer(std::mem::take(chunks));
            let out = run(&mut ledger, &mut stored.books)?;
            ledger.flush()?;
            let (frame, used) = ledger.into_parts();
            *chunks = used;
            (out, frame)
        };
        match frame {
            Some(frame) => {
                frame.write(wtxn, &inner.dbs, &inner.path, &before)?;
                stored.journal_next = before.journal_next.saturating_add(1);
                if let Some(cursor) = &stored.books.cursor {
                    let limit = cursor.num.saturating_sub(inner.undo_blocks);
                    journal::prune(wtxn, &inner.dbs, &inner.path, limit)?;
                }
            }
            // Frames below a batch that has none could never be reached.
            None => journal::clear(wtxn, &inner.dbs, &inner.path)?,
        }
        Ok(out)
    }

    /// Prunes history, stores the meta record at `log_records_after` and
    /// commits.
    fn end_batch(
        &self,
        mut wtxn: RwTxn<'_>,
        mut stored: StoredMeta,
        log_records_after: u64,
    ) -> Result<(), StateError> {
        let inner = &*self.inner;
        if let (Some(keep), Some(cursor)) = (inner.history_blocks, &stored.books.cursor) {
            let horizon = cursor.num.saturating_sub(keep);
            if horizon > stored.history_from {
                stored.history_from = horizon;
            }
            history::prune(&mut wtxn, &inner.dbs, &inner.path, stored.history_from)?;
        }
        stored.log_records = log_records_after;
        meta::store(&mut wtxn, &inner.dbs, &inner.path, &stored)?;
        wtxn.commit().map_err(|e| self.lmdb(e))?;
        self.release_pages_if_due();
        Ok(())
    }

    /// Gives back the pages of the LMDB map this process has read, so they
    /// stop counting in its resident memory (they stay in the page cache;
    /// the next read maps them again). Returns the bytes of map released.
    /// Applies do it by themselves at most once a second; a process that
    /// only reads may call it from time to time.
    pub fn release_pages(&self) -> Result<u64, StateError> {
        let file = env::data_file(&self.inner.path);
        pages::release_mapped(&file).map_err(|e| StateError::io(&file, e))
    }

    fn release_pages_if_due(&self) {
        let Ok(mut last) = self.inner.pages_released.try_lock() else {
            return; // another thread is releasing them right now
        };
        if last.elapsed() < pages::RELEASE_EVERY {
            return;
        }
        *last = std::time::Instant::now();
        drop(last);
        if let Err(e) = self.release_pages() {
            // Only memory accounting is at stake: keep applying.
            tracing::debug!(error = %e, "could not release the projection's mapped pages");
        }
    }

    /// How many blocks back the undo journal reaches
    /// ([`ProjectionOptions::undo_blocks`]).
    pub fn undo_blocks(&self) -> u64 {
        self.inner.undo_blocks
    }

    /// Where an unwind to `block` would start reading the log: a log
    /// position at a block boundary at or below `block` that the undo
    /// journal reaches back to. `None` when it does not reach that far (see
    /// [`ProjectionOptions::undo_blocks`]), or when history retention has
    /// already pruned below it; a rollback must then restore a checkpoint.
    pub fn unwind_base(&self, block: BlockNum) -> Result<Option<u64>, StateError> {
        self.read(|r| {
            let stored = self.stored_meta(r)?;
            journal::plan(r.txn, r.dbs, r.path, &stored, block)
        })
    }

    /// Undoes applied batches, newest first, in one write transaction,
    /// until the projection stands at log position `log_records` or just
    /// below it (where the undo frame containing that position began: at a
    /// block end, the position itself, unless a batch ended no block there).
    /// Returns
    /// the log position it now stands at, for the caller to re-apply the log
    /// from there up to `log_records`. A projection already at or below
    /// `log_records` is left alone. `None`, with nothing changed, when the
    /// undo journal does not reach back far enough. The cost is proportional
    /// to what the undone batches changed, not to the token's history.
    pub fn unwind_to(&self, log_records: u64) -> Result<Option<u64>, StateError> {
        let inner = &*self.inner;
        let (mut wtxn, stored) = self.begin_batch()?;
        if stored.log_records <= log_records {
            return Ok(Some(stored.log_records));
        }
        let Some(unwound) =
            journal::unwind(&mut wtxn, &inner.dbs, &inner.path, stored, log_records)?
        else {
            wtxn.abort();
            return Ok(None);
        };
        meta::store(&mut wtxn, &inner.dbs, &inner.path, &unwound)?;
        wtxn.commit().map_err(|e| self.lmdb(e))?;
        Ok(Some(unwound.log_records))
    }

    /// [`Projection::unwind_to`] `log_records_after`, then
    /// [`Projection::apply`] of the records from where the unwind lands up
    /// to it, all in one write transaction: a rollback with the undo
    /// journal. The pages the unwind dirtied are mostly the ones the
    /// re-apply writes again, so one commit writes and syncs them once.
    ///
    /// `records` are the log records `[records_from, log_records_after)`,
    /// where `records_from` is a frame start at or below the landing
    /// ([`Projection::unwind_base`]). Returns the log position the unwind
    /// landed at (the records re-applied are the ones above it). `None`,
    /// with nothing changed, when the journal does not reach back far
    /// enough or the unwind would land below `records_from`. A projection
    /// already at or below `log_records_after` is not unwound, only brought
    /// up to it.
    pub fn rewind(
        &self,
        records: &[LogRecord],
        records_from: u64,
        log_records_after: u64,
    ) -> Result<Option<u64>, StateError> {
        let covered = records_from.checked_add(records.len() as u64);
        if covered != Some(log_records_after) {
            return Err(StateError::InvalidArgument(format!(
                "{} records from log position {records_from} do not end at {log_records_after}",
                records.len()
            )));
        }
        let inner = &*self.inner;
        let (mut wtxn, stored) = self.begin_batch()?;
        let mut landed = if stored.log_records > log_records_after {
            match journal::unwind(
                &mut wtxn,
                &inner.dbs,
                &inner.path,
                stored,
                log_records_after,
            )? {
                Some(unwound) => unwound,
                None => {
                    wtxn.abort();
                    return Ok(None);
                }
            }
        } else {
            stored
        };
        let Some(skip) = landed.log_records.checked_sub(records_from) else {
            wtxn.abort();
            return Ok(None);
        };
        let from = landed.log_records;
        let rest = usize::try_from(skip)
            .ok()
            .and_then(|skip| records.get(skip..))
            .unwrap_or_default();
        if !rest.is_empty() {
            self.apply_frames(
                &mut wtxn,
                &mut landed,
                rest,
                log_records_after,
                Undo::Record,
            )?;
        }
        self.end_batch(wtxn, landed, log_records_after)?;
        Ok(Some(from))
    }

    /// Every key and value of every database but the bookkeeping and the
    /// undo journal, by database name: for tests that compare two
    /// projections byte for byte.
    #[doc(hidden)]
    pub fn raw_tables(&self) -> Result<RawTables, StateError> {
        self.read(|r| {
            let dbs = r.dbs;
            let mut out = RawTables::new();
            for (name, db) in [
                ("accounts", dbs.accounts),
                ("grants", dbs.grants),
                ("power_downs", dbs.power_downs),
                ("due", dbs.due),
                ("transfers", dbs.transfers),
                ("account_transfers", dbs.account_transfers),
                ("outcomes", dbs.outcomes),
                ("trxs", dbs.trxs),
                ("rich", dbs.rich),
                ("history", dbs.history),
                ("history_totals", dbs.history_totals),
                ("history_expiry", dbs.history_expiry),
            ] {
                let mut rows = Vec::new();
                for item in db.iter(r.txn).map_err(|e| self.lmdb(e))? {
                    let (key, value) = item.map_err(|e| self.lmdb(e))?;
                    rows.push((key.to_vec(), value.to_vec()));
                }
                out.insert(name, rows);
            }
            Ok(out)
        })
    }

    /// The bookkeeping.
    pub fn meta(&self) -> Result<Meta, StateError> {
        self.read(|r| {
            let stored = self.stored_meta(r)?;
            Ok(Meta {
                cursor: stored.books.cursor.clone(),
                log_records: stored.log_records,
                state_hash: stored.books.state_hash_hex(),
                supply: stored.books.supply,
                holders: stored.books.holders,
                accounts: stored.books.accounts,
                contract_version: stored.contract_version,
                earliest_block: self.earliest(&stored),
            })
        })
    }

    /// Earliest block a query as of a block may ask for.
    fn earliest(&self, stored: &StoredMeta) -> BlockNum {
        self.genesis_block().max(stored.history_from)
    }

    /// The block the genesis stands for: the one before the start block.
    fn genesis_block(&self) -> BlockNum {
        self.inner.config.start_block.saturating_sub(1)
    }

    /// Refuses a block outside `earliest_block..=cursor` (the genesis block
    /// stands in for the cursor before the first batch).
    fn check_block(&self, stored: &StoredMeta, block: BlockNum) -> Result<(), StateError> {
        let earliest = self.earliest(stored);
        let latest = stored
            .books
            .cursor
            .as_ref()
            .map_or(self.genesis_block(), |c| c.num);
        if block > latest {
            return Err(StateError::BlockNotIndexed { block, latest });
        }
        if block < earliest {
            return Err(StateError::HistoryPruned { block, earliest });
        }
        Ok(())
    }

    /// Earliest block a query as of a block may ask for (see [`Meta::earliest_block`]).
    pub fn earliest_block(&self) -> Result<BlockNum, StateError> {
        self.read(|r| Ok(self.earliest(&self.stored_meta(r)?)))
    }

    /// Checks that queries as of `block` can be answered: an error names the
    /// earliest block ([`StateError::HistoryPruned`]) or the latest one
    /// ([`StateError::BlockNotIndexed`]).
    pub fn check_history_block(&self, block: BlockNum) -> Result<(), StateError> {
        self.read(|r| self.check_block(&self.stored_meta(r)?, block))
    }

    /// An account's figures as they were after block `block` (zeros when it
    /// had none), read in O(log n).
    pub fn account_at(&self, name: &str, block: BlockNum) -> Result<AccountState, StateError> {
        self.read(|r| {
            self.check_block(&self.stored_meta(r)?, block)?;
            r.account_at(name, block)
        })
    }

    /// Supply (sum of `balance + power`) and holders after block `block`.
    pub fn supply_at(&self, block: BlockNum) -> Result<(u128, u64), StateError> {
        self.read(|r| {
            self.check_block(&self.stored_meta(r)?, block)?;
            let totals = r.totals_at(block)?;
            Ok((totals.supply, totals.holders))
        })
    }

    /// A page of the rich list as it was after block `block`, in the order
    /// and with the cursors of [`Projection::richlist`]. Expensive: it reads
    /// every account with history, and refuses
    /// ([`StateError::Unsupported`]) beyond
    /// [`MAX_HISTORICAL_RICHLIST_ACCOUNTS`] of them.
    pub fn richlist_at(
        &self,
        block: BlockNum,
        limit: usize,
        after: Option<&str>,
    ) -> Result<RichPage, StateError> {
        self.read(|r| {
            self.check_block(&self.stored_meta(r)?, block)?;
            r.richlist_at(block, limit, after)
        })
    }

    /// The contract's books: progress, totals, `stateHash` and the events of
    /// a block still in progress.
    pub fn books(&self) -> Result<crate::contract::Books, StateError> {
        self.read(|r| Ok(self.stored_meta(r)?.books))
    }

    /// An account's figures (zeros for an unknown account) and the cursor they are at.
    pub fn account(&self, name: &str) -> Result<(AccountState, Option<BlockRef>), StateError> {
        self.read(|r| {
            let cursor = self.stored_meta(r)?.books.cursor;
            let state = if self.fits_in_a_key(name.len()) {
                stored::account(r.txn, r.dbs, r.path, name)?
            } else {
                AccountState::default()
            };
            Ok((state, cursor))
        })
    }

    /// What `from` grants to `to` (0 when nothing).
    pub fn grant(&self, from: &str, to: &str) -> Result<u64, StateError> {
        self.read(|r| {
            let mut key = Vec::new();
            codec::grant_key(&mut key, from, to);
            if self.fits_in_a_key(key.len()) {
                stored::grant(r.txn, r.dbs, r.path, &key)
            } else {
                Ok(0)
            }
        })
    }

    /// The account's pending power-down, if any.
    pub fn power_down(&self, account: &str) -> Result<Option<PowerDown>, StateError> {
        self.read(|r| {
            if self.fits_in_a_key(account.len()) {
                stored::power_down(r.txn, r.dbs, r.path, account)
            } else {
                Ok(None)
            }
        })
    }

    /// Whether LMDB can look up a key of `len` bytes. An empty one or a
    /// longer one (a name longer than any account can have) names nothing
    /// stored, and LMDB would refuse the lookup (`MDB_BAD_VALSIZE`).
    fn fits_in_a_key(&self, len: usize) -> bool {
        (1..=self.inner.env.max_key_size()).contains(&len)
    }

    /// A page of transfers, newest first.
    pub fn transfers(&self, query: &TransferQuery) -> Result<TransferPage, StateError> {
        self.read(|r| r.transfers(query))
    }

    /// A page of the rich list: accounts with `balance + power > 0`, by
    /// `balance + power` descending, ties by name.
    pub fn richlist(&self, limit: usize, after: Option<&str>) -> Result<RichPage, StateError> {
        self.read(|r| r.richlist(limit, after))
    }

    /// A page of every stored account (any non-zero figure, grants
    /// included) by name; for exports.
    pub fn accounts_by_name(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<RichPage, StateError> {
        self.read(|r| r.accounts_by_name(limit, after))
    }

    /// Outcomes of a transaction's operations for this token, by op index.
    pub fn ops(&self, trx_id: &str) -> Result<Vec<OpOutcome>, StateError> {
        self.read(|r| r.ops(trx_id))
    }

    /// The token definition the projection applies.
    pub fn config(&self) -> &TokenConfig {
        &self.inner.config
    }

    /// The environment's directory.
    pub fn env_path(&self) -> &Path {
        &self.inner.path
    }

    /// Bytes of the data file on disk.
    pub fn disk_size(&self) -> Result<u64, StateError> {
        self.inner.env.real_disk_size().map_err(|e| self.lmdb(e))
    }

    /// Writes a compacted copy of the environment as `dir/data.mdb` (a
    /// checkpoint). The copy is a consistent snapshot at a commit; open it
    /// with [`Projection::open`] on `dir`.
    pub fn copy_to(&self, dir: &Path) -> Result<(), StateError> {
        std::fs::create_dir_all(dir).map_err(|e| StateError::io(dir, e))?;
        let file = env::data_file(dir);
        let copy = self
            .inner
            .env
            .copy_to_path(&file, CompactionOption::Enabled)
            .map_err(|e| StateError::lmdb(dir, e))?;
        copy.sync_all().map_err(|e| StateError::io(&file, e))
    }
}
