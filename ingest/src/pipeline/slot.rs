//! One token as the pipeline sees it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use replay::TokenRuntime;
use tokio::sync::watch;

/// A registered token: its runtime, routing facts, and the switches that
/// stop its stream.
pub(crate) struct TokenSlot {
    pub(crate) runtime: Arc<TokenRuntime>,
    pub(crate) symbol: String,
    pub(crate) prefix: String,
    pub(crate) start_block: u64,
    removed: AtomicBool,
    /// Held while a batch is applied, so `remove_token` can wait it out.
    apply_lock: Mutex<()>,
    /// True: the stream must stop (ingest stops or the token is removed).
    cancel: watch::Sender<bool>,
    /// Bumped (under the apply lock, after the change) whenever an operator
    /// moved the cursor, so the stream drops what it fetched and reads the
    /// cursor again; it also wakes a stream paused after a failure.
    generation: watch::Sender<u64>,
}

impl TokenSlot {
    pub(crate) fn new(runtime: Arc<TokenRuntime>) -> Self {
        let config = runtime.entry().config();
        TokenSlot {
            symbol: config.symbol,
            prefix: config.op_prefix,
            start_block: config.start_block,
            runtime,
            removed: AtomicBool::new(false),
            apply_lock: Mutex::new(()),
            cancel: watch::channel(false).0,
            generation: watch::channel(0).0,
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Wakes an idle stream when the generation moves.
    pub(crate) fn generations(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Tells the stream its position is stale; call with the apply lock held.
    pub(crate) fn bump_generation(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    pub(crate) fn cancelled(&self) -> watch::Receiver<bool> {
        self.cancel.subscribe()
    }

    pub(crate) fn set_cancel(&self, cancel: bool) {
        self.cancel.send_replace(cancel);
    }

    /// Stops the stream and waits until no batch of this token is being applied.
    pub(crate) fn remove(&self) {
        self.removed.store(true, Ordering::SeqCst);
        self.set_cancel(true);
        drop(self.lock_apply());
    }

    /// The apply lock, or `None` once the token was removed: no batch may be
    /// applied after `remove` returned.
    pub(crate) fn lock_apply(&self) -> Option<MutexGuard<'_, ()>> {
        let guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        (!self.removed.load(Ordering::SeqCst)).then_some(guard)
    }
}
