//! One failed attempt against one node, classified for retry and metrics.

use std::time::Duration;

use crate::decode::DecodeError;

/// Why one request to one node failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// Short label for `honeygraph_rpc_errors_total{kind}`.
    pub(crate) kind: &'static str,
    /// What happened, for the operator.
    pub(crate) message: String,
    /// How long to leave the node alone: a 429's `Retry-After`, or a while
    /// after it served bad data (so another node serves the retry).
    pub(crate) pause: Option<Duration>,
}

impl Failure {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            pause: None,
        }
    }

    /// A failure that keeps the node out of rotation for `pause`.
    pub(crate) fn with_pause(mut self, pause: Duration) -> Self {
        self.pause = Some(pause);
        self
    }

    pub(crate) fn from_reqwest(error: &reqwest::Error) -> Self {
        let kind = if error.is_timeout() {
            "timeout"
        } else if error.is_connect() {
            "connect"
        } else if error.is_body() || error.is_decode() {
            "body"
        } else {
            "http"
        };
        // reqwest's Display hides the cause (connection refused, ...); walk it.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure::new(kind, message)
    }
}

/// How long a node that served wrong blocks (unlinked, missing, wrong
/// numbers: lagging or on another chain) is left out while others answer.
pub(crate) const BAD_DATA_PAUSE: Duration = Duration::from_secs(10);

impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Self {
        let bad_data = matches!(error, DecodeError::Malformed(_));
        let failure = Failure::new(error.kind(), error.to_string());
        if bad_data {
            failure.with_pause(BAD_DATA_PAUSE)
        } else {
            failure
        }
    }
}

/// The `Retry-After` of a 429: delay-seconds (the HTTP-date form is rare on
/// API nodes and is treated as absent), capped so a bad header cannot park a
/// node for hours.
pub(crate) fn retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    const CAP: Duration = Duration::from_secs(120);
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(CAP))
}
