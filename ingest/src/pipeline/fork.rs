//! Head mode: finding a fork's common ancestor by comparing the ids of our
//! recent blocks with the node's current ones.

use serde_json::json;

use super::recent::RecentBlocks;
use crate::client::{Failure, HiveClient, BAD_DATA_PAUSE};
use crate::decode::{self, OpFilter};
use crate::{IngestError, MAX_RANGE};

/// Where our chain and the node's meet.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ancestor {
    /// The newest block that is ours and the node's alike.
    Found(u64),
    /// No common block within `max_reorg_depth` of our cursor: `num` is the
    /// deepest block compared.
    TooDeep {
        num: u64,
        ours: String,
        theirs: String,
    },
    /// No common block among the ids we know, which do not reach
    /// `max_reorg_depth` back (the stream started recently).
    Unknown { lowest_known: u64 },
}

/// Compares our recent blocks, newest first, with the node's blocks at the
/// same heights, down to `max_depth` below our cursor (or our oldest known
/// id). A node whose blocks share none with ours is asked again of the
/// other nodes (it may serve another chain) before the answer is believed.
pub(crate) async fn find_ancestor(
    client: &HiveClient,
    recent: &RecentBlocks,
    max_depth: u64,
) -> Result<Ancestor, IngestError> {
    let (Some(cursor), Some(oldest)) = (recent.head(), recent.oldest()) else {
        return Err(IngestError::Internal(
            "a fork check needs the token's cursor".into(),
        ));
    };
    let deepest = cursor.num.saturating_sub(max_depth);
    let low = deepest.max(oldest.num);
    let mut avoid = None;
    let mut verdict = None;
    for _ in 0..client.nodes().len().max(1) {
        let (nodes, ids) = node_ids(client, low, cursor.num, avoid).await?;
        let found = (low..=cursor.num)
            .rev()
            .zip(ids.iter().rev())
            .find(|(num, theirs)| recent.get(*num).is_some_and(|ours| &ours.id == *theirs));
        if let Some((num, _)) = found {
            return Ok(Ancestor::Found(num));
        }
        verdict = Some(if low == deepest {
            Ancestor::TooDeep {
                num: low,
                ours: recent.get(low).map(|b| b.id.clone()).unwrap_or_default(),
                theirs: ids.first().cloned().unwrap_or_default(),
            }
        } else {
            Ancestor::Unknown { lowest_known: low }
        });
        if client.nodes().len() < 2 {
            break;
        }
        let detail = format!(
            "none of blocks {low}..={} matches the token's: another chain or a deep fork",
            cursor.num
        );
        for &node in &nodes {
            client.report(
                node,
                Failure::new("unlinked", detail.clone()).with_pause(BAD_DATA_PAUSE),
            );
        }
        avoid = nodes.last().copied();
    }
    verdict.ok_or_else(|| IngestError::Internal("no node asked for a fork's ancestor".into()))
}

/// The node's ids of blocks `low..=high` (their operations are not decoded)
/// and the nodes that served them.
async fn node_ids(
    client: &HiveClient,
    low: u64,
    high: u64,
    avoid: Option<usize>,
) -> Result<(Vec<usize>, Vec<String>), IngestError> {
    let none = OpFilter::new(Vec::<String>::new());
    let mut nodes = Vec::new();
    let mut ids = Vec::new();
    let mut start = low;
    while start <= high {
        let count =
            u32::try_from((high - start + 1).min(u64::from(MAX_RANGE))).unwrap_or(MAX_RANGE);
        let params = json!({"starting_block_num": start, "count": count});
        let (node, blocks) = client
            .request("block_api.get_block_range", params, avoid, |body| {
                decode::block_range_response(&body, start, count, &none).map_err(Failure::from)
            })
            .await?;
        nodes.push(node);
        ids.extend(blocks.into_iter().map(|b| b.block.id));
        start += u64::from(count);
    }
    nodes.dedup();
    Ok((nodes, ids))
}
