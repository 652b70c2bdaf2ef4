//! Blocks in the appbase (block_api) and condenser forms.

use serde::Deserialize;
use serde_json::value::RawValue;
use state::block::block_num_from_id;
use state::BlockRef;

use super::scan::{once, Scanner};
use super::text::Text;
use super::transaction::{decode_transaction, Place};
use super::{DecodeError, OpFilter};

/// One custom_json operation whose id passed the [`OpFilter`], in the form
/// both chain encodings decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomJson {
    /// Index of the transaction within the block.
    pub trx_index: u32,
    /// Index of the operation within the transaction.
    pub op_index: u32,
    /// Transaction id (40 hex characters).
    pub trx_id: String,
    /// The full custom_json id.
    pub id: String,
    /// `required_auths`.
    pub required_auths: Vec<String>,
    /// `required_posting_auths`.
    pub required_posting_auths: Vec<String>,
    /// The raw `json` string, unparsed.
    pub json: String,
}

/// A decoded block: its identity, its parent and the custom_json operations
/// that passed the filter, in chain order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBlock {
    /// Number, id and timestamp.
    pub block: BlockRef,
    /// Id of the parent block.
    pub previous: String,
    /// Number of transactions in the block.
    pub transactions: usize,
    /// Matching custom_json operations, by transaction then operation index.
    pub ops: Vec<CustomJson>,
}

#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(borrow)]
    block_id: Text<'a>,
    #[serde(borrow)]
    previous: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow, default)]
    transactions: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    transaction_ids: Option<Vec<Text<'a>>>,
}

fn malformed(message: String) -> DecodeError {
    DecodeError::Malformed(message)
}

/// Decodes one block object (either form), keeping the custom_json
/// operations that `filter` lets through.
pub fn block(raw: &[u8], filter: &OpFilter) -> Result<DecodedBlock, DecodeError> {
    let block: RawBlock<'_> =
        serde_json::from_slice(raw).map_err(|e| DecodeError::json("block", e))?;
    decode_raw_block(block, filter)
}

fn block_from_raw(raw: &RawValue, filter: &OpFilter) -> Result<DecodedBlock, DecodeError> {
    let block: RawBlock<'_> =
        serde_json::from_str(raw.get()).map_err(|e| DecodeError::json("block", e))?;
    decode_raw_block(block, filter)
}

fn decode_raw_block(block: RawBlock<'_>, filter: &OpFilter) -> Result<DecodedBlock, DecodeError> {
    let transactions: Vec<&[u8]> = block
        .transactions
        .iter()
        .map(|raw| raw.get().as_bytes())
        .collect();
    let ids: Option<Vec<&str>> = block
        .transaction_ids
        .as_ref()
        .map(|ids| ids.iter().map(Text::as_str).collect());
    decode_parts(
        &BlockParts {
            block_id: block.block_id.as_str(),
            previous: block.previous.as_str(),
            timestamp: block.timestamp.as_str(),
            transactions: &transactions,
            transaction_ids: ids.as_deref(),
        },
        filter,
    )
}

/// What decoding needs of a block, borrowed from the input however it was
/// read (serde, or the scanner for the skipped parts); the lists lie in
/// vectors the caller keeps (`'p`), the text in the input (`'r`).
struct BlockParts<'p, 'r> {
    block_id: &'r str,
    previous: &'r str,
    timestamp: &'r str,
    /// Each transaction's JSON text, not yet checked.
    transactions: &'p [&'r [u8]],
    transaction_ids: Option<&'p [&'r str]>,
}

fn decode_parts(
    block: &BlockParts<'_, '_>,
    filter: &OpFilter,
) -> Result<DecodedBlock, DecodeError> {
    let id = block.block_id;
    let num = block_num_from_id(id)
        .ok_or_else(|| malformed(format!("block id `{id}` is not 40 hex characters")))?;
    let previous = block.previous;
    if block_num_from_id(previous).is_none() {
        return Err(malformed(format!(
            "block {num}: previous id `{previous}` is not 40 hex characters"
        )));
    }
    if let Some(ids) = block.transaction_ids {
        if ids.len() != block.transactions.len() {
            return Err(malformed(format!(
                "block {num}: {} transaction ids for {} transactions",
                ids.len(),
                block.transactions.len()
            )));
        }
    }
    let mut ops = Vec::new();
    let mut operations = Vec::new();
    for (trx_index, raw_trx) in block.transactions.iter().enumerate() {
        if !filter.may_match(raw_trx) {
            continue;
        }
        let trx_index = u32::try_from(trx_index)
            .map_err(|_| malformed(format!("block {num}: too many transactions")))?;
        let place = Place {
            num,
            trx_index,
            listed_id: block
                .transaction_ids
                .and_then(|ids| ids.get(trx_index as usize))
                .copied(),
        };
        decode_transaction(place, raw_trx, filter, &mut operations, &mut ops)?;
    }
    Ok(DecodedBlock {
        block: BlockRef {
            num,
            id: id.to_owned(),
            timestamp: block.timestamp.to_owned(),
        },
        previous: previous.to_owned(),
        transactions: block.transactions.len(),
        ops,
    })
}

/// `block_api.get_block` result: `{"block":{...}}`, or `{}` when the node
/// has no such block (`Ok(None)`).
pub fn get_block_result(
    result: &[u8],
    filter: &OpFilter,
) -> Result<Option<DecodedBlock>, DecodeError> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        block: Option<&'a RawValue>,
    }
    let result: Body<'_> = serde_json::from_slice(result)
        .map_err(|e| DecodeError::json("block_api.get_block result", e))?;
    result
        .block
        .map(|raw| block_from_raw(raw, filter))
        .transpose()
}

/// `condenser_api.get_block` result: the block itself, or `null` when the
/// node has no such block (`Ok(None)`).
pub fn condenser_block_result(
    result: &[u8],
    filter: &OpFilter,
) -> Result<Option<DecodedBlock>, DecodeError> {
    let raw: Option<&RawValue> = serde_json::from_slice(result)
        .map_err(|e| DecodeError::json("condenser_api.get_block result", e))?;
    raw.map(|raw| block_from_raw(raw, filter)).transpose()
}

/// `block_api.get_block_range` result: `{"blocks":[...]}`, in the node's order.
pub fn block_range_result(
    result: &[u8],
    filter: &OpFilter,
) -> Result<Vec<DecodedBlock>, DecodeError> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        blocks: Vec<&'a RawValue>,
    }
    let result: Body<'_> = serde_json::from_slice(result)
        .map_err(|e| DecodeError::json("block_api.get_block_range result", e))?;
    result
        .blocks
        .iter()
        .map(|raw| block_from_raw(raw, filter))
        .collect()
}

/// A whole `get_block_range` response decoded in one pass over the body
/// (envelope, result and blocks together), `None` when it is anything but
/// a well-formed answer with blocks: the caller then decodes it step by
/// step, which says what is wrong. Decoding envelope, result and blocks
/// apart would scan every byte three times.
///
/// The [`Scanner`] reads the structure and steps over what is skipped;
/// the transactions a prefix occurs in are decoded as in every form (see
/// the `transaction` and `body` modules). A skipped transaction is only
/// checked for its extent, not for the rest of JSON's grammar nor for
/// UTF-8 (as serde's `IgnoredAny` does not check what it skips): its
/// content is never used. Every string that is used is checked: ids and
/// timestamps here, the custom_json fields in `body`.
pub(crate) fn block_range_one_pass(
    body: &[u8],
    expected: usize,
    filter: &OpFilter,
) -> Option<Result<Vec<DecodedBlock>, DecodeError>> {
    let mut scanner = Scanner::new(body);
    let mut blocks = None;
    scanner.object(|s, key| match key {
        "result" if blocks.is_none() => {
            blocks = Some(scan_result(s, expected, filter)?);
            Some(())
        }
        // A second result, or an error: serde says what is wrong.
        "result" | "error" => None,
        _ => s.skip_value().map(drop),
    })?;
    if !scanner.at_end() {
        return None;
    }
    blocks
}

/// `{"blocks":[...]}` through the scanner, each block decoded as soon as
/// it is read: every block, or the error of the first that does not
/// decode (the blocks after it are scanned but not decoded). `None` when
/// the scan fails, whatever was decoded.
fn scan_result(
    s: &mut Scanner<'_>,
    expected: usize,
    filter: &OpFilter,
) -> Option<Result<Vec<DecodedBlock>, DecodeError>> {
    let mut blocks = None;
    s.object(|s, key| match key {
        "blocks" if blocks.is_none() => {
            // A node answers at most 1000 blocks a call; `expected` is what was asked.
            let mut decoded = Ok(Vec::with_capacity(expected.min(1_000)));
            let mut lists = BlockLists::default();
            s.array(|s| {
                let parts = scan_block(s, &mut lists)?;
                if let Ok(list) = &mut decoded {
                    match decode_parts(&parts, filter) {
                        Ok(block) => list.push(block),
                        Err(e) => decoded = Err(e),
                    }
                }
                Some(())
            })?;
            blocks = Some(decoded);
            Some(())
        }
        "blocks" => None,
        _ => s.skip_value().map(drop),
    })?;
    blocks
}

/// The lists the scanner reads a block's transactions and ids into, kept
/// from block to block so that a block does not allocate its own.
#[derive(Default)]
struct BlockLists<'r> {
    transactions: Vec<&'r [u8]>,
    ids: Vec<&'r str>,
}

/// One block object through the scanner: the fields [`RawBlock`] reads,
/// each at most once and of the type serde would accept; anything else is
/// `None`, for serde to report.
fn scan_block<'p, 'r>(
    s: &mut Scanner<'r>,
    lists: &'p mut BlockLists<'r>,
) -> Option<BlockParts<'p, 'r>> {
    let (mut id, mut previous, mut timestamp) = (None, None, None);
    let (mut has_transactions, mut has_ids) = (false, false);
    let BlockLists { transactions, ids } = lists;
    transactions.clear();
    s.object(|s, key| match key {
        "block_id" => once(&mut id, s.plain_string()?),
        "previous" => once(&mut previous, s.plain_string()?),
        "timestamp" => once(&mut timestamp, s.plain_string()?),
        "transactions" if !has_transactions => {
            has_transactions = true;
            s.list_into(transactions, Scanner::skip_value)
        }
        "transaction_ids" if !has_ids => {
            has_ids = true;
            s.list_into(ids, Scanner::plain_string)
        }
        "transactions" | "transaction_ids" => None,
        _ => s.skip_value().map(drop),
    })?;
    Some(BlockParts {
        block_id: id?,
        previous: previous?,
        timestamp: timestamp?,
        transactions,
        transaction_ids: has_ids.then_some(&ids[..]),
    })
}

/// Checks that `blocks` are exactly `start..start + count`, each linked to
/// the one before it by `previous`.
pub fn check_range(blocks: &[DecodedBlock], start: u64, count: u32) -> Result<(), DecodeError> {
    if blocks.len() != count as usize {
        return Err(malformed(format!(
            "asked for {count} blocks from {start}, the node returned {}",
            blocks.len()
        )));
    }
    let mut parent: Option<&str> = None;
    for (expected, block) in (start..).zip(blocks) {
        if block.block.num != expected {
            return Err(malformed(format!(
                "expected block {expected}, got block {} (id {})",
                block.block.num, block.block.id
            )));
        }
        if let Some(parent) = parent {
            check_link(parent, block)?;
        }
        parent = Some(&block.block.id);
    }
    Ok(())
}

/// Checks that `block.previous` is `parent_id` (architecture.md invariant 4).
pub fn check_link(parent_id: &str, block: &DecodedBlock) -> Result<(), DecodeError> {
    if block.previous != parent_id {
        return Err(malformed(format!(
            "block {} (id {}) has previous {} but the block before it is {parent_id}",
            block.block.num, block.block.id, block.previous
        )));
    }
    Ok(())
}
