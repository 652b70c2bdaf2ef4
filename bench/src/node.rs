//! A local Hive node serving the generated chain: `block_api.get_block_range`
//! answers are assembled from the pre-rendered templates (a memory copy
//! and two 8-digit patches per block, no JSON rendering), and
//! `get_dynamic_global_properties` reports a fixed head, irreversible.

use std::net::SocketAddr;
use std::sync::Arc;

use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{handler, http::StatusCode, EndpointExt, Response, Route, Server};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::chain::Chain;
use crate::error::BenchError;

/// What the node serves.
struct NodeState {
    chain: Arc<Chain>,
    head: u64,
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
    /// Serves `chain` up to `head` on 127.0.0.1, on the current runtime.
    pub(crate) async fn start(chain: Arc<Chain>, head: u64) -> Result<LocalNode, BenchError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| BenchError::io("binding the local node", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::io("binding the local node", e))?;
        let acceptor = TcpAcceptor::from_tokio(listener)
            .map_err(|e| BenchError::io("binding the local node", e))?;
        let app = Route::new()
            .at("/", poem::post(rpc))
            .data(Arc::new(NodeState { chain, head }));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown, None)
                .await;
        });
        Ok(LocalNode {
            url: format!("http://{addr}"),
            stop: Some(stop),
        })
    }
}

#[handler]
fn rpc(body: poem::web::Json<RpcRequest>, state: Data<&Arc<NodeState>>) -> Response {
    let request = body.0;
    let chain = &state.chain;
    let mut out = Vec::new();
    match request.method.as_str() {
        "block_api.get_block_range" => {
            let start = request.params["starting_block_num"].as_u64().unwrap_or(0);
            let count = request.params["count"].as_u64().unwrap_or(0).min(1000);
            let start = start.max(chain.first());
            let end = (start + count).min(state.head + 1).max(start);
            out.reserve(((end - start) as usize) * 12_000);
            chain.range_body(request.id, start, end - start, &mut out);
        }
        "database_api.get_dynamic_global_properties"
        | "condenser_api.get_dynamic_global_properties" => {
            let body = serde_json::json!({
                "jsonrpc": "2.0",
                "id": request.id,
                "result": {
                    "head_block_number": state.head,
                    "head_block_id": chain.block_id(state.head),
                    "last_irreversible_block_num": state.head,
                    "time": chain.timestamp(),
                }
            });
            out = body.to_string().into_bytes();
        }
        other => {
            let body = serde_json::json!({
                "jsonrpc": "2.0",
                "id": request.id,
                "error": {"code": -32601, "message": format!("method {other} not served")},
            });
            out = body.to_string().into_bytes();
        }
    }
    Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json")
        .body(out)
}
