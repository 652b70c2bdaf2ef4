//! Effective settings: flag, then environment variable, then config file, then default.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ingest::{FollowMode, IngestConfig};
use serde::{Deserialize, Serialize};

use replay::{CheckpointPolicy, RetentionPolicy};

use crate::cli::{FollowArg, SettingsArgs};

/// Default Hive API nodes (interfaces.md).
pub(crate) const DEFAULT_HIVE_NODES: &str =
    "https://api.hive.blog,https://api.deathwing.me,https://api.openhive.network";

/// How `config check` shows a secret that is set.
pub(crate) const MASK: &str = "***";

/// The config file's shape: every field optional.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct FileSettings {
    port: Option<u16>,
    bind: Option<String>,
    data_path: Option<PathBuf>,
    hive_nodes: Option<Vec<String>>,
    follow: Option<FollowArg>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zfs_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    admin_token: Option<String>,
    max_reorg_depth: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_ip: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_token: Option<u32>,
    checkpoint_every: Option<u64>,
    checkpoint_keep_last: Option<usize>,
    checkpoint_keep_daily: Option<usize>,
}

/// The settings every command runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) port: u16,
    pub(crate) bind: String,
    pub(crate) data_path: PathBuf,
    pub(crate) hive_nodes: Vec<String>,
    pub(crate) follow: FollowArg,
    pub(crate) zfs_parent: Option<String>,
    pub(crate) admin_token: Option<String>,
    /// Requests per second per client IP; `None`: no limit.
    pub(crate) rate_limit_ip: Option<NonZeroU32>,
    /// Requests per second per token; `None`: no limit.
    pub(crate) rate_limit_token: Option<NonZeroU32>,
    /// The deepest fork head mode undoes by itself.
    pub(crate) max_reorg_depth: u64,
    /// When checkpoints are taken and how many are kept.
    pub(crate) checkpoints: CheckpointPolicy,
}

impl Settings {
    /// Merges flags/environment (already merged by clap) over the config file.
    pub(crate) fn resolve(args: &SettingsArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let checkpoints = checkpoint_policy(args, &file);
        let hive_nodes = match (&args.hive_nodes, file.hive_nodes) {
            (Some(list), _) => split_nodes(list),
            (None, Some(list)) => list,
            (None, None) => split_nodes(DEFAULT_HIVE_NODES),
        };
        if hive_nodes.is_empty() {
            anyhow::bail!("HIVE_NODES is empty: give at least one Hive API node URL");
        }
        let admin_token = args
            .admin_token
            .clone()
            .or(file.admin_token)
            .filter(|t| !t.is_empty());
        let settings = Settings {
            port: args.port.or(file.port).unwrap_or(4000),
            bind: args
                .bind
                .clone()
                .or(file.bind)
                .unwrap_or_else(|| "0.0.0.0".into()),
            data_path: args
                .data_path
                .clone()
                .or(file.data_path)
                .unwrap_or_else(|| "./data".into()),
            hive_nodes,
            follow: args
                .follow
                .or(file.follow)
                .unwrap_or(FollowArg::Irreversible),
            zfs_parent: args
                .zfs_parent
                .clone()
                .or(file.zfs_parent)
                .filter(|p| !p.is_empty()),
            admin_token,
            rate_limit_ip: args
                .rate_limit_ip
                .or(file.rate_limit_ip)
                .and_then(NonZeroU32::new),
            rate_limit_token: args
                .rate_limit_token
                .or(file.rate_limit_token)
                .and_then(NonZeroU32::new),
            max_reorg_depth: args
                .max_reorg_depth
                .or(file.max_reorg_depth)
                .unwrap_or(ingest::DEFAULT_MAX_REORG_DEPTH),
            checkpoints,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses settings no command can run with, naming the setting.
    fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        if let Some(parent) = &self.zfs_parent {
            datasets::name::validate_zfs_parent(parent)
                .with_context(|| format!("invalid ZFS_PARENT / zfs_parent `{parent}`"))?;
        }
        self.ingest_config()
            .validate()
            .context("invalid ingest settings (hive_nodes, max_reorg_depth)")?;
        Ok(())
    }

    /// The address `serve` listens on.
    pub(crate) fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        let text = if self.bind.contains(':') && !self.bind.starts_with('[') {
            format!("[{}]:{}", self.bind, self.port)
        } else {
            format!("{}:{}", self.bind, self.port)
        };
        text.parse().with_context(|| {
            format!(
                "invalid bind address `{}` (HONEYGRAPH_BIND / bind): give an IP address such as 0.0.0.0 or 127.0.0.1",
                self.bind
            )
        })
    }

    /// Where versioned custom GraphQL schemas and API scripts live.
    pub(crate) fn custom_dir(&self) -> PathBuf {
        self.data_path.join("custom")
    }

    /// What ingest runs with.
    pub(crate) fn ingest_config(&self) -> IngestConfig {
        IngestConfig {
            nodes: self.hive_nodes.clone(),
            follow: match self.follow {
                FollowArg::Irreversible => FollowMode::Irreversible,
                FollowArg::Head => FollowMode::Head,
            },
            max_reorg_depth: self.max_reorg_depth,
            ..IngestConfig::default()
        }
    }

    /// The effective settings as a config file, `admin_token` masked:
    /// what `honeygraph config check` prints.
    pub(crate) fn to_masked_toml(&self) -> anyhow::Result<String> {
        let shown = FileSettings {
            port: Some(self.port),
            bind: Some(self.bind.clone()),
            data_path: Some(self.data_path.clone()),
            hive_nodes: Some(self.hive_nodes.clone()),
            follow: Some(self.follow),
            zfs_parent: self.zfs_parent.clone(),
            admin_token: self.admin_token.as_ref().map(|_| MASK.to_string()),
            max_reorg_depth: Some(self.max_reorg_depth),
            rate_limit_ip: self.rate_limit_ip.map(NonZeroU32::get),
            rate_limit_token: self.rate_limit_token.map(NonZeroU32::get),
            checkpoint_every: Some(self.checkpoints.every_blocks),
            checkpoint_keep_last: Some(self.checkpoints.retention.keep_last),
            checkpoint_keep_daily: Some(self.checkpoints.retention.keep_daily),
        };
        let mut text = toml::to_string(&shown).context("cannot print the settings as TOML")?;
        // TOML has no null: say what an unset optional setting means.
        if self.zfs_parent.is_none() {
            text.push_str("# zfs_parent is unset: token datasets are plain directories\n");
        }
        if self.admin_token.is_none() {
            text.push_str("# admin_token is unset: every write and admin endpoint refuses\n");
        }
        if self.rate_limit_ip.is_none() {
            text.push_str("# rate_limit_ip is unset: no per-client rate limit\n");
        }
        if self.rate_limit_token.is_none() {
            text.push_str("# rate_limit_token is unset: no per-token rate limit\n");
        }
        Ok(text)
    }

    /// Where the registry file lives.
    pub(crate) fn registry_path(&self) -> PathBuf {
        self.data_path.join("registry.json")
    }
}

fn checkpoint_policy(args: &SettingsArgs, file: &FileSettings) -> CheckpointPolicy {
    let default = CheckpointPolicy::default();
    CheckpointPolicy {
        every_blocks: args
            .checkpoint_every
            .or(file.checkpoint_every)
            .unwrap_or(default.every_blocks),
        retention: RetentionPolicy {
            keep_last: args
                .checkpoint_keep_last
                .or(file.checkpoint_keep_last)
                .unwrap_or(default.retention.keep_last),
            keep_daily: args
                .checkpoint_keep_daily
                .or(file.checkpoint_keep_daily)
                .unwrap_or(default.retention.keep_daily),
        },
    }
}

fn split_nodes(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("honeygraph.toml");
        std::fs::write(&path, "port = 5000\ndata_path = \"/srv/hg\"\nhive_nodes = [\"http://a\", \"http://b\"]\nfollow = \"head\"\ncheckpoint_every = 500\n")
            .expect("write");
        let args = SettingsArgs {
            config: Some(path),
            port: Some(6000),
            ..SettingsArgs::default()
        };
        let settings = Settings::resolve(&args).expect("resolves");
        assert_eq!(settings.port, 6000);
        assert_eq!(settings.data_path, PathBuf::from("/srv/hg"));
        assert_eq!(settings.hive_nodes, ["http://a", "http://b"]);
        assert_eq!(settings.follow, FollowArg::Head);
        assert_eq!(settings.admin_token, None);
        assert_eq!(settings.checkpoints.every_blocks, 500);
        assert_eq!(settings.checkpoints.retention, RetentionPolicy::default());
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("honeygraph.toml");
        std::fs::write(&path, "prot = 5000\n").expect("write");
        let args = SettingsArgs {
            config: Some(path),
            ..SettingsArgs::default()
        };
        let err = Settings::resolve(&args).expect_err("typo is refused");
        assert!(format!("{err:#}").contains("prot"), "{err:#}");
    }
}
