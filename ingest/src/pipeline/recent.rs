//! The ids of the last blocks a token applied.

use std::collections::VecDeque;

use state::BlockRef;

/// Ids kept beyond `max_reorg_depth`, so the deepest allowed common
/// ancestor (the cursor minus that depth) is still known.
const SLACK: u64 = 2;

/// The newest blocks applied, oldest first; starts from the token's cursor.
/// Irreversible mode only needs the last one (the parent of the next block);
/// head mode walks back through them to find a fork's common ancestor.
#[derive(Debug)]
pub(crate) struct RecentBlocks {
    blocks: VecDeque<BlockRef>,
    keep: usize,
}

impl RecentBlocks {
    pub(crate) fn new(cursor: Option<BlockRef>, max_reorg_depth: u64) -> Self {
        let keep = usize::try_from(max_reorg_depth.saturating_add(SLACK)).unwrap_or(usize::MAX);
        RecentBlocks {
            blocks: cursor.into_iter().collect(),
            keep: keep.max(1),
        }
    }

    pub(crate) fn head(&self) -> Option<&BlockRef> {
        self.blocks.back()
    }

    /// The oldest block whose id is still known.
    pub(crate) fn oldest(&self) -> Option<&BlockRef> {
        self.blocks.front()
    }

    /// Our block at height `num`, if its id is still known.
    pub(crate) fn get(&self, num: u64) -> Option<&BlockRef> {
        let first = self.blocks.front()?.num;
        let index = usize::try_from(num.checked_sub(first)?).ok()?;
        self.blocks.get(index).filter(|b| b.num == num)
    }

    /// The next block to apply: after the head, or the token's start.
    pub(crate) fn next_block(&self, start_block: u64) -> u64 {
        self.head().map_or(start_block.max(1), |b| b.num + 1)
    }

    pub(crate) fn push(&mut self, block: BlockRef) {
        if self.blocks.len() >= self.keep {
            self.blocks.pop_front();
        }
        self.blocks.push_back(block);
    }

    /// After a rollback: forgets the blocks above where the token landed
    /// (`None`: nothing left), keeping the older ids when they lead to it.
    pub(crate) fn rewind(&mut self, landed: Option<&BlockRef>) {
        let Some(landed) = landed else {
            self.blocks.clear();
            return;
        };
        while self.blocks.back().is_some_and(|b| b.num > landed.num) {
            self.blocks.pop_back();
        }
        if self.blocks.back() != Some(landed) {
            self.blocks.clear();
            self.blocks.push_back(landed.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(num: u64, branch: char) -> BlockRef {
        BlockRef {
            num,
            id: format!("{num:08x}{}", branch.to_string().repeat(32)),
            timestamp: String::new(),
        }
    }

    #[test]
    fn keeps_max_depth_plus_slack_and_rewinds_to_the_landing_block() {
        let mut recent = RecentBlocks::new(Some(block(10, 'a')), 3);
        for n in 11..=20 {
            recent.push(block(n, 'a'));
        }
        assert_eq!(recent.oldest().map(|b| b.num), Some(16));
        assert_eq!(recent.get(18), Some(&block(18, 'a')));
        assert_eq!(recent.get(15), None);
        assert_eq!(recent.get(21), None);
        recent.rewind(Some(&block(18, 'a')));
        assert_eq!(recent.head(), Some(&block(18, 'a')));
        assert_eq!(recent.get(16), Some(&block(16, 'a')));
        assert_eq!(recent.next_block(1), 19);
        // Landing on a block we do not know as ours: start over from it.
        recent.rewind(Some(&block(17, 'b')));
        assert_eq!(recent.oldest(), Some(&block(17, 'b')));
        assert_eq!(recent.head(), Some(&block(17, 'b')));
        recent.rewind(None);
        assert_eq!(recent.next_block(5), 5);
    }
}
