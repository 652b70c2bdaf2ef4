//! Polling the chain heads.

use std::sync::Arc;

use tokio::sync::watch;
use tracing::error;

use crate::decode::ChainHeads;
use crate::{FollowMode, Ingest};

/// The newest heads the nodes reported; all zero until a node answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Heads {
    /// Newest (reversible) block.
    pub(crate) head: u64,
    /// Its id.
    pub(crate) head_id: String,
    /// Newest irreversible block.
    pub(crate) irreversible: u64,
}

impl Heads {
    /// Takes in one node's answer; true if anything changed. Neither head
    /// moves back (a lagging node's older answer is ignored), but a new id
    /// at the same head height is taken: a fork replaced the head block.
    pub(crate) fn merge(&mut self, polled: &ChainHeads) -> bool {
        let mut changed = false;
        if polled.last_irreversible_block_num > self.irreversible {
            self.irreversible = polled.last_irreversible_block_num;
            changed = true;
        }
        let newer = polled.head_block_number > self.head;
        let replaced =
            polled.head_block_number == self.head && polled.head_block_id != self.head_id;
        if newer || replaced {
            self.head = polled.head_block_number;
            self.head_id.clone_from(&polled.head_block_id);
            changed = true;
        }
        changed
    }

    /// The last block a stream fetches in `mode`.
    pub(crate) fn target(&self, mode: FollowMode) -> u64 {
        match mode {
            FollowMode::Irreversible => self.irreversible,
            FollowMode::Head => self.head.max(self.irreversible),
        }
    }
}

/// Polls `get_dynamic_global_properties` every `poll_interval` until `stop`;
/// while every node fails, logs the error and keeps trying with a growing
/// (capped) pause.
pub(crate) async fn poll_heads(ingest: Arc<Ingest>, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let polled = tokio::select! {
            polled = ingest.fetch_heads() => polled,
            _ = stop.changed() => continue,
        };
        let wait = match polled {
            Ok(_) => {
                failures = 0;
                ingest.config.poll_interval
            }
            Err(e) => {
                failures += 1;
                error!("cannot read the irreversible head, retrying: {e}");
                ingest
                    .client
                    .retry()
                    .backoff(failures)
                    .max(ingest.config.poll_interval)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}
