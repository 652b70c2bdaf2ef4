//! What can be wrong with a node's answer.

/// A node's answer that cannot be used: not JSON, a JSON-RPC error, or block
/// data that breaks the chain's rules. Decoding never panics; every problem
/// in chain data ends up here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not the JSON we expect (HTML error page, truncated body,
    /// missing field...).
    #[error("invalid JSON in {context}: {message}")]
    Json {
        /// What was being decoded.
        context: &'static str,
        /// serde_json's description, with line and column.
        message: String,
    },
    /// The node answered with a JSON-RPC error object.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        /// JSON-RPC error code, e.g. -32003.
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The JSON-RPC envelope has neither `result` nor `error`.
    #[error("JSON-RPC response has neither `result` nor `error`")]
    NoResult,
    /// Well-formed JSON whose block data breaks a rule (bad id, missing
    /// transaction id, wrong block number, broken linkage...).
    #[error("bad block data: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub(crate) fn json(context: &'static str, error: serde_json::Error) -> Self {
        DecodeError::Json {
            context,
            message: error.to_string(),
        }
    }

    /// A short label for metrics (`honeygraph_rpc_errors_total{kind}`).
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Json { .. } => "invalid_json",
            DecodeError::Rpc { .. } => "rpc_error",
            DecodeError::NoResult => "no_result",
            DecodeError::Malformed(_) => "bad_data",
        }
    }
}
