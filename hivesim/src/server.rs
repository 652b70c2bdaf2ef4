//! The HTTP server: JSON-RPC on `POST /` (with fault injection) and the control routes.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{get, handler, post, EndpointExt, Response, Route, Server};
use tokio::sync::watch;

use crate::control;
use crate::core::{Core, Injected};
use crate::rpc::{self, RpcError};

/// How long in-flight requests get to finish once the node is stopped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";

/// Serves until `stop` turns true (or its sender is gone).
pub(crate) async fn serve(
    core: Arc<Core>,
    listener: tokio::net::TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = match TcpAcceptor::from_tokio(listener) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "hivesim: cannot serve on the bound socket");
            return;
        }
    };
    let app = Route::new()
        .at("/", post(rpc_endpoint))
        .at("/sim/status", get(control::status))
        .at("/sim/advance", post(control::advance))
        .at("/sim/fork", post(control::fork))
        .at(
            "/sim/faults",
            post(control::set_faults).get(control::get_faults),
        )
        .data(core);
    let signal = async move {
        // Either a stop request or every handle gone: both end the server.
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    if let Err(e) = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, signal, Some(SHUTDOWN_GRACE))
        .await
    {
        tracing::error!(error = %e, "hivesim: server failed");
    }
}

#[handler]
async fn rpc_endpoint(core: Data<&Arc<Core>>, body: Vec<u8>) -> Response {
    let core = Arc::clone(&core);
    let (stall, injected) = core.roll_faults();
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    match injected {
        Some(Injected::Http500) => text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Some(Injected::Http429) => Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("Retry-After", "1")
            .content_type("text/plain")
            .body("Too Many Requests"),
        Some(Injected::Html) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .content_type("text/html")
            .body(BAD_GATEWAY_HTML),
        Some(Injected::RpcError) => json(rpc::fail_all(&body, RpcError::busy).to_string()),
        Some(Injected::Truncated) | None => {
            // Rendering up to 1000 blocks is CPU work: keep it off the async workers.
            let answer = tokio::task::spawn_blocking(move || rpc::handle(&core, &body).to_string());
            match answer.await {
                Ok(text) if injected == Some(Injected::Truncated) => {
                    let mut cut = text.len() / 2;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    json(text[..cut].to_string())
                }
                Ok(text) => json(text),
                Err(e) => {
                    tracing::error!(error = %e, "hivesim: request handler failed");
                    text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain")
        .body(body)
}

fn json(body: String) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(body)
}
