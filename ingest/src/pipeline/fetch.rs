//! Fetching a batch of blocks: several ranges in flight, reassembled in
//! order, each decoded on the worker threads and checked for linkage.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::json;

use super::shared::Sharing;
use super::workers::DecodePool;
use crate::client::{Failure, HiveClient};
use crate::decode::{DecodedBlock, OpFilter};
use crate::IngestError;

/// Blocks of one `get_block_range` call and the node that served them.
pub(crate) struct Chunk {
    pub(crate) node: usize,
    pub(crate) blocks: Vec<DecodedBlock>,
}

/// How to fetch a batch.
pub(crate) struct FetchPlan<'a> {
    pub(crate) client: &'a HiveClient,
    pub(crate) pool: &'a DecodePool,
    pub(crate) filter: &'a Arc<OpFilter>,
    pub(crate) range_size: u32,
    pub(crate) in_flight: usize,
    /// Irreversible ranges shared with the other token streams.
    pub(crate) sharing: Option<Sharing<'a>>,
}

impl FetchPlan<'_> {
    /// Blocks `first..=last` in chunks of `range_size`, `in_flight` at a time,
    /// in chain order. Each chunk is exactly its blocks, linked within itself.
    pub(crate) async fn fetch(&self, first: u64, last: u64) -> Result<Vec<Chunk>, IngestError> {
        let size = u64::from(self.range_size.max(1));
        let starts = (first..=last).step_by(size as usize);
        stream::iter(starts.map(|start| {
            let count = (last - start + 1).min(size);
            // `count <= range_size <= 1000`, so it fits.
            self.fetch_chunk(start, u32::try_from(count).unwrap_or(self.range_size))
        }))
        .buffered(self.in_flight.max(1))
        .try_collect()
        .await
    }

    /// One range, shared with the other streams when it can be.
    async fn fetch_chunk(&self, start: u64, count: u32) -> Result<Chunk, IngestError> {
        match &self.sharing {
            Some(sharing) => sharing.fetch(self, start, count).await,
            None => self.fetch_fresh(start, count, self.filter).await,
        }
    }

    /// One range from a node, decoded with `filter`; an answer that does
    /// not decode or is not exactly the blocks asked for, linked, is blamed
    /// on its node and asked of the next one.
    pub(crate) async fn fetch_fresh(
        &self,
        start: u64,
        count: u32,
        filter: &Arc<OpFilter>,
    ) -> Result<Chunk, IngestError> {
        let params = json!({"starting_block_num": start, "count": count});
        let attempts = self.client.max_attempts();
        let mut avoid = None;
        let mut last_error = String::new();
        for attempt in 0..attempts {
            if attempt > 0 && attempt % self.client.nodes().len().max(1) == 0 {
                let round =
                    u32::try_from(attempt / self.client.nodes().len().max(1)).unwrap_or(u32::MAX);
                tokio::time::sleep(self.client.retry().backoff(round)).await;
            }
            let (node, body) = self
                .client
                .request("block_api.get_block_range", params.clone(), avoid, Ok)
                .await?;
            let decoded = self
                .pool
                .decode(body.clone(), start, count, filter.clone())
                .await?;
            self.client.reuse(body);
            match decoded {
                Ok(blocks) => return Ok(Chunk { node, blocks }),
                Err(error) => {
                    last_error = format!(
                        "{}: blocks {start}..{}: {error}",
                        self.client.nodes().get(node).map_or("?", String::as_str),
                        start + u64::from(count) - 1
                    );
                    self.client.report(node, Failure::from(error));
                    avoid = Some(node);
                }
            }
        }
        Err(IngestError::AllNodesFailed {
            nodes: self.client.nodes().join(", "),
            attempts,
            last_error,
        })
    }
}

/// What [`linked_prefix`] refused.
pub(crate) struct Unlinked {
    /// Nodes that served the chunks on either side of the break.
    pub(crate) nodes: Vec<usize>,
    pub(crate) detail: String,
}

/// The blocks of `chunks` that link to `parent` and to each other
/// (invariant 4), and, at a break, which nodes to blame. With a cursor, the
/// chunks before the break are anchored to it, so only the chunk after the
/// break is wrong; without one (a token's first batch) either side may be,
/// so both are dropped.
pub(crate) fn linked_prefix(
    parent: Option<&str>,
    chunks: Vec<Chunk>,
) -> (Vec<DecodedBlock>, Option<Unlinked>) {
    let anchored = parent.is_some();
    let mut parent = parent.map(str::to_owned);
    let mut break_at = None;
    for (k, chunk) in chunks.iter().enumerate() {
        let Some(first) = chunk.blocks.first() else {
            continue;
        };
        if let Some(parent) = &parent {
            if let Err(error) = crate::decode::check_link(parent, first) {
                break_at = Some((k, error.to_string()));
                break;
            }
        }
        parent = chunk.blocks.last().map(|b| b.block.id.clone());
    }
    let Some((k, detail)) = break_at else {
        return (chunks.into_iter().flat_map(|c| c.blocks).collect(), None);
    };
    let keep = if anchored { k } else { k.saturating_sub(1) };
    let mut nodes: Vec<usize> = chunks[keep..=k].iter().map(|c| c.node).collect();
    nodes.dedup();
    let blocks = chunks
        .into_iter()
        .take(keep)
        .flat_map(|c| c.blocks)
        .collect();
    (blocks, Some(Unlinked { nodes, detail }))
}
