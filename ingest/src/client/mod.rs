//! The Hive JSON-RPC client: several nodes with failover, timeouts and
//! backoff on 429 (honouring `Retry-After`), 5xx, timeouts, bodies that are
//! not JSON and JSON-RPC errors.

mod buffers;
mod failure;
mod nodes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use tracing::warn;

use crate::decode::{self, ChainHeads, DecodedBlock, OpFilter};
use crate::IngestError;

use self::buffers::BodyBuffers;
pub(crate) use self::failure::{Failure, BAD_DATA_PAUSE};
use self::nodes::Nodes;

/// How hard the client tries before it reports a request as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Pause after the first full round of failures.
    pub min_backoff: Duration,
    /// Longest pause between rounds (the pause doubles each round).
    pub max_backoff: Duration,
    /// Rounds over every node before the request fails with
    /// [`IngestError::AllNodesFailed`].
    pub rounds: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            rounds: 3,
        }
    }
}

impl RetryPolicy {
    /// The pause before round `round` (1-based), doubling and capped.
    pub fn backoff(&self, round: u32) -> Duration {
        let factor = 1u32
            .checked_shl(round.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.min_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A JSON-RPC client over a list of Hive API nodes.
#[derive(Debug)]
pub struct HiveClient {
    http: reqwest::Client,
    nodes: Nodes,
    retry: RetryPolicy,
    last_error: Mutex<Option<String>>,
    next_id: AtomicU64,
    buffers: BodyBuffers,
}

impl HiveClient {
    /// A client for `nodes` (tried in this order) with a per-request timeout.
    pub fn new(nodes: Vec<String>, timeout: Duration) -> Result<Self, IngestError> {
        if nodes.is_empty() {
            return Err(IngestError::Config("no Hive node given".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("honeygraph/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IngestError::Http(e.to_string()))?;
        Ok(HiveClient {
            http,
            nodes: Nodes::new(nodes),
            retry: RetryPolicy::default(),
            last_error: Mutex::new(None),
            next_id: AtomicU64::new(1),
            buffers: BodyBuffers::default(),
        })
    }

    /// Hands back an answer's body once it is decoded, for a later answer
    /// to be read into (see `buffers`).
    pub(crate) fn reuse(&self, body: Bytes) {
        self.buffers.give_back(body);
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The node URLs in order.
    pub fn nodes(&self) -> &[String] {
        self.nodes.urls()
    }

    /// The last failure of any node, `"<url>: <what happened>"`.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `database_api.get_dynamic_global_properties` (params `{}`).
    pub async fn dynamic_global_properties(&self) -> Result<ChainHeads, IngestError> {
        self.call(
            "database_api.get_dynamic_global_properties",
            json!({}),
            decode::dynamic_global_properties,
        )
        .await
    }

    /// `condenser_api.get_dynamic_global_properties` (params `[]`).
    pub async fn condenser_dynamic_global_properties(&self) -> Result<ChainHeads, IngestError> {
        self.call(
            "condenser_api.get_dynamic_global_properties",
            json!([]),
            decode::dynamic_global_properties,
        )
        .await
    }

    /// `block_api.get_block_range`: exactly blocks `start..start + count`
    /// (count 1 to 1000), linked, with every custom_json operation. A node
    /// that returns fewer blocks (it lags) or unlinked ones is failed over.
    pub async fn block_range(
        &self,
        start: u64,
        count: u32,
    ) -> Result<Vec<DecodedBlock>, IngestError> {
        check_count(count)?;
        let filter = OpFilter::any();
        let params = json!({"starting_block_num": start, "count": count});
        let (_, blocks) = self
            .request("block_api.get_block_range", params, None, |body| {
                decode::block_range_response(&body, start, count, &filter).map_err(Failure::from)
            })
            .await?;
        Ok(blocks)
    }

    /// `block_api.get_block`, with every custom_json operation.
    pub async fn block(&self, num: u64) -> Result<DecodedBlock, IngestError> {
        let filter = OpFilter::any();
        self.call("block_api.get_block", json!({"block_num": num}), |result| {
            decode::get_block_result(result, &filter)
        })
        .await?
        .ok_or(IngestError::NoSuchBlock(num))
    }

    /// `condenser_api.get_block`, with every custom_json operation.
    pub async fn condenser_block(&self, num: u64) -> Result<DecodedBlock, IngestError> {
        let filter = OpFilter::any();
        self.call("condenser_api.get_block", json!([num]), |result| {
            decode::condenser_block_result(result, &filter)
        })
        .await?
        .ok_or(IngestError::NoSuchBlock(num))
    }

    /// A call whose `result` is decoded by `decode`; undecodable answers fail over.
    async fn call<T>(
        &self,
        method: &'static str,
        params: Value,
        decode: impl Fn(&[u8]) -> Result<T, decode::DecodeError>,
    ) -> Result<T, IngestError> {
        let (_, value) = self
            .request(method, params, None, |body| {
                let result = decode::envelope(&body)?;
                decode(result.get().as_bytes()).map_err(Failure::from)
            })
            .await?;
        Ok(value)
    }

    /// Sends the request to the current node and hands the body to `decode`;
    /// any failure (transport, status, decode) moves to the next node, with a
    /// growing pause after each round over all nodes. `avoid` skips one node
    /// for the first attempt (it just served bad data). Returns the node that
    /// answered, so the caller can report it if the answer later proves bad.
    pub(crate) async fn request<T>(
        &self,
        method: &'static str,
        params: Value,
        avoid: Option<usize>,
        decode: impl Fn(Bytes) -> Result<T, Failure>,
    ) -> Result<(usize, T), IngestError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let payload = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        let payload = Bytes::from(payload.to_string());
        let n = self.nodes.len();
        let attempts = self.retry.rounds.max(1) * n;
        let mut avoid = avoid;
        let mut last_error = String::new();
        for attempt in 0..attempts {
            if attempt > 0 && attempt % n == 0 {
                let round = u32::try_from(attempt / n).unwrap_or(u32::MAX);
                tokio::time::sleep(self.retry.backoff(round)).await;
            }
            let (node, wait) = self.nodes.pick(avoid.take());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            match self
                .attempt(node, method, payload.clone())
                .await
                .and_then(&decode)
            {
                Ok(value) => return Ok((node, value)),
                Err(failure) => {
                    last_error = format!("{}: {}", self.nodes.url(node), failure.message);
                    self.report(node, failure);
                }
            }
        }
        Err(IngestError::AllNodesFailed {
            nodes: self.nodes.urls().join(", "),
            attempts,
            last_error,
        })
    }

    /// Asks node `node` alone (one attempt, no failover, nothing reported)
    /// for the id of block `num`; `Ok(None)` when the node has no such block.
    pub(crate) async fn block_id_from(
        &self,
        node: usize,
        num: u64,
    ) -> Result<Option<String>, Failure> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let payload = json!({"jsonrpc": "2.0", "method": "block_api.get_block",
                             "params": {"block_num": num}, "id": id});
        let body = self
            .attempt(
                node,
                "block_api.get_block",
                Bytes::from(payload.to_string()),
            )
            .await?;
        let result = decode::envelope(&body)?;
        let block = decode::get_block_result(result.get().as_bytes(), &OpFilter::any())?;
        Ok(block.map(|b| b.block.id))
    }

    /// Records a node's failure (metrics, log, last error) and fails over.
    pub(crate) fn report(&self, node: usize, failure: Failure) {
        let url = self.nodes.url(node).to_string();
        metrics::counter!("honeygraph_rpc_errors_total", "node" => url.clone(), "kind" => failure.kind)
            .increment(1);
        warn!(node = %url, kind = failure.kind, "Hive node failed: {}", failure.message);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("{url}: {}", failure.message));
        let pause = match failure.pause {
            Some(pause) => Some(pause),
            None if failure.kind == "http_429" => Some(self.retry.min_backoff),
            None => None,
        };
        self.nodes.failed(node, pause);
    }

    /// The attempts one request may take (rounds × nodes).
    pub(crate) fn max_attempts(&self) -> usize {
        self.retry.rounds.max(1) * self.nodes.len()
    }

    /// The retry policy in use.
    pub(crate) fn retry(&self) -> RetryPolicy {
        self.retry
    }

    async fn attempt(
        &self,
        node: usize,
        method: &'static str,
        payload: Bytes,
    ) -> Result<Bytes, Failure> {
        let url = self.nodes.url(node);
        metrics::counter!("honeygraph_rpc_requests_total", "node" => url.to_string(), "method" => method)
            .increment(1);
        let started = Instant::now();
        let mut response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let mut failure = Failure::new("http_429", format!("HTTP {status} (rate limited)"));
            failure.pause =
                failure::retry_after(response.headers().get(reqwest::header::RETRY_AFTER));
            return Err(failure);
        }
        if !status.is_success() {
            let kind = if status.is_server_error() {
                "http_5xx"
            } else {
                "http_status"
            };
            return Err(Failure::new(kind, format!("HTTP {status} for {method}")));
        }
        let mut body = self.buffers.take(response.content_length());
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?
        {
            body.extend_from_slice(&chunk);
        }
        let body = Bytes::from(body);
        metrics::histogram!("honeygraph_rpc_latency_seconds", "node" => url.to_string())
            .record(started.elapsed().as_secs_f64());
        Ok(body)
    }
}

fn check_count(count: u32) -> Result<(), IngestError> {
    if !(1..=crate::config::MAX_RANGE).contains(&count) {
        return Err(IngestError::Config(format!(
            "get_block_range count {count} must be 1 to {}",
            crate::config::MAX_RANGE
        )));
    }
    Ok(())
}
