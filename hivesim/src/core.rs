//! The simulator without HTTP: chain growth in real time, forks, faults, block lookup.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::accounts;
use crate::chain::{Chain, Header, MAX_BLOCK};
use crate::config::{Faults, SimConfig};
use crate::dgpo::Globals;
use crate::error::SimError;
use crate::generate::Generator;
use crate::hash;
use crate::model::Block;
use crate::timefmt;

/// Mixed into the seed of the chain served when `Faults::foreign_chain` is set.
const FOREIGN_SEED_XOR: u64 = 0x5eed_f0e1_9c4a_1b2d;

/// Chain ids plus the clock that grows them.
struct ChainState {
    chain: Chain,
    foreign: Option<Chain>,
    started: Instant,
    start_head: u64,
    manual: u64,
}

/// The fault settings and the random stream that decides when they fire.
struct FaultState {
    faults: Faults,
    rng: ChaCha8Rng,
}

/// The rate fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Http500,
    Http429,
    RpcError,
    Html,
    Truncated,
}

/// A snapshot for `/sim/status`.
pub(crate) struct Status {
    pub(crate) head: u64,
    pub(crate) irreversible: u64,
    pub(crate) branch: u64,
}

/// Shared by every handle and the HTTP server.
pub(crate) struct Core {
    config: SimConfig,
    accounts: Vec<String>,
    generator: Generator,
    state: Mutex<ChainState>,
    faults: Mutex<FaultState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave ids half-written in a way that
    // matters more than refusing to serve, so keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Core {
    pub(crate) fn new(config: SimConfig) -> Result<Core, SimError> {
        validate(&config)?;
        let accounts = accounts::accounts(config.accounts);
        let start_head = config.first_block + config.history - 1;
        let generator = Generator::new(
            config.first_block,
            config.prefixes.clone(),
            accounts.clone(),
            config.token_ops_per_block,
            config.noise_trx_per_block,
        );
        let chain = Chain::new(config.seed, config.first_block, start_head);
        let fault_seed = hash::derive("hivesim faults", &[&config.seed.to_le_bytes()]);
        Ok(Core {
            accounts,
            generator,
            state: Mutex::new(ChainState {
                chain,
                foreign: None,
                started: Instant::now(),
                start_head,
                manual: 0,
            }),
            faults: Mutex::new(FaultState {
                faults: Faults::default(),
                rng: hash::rng(fault_seed),
            }),
            config,
        })
    }

    pub(crate) fn config(&self) -> &SimConfig {
        &self.config
    }

    pub(crate) fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// Locks the chain after growing it to where the clock and manual advances say.
    fn synced(&self) -> MutexGuard<'_, ChainState> {
        let mut s = lock(&self.state);
        // Computed from the start instant each time, so the head never drifts.
        let timed = match self.config.block_interval {
            Some(interval) if !interval.is_zero() => {
                (s.started.elapsed().as_nanos() / interval.as_nanos()) as u64
            }
            _ => 0,
        };
        let target = s
            .start_head
            .saturating_add(timed)
            .saturating_add(s.manual)
            .min(MAX_BLOCK);
        s.chain.extend_to(target);
        s
    }

    pub(crate) fn head(&self) -> u64 {
        self.synced().chain.head()
    }

    fn irreversible_at(&self, head: u64) -> u64 {
        head.saturating_sub(self.config.irreversible_lag)
            .max(self.config.first_block - 1)
    }

    pub(crate) fn irreversible(&self) -> u64 {
        self.irreversible_at(self.head())
    }

    pub(crate) fn status(&self) -> Status {
        let s = self.synced();
        let head = s.chain.head();
        Status {
            head,
            irreversible: self.irreversible_at(head),
            branch: s.chain.branch(),
        }
    }

    pub(crate) fn advance(&self, blocks: u64) {
        let mut s = lock(&self.state);
        s.manual = s.manual.saturating_add(blocks);
        drop(s);
        drop(self.synced());
    }

    pub(crate) fn fork(&self, depth: u64) -> Result<(), SimError> {
        if depth == 0 {
            return Err(SimError::ForkDepthZero);
        }
        let mut s = self.synced();
        let head = s.chain.head();
        let irreversible = self.irreversible_at(head);
        let max = head - irreversible;
        if depth > max {
            return Err(SimError::ForkTooDeep {
                depth,
                head,
                irreversible,
                max,
            });
        }
        s.chain.fork_from(head + 1 - depth);
        Ok(())
    }

    pub(crate) fn faults(&self) -> Faults {
        lock(&self.faults).faults.clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        lock(&self.faults).faults = faults;
    }

    /// Rolls the rate faults for one request: (stall first?, then the fault that fires).
    pub(crate) fn roll_faults(&self) -> (Option<std::time::Duration>, Option<Injected>) {
        let mut f = lock(&self.faults);
        let FaultState { faults, rng } = &mut *f;
        let mut fires = |rate: f64| rate > 0.0 && rng.random::<f64>() < rate;
        let stall = fires(faults.stall_rate).then_some(faults.stall);
        let kinds = [
            (faults.http_500_rate, Injected::Http500),
            (faults.http_429_rate, Injected::Http429),
            (faults.rpc_error_rate, Injected::RpcError),
            (faults.html_rate, Injected::Html),
            (faults.truncated_rate, Injected::Truncated),
        ];
        let injected = kinds
            .into_iter()
            .find(|(rate, _)| fires(*rate))
            .map(|(_, k)| k);
        (stall, injected)
    }

    /// The true block `num` (no faults applied), if it exists.
    pub(crate) fn block(&self, num: u64) -> Option<Block> {
        let header = self.synced().chain.header(num)?;
        Some(self.generator.block(&header))
    }

    /// The served view of the chain: head and irreversible lowered by `lag_blocks`, the
    /// foreign chain instead of ours when asked, and the headers of the existing blocks in
    /// `wanted` (inclusive; callers keep it to at most 1000 blocks).
    pub(crate) fn served(&self, wanted: Option<(u64, u64)>) -> Served {
        let faults = self.faults();
        let mut s = self.synced();
        let true_head = s.chain.head();
        let floor = self.config.first_block - 1;
        let head = true_head.saturating_sub(faults.lag_blocks).max(floor);
        let irreversible = self
            .irreversible_at(true_head)
            .saturating_sub(faults.lag_blocks)
            .max(floor);
        let chain = if faults.foreign_chain {
            let (seed, first) = (self.config.seed ^ FOREIGN_SEED_XOR, self.config.first_block);
            let foreign = s
                .foreign
                .get_or_insert_with(|| Chain::new(seed, first, first - 1));
            foreign.extend_to(head);
            foreign
        } else {
            &s.chain
        };
        // Headers are copied out so that rendering happens without the lock.
        let headers = match wanted {
            Some((start, end)) => (start.max(self.config.first_block)..=end.min(head))
                .filter_map(|n| chain.header(n))
                .collect(),
            None => Vec::new(),
        };
        Served {
            head,
            irreversible,
            head_id: chain.id(head).unwrap_or([0; 20]),
            headers,
        }
    }

    pub(crate) fn render_block(&self, header: &Header) -> Block {
        self.generator.block(header)
    }

    pub(crate) fn first_block(&self) -> u64 {
        self.config.first_block
    }
}

/// The served view computed by [`Core::served`].
pub(crate) struct Served {
    pub(crate) head: u64,
    pub(crate) irreversible: u64,
    pub(crate) head_id: hash::Id20,
    pub(crate) headers: Vec<Header>,
}

impl Served {
    pub(crate) fn globals(&self, first_block: u64) -> Globals {
        Globals {
            head: self.head,
            head_id: self.head_id,
            head_time: timefmt::block_time(first_block, self.head),
            irreversible: self.irreversible,
            witness: Generator::witness(self.head),
        }
    }
}

fn validate(c: &SimConfig) -> Result<(), SimError> {
    let bad = |m: String| Err(SimError::Config(m));
    if c.first_block == 0 {
        return bad("first_block must be at least 1".into());
    }
    if c.first_block.saturating_add(c.history) > MAX_BLOCK {
        return bad(format!(
            "first_block + history must stay below {MAX_BLOCK} (block ids encode a u32)"
        ));
    }
    if c.accounts < 2 {
        return bad(format!("accounts must be at least 2, got {}", c.accounts));
    }
    for (name, mean) in [
        ("token_ops_per_block", c.token_ops_per_block),
        ("noise_trx_per_block", c.noise_trx_per_block),
    ] {
        if !mean.is_finite() || mean < 0.0 {
            return bad(format!("{name} must be a finite number >= 0, got {mean}"));
        }
    }
    if c.prefixes.iter().any(|p| p.is_empty()) {
        return bad("token prefixes must not be empty strings".into());
    }
    Ok(())
}
