//! The ids of the last blocks a token applied.

use std::collections::VecDeque;

use state::BlockRef;

/// How many recent block ids a stream keeps. Irreversible mode only needs
/// the last one (the parent of the next block); head mode will walk back
/// through them to find a fork's common ancestor.
const KEEP: usize = 128;

/// The newest blocks applied, oldest first; starts from the token's cursor.
#[derive(Debug, Default)]
pub(crate) struct RecentBlocks {
    blocks: VecDeque<BlockRef>,
}

impl RecentBlocks {
    pub(crate) fn new(cursor: Option<BlockRef>) -> Self {
        RecentBlocks {
            blocks: cursor.into_iter().collect(),
        }
    }

    pub(crate) fn head(&self) -> Option<&BlockRef> {
        self.blocks.back()
    }

    /// The next block to apply: after the head, or the token's start.
    pub(crate) fn next_block(&self, start_block: u64) -> u64 {
        self.head().map_or(start_block.max(1), |b| b.num + 1)
    }

    pub(crate) fn push(&mut self, block: BlockRef) {
        if self.blocks.len() == KEEP {
            self.blocks.pop_front();
        }
        self.blocks.push_back(block);
    }
}
