//! A pipelined apply for long runs of batches (a replay): the contract runs
//! on the caller's thread against a [`Recorder`], while a writer thread
//! writes what the recorder gathered of the batch before through an
//! `LmdbLedger`, and commits it.
//! One thread alone leaves the second core idle; this way the contract and
//! the LMDB writes of consecutive batches overlap.
//!
//! The projection ends up exactly as [`Projection::apply_with`] would leave
//! it, batch for batch and frame for frame: the writer runs the same flush, undo frame and meta
//! code (`Projection::write_frame`) on what the recorder gathered in the
//! same forms `LmdbLedger` gathers it, and makes the other calls in the
//! same order; it checks before each batch that the books it loads are the
//! ones the contract started that batch from. The gathering and encoding
//! happen on the contract's thread, which leaves the writer the LMDB work
//! alone.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use crate::contract::{apply_records, Books};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::projection::early_writeback::EarlyWriteback;
use crate::projection::frame_stretches::batch_frames;
use crate::projection::held_trx_rows::HeldTrxRows;
use crate::projection::recorder::{Calls, CallsRoom, Known, Recorder};
use crate::projection::transfer_chunks::ChunkWriter;
use crate::projection::{ApplySummary, Projection, Undo};

/// Batches the contract may run ahead of the writer.
const AHEAD: usize = 1;

/// When a pipelined batch's transaction-id index rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrxRows {
    /// In the batch's own transaction.
    WithTheirBatch,
    /// Held back (see [`Projection::pipelined_work_copy`]).
    Held,
}

/// One batch on its way to the writer: one transaction.
struct Batch {
    frames: Vec<FrameCalls>,
    log_records_after: u64,
    undo: Undo,
}

/// What the contract did in one undo frame of a batch.
struct FrameCalls {
    calls: Calls,
    /// The books the contract started from, and where it left them.
    before: Books,
    after: Books,
    log_records_after: u64,
}

/// Applies batches with the contract on this thread and the writes on
/// another; made by [`Projection::pipelined`].
pub struct Pipeline<'p> {
    projection: &'p Projection,
    known: Known,
    /// What the last batch's calls held.
    room: CallsRoom,
    books: Books,
    /// The log position the last batch sent leaves the projection at.
    log_records: u64,
    batches: SyncSender<Batch>,
    /// Set when a batch failed halfway: the recorder's view is then ahead
    /// of anything that will be written.
    broken: bool,
}

impl Projection {
    /// Runs `work`, whose [`Pipeline::apply`] calls apply batches like
    /// [`Projection::apply_with`] but with the writes of one batch
    /// overlapping the contract of the next. Returns once every batch
    /// applied is committed (or the first error, the writer's first).
    ///
    /// Nothing else may write to the projection meanwhile; readers see each
    /// batch once it is committed, as with `apply_with`.
    pub fn pipelined<T>(
        &self,
        work: impl FnOnce(&mut Pipeline<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        self.run_pipelined(TrxRows::WithTheirBatch, work)
    }

    /// [`Projection::pipelined`] for a copy that is thrown away unless the
    /// whole run succeeds (a replay's). The transaction-id index rows of
    /// batches that record no undo frame are held back and written in key
    /// order (see `held_trx_rows`): before the first batch that records
    /// one, once they pass 64 MB, and last before this returns. Until
    /// then the committed batches lack them, and if the run fails they are
    /// lost, so readers must not use the copy before this returns `Ok`.
    /// From the write of the held rows before the first recorded batch
    /// (or at the end) on, what is committed is synced in the background
    /// (see `early_writeback`); the writes past 64 MB do not start it. The
    /// caller still syncs the copy before using it.
    pub fn pipelined_work_copy<T>(
        &self,
        work: impl FnOnce(&mut Pipeline<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        self.run_pipelined(TrxRows::Held, work)
    }

    fn run_pipelined<T>(
        &self,
        trx_rows: TrxRows,
        work: impl FnOnce(&mut Pipeline<'_>) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let (books, log_records) = self.read(|r| {
            let meta = self.stored_meta(r)?;
            Ok((meta.books, meta.log_records))
        })?;
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel::<Batch>(AHEAD);
            let writer = std::thread::Builder::new()
                .name("projection-writer".into())
                .spawn_scoped(scope, || self.write_batches(receiver, trx_rows))
                .map_err(|e| StateError::io(&self.inner.path, e))?;
            let mut pipeline = Pipeline {
                projection: self,
                known: Known::default(),
                room: CallsRoom::default(),
                books,
                log_records,
                batches: sender,
                broken: false,
            };
            let worked = work(&mut pipeline);
            // Closing the channel lets the writer finish what it was sent.
            drop(pipeline);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(self.writer_stopped("it panicked".into())));
            written.and(worked)
        })
    }

    fn write_batches(&self, batches: Receiver<Batch>, trx_rows: TrxRows) -> Result<(), StateError> {
        std::thread::scope(|scope| {
            let mut writeback = EarlyWriteback::default();
            let written =
                self.write_batches_with(batches, trx_rows, |dir| writeback.start(scope, dir));
            written.and(writeback.finish())
        })
    }

    /// [`Projection::write_batches`], calling `last_part_starts` when the
    /// writer turns to the held rows for the last time: from there on the
    /// contract has at most the journal's window left to apply (see
    /// `early_writeback`).
    fn write_batches_with(
        &self,
        batches: Receiver<Batch>,
        trx_rows: TrxRows,
        mut last_part_starts: impl FnMut(&std::path::Path),
    ) -> Result<(), StateError> {
        let mut held = HeldTrxRows::default();
        let path = &self.inner.path;
        for batch in batches {
            let undo = batch.undo;
            let (mut wtxn, mut stored) = self.begin_batch()?;
            let mut chunks = ChunkWriter::for_transaction();
            for (i, frame) in batch.frames.into_iter().enumerate() {
                self.write_frame(
                    &mut wtxn,
                    &mut stored,
                    undo,
                    &mut chunks,
                    |ledger, books| {
                        if *books != frame.before {
                            return Err(StateError::Corrupt {
                                path: path.clone(),
                                detail: "the pipelined apply's books differ from the projection's"
                                    .into(),
                            });
                        }
                        if i == 0 && undo == Undo::Record && !held.is_empty() {
                            // Before this batch's own rows, whose journal entries
                            // must see what the held ones put there.
                            last_part_starts(path);
                            ledger.write_held_trx_rows(&mut held)?;
                        }
                        frame.calls.replay_into(ledger)?;
                        if trx_rows == TrxRows::Held && undo == Undo::Skip {
                            held.hold(ledger.take_trx_rows());
                            if held.is_full() {
                                ledger.write_held_trx_rows(&mut held)?;
                            }
                        }
                        *books = frame.after;
                        Ok(())
                    },
                )?;
                stored.log_records = frame.log_records_after;
            }
            chunks.finish(&mut wtxn, self.inner.dbs.account_transfers, path)?;
            self.end_batch(wtxn, stored, batch.log_records_after)?;
        }
        if !held.is_empty() {
            last_part_starts(path);
            let inner = &*self.inner;
            let mut wtxn = inner.env.write_txn().map_err(|e| self.lmdb(e))?;
            held.write(&mut wtxn, &inner.dbs, &inner.path)?;
            wtxn.commit().map_err(|e| self.lmdb(e))?;
        }
        Ok(())
    }

    fn writer_stopped(&self, detail: String) -> StateError {
        StateError::WriterStopped {
            path: self.inner.path.clone(),
            detail,
        }
    }
}

impl Pipeline<'_> {
    /// Applies `records` as [`Projection::apply_with`] would, in one
    /// transaction with the same undo frames, the projection standing at
    /// log position `log_records_after` once the batch is written.
    /// Returns when the contract is done with the batch; the write follows
    /// on the writer thread.
    pub fn apply(
        &mut self,
        records: &[LogRecord],
        log_records_after: u64,
        undo: Undo,
    ) -> Result<ApplySummary, StateError> {
        let projection = self.projection;
        if self.broken {
            return Err(projection.writer_stopped("an earlier batch failed".into()));
        }
        let framed = batch_frames(
            records,
            &self.books,
            self.log_records,
            log_records_after,
            undo,
        );
        let stretches = match framed {
            Ok(stretches) => stretches,
            Err(e) => {
                self.broken = true;
                return Err(e);
            }
        };
        let mut summary = ApplySummary::default();
        let mut frames = Vec::with_capacity(stretches.len());
        let mut at = self.log_records;
        for stretch in stretches {
            at = at.saturating_add(stretch.len() as u64);
            let before = self.books.clone();
            let (done, calls) = match self.record(stretch) {
                Ok(ran) => ran,
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            };
            summary.add(&done);
            frames.push(FrameCalls {
                calls,
                before,
                after: self.books.clone(),
                log_records_after: at,
            });
        }
        let batch = Batch {
            frames,
            log_records_after,
            undo,
        };
        if self.batches.send(batch).is_err() {
            self.broken = true;
            // The writer's own error is what `pipelined` returns.
            return Err(projection.writer_stopped("it ended before this batch".into()));
        }
        self.log_records = log_records_after;
        Ok(summary)
    }

    /// Runs the contract on `records`, recording its ledger calls.
    fn record(&mut self, records: &[LogRecord]) -> Result<(ApplySummary, Calls), StateError> {
        let projection = self.projection;
        let inner = &*projection.inner;
        let rtxn = inner.env.read_txn().map_err(|e| projection.lmdb(e))?;
        let mut recorder =
            Recorder::new(&mut self.known, &rtxn, &inner.dbs, &inner.path, self.room);
        let summary = apply_records(&mut recorder, &mut self.books, &inner.config, records)?;
        let calls = recorder.into_calls();
        self.room = calls.room();
        Ok((summary, calls))
    }
}
