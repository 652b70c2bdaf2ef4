//! Prometheus metrics: the process-wide recorder, `GET /metrics`, and the
//! outermost middleware that times every request into
//! `honeygraph_http_request_duration_seconds{route,method,status}` and turns
//! every error (and any panic) into the API's JSON error.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use futures_util::FutureExt;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::http::header;
use poem::{handler, Endpoint, IntoResponse, PathPattern, Request, Response};

use crate::error::ApiError;

/// Name of the request latency histogram.
pub(crate) const REQUEST_DURATION: &str = "honeygraph_http_request_duration_seconds";

/// Histogram buckets (seconds) of every `*_seconds` metric.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process and returns its
/// handle; `None` when another recorder was installed first (metrics then
/// go to that recorder and `/metrics` says so).
pub(crate) fn install_recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!("cannot install the Prometheus recorder: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// Drains histogram samples so memory stays bounded between scrapes.
pub(crate) fn run_upkeep() {
    if let Some(handle) = install_recorder() {
        handle.run_upkeep();
    }
}

#[handler]
pub(crate) fn render() -> Response {
    let text = match install_recorder() {
        Some(handle) => handle.render(),
        None => "# another metrics recorder was installed in this process first\n".to_string(),
    };
    text.with_header(
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8",
    )
    .into_response()
}

/// Times the request, converts errors and panics to JSON, records the
/// histogram. Always answers `Ok`.
pub(crate) async fn outer<E: Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    let start = Instant::now();
    // Only standard methods get their own label: any other token is "OTHER".
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "OTHER",
    };
    let result = AssertUnwindSafe(ep.call(req)).catch_unwind().await;
    let (response, route) = match result {
        Ok(Ok(output)) => {
            let response = output.into_response();
            let route = response.data::<PathPattern>().map(|p| p.0.to_string());
            (response, route)
        }
        Ok(Err(err)) => {
            let route = err.data::<PathPattern>().map(|p| p.0.to_string());
            if err.status().is_server_error() {
                tracing::warn!(error = %err, "request failed");
            }
            (ApiError::from_poem(&err).into_response(), route)
        }
        Err(_) => {
            tracing::error!("a request handler panicked");
            let e = ApiError::internal("the request handler panicked; see the server log");
            (e.into_response(), None)
        }
    };
    // Unmatched paths share one label so scanners cannot grow the series set.
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_DURATION, "route" => route, "method" => method, "status" => status)
        .record(start.elapsed().as_secs_f64());
    Ok(response)
}
