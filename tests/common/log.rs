//! Reading a token's event log from the data directory once the server is
//! stopped: every frame's checksum, and every record against the chain.

use std::collections::BTreeSet;
use std::path::Path;

use hivesim::SimNode;
use state::{EventLog, LogRecord};

/// Opens the log of `symbol`, checks every frame's checksum and returns every record.
///
/// Opening may cut a torn tail (a kill in the middle of an append); anything
/// wrong before the tail, or a checksum that fails, panics.
pub fn verified_records(data: &Path, symbol: &str) -> Vec<LogRecord> {
    let dir = data.join("tokens").join(symbol).join("log");
    let (log, _report) =
        EventLog::open(&dir).unwrap_or_else(|e| panic!("the log of {symbol} does not open: {e}"));
    log.verify()
        .unwrap_or_else(|e| panic!("the log of {symbol} does not verify: {e}"));
    log.read_from_record(0)
        .expect("read the log")
        .map(|r| r.expect("a log record decodes"))
        .collect()
}

/// Asserts that every block the log names is the block of `sim`'s chain
/// (no block of another chain was ever logged), that blocks only go up
/// (a rollback truncates the log, so no block appears twice) and that no
/// operation is logged twice.
pub fn assert_log_follows_chain(records: &[LogRecord], sim: &SimNode) {
    let mut last_end = 0;
    let mut ops = BTreeSet::new();
    for record in records {
        match record {
            LogRecord::BlockEnd(block) => {
                let want = sim
                    .block_appbase(block.num)
                    .unwrap_or_else(|| panic!("the log names block {} the chain lacks", block.num));
                assert_eq!(
                    want["block_id"], block.id,
                    "the log holds block {} of another chain",
                    block.num
                );
                assert!(block.num > last_end, "block {} logged twice", block.num);
                last_end = block.num;
            }
            LogRecord::Op(op) => {
                assert!(
                    op.block > last_end,
                    "op of block {} after its block ended",
                    op.block
                );
                let want = sim
                    .block_appbase(op.block)
                    .unwrap_or_else(|| panic!("the log names block {} the chain lacks", op.block));
                let trxs = want["transaction_ids"].as_array().expect("transaction_ids");
                assert_eq!(
                    trxs.get(op.trx_index as usize).and_then(|t| t.as_str()),
                    Some(op.trx_id.as_str()),
                    "the log holds a transaction of another chain in block {}",
                    op.block
                );
                assert!(
                    ops.insert((op.trx_id.clone(), op.op_index)),
                    "operation {}#{} logged twice",
                    op.trx_id,
                    op.op_index
                );
            }
        }
    }
}
