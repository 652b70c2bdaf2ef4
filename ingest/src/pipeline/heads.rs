//! Polling the irreversible head.

use std::sync::Arc;

use tokio::sync::watch;
use tracing::error;

use crate::Ingest;

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
            polled = ingest.fetch_irreversible() => polled,
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
