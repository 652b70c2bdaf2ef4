//! Optional per-client rate limiting (429 `RATE_LIMITED`), keyed by the
//! peer's IP address. Behind a reverse proxy every client shares the
//! proxy's address, so limit there instead.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;

/// A keyed limiter shared by every request of an app.
#[derive(Clone)]
pub(crate) struct Limiter {
    inner: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    per_second: NonZeroU32,
}

impl Limiter {
    pub(crate) fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Limiter {
            inner: Arc::new(RateLimiter::keyed(quota)),
            per_second,
        }
    }

    /// Forgets clients that are back at full quota, so memory stays bounded.
    pub(crate) fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

/// Probes and metrics are never limited: an orchestrator must always see them.
fn exempt(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

pub(crate) async fn limit<E: Endpoint>(
    limiter: Option<Limiter>,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    if let Some(limiter) = limiter {
        let ip = req.remote_addr().as_socket_addr().map(|a| a.ip());
        if let Some(ip) = ip.filter(|_| !exempt(req.uri().path())) {
            if limiter.inner.check_key(&ip).is_err() {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    format!(
                        "more than {} requests per second from {ip}; slow down",
                        limiter.per_second
                    ),
                )
                .into());
            }
        }
    }
    Ok(ep.call(req).await?.into_response())
}
