//! `GET /:token/graphql/ws`: the per-token schema's subscriptions over
//! WebSocket, speaking graphql-transport-ws (the legacy graphql-ws
//! protocol is accepted too).
//!
//! Memory per connection is bounded: messages wait in a queue of
//! [`OUTGOING`] for the socket, and each subscription's events wait in the
//! token's bus ([`state::events::EVENT_BUFFER`]). A client that does not
//! keep up is closed with code [`CLOSE_TOO_SLOW`] (4008, "client too
//! slow") when either overflows: the queue stays full for the context's
//! slow-client timeout, or a subscription lost events. What was queued is
//! still sent before the close frame, within [`CLOSE_GRACE`].

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols, WsMessage, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql_poem::GraphQLProtocol;
use futures_util::stream::SplitSink;
use futures_util::{future, SinkExt, StreamExt};
use poem::web::websocket::{Message, WebSocket, WebSocketStream};
use poem::web::{Data, Path};
use poem::{handler, IntoResponse, Response};
use state::TokenEntry;
use tokio::sync::{mpsc, oneshot};

use crate::context::AppContext;
use crate::error::ApiError;
use crate::graphql::subscription::SlowClient;
use crate::graphql::TokenSchema;

/// Close code for a client that does not keep up (application range;
/// 4008 echoes HTTP 408).
pub(crate) const CLOSE_TOO_SLOW: u16 = 4008;
/// Messages a connection queues for its socket.
pub(crate) const OUTGOING: usize = 64;
/// How long a closing connection may take to flush its queue and the close frame.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(10);

fn not_a_websocket() -> ApiError {
    ApiError::bad_request(
        "NOT_A_WEBSOCKET",
        "this route serves GraphQL subscriptions: open a WebSocket with \
         `Sec-WebSocket-Protocol: graphql-transport-ws`",
    )
}

#[handler]
pub(crate) fn token_ws(
    Path(token): Path<String>,
    Data(ctx): Data<&AppContext>,
    ws: poem::Result<WebSocket>,
    protocol: poem::Result<GraphQLProtocol>,
) -> Result<Response, ApiError> {
    // An unknown token answers 404 before any upgrade.
    let entry = ctx.entry(&token)?;
    let ws = ws.map_err(|_| not_a_websocket())?;
    let GraphQLProtocol(protocol) = protocol.map_err(|_| not_a_websocket())?;
    let schema = ctx.token_schema.clone();
    let slow_timeout = ctx.slow_client_timeout;
    Ok(ws
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, schema, entry, protocol, slow_timeout))
        .into_response())
}

/// Runs one connection until the client leaves or is closed.
async fn serve(
    socket: WebSocketStream,
    schema: TokenSchema,
    entry: Arc<TokenEntry>,
    protocol: WebSocketProtocols,
    slow_timeout: Duration,
) {
    let (sink, input) = socket.split();
    let input = input
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(
                message
                    .ok()
                    .filter(|m| m.is_text() || m.is_binary())
                    .map(Message::into_bytes),
            )
        });
    let slow = SlowClient::default();
    let mut data = async_graphql::Data::default();
    data.insert(entry);
    data.insert(slow.clone());
    let mut graphql =
        async_graphql::http::WebSocket::new(schema, input, protocol).connection_data(data);

    let (queue, queued) = mpsc::channel(OUTGOING);
    let (end, ended) = oneshot::channel();
    let mut writer = tokio::spawn(write(sink, queued, ended));

    let close = loop {
        tokio::select! {
            biased;
            () = slow.tripped() => break Some(too_slow()),
            message = graphql.next() => match message {
                None => break None,
                Some(WsMessage::Close(code, reason)) => break Some((code, reason)),
                Some(WsMessage::Text(text)) => {
                    match tokio::time::timeout(slow_timeout, queue.send(Message::text(text))).await {
                        Ok(Ok(())) => {}
                        // The writer stopped: the socket is gone.
                        Ok(Err(_)) => break None,
                        Err(_) => break Some(too_slow()),
                    }
                }
            },
        }
    };
    // Dropping the executor ends the subscriptions and their bus receivers.
    drop(graphql);
    if let Some((code, _)) = &close {
        tracing::debug!(code, "closing a subscription connection");
    }
    let _ = end.send(close);
    drop(queue);
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

fn too_slow() -> (u16, String) {
    (CLOSE_TOO_SLOW, "client too slow".to_string())
}

/// Sends the queue to the socket, then the close frame if there is one.
async fn write(
    mut sink: SplitSink<WebSocketStream, Message>,
    mut queued: mpsc::Receiver<Message>,
    ended: oneshot::Receiver<Option<(u16, String)>>,
) {
    while let Some(message) = queued.recv().await {
        if sink.send(message).await.is_err() {
            return;
        }
    }
    if let Ok(Some((code, reason))) = ended.await {
        let _ = sink.send(Message::close_with(code, reason)).await;
    }
    let _ = sink.close().await;
}
