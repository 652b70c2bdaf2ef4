//! Ingest: tails Hive over JSON-RPC and feeds each token's log and projection.
//!
//! It owns:
//! - [`HiveClient`]: `block_api.get_block_range` / `get_block`,
//!   `condenser_api.get_block` and both forms of
//!   `get_dynamic_global_properties`, over several nodes with failover,
//!   timeouts and backoff (429 with `Retry-After`, 5xx, timeouts, non-JSON
//!   bodies, JSON-RPC errors); when every node fails the error names the
//!   nodes and the last failure, and ingest keeps retrying;
//! - [`decode`]: the appbase and condenser block forms decoded to the same
//!   operations, borrowing from the input and skipping custom_json ids that
//!   match no registered prefix without building them;
//! - the pipeline ([`Ingest`]): the irreversible head is polled; each token
//!   runs its own stream from its cursor (or `startBlock`), fetching several
//!   ranges in flight, decoding them on worker threads (crossbeam-channel),
//!   checking that every block links to the one before it (invariant 4;
//!   unlinked data is dropped and refetched from another node), routing
//!   operations by the longest `opPrefix` over all registered tokens, and
//!   applying one batch (ops in chain order + a `BlockEnd`) per fetch
//!   through [`replay::TokenRuntime::apply_batch`]. Status and chain heads go
//!   to the token's catalog entry; metrics through the `metrics` crate.
//!
//! Follow mode `irreversible` only; `head` (reversible blocks, fork undo) is
//! refused by [`Ingest::new`] for now.

mod client;
mod config;
pub mod decode;
mod error;
mod ingest;
mod pipeline;

pub use client::{HiveClient, RetryPolicy};
pub use config::{FollowMode, IngestConfig, MAX_RANGE};
pub use decode::DecodeError;
pub use error::IngestError;
pub use ingest::Ingest;
