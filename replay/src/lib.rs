//! The per-token runtime around the log and the projection: applying
//! ingested batches (log first, then projection), recovery on open,
//! checkpoints (when to take them, where they are kept, which survive),
//! replay from a checkpoint and rollback to a block.
//!
//! - [`TokenRuntime`]: one token open for writing; every operation here goes
//!   through its writer lock.
//! - Checkpoints are ZFS snapshots `SYMBOL@b<block>` or, without ZFS,
//!   compacted LMDB copies in `<token root>/checkpoints/b<block>/`
//!   ([`CheckpointInfo`], [`CheckpointPolicy`], [`RetentionPolicy`]).
//! - [`TokenRuntime::replay`] rebuilds the projection beside the live one and
//!   swaps it in; [`TokenRuntime::rollback_to`] cuts the log and restores a
//!   checkpoint in place. Both leave a token that [`TokenRuntime::open`]
//!   brings back to a consistent state after a crash at any step.

mod background_removal;
mod checkpoint;
mod chunk_reader;
mod crash;
mod error;
mod fsutil;
mod reapply;
mod rebuild;
mod retention;
mod rollback;
mod runtime;

pub use checkpoint::{checkpoint_name, CheckpointInfo};
#[doc(hidden)]
pub use crash::CrashPoint;
pub use error::ReplayError;
pub use rebuild::ReplayReport;
pub use retention::{CheckpointPolicy, RetentionPolicy};
pub use rollback::{RollbackReport, RollbackSource, RollbackVia};
pub use runtime::TokenRuntime;
