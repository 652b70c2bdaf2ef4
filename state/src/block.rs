//! A reference to one Hive block: the unit of progress for every cursor.

use serde::{Deserialize, Serialize};

/// Hive block number. Hive's numbers fit in 32 bits for centuries, but we
/// carry `u64` everywhere so no arithmetic on them can overflow.
pub type BlockNum = u64;

/// The identity of one block: number, id and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Block number.
    pub num: BlockNum,
    /// Block id, 40 lowercase hex characters; its first 8 encode `num`.
    pub id: String,
    /// Block timestamp as Hive prints it, e.g. `2025-07-08T23:09:27`.
    pub timestamp: String,
}

/// The block number that a Hive block id encodes in its first 4 bytes, or
/// `None` when the id is not 40 hex characters.
pub fn block_num_from_id(id: &str) -> Option<BlockNum> {
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(id.get(..8)?, 16)
        .ok()
        .map(BlockNum::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_encodes_block_number() {
        assert_eq!(
            block_num_from_id("05cf62ab3f2151a60e601ed86bdb43137949873d"),
            Some(97_477_291)
        );
        assert_eq!(block_num_from_id("05cf62ab"), None);
        assert_eq!(
            block_num_from_id("zz cf62ab3f2151a60e601ed86bdb4313794987"),
            None
        );
    }
}
