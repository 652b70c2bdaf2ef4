//! `GET /namespaces/:ns/export?format=json|csv`: every stored account of
//! the token (any non-zero figure, grants included), by name, streamed.
//!
//! A blocking producer reads [`PAGE`] accounts at a time and hands each
//! page, already encoded, to the response through a channel of
//! [`IN_FLIGHT`] pages, so memory stays constant whatever the number of
//! accounts and a slow client slows the producer down.
//!
//! Each page is its own read transaction: an export taken while the token
//! is indexing is not a snapshot of one block (take a checkpoint for that).
//! A read error mid-stream aborts the response (the body is cut short).
//!
//! - JSON: `{"namespace","decimals","block","accounts":[{AccountView}...]}`
//! - CSV: a header `account,balance,balanceRaw,power,powerRaw,grantedIn,
//!   grantedInRaw,grantedOut,grantedOutRaw` then one row per account.

use std::collections::HashMap;

use poem::http::header;
use poem::web::{Data, Path, Query};
use poem::{handler, Body, IntoResponse, Response};
use state::projection::Projection;

use crate::context::{open_projection, AppContext};
use crate::error::ApiError;
use crate::namespaces::entry;
use crate::views::AccountView;

/// Accounts read per page.
pub(crate) const PAGE: usize = 1000;
/// Encoded pages waiting for the client at most.
const IN_FLIGHT: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

const CSV_HEADER: &str =
    "account,balance,balanceRaw,power,powerRaw,grantedIn,grantedInRaw,grantedOut,grantedOutRaw\n";

fn csv_row(out: &mut Vec<u8>, v: &AccountView) {
    // Account names and amounts never hold commas, quotes or newlines.
    let fields = [
        &v.account,
        &v.balance,
        &v.balance_raw,
        &v.power,
        &v.power_raw,
        &v.granted_in,
        &v.granted_in_raw,
        &v.granted_out,
        &v.granted_out_raw,
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(field.as_bytes());
    }
    out.push(b'\n');
}

type Chunk = Result<Vec<u8>, std::io::Error>;

/// Reads every account and sends the encoded pages; stops when the client
/// goes away (the channel closes).
fn produce(
    projection: Projection,
    symbol: String,
    decimals: u8,
    format: Format,
    tx: tokio::sync::mpsc::Sender<Chunk>,
) {
    let fail = |e: String| std::io::Error::other(e);
    let block = match projection.meta() {
        Ok(meta) => meta.cursor.map(|c| c.num),
        Err(e) => {
            let _ = tx.blocking_send(Err(fail(e.to_string())));
            return;
        }
    };
    let head = match format {
        Format::Csv => CSV_HEADER.as_bytes().to_vec(),
        Format::Json => format!(
            "{{\"namespace\":{},\"decimals\":{decimals},\"block\":{},\"accounts\":[",
            serde_json::Value::from(symbol.as_str()),
            block.map_or("null".to_string(), |b| b.to_string())
        )
        .into_bytes(),
    };
    if tx.blocking_send(Ok(head)).is_err() {
        return;
    }
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let page = match projection.accounts_by_name(PAGE, after.as_deref()) {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!("{symbol}: export stopped: {e}");
                let _ = tx.blocking_send(Err(fail(e.to_string())));
                return;
            }
        };
        let mut out = Vec::with_capacity(page.entries.len() * 160);
        for e in &page.entries {
            let view = AccountView::new(&e.account, &e.state, decimals, block);
            match format {
                Format::Csv => csv_row(&mut out, &view),
                Format::Json => {
                    if !first {
                        out.push(b',');
                    }
                    out.push(b'\n');
                    if let Err(e) = serde_json::to_writer(&mut out, &view) {
                        let _ = tx.blocking_send(Err(fail(e.to_string())));
                        return;
                    }
                }
            }
            first = false;
        }
        if format == Format::Json && page.next.is_none() {
            out.extend_from_slice(b"\n]}\n");
        }
        if tx.blocking_send(Ok(out)).is_err() {
            return;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return,
        }
    }
}

#[handler]
pub(crate) async fn export(
    Path(namespace): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    Data(ctx): Data<&AppContext>,
) -> Result<Response, ApiError> {
    let entry = entry(ctx, &namespace)?;
    let format = match params.get("format").map(String::as_str) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(ApiError::bad_request(
                "INVALID_PARAMETER",
                format!("`format` must be json or csv, got `{other}`"),
            ))
        }
    };
    let projection = open_projection(&entry)?;
    let symbol = entry.symbol();
    let decimals = entry.decimals();
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(IN_FLIGHT);
    let producer_symbol = symbol.clone();
    tokio::task::spawn_blocking(move || produce(projection, producer_symbol, decimals, format, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let (content_type, extension) = match format {
        Format::Json => ("application/json", "json"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(Body::from_bytes_stream(stream)
        .with_content_type(content_type)
        .with_header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{symbol}.{extension}\""),
        )
        .into_response())
}
