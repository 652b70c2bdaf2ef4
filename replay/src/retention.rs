//! When checkpoints are taken and which ones are kept.

use std::collections::BTreeSet;

use crate::checkpoint::CheckpointInfo;

const DAY: u64 = 86_400;

/// Which checkpoints survive pruning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// The newest this many checkpoints are kept.
    pub keep_last: usize,
    /// For each of the last this many UTC days (today included), the newest
    /// checkpoint taken that day is kept too.
    pub keep_daily: usize,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            keep_last: 5,
            keep_daily: 7,
        }
    }
}

impl RetentionPolicy {
    /// The names of the checkpoints to destroy, given every checkpoint and
    /// the current time (seconds since the Unix epoch).
    pub fn prunable(&self, checkpoints: &[CheckpointInfo], now_unix: u64) -> Vec<String> {
        let mut by_block: Vec<&CheckpointInfo> = checkpoints.iter().collect();
        by_block.sort_by_key(|c| c.block);
        let mut keep: BTreeSet<&str> = by_block
            .iter()
            .rev()
            .take(self.keep_last)
            .map(|c| c.name.as_str())
            .collect();
        let today = now_unix / DAY;
        let first_day = today
            .saturating_sub(self.keep_daily as u64)
            .saturating_add(1);
        if self.keep_daily > 0 {
            let mut days_seen = BTreeSet::new();
            // Newest first, so the first one seen of each day is that day's newest.
            for c in by_block.iter().rev() {
                let day = c.created_unix / DAY;
                if (first_day..=today).contains(&day) && days_seen.insert(day) {
                    keep.insert(c.name.as_str());
                }
            }
        }
        by_block
            .iter()
            .filter(|c| !keep.contains(c.name.as_str()))
            .map(|c| c.name.clone())
            .collect()
    }
}

/// When checkpoints are taken, and which are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// A checkpoint is taken when the cursor crosses a multiple of this many
    /// blocks (0: only on demand).
    pub every_blocks: u64,
    /// What pruning keeps after each new checkpoint.
    pub retention: RetentionPolicy,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every_blocks: 10_000,
            retention: RetentionPolicy::default(),
        }
    }
}

impl CheckpointPolicy {
    /// Whether a token at block `cursor` whose newest checkpoint is at
    /// `newest` (none yet: `None`) is due for a checkpoint: the cursor has
    /// crossed a multiple of `every_blocks` since.
    pub fn due(&self, cursor: u64, newest: Option<u64>) -> bool {
        if self.every_blocks == 0 {
            return false;
        }
        cursor / self.every_blocks > newest.unwrap_or(0) / self.every_blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(block: u64, created_unix: u64) -> CheckpointInfo {
        CheckpointInfo {
            bytes: 0,
            name: format!("b{block}"),
            block,
            block_id: String::new(),
            log_records: block,
            state_hash: String::new(),
            created_unix,
        }
    }

    #[test]
    fn keeps_the_newest_and_one_a_day() {
        let now = 10 * DAY + 500;
        // Days 5..=10, three checkpoints a day.
        let all: Vec<_> = (0..18u64)
            .map(|i| cp(100 * (i + 1), (5 + i / 3) * DAY + (i % 3) * 100))
            .collect();
        let policy = RetentionPolicy {
            keep_last: 2,
            keep_daily: 3,
        };
        let pruned = policy.prunable(&all, now);
        let kept: Vec<_> = all
            .iter()
            .filter(|c| !pruned.contains(&c.name))
            .map(|c| c.block)
            .collect();
        // Newest two (1700, 1800); newest of days 8, 9, 10 (1200, 1500, 1800).
        assert_eq!(kept, vec![1200, 1500, 1700, 1800]);
    }

    #[test]
    fn nothing_is_kept_by_day_outside_the_window_or_with_zero_days() {
        let all = vec![cp(1, 0), cp(2, DAY), cp(3, 2 * DAY)];
        let none = RetentionPolicy {
            keep_last: 0,
            keep_daily: 0,
        };
        assert_eq!(none.prunable(&all, 2 * DAY), vec!["b1", "b2", "b3"]);
        let last_only = RetentionPolicy {
            keep_last: 1,
            keep_daily: 1,
        };
        assert_eq!(last_only.prunable(&all, 100 * DAY), vec!["b1", "b2"]);
    }

    #[test]
    fn due_when_a_multiple_is_crossed() {
        let policy = CheckpointPolicy {
            every_blocks: 100,
            ..Default::default()
        };
        assert!(!policy.due(99, None));
        assert!(policy.due(100, None));
        assert!(!policy.due(150, Some(120)));
        assert!(policy.due(201, Some(120)));
        let never = CheckpointPolicy {
            every_blocks: 0,
            ..Default::default()
        };
        assert!(!never.due(1_000_000, None));
    }
}
