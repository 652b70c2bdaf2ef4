//! The baseline of figure 3: every row of a projection read back, then
//! written by a plain heed put loop into a fresh environment.

use std::path::Path;
use std::time::Instant;

use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions};

use crate::error::BenchError;

/// Rows of several databases, kept in one buffer.
#[derive(Default)]
pub(crate) struct Rows {
    /// (database name, first row, end row)
    dbs: Vec<(String, usize, usize)>,
    bytes: Vec<u8>,
    /// (start in `bytes`, key length, value length)
    rows: Vec<(usize, usize, usize)>,
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn databases(&self) -> usize {
        self.dbs.len()
    }

    fn row(&self, i: usize) -> (&[u8], &[u8]) {
        let (start, k, v) = self.rows[i];
        (
            &self.bytes[start..start + k],
            &self.bytes[start + k..start + k + v],
        )
    }
}

const MAX_DBS: u32 = 64;
const MAP_SIZE: usize = 64 << 30;

/// Opens an LMDB environment in `dir`.
///
/// heed marks opening unsafe because LMDB maps the file into memory and a
/// change to the file behind the map is undefined behaviour. Sound here:
/// the bench opens only directories it created, after the projection that
/// used them was dropped (heed itself refuses a second open of an open
/// path), and nothing else touches them.
#[allow(unsafe_code)]
/// With `sync_at_end`, commits do not wait for the disk and the caller
/// syncs once at the end: how a replay writes the copy it builds.
fn open_env(dir: &Path, sync_at_end: bool) -> Result<Env, BenchError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
    let mut options = EnvOpenOptions::new();
    options.map_size(MAP_SIZE).max_dbs(MAX_DBS);
    // SAFETY: see the doc comment: a directory only this function opens.
    unsafe {
        if sync_at_end {
            options.flags(EnvFlags::NO_SYNC);
        }
        options.open(dir)
    }
    .map_err(|e| BenchError::failed("opening an LMDB environment", e))
}

fn lmdb(context: &str) -> impl Fn(heed::Error) -> BenchError + '_ {
    move |e| BenchError::failed(context, e)
}

/// Every row of every named database in the environment in `dir`.
pub(crate) fn read_all(dir: &Path) -> Result<Rows, BenchError> {
    // Wait until the projection's own environment is closed.
    if let Ok(path) = dir.canonicalize() {
        if let Some(event) = heed::env_closing_event(&path) {
            event.wait_timeout(std::time::Duration::from_secs(30));
        }
    }
    let env = open_env(dir, false)?;
    let rtxn = env.read_txn().map_err(lmdb("reading the projection"))?;
    let read = env.open_databases_and_commit(rtxn, |opener, rtxn| {
        let main: Database<Bytes, Bytes> = opener
            .open_database(rtxn, None)
            .map_err(lmdb("opening the main database"))?
            .ok_or_else(|| BenchError::Check("the projection has no main database".into()))?;
        let mut names = Vec::new();
        for entry in main.iter(rtxn).map_err(lmdb("listing databases"))? {
            let (name, _) = entry.map_err(lmdb("listing databases"))?;
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        let mut rows = Rows::default();
        for name in names {
            let Some(db): Option<Database<Bytes, Bytes>> = opener
                .open_database(rtxn, Some(&name))
                .map_err(lmdb("opening a database"))?
            else {
                continue;
            };
            let first = rows.rows.len();
            for entry in db.iter(rtxn).map_err(lmdb("reading rows"))? {
                let (key, value) = entry.map_err(lmdb("reading rows"))?;
                rows.rows.push((rows.bytes.len(), key.len(), value.len()));
                rows.bytes.extend_from_slice(key);
                rows.bytes.extend_from_slice(value);
            }
            rows.dbs.push((name, first, rows.rows.len()));
        }
        // Nothing to keep open: the rows are copied out.
        Ok::<_, BenchError>(CommitOrAbort::<(), Rows>::Abort(rows))
    })?;
    match read {
        CommitOrAbort::Abort(rows) => Ok(rows),
        CommitOrAbort::Commit(()) => Err(BenchError::Check("no rows were read".into())),
    }
}

/// Writes `rows` into a fresh environment in `dir` with plain `put`s,
/// committing `commits` times and syncing once at the end (as the replay
/// does); returns the seconds it took.
pub(crate) fn put_loop(dir: &Path, rows: &Rows, commits: u64) -> Result<f64, BenchError> {
    let env = open_env(dir, true)?;
    if rows.dbs.len() > MAX_DBS as usize {
        return Err(BenchError::Check(
            "the projection has too many databases".into(),
        ));
    }
    let wtxn = env.write_txn().map_err(lmdb("baseline"))?;
    let created = env.create_databases_and_commit(wtxn, |opener, wtxn| {
        let mut dbs: [Option<Database<Bytes, Bytes>>; MAX_DBS as usize] =
            std::array::from_fn(|_| None);
        for (slot, (name, _, _)) in dbs.iter_mut().zip(&rows.dbs) {
            *slot = Some(
                opener
                    .create_database(wtxn, Some(name))
                    .map_err(lmdb("baseline"))?,
            );
        }
        Ok::<_, BenchError>(CommitOrAbort::<_, ()>::Commit(dbs))
    })?;
    let CommitOrAbort::Commit(dbs) = created else {
        return Err(BenchError::Check(
            "the baseline databases were not created".into(),
        ));
    };
    let per_commit = (rows.len() as u64).div_ceil(commits.max(1)).max(1) as usize;
    let started = Instant::now();
    let mut wtxn = env.write_txn().map_err(lmdb("baseline"))?;
    let mut in_txn = 0;
    for (db, (_, first, end)) in dbs.iter().flatten().zip(&rows.dbs) {
        for i in *first..*end {
            let (key, value) = rows.row(i);
            db.put(&mut wtxn, key, value)
                .map_err(lmdb("baseline put"))?;
            in_txn += 1;
            if in_txn == per_commit {
                wtxn.commit().map_err(lmdb("baseline commit"))?;
                wtxn = env.write_txn().map_err(lmdb("baseline"))?;
                in_txn = 0;
            }
        }
    }
    wtxn.commit().map_err(lmdb("baseline commit"))?;
    env.force_sync().map_err(lmdb("baseline sync"))?;
    Ok(started.elapsed().as_secs_f64())
}
