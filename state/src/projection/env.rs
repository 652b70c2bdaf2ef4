//! Opening a token's LMDB environment and its databases.

use std::path::{Path, PathBuf};

use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, WithoutTls};

/// A database of raw bytes; layouts are in `codec`.
pub(crate) type Raw = Database<'static, Bytes, Bytes>;

/// Named databases in one environment; room is left for later ones.
const MAX_DBS: u32 = 32;

/// Default map size: the most the projection may grow to. LMDB reserves
/// address space, not disk, so a large value costs nothing.
pub const DEFAULT_MAP_SIZE: usize = 64 << 30;

/// How a projection's environment is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionOptions {
    /// Largest size the environment may reach, in bytes (rounded up to 64 KiB).
    pub map_size: usize,
    /// Blocks of history kept below the cursor for queries as of a block;
    /// `None` (the default) keeps all of it. Rows written while this was
    /// `None` are never pruned later, though queries below the horizon are
    /// refused all the same.
    pub history_blocks: Option<u64>,
    /// Blocks below the cursor the undo journal reaches: a rollback to any
    /// of them undoes what the blocks above changed, at a cost proportional
    /// to those changes (further back, a rollback restores a checkpoint).
    pub undo_blocks: u64,
    /// Whether a commit returns only once it is on disk (the default). A
    /// replay turns this off for the copy it builds: that copy is fsynced
    /// once before it is swapped in, and thrown away if the build stops.
    pub sync_commits: bool,
}

impl ProjectionOptions {
    /// The defaults, with the history the token's `historyBlocks` asks for.
    pub fn for_token(config: &crate::TokenConfig) -> Self {
        ProjectionOptions {
            history_blocks: config.history_blocks,
            ..ProjectionOptions::default()
        }
    }
}

/// Default of [`ProjectionOptions::undo_blocks`]: an hour of Hive blocks.
pub const DEFAULT_UNDO_BLOCKS: u64 = 1_200;

impl Default for ProjectionOptions {
    fn default() -> Self {
        ProjectionOptions {
            map_size: DEFAULT_MAP_SIZE,
            history_blocks: None,
            undo_blocks: DEFAULT_UNDO_BLOCKS,
            sync_commits: true,
        }
    }
}

/// The projection's databases (see `codec` for their layouts, and
/// `transfer_chunks` for the per-account transfer index).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dbs {
    /// `meta` (books, log position, contract version) and `pending` (events of the open block).
    pub(crate) meta: Raw,
    /// account -> figures.
    pub(crate) accounts: Raw,
    /// from \0 to -> amount.
    pub(crate) grants: Raw,
    /// account -> pending power-down.
    pub(crate) power_downs: Raw,
    /// due block BE, account -> ().
    pub(crate) due: Raw,
    /// block, trx index, op index (BE) -> transfer.
    pub(crate) transfers: Raw,
    /// account \0 first entry's transfer key -> up to 64 entries (transfer
    /// key, direction, the account's figures after it): `transfer_chunks`.
    pub(crate) account_transfers: Raw,
    /// block, trx index, op index (BE) -> outcome of a logged operation
    /// (but an applied `send`, whose transfer row stands in for it).
    pub(crate) outcomes: Raw,
    /// trx id -> block and trx index of its operations.
    pub(crate) trxs: Raw,
    /// (u128::MAX - holding) BE, account -> figures.
    pub(crate) rich: Raw,
    /// account \0 block BE -> figures after that block (see `history`).
    pub(crate) history: Raw,
    /// block BE -> supply and holders after that block.
    pub(crate) history_totals: Raw,
    /// superseded-at block BE, account \0 row block BE -> ().
    pub(crate) history_expiry: Raw,
    /// frame BE, seq BE -> undo journal entry (see `journal`).
    pub(crate) journal: Raw,
}

/// The file LMDB keeps an environment's pages in, in the environment's `dir`.
pub(crate) fn data_file(dir: &Path) -> PathBuf {
    dir.join("data.mdb")
}

/// Opens the environment in `dir`, which must exist.
///
/// This is the crate's one `unsafe` call: heed marks opening unsafe because
/// LMDB memory-maps the file, and changing the file behind the map (from this
/// or another process, outside LMDB's own locking) is undefined behaviour.
#[allow(unsafe_code)]
pub(crate) fn open_env(dir: &Path, options: &ProjectionOptions) -> heed::Result<Env<WithoutTls>> {
    let mut builder = EnvOpenOptions::new().read_txn_without_tls();
    builder
        .map_size(round_map_size(options.map_size))
        .max_dbs(MAX_DBS);
    // SAFETY: sound because the file is only ever changed through LMDB:
    // - in this process, one environment per directory: heed refuses to open
    //   a path that is already open (`EnvAlreadyOpened`), and the Catalog
    //   holds the one `Projection` of each token that everybody shares;
    // - other processes (a second `honeygraph` command on the same data) go
    //   through LMDB's lock file, which makes concurrent access safe;
    // - rollback and replay swap a token's files only after taking the
    //   projection out of the Catalog and dropping it, which closes the map
    //   (architecture.md: "close and reopen the environment").
    // NO_META_SYNC keeps every commit atomic and consistent; an OS crash can
    // lose the last commits, which recovery re-applies from the event log
    // (the log is fsynced before each apply). NO_SYNC is only asked for by a
    // replay's work copy, which is fsynced as a whole before it is used.
    let flags = if options.sync_commits {
        EnvFlags::NO_META_SYNC
    } else {
        EnvFlags::NO_SYNC
    };
    unsafe {
        builder.flags(flags);
        builder.open(dir)
    }
}

fn round_map_size(size: usize) -> usize {
    const GRAIN: usize = 64 << 10;
    size.max(GRAIN).div_ceil(GRAIN).saturating_mul(GRAIN)
}

/// Creates (or opens) every database in one transaction.
pub(crate) fn create_dbs(env: &Env<WithoutTls>) -> heed::Result<Dbs> {
    let wtxn = env.write_txn()?;
    let created = env.create_databases_and_commit(wtxn, |opener, wtxn| -> heed::Result<_> {
        let mut create = |name: &str| opener.create_database::<Bytes, Bytes>(wtxn, Some(name));
        let dbs = (
            create("meta")?,
            create("accounts")?,
            create("grants")?,
            create("power_downs")?,
            create("due")?,
            create("transfers")?,
            create("account_transfers")?,
            create("outcomes")?,
            create("trxs")?,
            create("rich")?,
        );
        let history = (
            create("history")?,
            create("history_totals")?,
            create("history_expiry")?,
            create("journal")?,
        );
        let dbs = (dbs, history);
        Ok(CommitOrAbort::<_, ()>::Commit(dbs))
    })?;
    let (
        (
            meta,
            accounts,
            grants,
            power_downs,
            due,
            transfers,
            account_transfers,
            outcomes,
            trxs,
            rich,
        ),
        (history, history_totals, history_expiry, journal),
    ) = created.commit().expect("the closure above never aborts");
    Ok(Dbs {
        meta,
        accounts,
        grants,
        power_downs,
        due,
        transfers,
        account_transfers,
        outcomes,
        trxs,
        rich,
        history,
        history_totals,
        history_expiry,
        journal,
    })
}
