//! Command-line definitions (clap). Every setting is a flag and an
//! environment variable; the flag wins, then the variable, then the config file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// honeygraph: an event-sourced indexer for Hive's honeycomb layer-2 tokens.
#[derive(Debug, Parser)]
#[command(name = "honeygraph", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) settings: SettingsArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Settings shared by every command (interfaces.md).
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct SettingsArgs {
    /// Config file (TOML); flags and environment variables override it.
    #[arg(long, global = true, env = "HONEYGRAPH_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// HTTP port.
    #[arg(long, global = true, env = "PORT")]
    pub(crate) port: Option<u16>,
    /// Address to bind.
    #[arg(long, global = true, env = "HONEYGRAPH_BIND")]
    pub(crate) bind: Option<String>,
    /// Where datasets live.
    #[arg(long, global = true, env = "DATA_PATH")]
    pub(crate) data_path: Option<PathBuf>,
    /// Comma-separated Hive API node URLs, tried in turn.
    #[arg(long, global = true, env = "HIVE_NODES")]
    pub(crate) hive_nodes: Option<String>,
    /// `irreversible` or `head`.
    #[arg(long, global = true, env = "HONEYGRAPH_FOLLOW")]
    pub(crate) follow: Option<FollowArg>,
    /// Parent ZFS dataset for token datasets; unset: plain directories.
    #[arg(long, global = true, env = "ZFS_PARENT")]
    pub(crate) zfs_parent: Option<String>,
    /// Bearer token that write and admin endpoints require.
    #[arg(
        long,
        global = true,
        env = "HONEYGRAPH_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub(crate) admin_token: Option<String>,
    /// In head mode, the deepest fork undone automatically; a deeper one
    /// fails the token for an operator to look at.
    #[arg(long, global = true, env = "HONEYGRAPH_MAX_REORG_DEPTH")]
    pub(crate) max_reorg_depth: Option<u64>,
    /// Requests per second allowed from one client IP (burst: twice that); unset or 0: no limit.
    #[arg(long, global = true, env = "HONEYGRAPH_RATE_LIMIT_IP")]
    pub(crate) rate_limit_ip: Option<u32>,
    /// Requests per second allowed on one token's routes, all clients together; unset or 0: no limit.
    #[arg(long, global = true, env = "HONEYGRAPH_RATE_LIMIT_TOKEN")]
    pub(crate) rate_limit_token: Option<u32>,
    /// Take a checkpoint every this many blocks (0: only on demand).
    #[arg(long, global = true, env = "HONEYGRAPH_CHECKPOINT_EVERY")]
    pub(crate) checkpoint_every: Option<u64>,
    /// Keep this many newest checkpoints per token.
    #[arg(long, global = true, env = "HONEYGRAPH_CHECKPOINT_KEEP_LAST")]
    pub(crate) checkpoint_keep_last: Option<usize>,
    /// Also keep the newest checkpoint of each of this many last days.
    #[arg(long, global = true, env = "HONEYGRAPH_CHECKPOINT_KEEP_DAILY")]
    pub(crate) checkpoint_keep_daily: Option<usize>,
}

/// Follow mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FollowArg {
    /// Apply only irreversible blocks (like honeycomb).
    Irreversible,
    /// Apply reversible blocks too (lower latency).
    Head,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Ingest and serve queries in one process (the main job).
    Serve,
    /// `serve` against a built-in simulated Hive chain with the LARYNX, SPK and
    /// DLUX presets, on a throwaway data dir; works offline.
    Demo(DemoArgs),
    /// The token registry.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Take a checkpoint of a token now.
    Snapshot {
        /// Token symbol.
        symbol: String,
    },
    /// List a token's checkpoints.
    Snapshots {
        /// Token symbol.
        symbol: String,
    },
    /// Rebuild a token's projection from a checkpoint and its log.
    Replay {
        /// Token symbol.
        symbol: String,
        /// Checkpoint to start from (default: genesis).
        #[arg(long)]
        from_snapshot: Option<String>,
        /// Stop after this block.
        #[arg(long)]
        to_block: Option<u64>,
    },
    /// Undo everything above a block (bad fork).
    Rollback {
        /// Token symbol.
        symbol: String,
        /// Keep blocks up to and including this one.
        #[arg(long)]
        to_block: u64,
        /// Restore a checkpoint (or genesis) even where the undo journal
        /// reaches: for a projection you do not trust.
        #[arg(long)]
        from_checkpoint: bool,
    },
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Measure the performance figures (decode, catch-up, replay,
    /// rollback, queries, memory) against their baselines; build with
    /// `--release`.
    Bench {
        /// Small sizes, a few seconds (the smoke version CI runs).
        #[arg(long)]
        quick: bool,
        /// Directory for the bench's throwaway data (default: the system's
        /// temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Only these figures (1 to 6), comma-separated.
        #[arg(long, value_delimiter = ',')]
        only: Vec<u8>,
    },
    /// Dump a token's projection.
    Export {
        /// Token symbol.
        symbol: String,
        /// `json` or `csv`.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
}

/// Options of `honeygraph demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Seed of the simulated chain.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
    /// Milliseconds between simulated blocks.
    #[arg(long, default_value_t = 3000)]
    pub(crate) block_ms: u64,
    /// Blocks of history the simulated chain starts with.
    #[arg(long, default_value_t = 5000)]
    pub(crate) history: u64,
    /// Keep the demo's data directory instead of a throwaway one.
    #[arg(long)]
    pub(crate) keep_data: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Register a token from a preset or a JSON file.
    Add {
        /// A preset: SPK, LARYNX, BROCA or DLUX.
        #[arg(long, conflicts_with = "file")]
        preset: Option<String>,
        /// A JSON file with the fields of `POST /registry/tokens`.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List registered tokens.
    List,
    /// Register a token (or reset one that has not indexed anything yet) with
    /// a honeycomb state dump as its genesis at block N; it indexes from N+1.
    Import {
        /// Token symbol; a registered token or a preset (SPK, LARYNX, BROCA, DLUX).
        symbol: String,
        /// The honeycomb node's state as JSON (its `balances`, `pow`,
        /// `granted`, `granting`; for SPK `spk` and `spow`).
        #[arg(long)]
        honeycomb_state: PathBuf,
        /// The block the dump was taken at (after that block was applied).
        #[arg(long)]
        block: u64,
    },
}

/// `honeygraph config ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective settings (file, then environment, then flags) as
    /// TOML with secrets masked; fail on invalid settings.
    Check,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One JSON document.
    Json,
    /// CSV with a header row.
    Csv,
}
