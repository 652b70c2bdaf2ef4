//! Progress of long jobs. On a terminal: indicatif bars. Otherwise (a
//! service, a container): a log line every few seconds with the rate and an
//! ETA, e.g. `token=SPK block=… target=… blocks_per_sec=… eta=…`.
//!
//! Backfill progress is read from the outside: every tick the watcher reads
//! each token's cursor and the head ingest follows from the [`Catalog`], so
//! ingest itself knows nothing about how progress is shown. The same reading
//! feeds three gauges the dashboard plots next to ingest's own metrics:
//! `honeygraph_token_target_block`, `honeygraph_token_irreversible_block` and
//! `honeygraph_token_lag_blocks`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use state::{Catalog, TokenEntry, TokenStatus};
use tokio::sync::watch;
use tracing::info;

use crate::logging;

/// Seconds between progress log lines when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often bars and the lag gauges are refreshed.
const TICK: Duration = Duration::from_secs(1);
/// A token this close to its target head is caught up (as `/ready` counts).
const CAUGHT_UP_LAG: u64 = 2;

/// A bar drawn with the log lines (hidden when stderr is not a terminal).
pub(crate) fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = logging::bars().add(ProgressBar::new(len));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// One token as last seen.
struct Seen {
    block: u64,
    at: Instant,
    /// Blocks per second, smoothed.
    rate: Option<f64>,
    bar: Option<ProgressBar>,
    behind: bool,
}

/// Watches every token until `stop` turns true.
pub(crate) async fn watch_backfill(catalog: Arc<Catalog>, mut stop: watch::Receiver<bool>) {
    let terminal = logging::stderr_is_terminal();
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut last_log = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
        let log_now = !terminal && last_log.elapsed() >= LOG_EVERY;
        if log_now {
            last_log = Instant::now();
        }
        let entries = catalog.list();
        seen.retain(|symbol, s| {
            let keep = entries.iter().any(|e| &e.symbol() == symbol);
            if !keep {
                if let Some(bar) = s.bar.take() {
                    bar.finish_and_clear();
                }
            }
            keep
        });
        for entry in entries {
            observe(&entry, &mut seen, terminal, log_now);
        }
    }
    for s in seen.values_mut() {
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn observe(entry: &TokenEntry, seen: &mut BTreeMap<String, Seen>, terminal: bool, log_now: bool) {
    let symbol = entry.symbol();
    let config = entry.config();
    let genesis_block = config.start_block.saturating_sub(1);
    let Some(block) = entry.projection().and_then(|p| {
        p.meta()
            .ok()
            .map(|m| m.cursor.map_or(genesis_block, |c| c.num))
    }) else {
        // A rollback or replay is swapping the projection: next tick.
        return;
    };
    let (target, irreversible) = entry.chain_heads();
    if target == 0 {
        return; // no Hive node has answered yet
    }
    let lag = target.saturating_sub(block);
    metrics::gauge!("honeygraph_token_target_block", "token" => symbol.clone()).set(target as f64);
    metrics::gauge!("honeygraph_token_lag_blocks", "token" => symbol.clone()).set(lag as f64);
    metrics::gauge!("honeygraph_token_irreversible_block", "token" => symbol.clone())
        .set(irreversible as f64);

    let now = Instant::now();
    let s = seen.entry(symbol.clone()).or_insert(Seen {
        block,
        at: now,
        rate: None,
        bar: None,
        behind: false,
    });
    let elapsed = now.duration_since(s.at).as_secs_f64();
    if elapsed >= 0.5 {
        let instant = block.saturating_sub(s.block) as f64 / elapsed;
        s.rate = Some(match s.rate {
            Some(old) => 0.7 * old + 0.3 * instant,
            None => instant,
        });
        s.block = block;
        s.at = now;
    }
    let (status, _) = entry.status();
    let behind = lag > CAUGHT_UP_LAG && status != TokenStatus::Failed;
    let rate = s.rate.unwrap_or(0.0);
    let eta = eta(lag, rate);
    if behind {
        s.behind = true;
        if terminal {
            let bar = s.bar.get_or_insert_with(|| {
                bar(
                    0,
                    "{prefix:>10} backfill [{bar:30}] {pos}/{len} blocks {msg}",
                )
            });
            bar.set_prefix(symbol.clone());
            bar.set_length(target.saturating_sub(genesis_block));
            bar.set_position(block.saturating_sub(genesis_block));
            bar.set_message(format!("{rate:.0} blocks/s, {eta} left"));
        } else if log_now {
            info!(
                token = %symbol,
                block,
                target,
                blocks_per_sec = format!("{rate:.1}"),
                eta = %eta,
                "backfill progress"
            );
        }
    } else if s.behind {
        s.behind = false;
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
        info!(token = %symbol, block, target, "caught up with the chain head");
    }
}

/// `1h02m`, `3m05s`, `12s`; `?` while the rate is unknown.
fn eta(remaining: u64, rate: f64) -> String {
    if rate < 0.01 {
        return "?".into();
    }
    let secs = (remaining as f64 / rate).round() as u64;
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::eta;

    #[test]
    fn eta_reads_like_a_duration() {
        assert_eq!(eta(100, 0.0), "?");
        assert_eq!(eta(100, 10.0), "10s");
        assert_eq!(eta(1850, 10.0), "3m05s");
        assert_eq!(eta(37_200, 10.0), "1h02m");
    }
}
