//! Turning decoded blocks into one token's log records.

use state::{BlockRef, LogRecord, TokenOp};

use super::routes::Routes;
use crate::decode::DecodedBlock;

/// A token's batch: its operations in chain order, then one `BlockEnd` for
/// the last block (so the cursor moves even when there are no operations).
pub(crate) struct Batch {
    pub(crate) records: Vec<LogRecord>,
    pub(crate) blocks: Vec<BlockRef>,
    pub(crate) ops: u64,
}

/// Keeps the operations whose longest registered prefix is `symbol`'s.
pub(crate) fn build(symbol: &str, routes: &Routes, decoded: Vec<DecodedBlock>) -> Option<Batch> {
    // Every operation may be the token's (the streams' parts hold only
    // their own), and one `BlockEnd` follows them.
    let room: usize = decoded.iter().map(|block| block.ops.len()).sum::<usize>() + 1;
    let mut records = Vec::with_capacity(room);
    let mut blocks = Vec::with_capacity(decoded.len());
    for block in decoded {
        let num = block.block.num;
        for op in block.ops {
            let prefix_len = match routes.route(&op.id, num) {
                Some((owner, name)) if owner == symbol => op.id.len() - name.len(),
                _ => continue,
            };
            // The name is the id without its prefix: the id's own buffer,
            // not a new one (and no free of the id on this thread).
            let mut name = op.id;
            name.drain(..prefix_len);
            records.push(LogRecord::Op(TokenOp {
                block: num,
                trx_index: op.trx_index,
                op_index: op.op_index,
                trx_id: op.trx_id,
                timestamp: block.block.timestamp.clone(),
                name,
                required_auths: op.required_auths,
                required_posting_auths: op.required_posting_auths,
                json: op.json,
            }));
        }
        blocks.push(block.block);
    }
    let last = blocks.last()?.clone();
    let ops = records.len() as u64;
    records.push(LogRecord::BlockEnd(last));
    Some(Batch {
        records,
        blocks,
        ops,
    })
}
