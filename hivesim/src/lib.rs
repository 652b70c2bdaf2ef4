//! A simulated Hive API node: a deterministic generated chain served over JSON-RPC,
//! with forks and faults.
//!
//! `honeygraph demo` runs it offline, and the integration tests run the real indexer
//! against it over HTTP on loopback. It owns:
//!
//! - **The chain model.** Block `n`'s content is a pure function of the seed, the branch
//!   that height belongs to and `n`. Ids are chained like Hive's: 8 hex digits of the block
//!   number, then 32 hex digits of a blake3 hash of (previous id, content seed). Only ids are
//!   kept (20 bytes a block); bodies are regenerated per request. The head grows in real
//!   time (one block per [`SimConfig::block_interval`], computed from the start instant so
//!   it never drifts) and through [`SimNode::advance`]; the last irreversible block trails
//!   it by [`SimConfig::irreversible_lag`]. Timestamps start at `2025-07-08T00:00:00` for
//!   the first block, 3 s per block.
//! - **Forks.** [`SimNode::fork`] replaces the top blocks (all above irreversible) with a
//!   new branch: new content, new ids from the fork height, same head height; later blocks
//!   follow the new branch.
//! - **Content** shaped like 2025 mainnet blocks: votes, transfers, comments and foreign
//!   custom_json (`ssc-mainnet-hive`, `sm_*`, `follow`, `pp_podcast_update`, ...) never
//!   starting with a configured prefix, plus token custom_json ops (`<prefix>send`,
//!   `power_up`, `power_down`, `power_grant`) from [`SimNode::accounts`], about 15% of
//!   them invalid in every way spec/contract.md rejects (unknown names, bad JSON, bad
//!   accounts and amounts, send to self, posting authority, empty auths, ...).
//! - **JSON-RPC 2.0** on `POST /` (single or batch): `block_api.get_block_range`,
//!   `block_api.get_block`, `condenser_api.get_block`,
//!   `condenser_api.get_dynamic_global_properties`,
//!   `database_api.get_dynamic_global_properties`, and the legacy `call` form, with Hive's
//!   error codes and messages (-32003 range asserts, -32000 parse errors, -32601 unknown
//!   method, -32602 bad params).
//! - **Faults** ([`Faults`]): HTTP 500, 429 with `Retry-After`, JSON-RPC errors, HTML 502s,
//!   truncated bodies, stalls, a lagging head and a foreign chain.
//! - **A control API** that never gets faults: `GET /sim/status`
//!   (`{"head","irreversible","firstBlock","seed","branch"}`), `POST /sim/advance
//!   {"blocks":n}`, `POST /sim/fork {"depth":n}` (409 when refused), `GET|POST /sim/faults`
//!   (camelCase fields: `http500Rate`, `http429Rate`, `rpcErrorRate`, `htmlRate`,
//!   `truncatedRate`, `stallRate`, `stallMs`, `lagBlocks`, `foreignChain`; a POST replaces
//!   all faults, missing fields are off).
//!
//! ```no_run
//! # async fn demo() -> Result<(), hivesim::SimError> {
//! let node = hivesim::SimNode::start(hivesim::SimConfig::default()).await?;
//! println!("Hive node at {} with head {}", node.url(), node.head());
//! node.stop();
//! # Ok(()) }
//! ```

mod accounts;
mod chain;
mod config;
mod control;
mod core;
mod dgpo;
mod error;
mod generate;
mod hash;
mod model;
mod node;
mod noise;
mod render;
mod rpc;
mod server;
mod timefmt;
mod tokens;

pub use config::{Faults, SimConfig};
pub use error::SimError;
pub use node::SimNode;

/// A uniformly chosen element of a non-empty slice (callers guarantee non-emptiness).
pub(crate) fn pick<'a, T>(rng: &mut rand_chacha::ChaCha8Rng, items: &'a [T]) -> &'a T {
    use rand::Rng;
    &items[rng.random_range(0..items.len())]
}
