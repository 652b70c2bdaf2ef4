//! The one error shape of the HTTP API:
//! `{"error": {"code": "TOKEN_NOT_FOUND", "message": "..."}}`.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use state::StateError;

use crate::control::ControlError;

/// An error answered to a client: status, stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn token_not_found(symbol: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "TOKEN_NOT_FOUND",
            format!("no token `{symbol}` is registered"),
        )
    }

    pub(crate) fn token_busy(symbol: &str) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "TOKEN_BUSY",
            format!("token {symbol} is being rolled back or replayed; retry shortly"),
        )
    }

    pub(crate) fn invalid_account(name: &str) -> Self {
        ApiError::bad_request(
            "INVALID_ACCOUNT",
            format!("`{name}` is not a valid Hive account name"),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }

    /// A state read failed: a cursor we did not give out or a block out of
    /// the history's range is the caller's fault, anything else (LMDB,
    /// corruption) is ours.
    pub(crate) fn from_state(e: StateError) -> Self {
        let message = e.to_string();
        match e {
            StateError::InvalidArgument(message) => {
                ApiError::bad_request("INVALID_CURSOR", message)
            }
            // Gone: the history was there once (or the block is before the token).
            StateError::HistoryPruned { .. } => {
                ApiError::new(StatusCode::GONE, "HISTORY_PRUNED", message)
            }
            StateError::BlockNotIndexed { .. } => {
                ApiError::bad_request("BLOCK_NOT_YET_INDEXED", message)
            }
            StateError::Unsupported(_) => ApiError::bad_request("UNSUPPORTED_QUERY", message),
            _ => ApiError::internal(message),
        }
    }

    /// The JSON body of this error.
    pub(crate) fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }

    /// A poem error as the API's JSON error, by its status.
    pub(crate) fn from_poem(e: &poem::Error) -> Self {
        if let Some(api) = e.downcast_ref::<ApiError>() {
            return api.clone();
        }
        let status = e.status();
        let code = match status {
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
            StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            s if s.is_client_error() => "BAD_REQUEST",
            _ => "INTERNAL",
        };
        let mut message = e.to_string();
        if message.is_empty() {
            message = status.canonical_reason().unwrap_or("error").to_string();
        }
        ApiError::new(status, code, message)
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = poem::web::Json(self.body()).into_response();
        response.set_status(self.status);
        response
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let message = e.to_string();
        match e {
            ControlError::Invalid { .. } => ApiError::bad_request("INVALID_FIELD", message),
            ControlError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "CONFLICT", message),
            ControlError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "TOKEN_NOT_FOUND", message)
            }
            ControlError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", message)
            }
            ControlError::Failed(_) => ApiError::internal(message),
        }
    }
}

/// Runs a blocking read on tokio's blocking pool; a panic or cancellation
/// of that task is an internal error, never a crash.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a background read failed: {e}")))?
}
