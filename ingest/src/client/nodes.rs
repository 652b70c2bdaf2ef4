//! The node list: which node to ask next, and which ones asked for a pause.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Nodes in the operator's order. Requests go to the current node; a failure
/// moves every later request to the next one (failover), so a dead node costs
/// one failed attempt, not one per request.
#[derive(Debug)]
pub(crate) struct Nodes {
    urls: Vec<String>,
    current: AtomicUsize,
    /// Per node: do not ask before this instant (429 Retry-After).
    not_before: Mutex<Vec<Option<Instant>>>,
}

impl Nodes {
    pub(crate) fn new(urls: Vec<String>) -> Self {
        let n = urls.len();
        Nodes {
            urls,
            current: AtomicUsize::new(0),
            not_before: Mutex::new(vec![None; n]),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.urls.len()
    }

    pub(crate) fn url(&self, node: usize) -> &str {
        self.urls.get(node).map_or("", String::as_str)
    }

    pub(crate) fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The node to ask now (skipping nodes in a Retry-After pause, unless all
    /// are) and how long to wait before asking it.
    pub(crate) fn pick(&self, avoid: Option<usize>) -> (usize, Duration) {
        let n = self.urls.len().max(1);
        let start = self.current.load(Ordering::Relaxed) % n;
        let now = Instant::now();
        let pauses = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        let wait = |i: usize| {
            pauses
                .get(i)
                .copied()
                .flatten()
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
        };
        let order = (0..n).map(|k| (start + k) % n);
        let candidates: Vec<usize> = if n > 1 {
            order.filter(|&i| Some(i) != avoid).collect()
        } else {
            order.collect()
        };
        if let Some(&ready) = candidates.iter().find(|&&i| wait(i).is_zero()) {
            return (ready, Duration::ZERO);
        }
        let soonest = candidates
            .iter()
            .copied()
            .min_by_key(|&i| wait(i))
            .unwrap_or(start);
        (soonest, wait(soonest))
    }

    /// Moves later requests off `node` (if it is still the current one) and
    /// pauses it for `pause`, if given.
    pub(crate) fn failed(&self, node: usize, pause: Option<Duration>) {
        let n = self.urls.len().max(1);
        let _ = self.current.compare_exchange(
            node,
            (node + 1) % n,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if let Some(pause) = pause {
            let mut pauses = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = pauses.get_mut(node) {
                *slot = Some(Instant::now() + pause);
            }
        }
    }
}
