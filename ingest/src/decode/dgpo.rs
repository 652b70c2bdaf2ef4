//! `get_dynamic_global_properties` in both its forms.

use serde::Deserialize;

use super::DecodeError;

/// The chain heads from `get_dynamic_global_properties`. The condenser
/// (`"1.000 HIVE"`) and database (NAI assets) forms carry these fields alike.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChainHeads {
    /// Newest block the node has (reversible).
    pub head_block_number: u64,
    /// Id of that block.
    pub head_block_id: String,
    /// Newest block that can no longer be undone.
    pub last_irreversible_block_num: u64,
    /// Time of the head block.
    pub time: String,
}

/// Decodes the `result` of either form of `get_dynamic_global_properties`.
pub fn dynamic_global_properties(result: &[u8]) -> Result<ChainHeads, DecodeError> {
    let heads: ChainHeads = serde_json::from_slice(result)
        .map_err(|e| DecodeError::json("get_dynamic_global_properties result", e))?;
    if heads.last_irreversible_block_num > heads.head_block_number {
        return Err(DecodeError::Malformed(format!(
            "last irreversible block {} is above the head block {}",
            heads.last_irreversible_block_num, heads.head_block_number
        )));
    }
    Ok(heads)
}
