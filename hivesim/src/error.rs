//! Errors of the simulated node.

use std::net::SocketAddr;

/// What went wrong starting or steering a simulated node.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration cannot describe a chain.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The background thread or its tokio runtime could not be started.
    #[error("cannot start the simulator's background runtime: {0}")]
    Runtime(std::io::Error),
    /// The background thread died before reporting its address.
    #[error("the simulator's background thread exited before it was listening")]
    ThreadExited,
    /// A fork must replace at least one block.
    #[error("fork depth must be at least 1")]
    ForkDepthZero,
    /// A fork would replace an irreversible block (or one below the first block).
    #[error(
        "cannot fork {depth} blocks at head {head}: irreversible block is {irreversible}, \
         so at most {max} blocks can be replaced"
    )]
    ForkTooDeep {
        /// Blocks asked to replace.
        depth: u64,
        /// Head when asked.
        head: u64,
        /// Last irreversible block when asked.
        irreversible: u64,
        /// The deepest fork allowed then.
        max: u64,
    },
}
