//! Decoding Hive JSON-RPC answers: the envelope, blocks in the appbase and
//! condenser forms, and the dynamic global properties.
//!
//! Decoding works on borrowed data: transactions and operations stay
//! `RawValue` slices of the input until an operation's custom_json id matches
//! the [`OpFilter`]; a memchr prefilter skips whole transactions in which no
//! registered prefix occurs. In a `get_block_range` answer, a scanner
//! (`scan`, 64 bytes at a time through objects and arrays) steps over
//! those transactions and the other skipped fields instead of serde, which
//! would check every byte of them. In every form, the scanner also finds
//! the operations of the transactions a prefix occurs in and the parts of
//! their custom_json bodies, with serde behind it for whatever it cannot
//! read. Malformed input gives a [`DecodeError`], never a panic.

mod block;
mod body;
mod chunk_masks;
mod dgpo;
mod envelope;
mod error;
mod filter;
mod nested;
mod scan;
mod text;
mod transaction;
mod unescape;

pub use block::{
    block, block_range_result, check_link, check_range, condenser_block_result, get_block_result,
    CustomJson, DecodedBlock,
};
pub use dgpo::{dynamic_global_properties, ChainHeads};
pub use envelope::{envelope, rpc_error_object};
pub use error::DecodeError;
pub use filter::OpFilter;

/// Decodes a whole `block_api.get_block_range` response body and checks it
/// holds exactly blocks `start..start + count`, linked to each other.
pub fn block_range_response(
    body: &[u8],
    start: u64,
    count: u32,
    filter: &OpFilter,
) -> Result<Vec<DecodedBlock>, DecodeError> {
    if let Some(blocks) = block::block_range_one_pass(body, count as usize, filter) {
        let blocks = blocks?;
        check_range(&blocks, start, count)?;
        return Ok(blocks);
    }
    let result = envelope(body)?;
    let blocks = block_range_result(result.get().as_bytes(), filter)?;
    check_range(&blocks, start, count)?;
    Ok(blocks)
}
