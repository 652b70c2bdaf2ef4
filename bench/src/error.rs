//! What can stop the bench.

/// Why a figure could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Setting up the bench's data failed (templates, tokens, directories).
    #[error("bench set-up failed: {0}")]
    Setup(String),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the bench was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A crate under test answered with an error.
    #[error("{context}: {message}")]
    Failed {
        /// What the bench was doing.
        context: String,
        /// The crate's error.
        message: String,
    },
    /// A response did not hold what it should (wrong body, wrong state).
    #[error("wrong result: {0}")]
    Check(String),
}

impl BenchError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        BenchError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn failed(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        BenchError::Failed {
            context: context.into(),
            message: error.to_string(),
        }
    }
}

impl From<heed::Error> for BenchError {
    fn from(e: heed::Error) -> Self {
        BenchError::failed("LMDB", e)
    }
}
