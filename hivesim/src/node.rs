//! [`SimNode`]: start, steer and stop a simulated Hive node.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::watch;

use crate::config::{Faults, SimConfig};
use crate::core::Core;
use crate::error::SimError;
use crate::render;
use crate::server;

/// A running simulated Hive node; a cheap handle (clones share the node).
///
/// The node serves until [`SimNode::stop`] is called or every handle is dropped.
#[derive(Clone)]
pub struct SimNode {
    core: Arc<Core>,
    addr: SocketAddr,
    lifetime: Arc<Lifetime>,
}

/// Stops the server when the last handle goes away.
struct Lifetime {
    stop: watch::Sender<bool>,
    /// The background thread of [`SimNode::start_in_background`], joined by `stop`.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl SimNode {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    ///
    /// Must be called inside a tokio runtime; the server task lives as long as that
    /// runtime, or until `stop()` / the drop of every handle.
    pub async fn start(config: SimConfig) -> Result<SimNode, SimError> {
        SimNode::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Like [`SimNode::start`] on a chosen address (port 0 picks a free port).
    pub async fn start_on(config: SimConfig, addr: SocketAddr) -> Result<SimNode, SimError> {
        let core = Arc::new(Core::new(config)?);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::serve(Arc::clone(&core), listener, stopped));
        Ok(SimNode::new(core, bound, stop, None))
    }

    /// For synchronous code (integration tests): runs the node on its own thread with its
    /// own tokio runtime, bound to 127.0.0.1 on a free port. `stop()` joins that thread.
    pub fn start_in_background(config: SimConfig) -> Result<SimNode, SimError> {
        let core = Arc::new(Core::new(config)?);
        let (stop, stopped) = watch::channel(false);
        let (tx, rx) = std::sync::mpsc::channel();
        let server_core = Arc::clone(&core);
        let thread = std::thread::Builder::new()
            .name("hivesim".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(SimError::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
                    let bound = match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => l.local_addr().map(|a| (l, a)),
                        Err(e) => Err(e),
                    };
                    match bound {
                        Ok((listener, local)) => {
                            let _ = tx.send(Ok(local));
                            server::serve(server_core, listener, stopped).await;
                        }
                        Err(source) => {
                            let _ = tx.send(Err(SimError::Bind { addr, source }));
                        }
                    }
                });
            })
            .map_err(SimError::Runtime)?;
        let bound = rx.recv().map_err(|_| SimError::ThreadExited)??;
        Ok(SimNode::new(core, bound, stop, Some(thread)))
    }

    fn new(
        core: Arc<Core>,
        addr: SocketAddr,
        stop: watch::Sender<bool>,
        thread: Option<JoinHandle<()>>,
    ) -> SimNode {
        tracing::info!(%addr, head = core.head(), "hivesim: simulated Hive node listening");
        SimNode {
            core,
            addr,
            lifetime: Arc::new(Lifetime {
                stop,
                thread: Mutex::new(thread),
            }),
        }
    }

    /// The JSON-RPC endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the node was started with.
    pub fn config(&self) -> &SimConfig {
        self.core.config()
    }

    /// The newest block (true value, not lowered by `Faults::lag_blocks`).
    pub fn head(&self) -> u64 {
        self.core.head()
    }

    /// The last irreversible block: `head - irreversible_lag`, never below `first_block - 1`.
    pub fn irreversible(&self) -> u64 {
        self.core.irreversible()
    }

    /// The lowest block the node serves.
    pub fn first_block(&self) -> u64 {
        self.core.first_block()
    }

    /// How many forks happened so far (0 on the original branch).
    pub fn branch(&self) -> u64 {
        self.core.status().branch
    }

    /// Produces `blocks` more blocks at once (on top of real-time growth).
    pub fn advance(&self, blocks: u64) {
        self.core.advance(blocks);
    }

    /// Replaces the top `depth` blocks with a new branch of the same height.
    ///
    /// Every replaced block must be above the irreversible block, else
    /// [`SimError::ForkTooDeep`]; a depth of 0 is [`SimError::ForkDepthZero`].
    pub fn fork(&self, depth: u64) -> Result<(), SimError> {
        self.core.fork(depth)
    }

    /// Replaces the injected faults (`Faults::default()` turns them all off).
    pub fn set_faults(&self, faults: Faults) {
        self.core.set_faults(faults);
    }

    /// The faults currently injected.
    pub fn faults(&self) -> Faults {
        self.core.faults()
    }

    /// The simulated token holders, in a fixed order (valid Hive names).
    pub fn accounts(&self) -> Vec<String> {
        self.core.accounts().to_vec()
    }

    /// Block `num` in appbase form, exactly as `get_block_range` serves it without faults;
    /// `None` below `first_block` or above head.
    pub fn block_appbase(&self, num: u64) -> Option<Value> {
        self.core.block(num).map(|b| render::appbase(&b))
    }

    /// Block `num` in condenser form, as `condenser_api.get_block` serves it without faults.
    pub fn block_condenser(&self, num: u64) -> Option<Value> {
        self.core.block(num).map(|b| render::condenser(&b))
    }

    /// Stops serving. Returns at once for [`SimNode::start`]ed nodes; joins the background
    /// thread (at most about a second of grace for open requests) for
    /// [`SimNode::start_in_background`] nodes, unless called from that thread.
    pub fn stop(&self) {
        self.lifetime.stop.send_replace(true);
        let thread = self
            .lifetime
            .thread
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = thread {
            if thread.thread().id() != std::thread::current().id() && thread.join().is_err() {
                tracing::error!("hivesim: the background server thread panicked");
            }
        }
    }
}
