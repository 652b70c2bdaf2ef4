//! Head mode: undoing a fork. The common ancestor is found by comparing
//! recent ids with the node's ([`super::fork`]); the token is rolled back
//! to it and the stream goes on from the block after it on the new branch.
//! A fork deeper than `max_reorg_depth` fails the token: nothing of the new
//! branch is applied and an operator decides.

use tracing::{error, warn};

use super::fetch::Unlinked;
use super::fork::{find_ancestor, Ancestor};
use super::heads::Heads;
use super::rollback::{self, RolledBack};
use super::stream::{fail, Stream};

/// What the stream does after a fork check.
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// Handles a block that does not link to the cursor (`unlinked`) or a
/// head id that replaced one of ours (`None`).
pub(crate) async fn resolve(
    stream: &mut Stream,
    heads: &Heads,
    unlinked: Option<&Unlinked>,
) -> Flow {
    let Some(cursor) = stream.recent.head().cloned() else {
        return Flow::Continue;
    };
    let max_depth = stream.ingest.config.max_reorg_depth;
    let ingest = stream.ingest.clone();
    let found = tokio::select! {
        found = find_ancestor(&ingest.client, &stream.recent, max_depth) => found,
        _ = stream.cancel.changed() => return Flow::Continue,
    };
    let ancestor = match found {
        Ok(Ancestor::Found(num)) => num,
        Ok(Ancestor::TooDeep { num, ours, theirs }) => {
            fail(
                &stream.entry,
                &stream.symbol,
                format!(
                    "fork deeper than max_reorg_depth={max_depth}: our block {num} is {ours}, \
                     the node's is {theirs}; roll back by hand with `honeygraph rollback`"
                ),
            );
            return Flow::Stop;
        }
        Ok(Ancestor::Unknown { lowest_known }) => {
            return unknown_ancestor(stream, heads, lowest_known).await;
        }
        Err(e) => {
            // Includes a node that is behind our cursor: not a fork, wait.
            error!(token = %stream.symbol, "cannot look for a fork's common ancestor, retrying: {e}");
            stream.fail_pause().await;
            return Flow::Continue;
        }
    };
    if ancestor == cursor.num {
        // The node agrees with our cursor: the unlinked block was bad data
        // or a fork that was undone meanwhile.
        if let Some(unlinked) = unlinked {
            warn!(token = %stream.symbol, "dropped a block that does not link to the cursor, refetching: {}", unlinked.detail);
            stream.blame(unlinked);
            stream.fail_pause().await;
        }
        return Flow::Continue;
    }
    roll_back(stream, cursor.num, ancestor).await
}

/// Our ids do not reach back to the common ancestor (the stream started
/// recently). Blocks at or below the irreversible block cannot change, so
/// rolling back to it (when within `max_reorg_depth`) and checking that the
/// block landed on is the node's finds a common ancestor too.
async fn unknown_ancestor(stream: &mut Stream, heads: &Heads, lowest_known: u64) -> Flow {
    let max_depth = stream.ingest.config.max_reorg_depth;
    let cursor = stream.recent.head().map_or(0, |b| b.num);
    let irreversible = heads.irreversible;
    if irreversible == 0 || irreversible >= lowest_known || cursor - irreversible > max_depth {
        fail(
            &stream.entry,
            &stream.symbol,
            format!(
                "fork below the blocks whose ids ingest knows (from block {lowest_known}; \
                 irreversible block {irreversible}, max_reorg_depth={max_depth}): none of them \
                 is the node's; roll back by hand with `honeygraph rollback`"
            ),
        );
        return Flow::Stop;
    }
    if let Flow::Stop = roll_back(stream, cursor, irreversible).await {
        return Flow::Stop;
    }
    let Some(landed) = stream.recent.head().cloned() else {
        return Flow::Continue;
    };
    match stream.ingest.client.block(landed.num).await {
        Ok(theirs) if theirs.block.id == landed.id => Flow::Continue,
        Ok(theirs) => {
            fail(
                &stream.entry,
                &stream.symbol,
                format!(
                    "fork below the irreversible block: our block {} is {}, the node's is {}; \
                     roll back by hand with `honeygraph rollback`",
                    landed.num, landed.id, theirs.block.id
                ),
            );
            Flow::Stop
        }
        // The next fetch checks the link to the landed block anyway.
        Err(_) => Flow::Continue,
    }
}

/// Rolls the token back to `ancestor` and rewinds the stream to where it landed.
async fn roll_back(stream: &mut Stream, from: u64, ancestor: u64) -> Flow {
    let slot = stream.slot.clone();
    let generation = stream.generation;
    let rolled =
        tokio::task::spawn_blocking(move || rollback::for_fork(&slot, generation, ancestor)).await;
    let report = match rolled {
        Ok(RolledBack::Done(report)) => report,
        Ok(RolledBack::Stale) => return Flow::Continue,
        Ok(RolledBack::Removed) => return Flow::Stop,
        Ok(RolledBack::Failed(e)) => {
            fail(
                &stream.entry,
                &stream.symbol,
                format!("cannot roll back to block {ancestor} after a fork: {e}"),
            );
            return Flow::Stop;
        }
        Err(e) => {
            fail(
                &stream.entry,
                &stream.symbol,
                format!("the rollback task failed: {e}"),
            );
            return Flow::Stop;
        }
    };
    let to = report.block.as_ref().map_or(0, |b| b.num);
    let depth = from.saturating_sub(to);
    warn!(token = %stream.symbol, depth, from, to, "reorg");
    let symbol = stream.symbol.clone();
    metrics::counter!("honeygraph_reorgs_total", "token" => symbol.clone()).increment(1);
    metrics::histogram!("honeygraph_reorg_depth", "token" => symbol).record(depth as f64);
    stream.recent.rewind(report.block.as_ref());
    stream.checked_head = None;
    Flow::Continue
}
