//! Errors of the replay crate.

/// What went wrong while applying, recovering, replaying or rolling back a token.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The token's log or projection failed.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The token's dataset failed.
    #[error(transparent)]
    Dataset(#[from] datasets::DatasetError),
    /// A batch would move the token backwards or skip the log order.
    #[error("batch for {symbol} out of order: {detail}")]
    OutOfOrder {
        /// Token symbol.
        symbol: String,
        /// What is out of order.
        detail: String,
    },
}
