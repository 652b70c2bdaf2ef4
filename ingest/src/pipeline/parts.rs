//! A shared range split by token prefix, so that each stream takes its own
//! operations by moving them rather than copying them out of the shared
//! range.
//!
//! A range shared by three tokens used to be copied by every stream but
//! the last (each block's identity and the stream's own operations). Here
//! an operation is copied only when its id starts with more than one
//! registered prefix (nested prefixes such as `abc_` and `abc_x_`), which
//! is rare. The blocks' identities are kept once and copied for each
//! stream that takes its part, except the last, which moves them: a token
//! that never takes the range (one backfilling elsewhere) costs no copy.

use std::collections::HashMap;
use std::sync::Mutex;

use state::BlockRef;

use super::fetch::Chunk;
use crate::decode::{CustomJson, DecodedBlock};

/// One range's blocks, with each prefix's operations taken once by its stream.
pub(crate) struct TokenParts {
    node: usize,
    parts: Mutex<Parts>,
}

/// What is left to take.
struct Parts {
    /// Each block's identity, parent and transaction count, in chain order.
    blocks: Vec<(BlockRef, String, usize)>,
    /// By prefix: each block's operations whose id starts with it.
    ops: HashMap<String, Vec<Vec<CustomJson>>>,
}

impl TokenParts {
    /// Splits `chunk`, decoded with a filter that lets through the
    /// operations of every prefix in `prefixes`.
    pub(crate) fn split<'p>(chunk: Chunk, prefixes: impl IntoIterator<Item = &'p str>) -> Self {
        let mut prefixes: Vec<&str> = prefixes.into_iter().collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        let count = chunk.blocks.len();
        let mut blocks = Vec::with_capacity(count);
        let mut ops: Vec<Vec<Vec<CustomJson>>> =
            prefixes.iter().map(|_| Vec::with_capacity(count)).collect();
        for block in chunk.blocks {
            for part in &mut ops {
                part.push(Vec::new());
            }
            sort_by_prefix(block.ops, &prefixes, &mut ops);
            blocks.push((block.block, block.previous, block.transactions));
        }
        let ops = prefixes.into_iter().map(str::to_owned).zip(ops).collect();
        TokenParts {
            node: chunk.node,
            parts: Mutex::new(Parts { blocks, ops }),
        }
    }

    /// The blocks of the stream with `prefix`, with only its operations;
    /// `None` when they were taken already or the range was not split for
    /// that prefix.
    pub(crate) fn take(&self, prefix: &str) -> Option<Chunk> {
        // Every change to the parts is a complete step.
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        let ops = parts.ops.remove(prefix)?;
        let block = |((block, previous, transactions), ops)| DecodedBlock {
            block,
            previous,
            transactions,
            ops,
        };
        let blocks = if parts.ops.is_empty() {
            let identities = std::mem::take(&mut parts.blocks);
            drop(parts);
            identities.into_iter().zip(ops).map(block).collect()
        } else {
            // Cloned one by one into the stream's list, not into a copy
            // of the whole list first.
            parts.blocks.iter().cloned().zip(ops).map(block).collect()
        };
        Some(Chunk {
            node: self.node,
            blocks,
        })
    }
}

/// A block's `ops` sorted to the prefixes their ids start with, each onto
/// the block's list (the last one) of its prefix's part in `parts`, one
/// part per prefix in the order of `prefixes`. An operation under two
/// prefixes is copied.
fn sort_by_prefix(ops: Vec<CustomJson>, prefixes: &[&str], parts: &mut [Vec<Vec<CustomJson>>]) {
    for op in ops {
        let mut owners = prefixes
            .iter()
            .enumerate()
            .filter(|(_, prefix)| op.id.starts_with(**prefix))
            .map(|(k, _)| k);
        let Some(first) = owners.next() else {
            continue;
        };
        for other in owners {
            push_to_block(parts, other, op.clone());
        }
        push_to_block(parts, first, op);
    }
}

/// Appends `op` to the block's list of part `k` (the caller made one for
/// every part before sorting the block's operations).
fn push_to_block(parts: &mut [Vec<Vec<CustomJson>>], k: usize, op: CustomJson) {
    if let Some(list) = parts.get_mut(k).and_then(|part| part.last_mut()) {
        list.push(op);
    }
}

#[cfg(test)]
mod tests {
    use super::TokenParts;
    use crate::decode::{CustomJson, DecodedBlock, OpFilter};
    use crate::pipeline::fetch::Chunk;

    fn op(op_index: u32, id: &str) -> CustomJson {
        CustomJson {
            trx_index: 0,
            op_index,
            trx_id: "ab".repeat(20),
            id: id.into(),
            required_auths: vec!["alice".into()],
            required_posting_auths: vec![],
            json: format!("{{\"n\":{op_index}}}"),
        }
    }

    fn block(num: u64, ops: Vec<CustomJson>) -> DecodedBlock {
        DecodedBlock {
            block: state::BlockRef {
                num,
                id: format!("{num:08x}{}", "00".repeat(16)),
                timestamp: "2025-01-01T00:00:00".into(),
            },
            previous: format!("{:08x}{}", num - 1, "00".repeat(16)),
            transactions: 3,
            ops,
        }
    }

    /// What a stream kept before the split: every block, with the ops its
    /// own prefix lets through.
    fn filtered(blocks: &[DecodedBlock], prefix: &str) -> Vec<DecodedBlock> {
        let own = OpFilter::new([prefix]);
        blocks
            .iter()
            .map(|b| DecodedBlock {
                ops: b
                    .ops
                    .iter()
                    .filter(|op| own.matches(&op.id))
                    .cloned()
                    .collect(),
                ..b.clone()
            })
            .collect()
    }

    /// Each prefix's part is exactly what filtering the range by that
    /// prefix gives: all blocks, identities intact, its ops in chain order,
    /// an op under nested prefixes in both parts; and it is taken once.
    #[test]
    fn each_prefix_takes_what_filtering_by_it_would_keep() {
        let blocks = vec![
            block(
                7,
                vec![op(0, "abc_send"), op(1, "dlux_send"), op(2, "abc_x_send")],
            ),
            block(8, vec![]),
            block(9, vec![op(0, "dlux_claim"), op(1, "abc_power_up")]),
        ];
        let prefixes = ["abc_", "abc_x_", "dlux_"];
        let parts = TokenParts::split(
            Chunk {
                node: 2,
                blocks: blocks.clone(),
            },
            prefixes,
        );
        for prefix in prefixes {
            let taken = parts.take(prefix).expect("a part for every prefix");
            assert_eq!(taken.node, 2);
            assert_eq!(taken.blocks, filtered(&blocks, prefix), "prefix {prefix}");
            assert!(parts.take(prefix).is_none(), "{prefix} taken twice");
        }
        let abc: Vec<String> = filtered(&blocks, "abc_")
            .into_iter()
            .flat_map(|b| b.ops.into_iter().map(|op| op.id))
            .collect();
        assert_eq!(abc, ["abc_send", "abc_x_send", "abc_power_up"]);
        assert!(parts.take("spkcc_").is_none(), "not split for spkcc_");
    }

    /// The same prefix registered twice (two tokens cannot share one, but
    /// the split must not lose blocks if they did) is split once.
    #[test]
    fn a_repeated_prefix_is_split_once() {
        let blocks = vec![block(5, vec![op(0, "dlux_send")])];
        let parts = TokenParts::split(
            Chunk {
                node: 0,
                blocks: blocks.clone(),
            },
            ["dlux_", "dlux_"],
        );
        assert_eq!(parts.take("dlux_").map(|c| c.blocks), Some(blocks));
        assert!(parts.take("dlux_").is_none());
    }
}
