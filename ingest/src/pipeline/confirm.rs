//! A token's first batch has no cursor to link to, so linkage alone cannot
//! tell the real chain from another one: a node serving a different chain
//! (consistent within itself) would have its blocks applied, and every later
//! block of the real chain would then look unlinked. So the last block of an
//! unanchored batch must be confirmed by the other nodes first.

use futures_util::future::join_all;
use tracing::warn;

use super::fetch::Chunk;
use super::stream::Stream;
use crate::client::{Failure, HiveClient, BAD_DATA_PAUSE};
use crate::decode::DecodedBlock;

/// Asks every node but `served_by` for the id of block `num`. Confirmed
/// when a strict majority of the nodes that answer (the serving one
/// included) serve `id`. Nodes that fail or lack the block do not vote, so
/// a lone node, or one whose peers are all down, is taken at its word:
/// nobody contradicts it. Two nodes that disagree confirm neither.
/// `Err` says who disagreed, for the log and the node's blame.
pub(crate) async fn confirm_block(
    client: &HiveClient,
    served_by: usize,
    num: u64,
    id: &str,
) -> Result<(), String> {
    let others: Vec<usize> = (0..client.nodes().len())
        .filter(|&n| n != served_by)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let answers = join_all(others.iter().map(|&n| client.block_id_from(n, num))).await;
    let (mut agree, mut disagree, mut silent) = (1usize, Vec::new(), 0usize);
    for (&node, answer) in others.iter().zip(answers) {
        match answer {
            Ok(Some(other)) if other == id => agree += 1,
            Ok(Some(other)) => disagree.push(format!(
                "{} serves {other}",
                client.nodes().get(node).map_or("?", String::as_str)
            )),
            Ok(None) | Err(_) => silent += 1,
        }
    }
    if agree > disagree.len() {
        return Ok(());
    }
    Err(format!(
        "block {num} (id {id}) from {} is confirmed by {} other node(s), {} node(s) did not answer{}{}",
        client.nodes().get(served_by).map_or("?", String::as_str),
        agree - 1,
        silent,
        if disagree.is_empty() { "" } else { "; " },
        disagree.join("; "),
    ))
}

/// Which node served which blocks: `(first block, node)` per chunk, in order.
pub(crate) fn spans(chunks: &[Chunk]) -> Vec<(u64, usize)> {
    chunks
        .iter()
        .filter_map(|c| c.blocks.first().map(|b| (b.block.num, c.node)))
        .collect()
}

impl Stream {
    /// An unanchored batch (the token's first, or after a rollback to before
    /// its start): true when its last block is confirmed; else the node that
    /// served it is blamed (left out for a while) and the batch is dropped.
    pub(crate) async fn confirmed(&self, spans: &[(u64, usize)], blocks: &[DecodedBlock]) -> bool {
        let Some(last) = blocks.last() else {
            return true;
        };
        let num = last.block.num;
        let Some(node) = spans
            .iter()
            .rev()
            .find(|(first, _)| *first <= num)
            .map(|(_, node)| *node)
        else {
            return true;
        };
        let client = &self.ingest.client;
        match confirm_block(client, node, num, &last.block.id).await {
            Ok(()) => true,
            Err(detail) => {
                warn!(token = %self.symbol, "the first blocks are not confirmed by the other nodes, refetching: {detail}");
                client.report(
                    node,
                    Failure::new("unconfirmed", detail).with_pause(BAD_DATA_PAUSE),
                );
                false
            }
        }
    }
}
