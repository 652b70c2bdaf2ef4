//! Reading JSON request bodies with the API's errors: 415 for another
//! content type, 413 above [`MAX_BODY`], 400 `INVALID_JSON` naming the
//! serde error.

use poem::http::{header, StatusCode};
use poem::web::headers::{ContentLength, HeaderMapExt};
use poem::{Body, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest request body we read: 1 MiB.
pub(crate) const MAX_BODY: usize = 1 << 20;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("request bodies are limited to {MAX_BODY} bytes"),
    )
}

/// The body as JSON bytes, after the content-type and size checks.
pub(crate) async fn json_bytes(req: &Request, body: Body) -> Result<Vec<u8>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "the body must be JSON with `Content-Type: application/json`, got `{content_type}`"
            ),
        ));
    }
    if let Some(ContentLength(length)) = req.headers().typed_get::<ContentLength>() {
        if length > MAX_BODY as u64 {
            return Err(too_large());
        }
    }
    match body.into_bytes_limit(MAX_BODY).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(e) => Err(ApiError::bad_request(
            "INVALID_BODY",
            format!("cannot read the request body: {e}"),
        )),
    }
}

/// Parses JSON bytes into `T`; 400 `INVALID_JSON` with serde's message.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("INVALID_JSON", format!("invalid JSON body: {e}")))
}

/// Reads and parses a JSON body.
pub(crate) async fn read_json<T: DeserializeOwned>(
    req: &Request,
    body: Body,
) -> Result<T, ApiError> {
    parse(&json_bytes(req, body).await?)
}

/// Like [`read_json`], but a request with no `Content-Type` and an empty
/// body stands for `T::default()` (every field of `T` is optional). A
/// non-empty body still needs `Content-Type: application/json`.
pub(crate) async fn read_optional_json<T: DeserializeOwned + Default>(
    req: &Request,
    body: Body,
) -> Result<T, ApiError> {
    let has_type = req.headers().get(header::CONTENT_TYPE).is_some();
    let empty = req
        .headers()
        .typed_get::<ContentLength>()
        .is_some_and(|ContentLength(n)| n == 0);
    if !has_type && (empty || body.is_empty()) {
        return Ok(T::default());
    }
    read_json(req, body).await
}
