//! The log reader's thread of a replay, which cuts the records it decodes
//! into the transactions the applying thread applies.

use crossbeam_channel::{Receiver, Sender};
use state::projection::Undo;
use state::{EventLog, LogRecord, RecordSink, TokenOp};

use crate::error::ReplayError;
use crate::reapply::{Range, Stop, CHUNK_RECORDS};

/// One transaction's records as the reading thread cut them, and the log
/// position right after them.
pub(crate) struct Chunk {
    pub(crate) records: Vec<LogRecord>,
    pub(crate) position: u64,
    pub(crate) undo: Undo,
}

/// Transactions read from the log by a thread of their own, so reading and
/// decompressing overlap with applying.
pub(crate) type Chunks = Receiver<Result<Chunk, state::StateError>>;

/// Starts the thread that reads log records `[from, to)` and cuts them into
/// transactions: each ends at the first block end past [`CHUNK_RECORDS`]
/// records, at the end of the range, or (for [`Stop::Midway`]) at the first
/// block end past the middle, after which it stops; one also ends right
/// before the first record of the undo journal's window.
///
/// Each transaction waits on the channel until the last one is applied, as
/// far ahead as the reader can usefully be. Applied transactions come back
/// on the second channel, and the records of a later one are decoded into
/// theirs, where they stand (see [`ChunkSink`]). The thread ends when the
/// range is read or the transactions' receiver is gone.
pub(crate) fn read_chunks<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    log: &'scope EventLog,
    range: Range,
) -> Result<(Chunks, Sender<Vec<LogRecord>>), ReplayError> {
    let reader = log.read_from_record(range.from)?;
    let (chunks, received) = crossbeam_channel::bounded(0);
    let (spent, applied) = crossbeam_channel::bounded::<Vec<LogRecord>>(2);
    scope.spawn(move || {
        let mut sink = ChunkSink {
            range,
            midway: range.from + range.to.saturating_sub(range.from) / 2,
            position: range.from,
            chunk: Vec::with_capacity(CHUNK_RECORDS),
            filled: 0,
            chunks,
            applied,
        };
        match reader.drain_into(&mut sink) {
            Ok(()) => sink.finish(),
            Err(e) => {
                let _ = sink.chunks.send(Err(e));
            }
        }
    });
    Ok((received, spent))
}

/// Cuts the records of a range into transactions as the log reader decodes
/// them. A transaction's records are decoded straight into the vector that
/// is handed over, into the records of an applied transaction where one
/// came back: once these are the records' places, a record is never moved
/// (each move was 160 bytes, and the moves between the decoder, the
/// reader's batches, the transactions and the given-back records were most
/// of the log reader's copying, BENCHMARKS.md run 28).
struct ChunkSink {
    range: Range,
    midway: u64,
    /// Log position of the next record.
    position: u64,
    /// Records `..filled` are the transaction's; those after are an applied
    /// transaction's, to be decoded into.
    chunk: Vec<LogRecord>,
    filled: usize,
    chunks: Sender<Result<Chunk, state::StateError>>,
    applied: Receiver<Vec<LogRecord>>,
}

impl ChunkSink {
    /// Sends the transaction's records, standing at `position`; false when
    /// nobody takes them any more. Unless it was the `last`, the next is
    /// decoded into an applied transaction that came back (the one before
    /// the one just taken, once the reader is ahead), or into a new vector
    /// with room for as many.
    fn hand_over(&mut self, undo: Undo, last: bool) -> bool {
        let mut records = std::mem::take(&mut self.chunk);
        records.truncate(self.filled);
        let room = std::mem::replace(&mut self.filled, 0);
        let taken = self
            .chunks
            .send(Ok(Chunk {
                records,
                position: self.position,
                undo,
            }))
            .is_ok();
        if taken && !last {
            self.chunk = self
                .applied
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(room));
        }
        taken
    }

    /// [`ChunkSink::hand_over`] of the records before the one just decoded,
    /// which becomes the first of the next transaction.
    fn hand_over_before_this(&mut self, undo: Undo) -> bool {
        let Some(slot) = self.chunk.get_mut(self.filled) else {
            return false;
        };
        let this = std::mem::replace(slot, LogRecord::Op(TokenOp::default()));
        if !self.hand_over(undo, false) {
            return false;
        }
        match self.chunk.first_mut() {
            Some(first) => *first = this,
            None => self.chunk.push(this),
        }
        true
    }

    /// Hands over what is left when the log ended before the range did, or
    /// the range does not end at a block boundary (callers never ask for
    /// that): applied, the projection matches the log.
    fn finish(mut self) {
        if self.filled > 0 {
            self.hand_over(Undo::Record, true);
        }
    }
}

impl RecordSink for ChunkSink {
    fn slot(&mut self) -> &mut LogRecord {
        if self.filled == self.chunk.len() {
            self.chunk.push(LogRecord::Op(TokenOp::default()));
        }
        &mut self.chunk[self.filled]
    }

    fn filled(&mut self) -> bool {
        let Range {
            to,
            stop,
            undo_from,
            ..
        } = self.range;
        let Some(record) = self.chunk.get(self.filled) else {
            return false;
        };
        let record_block = record.block();
        let ends_block = matches!(record, LogRecord::BlockEnd(_));
        // The journal's window starts at this record: a transaction that
        // records frames from further back only writes them to be pruned.
        let after_the_last = self.filled.checked_sub(1).and_then(|i| self.chunk.get(i));
        let window_starts = record_block >= undo_from
            && matches!(after_the_last, Some(LogRecord::BlockEnd(end)) if end.num < undo_from);
        if window_starts && !self.hand_over_before_this(Undo::Skip) {
            return false;
        }
        self.filled += 1;
        self.position += 1;
        let full = self.filled >= CHUNK_RECORDS;
        let stop_here = stop == Stop::Midway && self.position > self.midway;
        if ends_block && (full || stop_here || self.position == to) {
            let undo = if record_block < undo_from {
                Undo::Skip
            } else {
                Undo::Record
            };
            let last = self.position == to || stop_here;
            if !self.hand_over(undo, last) || stop_here {
                return false;
            }
        }
        self.position < to
    }
}
