//! A token's commit events: what the writer tells live readers (GraphQL
//! subscriptions) after a change is durable.
//!
//! The bus is a bounded [`tokio::sync::broadcast`] channel owned by the
//! [`TokenEntry`](crate::TokenEntry): publishing never blocks the writer and
//! never grows memory; a receiver that falls more than [`EVENT_BUFFER`]
//! events behind gets `RecvError::Lagged` and must give up (the subscription
//! side closes such a client).
//!
//! Events are published only after the change they describe is committed
//! (log fsynced, LMDB transaction committed), so a reader reacting to one
//! always finds the new state in the projection.

use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::block::BlockRef;

/// Events one token's bus keeps for the slowest receiver.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened to a token's projection, after it was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEvent {
    /// Blocks up to `block` were committed; `block` is the new cursor (one
    /// event per applied batch, for its last block).
    Block {
        /// The new cursor.
        block: BlockRef,
        /// True when the block was already irreversible on the chain when it
        /// was committed (backfill), false for a head block that a fork may
        /// still undo.
        irreversible: bool,
    },
    /// The token's blocks up to `number` became irreversible: the chain's
    /// last irreversible block reached them after they were committed as
    /// head blocks.
    Irreversible {
        /// Highest committed block that is now final.
        number: u64,
    },
    /// The projection went back from block `from_block` to `to_block`
    /// (a fork, an operator's rollback or a replay that stopped lower).
    Reorg {
        /// `from_block - to_block`, the number of blocks undone.
        depth: u64,
        /// The cursor before.
        from_block: u64,
        /// The cursor now; `None` when no block is left.
        to_block: Option<BlockRef>,
    },
}

/// The bus and what it remembers to derive `Irreversible` events.
#[derive(Debug)]
pub(crate) struct EventBus {
    sender: broadcast::Sender<TokenEvent>,
    marks: Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    /// Last committed block announced.
    committed: u64,
    /// Highest block announced as irreversible.
    final_block: u64,
}

impl EventBus {
    pub(crate) fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        EventBus {
            sender,
            marks: Mutex::new(Marks::default()),
        }
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks> {
        // The marks are two numbers updated together under the lock; a panic
        // elsewhere cannot tear them.
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn publish(&self, event: TokenEvent) {
        let mut marks = self.marks();
        match &event {
            TokenEvent::Block {
                block,
                irreversible,
            } => {
                marks.committed = block.num;
                if *irreversible {
                    marks.final_block = marks.final_block.max(block.num);
                }
            }
            TokenEvent::Irreversible { number } => {
                marks.final_block = marks.final_block.max(*number);
            }
            TokenEvent::Reorg { to_block, .. } => {
                let to = to_block.as_ref().map_or(0, |b| b.num);
                marks.committed = to;
                marks.final_block = marks.final_block.min(to);
            }
        }
        // Sending under the lock keeps events in the order of the marks.
        // An error only means nobody listens, which is fine.
        let _ = self.sender.send(event);
    }

    /// Announces the committed blocks that `chain_irreversible` made final.
    pub(crate) fn chain_irreversible(&self, chain_irreversible: u64) {
        let mut marks = self.marks();
        let now_final = chain_irreversible.min(marks.committed);
        if now_final > marks.final_block {
            marks.final_block = now_final;
            let _ = self
                .sender
                .send(TokenEvent::Irreversible { number: now_final });
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<TokenEvent> {
        self.sender.subscribe()
    }

    pub(crate) fn receivers(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn block(num: u64) -> BlockRef {
        BlockRef {
            num,
            id: format!("{num:08x}{}", "0".repeat(32)),
            timestamp: "2025-01-01T00:00:00".into(),
        }
    }

    fn head(num: u64) -> TokenEvent {
        TokenEvent::Block {
            block: block(num),
            irreversible: false,
        }
    }

    #[test]
    fn irreversible_events_cover_only_committed_blocks_once() {
        let bus = EventBus::new(16);
        let mut rx = bus.subscribe();
        // The chain is far ahead of the token: nothing committed is final yet.
        bus.chain_irreversible(100);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        bus.publish(head(5));
        bus.chain_irreversible(100);
        bus.chain_irreversible(100);
        assert_eq!(rx.try_recv(), Ok(head(5)));
        assert_eq!(rx.try_recv(), Ok(TokenEvent::Irreversible { number: 5 }));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        bus.publish(head(8));
        bus.chain_irreversible(7);
        assert_eq!(rx.try_recv(), Ok(head(8)));
        assert_eq!(rx.try_recv(), Ok(TokenEvent::Irreversible { number: 7 }));
    }

    #[test]
    fn a_slow_receiver_lags_instead_of_growing_the_buffer() {
        let bus = EventBus::new(4);
        let mut rx = bus.subscribe();
        for n in 1..=10 {
            bus.publish(head(n));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(6)));
        assert_eq!(rx.try_recv(), Ok(head(7)));
        assert_eq!(bus.receivers(), 1);
        drop(rx);
        assert_eq!(bus.receivers(), 0);
    }
}
