//! The block id chain: one id per height, branches created by forks.
//!
//! Only ids are kept (20 bytes a block); bodies are regenerated from a block's
//! content seed whenever they are requested.

use crate::hash::{self, Id20};

/// Highest block number an id can encode (its first 4 bytes are the number).
pub(crate) const MAX_BLOCK: u64 = u32::MAX as u64;

/// A run of heights generated from one content seed, from `from` upwards.
struct Branch {
    from: u64,
    seed: [u8; 32],
}

/// What is needed to regenerate one block.
#[derive(Clone, Copy)]
pub(crate) struct Header {
    pub(crate) num: u64,
    pub(crate) id: Id20,
    pub(crate) previous: Id20,
    pub(crate) content_seed: [u8; 32],
}

/// The ids of every existing block of one simulated chain.
pub(crate) struct Chain {
    seed: u64,
    first_block: u64,
    genesis_previous: Id20,
    /// `ids[i]` is the id of block `first_block + i`.
    ids: Vec<Id20>,
    /// In creation order; a height belongs to the newest branch starting at or below it.
    branches: Vec<Branch>,
}

impl Chain {
    /// A chain whose head is `head` (`first_block - 1` for an empty chain).
    pub(crate) fn new(seed: u64, first_block: u64, head: u64) -> Chain {
        let tail = hash::derive(
            "hivesim genesis previous",
            &[&seed.to_le_bytes(), &first_block.to_le_bytes()],
        );
        let mut chain = Chain {
            seed,
            first_block,
            genesis_previous: hash::block_id(first_block - 1, &tail),
            ids: Vec::new(),
            branches: vec![Branch {
                from: first_block,
                seed: branch_seed(seed, 0),
            }],
        };
        chain.extend_to(head);
        chain
    }

    /// The newest block number (`first_block - 1` when there is none).
    pub(crate) fn head(&self) -> u64 {
        self.first_block + self.ids.len() as u64 - 1
    }

    /// Number of forks so far (0 on the original branch).
    pub(crate) fn branch(&self) -> u64 {
        self.branches.len() as u64 - 1
    }

    /// Generates ids up to `head` (never shrinks, never beyond [`MAX_BLOCK`]).
    pub(crate) fn extend_to(&mut self, head: u64) {
        let head = head.min(MAX_BLOCK);
        while self.head() < head {
            let num = self.head() + 1;
            let id = self.compute_id(num);
            self.ids.push(id);
        }
    }

    /// Replaces blocks `from..=head` with a new branch, keeping the head height.
    pub(crate) fn fork_from(&mut self, from: u64) {
        let index = self.branches.len() as u64;
        self.branches.push(Branch {
            from,
            seed: branch_seed(self.seed, index),
        });
        for num in from..=self.head() {
            let id = self.compute_id(num);
            self.ids[(num - self.first_block) as usize] = id;
        }
    }

    /// The id of an existing block, or the made-up id of `first_block - 1`.
    pub(crate) fn id(&self, num: u64) -> Option<Id20> {
        if num + 1 == self.first_block {
            return Some(self.genesis_previous);
        }
        let index = num.checked_sub(self.first_block)?;
        self.ids.get(usize::try_from(index).ok()?).copied()
    }

    /// What it takes to render block `num`, if it exists.
    pub(crate) fn header(&self, num: u64) -> Option<Header> {
        if num < self.first_block {
            return None;
        }
        Some(Header {
            num,
            id: self.id(num)?,
            previous: self.id(num - 1)?,
            content_seed: self.content_seed(num),
        })
    }

    fn content_seed(&self, num: u64) -> [u8; 32] {
        let branch = self
            .branches
            .iter()
            .rev()
            .find(|b| b.from <= num)
            .unwrap_or(&self.branches[0]);
        hash::derive("hivesim block", &[&branch.seed, &num.to_le_bytes()])
    }

    /// Requires block `num - 1` to exist already.
    fn compute_id(&self, num: u64) -> Id20 {
        let previous = self.id(num - 1).unwrap_or(self.genesis_previous);
        let tail = hash::derive("hivesim block id", &[&previous, &self.content_seed(num)]);
        hash::block_id(num, &tail)
    }
}

fn branch_seed(seed: u64, index: u64) -> [u8; 32] {
    hash::derive(
        "hivesim branch",
        &[&seed.to_le_bytes(), &index.to_le_bytes()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_chain_and_encode_numbers() {
        let chain = Chain::new(1, 100, 120);
        assert_eq!(chain.head(), 120);
        for n in 100..=120 {
            let h = chain.header(n).unwrap();
            assert_eq!(&h.id[..4], &(n as u32).to_be_bytes());
            assert_eq!(h.previous, chain.id(n - 1).unwrap());
        }
        assert!(chain.header(99).is_none());
        assert!(chain.header(121).is_none());
    }

    #[test]
    fn fork_rewrites_from_height_and_later_forks_supersede() {
        let mut chain = Chain::new(1, 100, 120);
        let before: Vec<_> = (100..=120).map(|n| chain.id(n).unwrap()).collect();
        chain.fork_from(115);
        chain.fork_from(118);
        chain.fork_from(110);
        for n in 100..110 {
            assert_eq!(chain.id(n).unwrap(), before[(n - 100) as usize]);
        }
        for n in 110..=120 {
            assert_ne!(chain.id(n).unwrap(), before[(n - 100) as usize]);
        }
        let fresh = {
            let mut c = Chain::new(1, 100, 120);
            c.fork_from(115);
            c.fork_from(118);
            c.fork_from(110);
            c.extend_to(130);
            c
        };
        chain.extend_to(130);
        assert_eq!(chain.id(130), fresh.id(130));
        assert_eq!(chain.branch(), 3);
    }
}
