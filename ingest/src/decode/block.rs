//! Blocks in the appbase (block_api) and condenser forms.

use serde::Deserialize;
use serde_json::value::RawValue;
use state::block::block_num_from_id;
use state::BlockRef;

use super::scan::Scanner;
use super::text::Text;
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

#[derive(Deserialize)]
struct RawTransaction<'a> {
    #[serde(borrow, default)]
    operations: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    transaction_id: Option<Text<'a>>,
}

/// Appbase: `{"type":"custom_json_operation","value":{...}}`.
#[derive(Deserialize)]
struct AppbaseOp<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// The custom_json body; the auths are only parsed once the id matched.
#[derive(Deserialize)]
struct RawCustomJson<'a> {
    #[serde(borrow)]
    id: Text<'a>,
    #[serde(borrow)]
    json: Text<'a>,
    #[serde(borrow)]
    required_auths: &'a RawValue,
    #[serde(borrow)]
    required_posting_auths: &'a RawValue,
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
    for (trx_index, raw_trx) in block.transactions.iter().enumerate() {
        if !filter.may_match(raw_trx) {
            continue;
        }
        let trx_index = u32::try_from(trx_index)
            .map_err(|_| malformed(format!("block {num}: too many transactions")))?;
        let trx_id = block
            .transaction_ids
            .and_then(|ids| ids.get(trx_index as usize))
            .copied();
        decode_transaction(num, trx_index, raw_trx, trx_id, filter, &mut ops)?;
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

fn decode_transaction(
    num: u64,
    trx_index: u32,
    raw: &[u8],
    listed_id: Option<&str>,
    filter: &OpFilter,
    out: &mut Vec<CustomJson>,
) -> Result<(), DecodeError> {
    let trx: RawTransaction<'_> =
        serde_json::from_slice(raw).map_err(|e| DecodeError::json("transaction", e))?;
    let mut trx_id: Option<String> = None;
    for (op_index, raw_op) in trx.operations.iter().enumerate() {
        let Some(op) = custom_json(raw_op)? else {
            continue;
        };
        if !filter.matches(op.id.as_str()) {
            continue;
        }
        let op_index = u32::try_from(op_index)
            .map_err(|_| malformed(format!("block {num}: too many operations")))?;
        let trx_id = match &trx_id {
            Some(id) => id.clone(),
            None => {
                let id = transaction_id(num, trx_index, listed_id, trx.transaction_id.as_ref())?;
                trx_id = Some(id.clone());
                id
            }
        };
        out.push(CustomJson {
            trx_index,
            op_index,
            trx_id,
            id: op.id.0.into_owned(),
            required_auths: auths(num, "required_auths", op.required_auths)?,
            required_posting_auths: auths(
                num,
                "required_posting_auths",
                op.required_posting_auths,
            )?,
            json: op.json.0.into_owned(),
        });
    }
    Ok(())
}

/// The custom_json body of an operation in either form, `None` for other
/// operation types.
fn custom_json(raw: &RawValue) -> Result<Option<RawCustomJson<'_>>, DecodeError> {
    let text = raw.get();
    let (kind, value) = match text.trim_start().as_bytes().first() {
        Some(b'{') => {
            let op: AppbaseOp<'_> =
                serde_json::from_str(text).map_err(|e| DecodeError::json("operation", e))?;
            (op.kind, op.value)
        }
        Some(b'[') => {
            let op: (Text<'_>, &RawValue) =
                serde_json::from_str(text).map_err(|e| DecodeError::json("operation", e))?;
            op
        }
        _ => {
            return Err(malformed(
                "an operation is neither an object nor a [name, body] pair".into(),
            ))
        }
    };
    if !matches!(kind.as_str(), "custom_json_operation" | "custom_json") {
        return Ok(None);
    }
    serde_json::from_str(value.get())
        .map(Some)
        .map_err(|e| DecodeError::json("custom_json operation", e))
}

fn transaction_id(
    num: u64,
    trx_index: u32,
    listed: Option<&str>,
    own: Option<&Text<'_>>,
) -> Result<String, DecodeError> {
    let id = listed.or(own.map(Text::as_str)).ok_or_else(|| {
        malformed(format!(
            "block {num}: transaction {trx_index} has no id (no transaction_ids[{trx_index}] nor transaction_id)"
        ))
    })?;
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(format!(
            "block {num}: transaction {trx_index} id `{id}` is not 40 hex characters"
        )));
    }
    Ok(id.to_owned())
}

fn auths(num: u64, field: &'static str, raw: &RawValue) -> Result<Vec<String>, DecodeError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        malformed(format!(
            "block {num}: custom_json {field} is not a list of names: {e}"
        ))
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
/// the transactions a prefix occurs in are decoded by serde as before. A
/// skipped transaction is only checked for its extent, not for the rest
/// of JSON's grammar nor for UTF-8 (as serde's `IgnoredAny` does not check
/// what it skips): its content is never used. Every string that is used is
/// checked: ids and timestamps here, the matching transactions by serde.
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
    fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
        slot.is_none().then(|| *slot = Some(value))
    }
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
