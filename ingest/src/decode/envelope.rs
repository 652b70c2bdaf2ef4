//! The JSON-RPC 2.0 envelope around every answer.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::DecodeError;

/// `result` as raw JSON, kept even when it is `null` (condenser_api.get_block
/// answers `null` for a missing block, which `Option<&RawValue>` would hide).
#[derive(Default)]
struct Present<'a>(Option<&'a RawValue>);

impl<'de: 'a, 'a> Deserialize<'de> for Present<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(deserializer).map(|raw| Present(Some(raw)))
    }
}

#[derive(Deserialize)]
struct RpcErrorObject {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    result: Present<'a>,
    #[serde(default)]
    error: Option<RpcErrorObject>,
}

/// The raw `result` of a JSON-RPC response body, or the node's error as
/// [`DecodeError::Rpc`]. HTML pages and truncated bodies are
/// [`DecodeError::Json`].
pub fn envelope(body: &[u8]) -> Result<&RawValue, DecodeError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| DecodeError::json("JSON-RPC response", e))?;
    if let Some(error) = envelope.error {
        return Err(rpc_error(error));
    }
    envelope.result.0.ok_or(DecodeError::NoResult)
}

/// Decodes a JSON-RPC error object (`{"code","message","data"?}`) on its own,
/// as the pattern fixtures store it.
pub fn rpc_error_object(raw: &[u8]) -> Result<DecodeError, DecodeError> {
    let error: RpcErrorObject =
        serde_json::from_slice(raw).map_err(|e| DecodeError::json("JSON-RPC error object", e))?;
    Ok(rpc_error(error))
}

fn rpc_error(error: RpcErrorObject) -> DecodeError {
    DecodeError::Rpc {
        code: error.code,
        message: error.message,
    }
}
