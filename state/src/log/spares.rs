//! Records given back to a log reader, for later frames to be decoded into.

use crate::block::BlockRef;
use crate::log::LogRecord;
use crate::op::TokenOp;

/// Most records kept; more given back are dropped. A replay's
/// transaction (50,000 records and the rest of its last block) fits.
const MOST_KEPT: usize = 65_536;

/// Given-back operations and block ends, kept apart so that the decoder
/// takes one of the kind it reads (a log written block by block has a
/// block end after every few operations).
#[derive(Debug, Default)]
pub(super) struct Spares {
    ops: Vec<TokenOp>,
    ends: Vec<BlockRef>,
}

impl Spares {
    /// Keeps `records`, up to [`MOST_KEPT`] in all.
    pub(super) fn keep(&mut self, records: Vec<LogRecord>) {
        for record in records {
            if self.len() >= MOST_KEPT {
                break;
            }
            self.keep_one(record);
        }
    }

    /// Keeps one record, if fewer than [`MOST_KEPT`] are kept.
    pub(super) fn keep_one(&mut self, record: LogRecord) {
        if self.len() >= MOST_KEPT {
            return;
        }
        match record {
            LogRecord::Op(op) => self.ops.push(op),
            LogRecord::BlockEnd(end) => self.ends.push(end),
        }
    }

    /// A kept record to decode into: an operation (most records are) while
    /// any is kept, else a block end, else an empty operation.
    pub(super) fn any(&mut self) -> LogRecord {
        if let Some(op) = self.ops.pop() {
            return LogRecord::Op(op);
        }
        match self.ends.pop() {
            Some(end) => LogRecord::BlockEnd(end),
            None => LogRecord::Op(TokenOp::default()),
        }
    }

    /// Records kept.
    pub(super) fn len(&self) -> usize {
        self.ops.len() + self.ends.len()
    }

    /// A kept operation, or an empty one.
    pub(super) fn op(&mut self) -> TokenOp {
        self.ops.pop().unwrap_or_default()
    }

    /// A kept block end, or an empty one.
    pub(super) fn end(&mut self) -> BlockRef {
        self.ends.pop().unwrap_or_else(|| BlockRef {
            num: 0,
            id: String::new(),
            timestamp: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Spares, MOST_KEPT};
    use crate::block::BlockRef;
    use crate::log::LogRecord;
    use crate::op::TokenOp;

    fn end(num: u64) -> LogRecord {
        LogRecord::BlockEnd(BlockRef {
            num,
            id: "id".into(),
            timestamp: "ts".into(),
        })
    }

    fn op(block: u64) -> LogRecord {
        LogRecord::Op(TokenOp {
            block,
            ..TokenOp::default()
        })
    }

    #[test]
    fn keeps_each_kind_for_its_own_records_and_no_more_than_the_most() {
        let mut spares = Spares::default();
        spares.keep(vec![op(1), end(2), op(3)]);
        assert_eq!(spares.len(), 3);
        assert_eq!(spares.end().num, 2);
        // With no block end left, an empty one.
        assert_eq!(spares.end().num, 0);
        assert_eq!(spares.op().block, 3);
        assert_eq!(spares.op().block, 1);
        assert_eq!(spares.op().block, 0);
        spares.keep((0..MOST_KEPT as u64 + 10).map(op).collect());
        spares.keep(vec![end(5)]);
        assert_eq!(spares.len(), MOST_KEPT);
    }
}
