//! Optional rate limiting (429 `RATE_LIMITED` with `Retry-After`), per
//! client IP and per token, each configured on its own
//! ([`AppContext::with_rate_limit`](crate::AppContext::with_rate_limit),
//! [`AppContext::with_token_rate_limit`](crate::AppContext::with_token_rate_limit)).
//!
//! The IP is the peer's address: behind a reverse proxy every client shares
//! the proxy's address, so limit there instead. The token is the first path
//! segment of `/:token/...` (or the namespace of `/namespaces/:ns/...`)
//! when it looks like a symbol, so one busy token cannot starve the others.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use poem::http::{header, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;
use crate::namespaces::is_valid_symbol;

/// One keyed limiter and its rate, for messages.
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    per_second: NonZeroU32,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Keyed {
            inner: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            per_second,
        }
    }

    /// `None` when allowed, else how many seconds to wait (at least 1).
    fn check(&self, key: &K) -> Option<u64> {
        self.inner
            .check_key(key)
            .err()
            .map(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
            .map(|s| s.max(1))
    }
}

/// The limiters shared by every request of an app.
#[derive(Clone, Default)]
pub(crate) struct Limiter {
    per_ip: Option<Arc<Keyed<IpAddr>>>,
    per_token: Option<Arc<Keyed<String>>>,
}

impl Limiter {
    /// Adds (or replaces) the per-IP limit.
    pub(crate) fn with_ip(mut self, per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        self.per_ip = Some(Arc::new(Keyed::new(per_second, burst)));
        self
    }

    /// Adds (or replaces) the per-token limit.
    pub(crate) fn with_token(mut self, per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        self.per_token = Some(Arc::new(Keyed::new(per_second, burst)));
        self
    }

    /// Forgets keys that are back at full quota, so memory stays bounded.
    pub(crate) fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.inner.retain_recent();
        }
        if let Some(l) = &self.per_token {
            l.inner.retain_recent();
        }
    }
}

/// Probes and metrics are never limited: an orchestrator must always see them.
fn exempt(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

/// The token a path is about, upper-case, if any.
fn token_of(path: &str) -> Option<String> {
    let mut parts = path.trim_start_matches('/').split('/');
    let first = parts.next()?;
    let candidate = match first {
        "namespaces" => parts.next()?,
        "registry" | "admin" | "graphql" | "health" | "ready" | "metrics" => return None,
        other => other,
    };
    is_valid_symbol(candidate).then(|| candidate.to_ascii_uppercase())
}

fn refuse(message: String, retry_after: u64) -> Response {
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message).into_response();
    if let Ok(value) = retry_after.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(crate) async fn limit<E: Endpoint>(
    limiter: Option<Limiter>,
    ep: Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    if let Some(limiter) = limiter.filter(|_| !exempt(req.uri().path())) {
        if let Some(per_ip) = &limiter.per_ip {
            if let Some(ip) = req.remote_addr().as_socket_addr().map(|a| a.ip()) {
                if let Some(wait) = per_ip.check(&ip) {
                    return Ok(refuse(
                        format!(
                            "more than {} requests per second from {ip}; retry in {wait} s",
                            per_ip.per_second
                        ),
                        wait,
                    ));
                }
            }
        }
        if let Some(per_token) = &limiter.per_token {
            if let Some(token) = token_of(req.uri().path()) {
                if let Some(wait) = per_token.check(&token) {
                    return Ok(refuse(
                        format!(
                            "more than {} requests per second for token {token}; retry in {wait} s",
                            per_token.per_second
                        ),
                        wait,
                    ));
                }
            }
        }
    }
    Ok(ep.call(req).await?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_keys_come_from_token_paths_only() {
        assert_eq!(token_of("/test/state").as_deref(), Some("TEST"));
        assert_eq!(token_of("/Test/graphql").as_deref(), Some("TEST"));
        assert_eq!(token_of("/namespaces/zero/stats").as_deref(), Some("ZERO"));
        assert_eq!(token_of("/registry/tokens/TEST"), None);
        assert_eq!(token_of("/graphql"), None);
        assert_eq!(token_of("/../etc"), None);
    }

    #[test]
    fn a_refusal_says_when_to_retry() {
        let keyed = Keyed::new(NonZeroU32::MIN, NonZeroU32::MIN);
        assert_eq!(keyed.check(&"A".to_string()), None);
        let wait = keyed.check(&"A".to_string()).unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        assert_eq!(keyed.check(&"B".to_string()), None, "keys are independent");
    }
}
