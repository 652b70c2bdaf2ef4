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
//! - the pipeline ([`Ingest`]): the chain heads are polled; each token
//!   runs its own stream from its cursor (or `startBlock`), fetching several
//!   ranges in flight, decoding them on worker threads (crossbeam-channel),
//!   checking that every block links to the one before it (invariant 4),
//!   routing operations by the longest `opPrefix` over all registered
//!   tokens, and applying batches (ops in chain order + a `BlockEnd`)
//!   through [`replay::TokenRuntime::apply_batch`], with
//!   [`replay::TokenRuntime::maybe_checkpoint`] after each. Status and chain
//!   heads go to the token's catalog entry; metrics through `metrics`.
//! - follow modes ([`FollowMode`]): `irreversible` applies irreversible
//!   blocks only, and unlinked data is blamed on its node and refetched;
//!   `head` applies reversible blocks one per batch, keeps the ids of the
//!   last [`IngestConfig::max_reorg_depth`] blocks, and on a fork rolls the
//!   token back to the common ancestor and goes on along the new branch;
//!   a deeper fork marks the token `failed` and applies nothing of it.
//! - operator actions that do not race the streams:
//!   [`Ingest::rollback_token`], [`Ingest::replay_token`],
//!   [`Ingest::checkpoint_token`].
//!
//! Metrics: `honeygraph_blocks_applied_total`, `honeygraph_ops_applied_total`,
//! `honeygraph_ops_rejected_total`, `honeygraph_token_head_block`,
//! `honeygraph_reorgs_total`, `honeygraph_reorg_depth` (histogram),
//! `honeygraph_rollback_duration_seconds` (histogram),
//! `honeygraph_checkpoints_total`, `honeygraph_checkpoint_failures_total`
//! (all labelled `token`), `honeygraph_rpc_errors_total{node,kind}`.

mod admin;
mod client;
mod config;
pub mod decode;
mod error;
mod ingest;
mod pipeline;

pub use client::{HiveClient, RetryPolicy};
pub use config::{
    FollowMode, IngestConfig, DEFAULT_MAX_REORG_DEPTH, MAX_RANGE, MAX_REORG_DEPTH_LIMIT,
};
pub use decode::DecodeError;
pub use error::IngestError;
pub use ingest::Ingest;
