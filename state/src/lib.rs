//! The token side of honeygraph: everything that turns a token's custom_json
//! operations into balances, and nothing that knows about HTTP or Hive RPC.
//!
//! It owns:
//! - the token model ([`TokenConfig`]), its validation and the presets;
//! - the persistent [`Registry`] of tokens and the [`PrefixRouter`] that maps a
//!   custom_json id to its token by longest `opPrefix` (contract.md §1);
//! - the append-only, zstd-compressed, checksummed [`EventLog`];
//! - the LMDB [`Projection`] (heed) with its atomic cursor;
//! - the token contract itself ([`contract`]), exactly as `spec/contract.md`
//!   defines it;
//! - the [`Catalog`] of open tokens that ingest writes to and query reads from,
//!   with each token's bus of commit [`events`] for live readers.

pub mod account;
pub mod amount;
pub mod block;
pub mod catalog;
pub mod contract;
pub mod error;
pub mod events;
pub mod honeycomb;
pub mod log;
pub mod op;
pub mod projection;
pub mod registry;
pub mod router;
pub mod token;

pub use block::BlockRef;
pub use catalog::{Catalog, TokenEntry, TokenStatus};
pub use error::StateError;
pub use events::TokenEvent;
pub use log::{EventLog, LogRecord, RecordSink};
pub use op::TokenOp;
pub use projection::Projection;
pub use registry::Registry;
pub use router::PrefixRouter;
pub use token::{Features, Genesis, TokenConfig, TokenSpec};
