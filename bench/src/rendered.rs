//! `get_block_range` answers rendered before the clock starts, for the
//! local node of figure 2 ("a local HTTP node serving precomputed
//! responses"): the node then writes each answer from where it lies, with
//! no copy of its own, as a real node on another machine costs the
//! catch-up nothing. They take the blocks' size in memory (2.1 GB for
//! figure 2's 200,000 blocks), so figure 6, which measures the process's
//! memory, is served from the templates instead.

use bytes::Bytes;

use crate::chain::Chain;

/// The `blocks` arrays of the ranges a catch-up asks for: from the chain's
/// first block in ranges of `size`, the last one cut at the head.
pub(crate) struct RenderedRanges {
    first: u64,
    size: u64,
    head: u64,
    arrays: Vec<Bytes>,
}

impl RenderedRanges {
    /// Renders blocks `chain.first()..=head` in ranges of `size` blocks.
    pub(crate) fn new(chain: &Chain, head: u64, size: u32) -> RenderedRanges {
        let first = chain.first();
        let size = u64::from(size.max(1));
        let mut arrays = Vec::new();
        let mut start = first;
        while start <= head {
            let count = size.min(head + 1 - start);
            let mut array = Vec::new();
            chain.write_blocks_array(start, count, &mut array);
            arrays.push(Bytes::from(array));
            start += count;
        }
        RenderedRanges {
            first,
            size,
            head,
            arrays,
        }
    }

    /// The `blocks` array of `start..start + count` when that is one of
    /// the rendered ranges (the node assembles any other one itself).
    pub(crate) fn get(&self, start: u64, count: u64) -> Option<Bytes> {
        let offset = start.checked_sub(self.first)?;
        let blocks_left = (self.head + 1).checked_sub(start)?;
        if offset % self.size != 0 || count != self.size.min(blocks_left) {
            return None;
        }
        let index = usize::try_from(offset / self.size).ok()?;
        self.arrays.get(index).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::RenderedRanges;
    use crate::chain::Chain;

    #[test]
    fn a_rendered_range_is_the_assembled_one_and_others_are_not_rendered() {
        let chain = Chain::new(500).unwrap();
        let rendered = RenderedRanges::new(&chain, 749, 100);
        for (start, count) in [(500, 100), (600, 100), (700, 50)] {
            let mut assembled = Vec::new();
            chain.write_blocks_array(start, count, &mut assembled);
            assert_eq!(rendered.get(start, count).unwrap(), assembled);
        }
        // Not a range's start, a range's wrong length, before the first
        // block, past the head.
        for (start, count) in [
            (550, 100),
            (600, 99),
            (700, 100),
            (400, 100),
            (800, 100),
            (900, 0),
        ] {
            assert!(rendered.get(start, count).is_none(), "{start} {count}");
        }
    }
}
