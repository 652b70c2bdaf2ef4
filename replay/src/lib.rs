//! The per-token runtime around the log and the projection: applying ingested
//! batches (log first, then projection), recovery on open, and (later)
//! checkpoints, replay from a checkpoint and rollback to a block.

mod error;
mod runtime;

pub use error::ReplayError;
pub use runtime::TokenRuntime;
