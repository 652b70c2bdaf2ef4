//! A local Hive node serving the generated chain: `block_api.get_block_range`
//! answers come from the ranges rendered before the run when it was given
//! them (`rendered`), else are assembled from the pre-rendered templates (a
//! memory copy and two 8-digit patches per block, no JSON rendering), and
//! `get_dynamic_global_properties` reports a fixed head, irreversible.
//!
//! It runs on hyper directly rather than poem: a real node runs on another
//! machine, so the stand-in should cost the 2 cores it shares with the
//! catch-up as little as it can. poem's connection wrapper does not offer
//! vectored writes, so hyper copied every 1 MB answer into its write
//! buffer (2.6% of the catch-up's CPU in a profile); on a plain
//! `TcpStream` hyper writes the answer from where it lies.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::chain::{range_body_open, Chain, RANGE_BODY_CLOSE};
use crate::error::BenchError;
use crate::pieces::Pieces;
use crate::rendered::RenderedRanges;

/// What the node serves.
struct NodeState {
    chain: Arc<Chain>,
    head: u64,
    rendered: Option<Arc<RenderedRanges>>,
    /// `get_block_range` answers assembled from the templates.
    assembled: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct RpcRequest {
    #[serde(default)]
    id: u64,
    method: String,
    #[serde(default)]
    params: serde_json::Value,
}

/// A running local node; stops when dropped.
pub(crate) struct LocalNode {
    pub(crate) url: String,
    assembled: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for LocalNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl LocalNode {
    /// Serves `chain` up to `head` on 127.0.0.1, on the current runtime;
    /// the ranges in `rendered` as they are.
    pub(crate) async fn start(
        chain: Arc<Chain>,
        head: u64,
        rendered: Option<Arc<RenderedRanges>>,
    ) -> Result<LocalNode, BenchError> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| BenchError::io("binding the local node", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::io("binding the local node", e))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let assembled = Arc::new(AtomicU64::new(0));
        tokio::spawn(serve(
            listener,
            Arc::new(NodeState {
                chain,
                head,
                rendered,
                assembled: assembled.clone(),
            }),
            stopped,
        ));
        Ok(LocalNode {
            url: format!("http://{addr}"),
            assembled,
            stop: Some(stop),
        })
    }

    /// How many `get_block_range` answers were assembled from the
    /// templates rather than served rendered.
    pub(crate) fn assembled_answers(&self) -> u64 {
        self.assembled.load(Ordering::Relaxed)
    }
}

/// Accepts connections until `stopped`; the open connections end with it.
async fn serve(listener: TcpListener, state: Arc<NodeState>, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = accepted else {
            // Out of descriptors, say: give the open connections a moment
            // to end rather than spin on the error.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| answer(state.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One JSON-RPC call; a body that is not one gets JSON-RPC's parse error.
async fn answer(
    state: Arc<NodeState>,
    request: Request<Incoming>,
) -> Result<Response<Pieces>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let out = match serde_json::from_slice::<RpcRequest>(&body) {
        Ok(call) => state.call(call),
        Err(e) => Pieces::new([Bytes::from(
            serde_json::json!({
                "jsonrpc": "2.0",
                "id": null,
                "error": {"code": -32700, "message": format!("not a JSON-RPC call: {e}")},
            })
            .to_string(),
        )]),
    };
    let mut response = Response::new(out);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

impl NodeState {
    fn call(&self, request: RpcRequest) -> Pieces {
        let chain = &self.chain;
        let out = match request.method.as_str() {
            "block_api.get_block_range" => {
                let start = request.params["starting_block_num"].as_u64().unwrap_or(0);
                let count = request.params["count"].as_u64().unwrap_or(0).min(1000);
                let start = start.max(chain.first());
                let end = start.saturating_add(count).min(self.head + 1).max(start);
                if let Some(array) = self
                    .rendered
                    .as_ref()
                    .and_then(|r| r.get(start, end - start))
                {
                    return Pieces::new([
                        Bytes::from(range_body_open(request.id)),
                        array,
                        Bytes::from_static(RANGE_BODY_CLOSE),
                    ]);
                }
                self.assembled.fetch_add(1, Ordering::Relaxed);
                let mut out = Vec::with_capacity(((end - start) as usize) * 12_000);
                chain.range_body(request.id, start, end - start, &mut out);
                out
            }
            "database_api.get_dynamic_global_properties"
            | "condenser_api.get_dynamic_global_properties" => serde_json::json!({
                "jsonrpc": "2.0",
                "id": request.id,
                "result": {
                    "head_block_number": self.head,
                    "head_block_id": chain.block_id(self.head),
                    "last_irreversible_block_num": self.head,
                    "time": chain.timestamp(),
                }
            })
            .to_string()
            .into_bytes(),
            other => serde_json::json!({
                "jsonrpc": "2.0",
                "id": request.id,
                "error": {"code": -32601, "message": format!("method {other} not served")},
            })
            .to_string()
            .into_bytes(),
        };
        Pieces::new([Bytes::from(out)])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use reqwest::header::CONTENT_LENGTH;
    use serde_json::json;

    use super::LocalNode;
    use crate::chain::Chain;
    use crate::rendered::RenderedRanges;

    async fn post(
        client: &reqwest::Client,
        url: &str,
        call: &serde_json::Value,
    ) -> (String, Vec<u8>) {
        let response = client.post(url).json(call).send().await.unwrap();
        let length = response.headers()[CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .to_string();
        (length, response.bytes().await.unwrap().to_vec())
    }

    /// Over HTTP, a node with rendered ranges answers byte for byte as one
    /// assembling every answer, `Content-Length` included, and assembles
    /// only what was not rendered.
    #[tokio::test]
    async fn rendered_answers_are_the_assembled_ones() {
        let chain = Arc::new(Chain::new(1_000).unwrap());
        let head = 1_249;
        let rendered = Arc::new(RenderedRanges::new(&chain, head, 100));
        let with = LocalNode::start(chain.clone(), head, Some(rendered))
            .await
            .unwrap();
        let without = LocalNode::start(chain.clone(), head, None).await.unwrap();
        let client = reqwest::Client::new();
        // Two rendered ranges (the last cut at the head), one not rendered.
        for (id, start, count) in [(7, 1_000, 100), (8, 1_200, 50), (9, 1_050, 100)] {
            let call = json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": "block_api.get_block_range",
                "params": {"starting_block_num": start, "count": count},
            });
            let (length, body) = post(&client, &with.url, &call).await;
            assert_eq!(
                (length.clone(), body.clone()),
                post(&client, &without.url, &call).await
            );
            let mut expected = Vec::new();
            chain.range_body(id, start, count, &mut expected);
            assert_eq!(body, expected, "range {start}+{count}");
            assert_eq!(length, expected.len().to_string());
        }
        assert_eq!(with.assembled_answers(), 1);
        assert_eq!(without.assembled_answers(), 3);
    }
}
