//! One stored account, grant or power-down, read and decoded: what both
//! ledgers (`LmdbLedger` in its write transaction, the pipeline's
//! `Recorder` in a read transaction) and the queries ask of LMDB.

use std::path::Path;

use heed::RoTxn;

use crate::contract::PowerDown;
use crate::error::StateError;
use crate::projection::codec::{self, corrupt, DecodeError};
use crate::projection::env::Dbs;
use crate::projection::AccountState;

/// `name`'s figures; zeros when it has none.
pub(crate) fn account(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    name: &str,
) -> Result<AccountState, StateError> {
    match dbs.accounts.get(txn, name.as_bytes()) {
        Ok(Some(bytes)) => codec::decode_account(bytes)
            .map_err(|e| corrupt(path, &format!("account record of {name}"), e)),
        Ok(None) => Ok(AccountState::default()),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}

/// The amount of the grant at `key` (see `codec::grant_key`); 0 when none.
pub(crate) fn grant(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    key: &[u8],
) -> Result<u64, StateError> {
    match dbs.grants.get(txn, key) {
        Ok(None) => Ok(0),
        Ok(Some(bytes)) => bytes.try_into().map(u64::from_le_bytes).map_err(|_| {
            // Only on this error path: the key, `from \0 to`, names the pair.
            let names = String::from_utf8_lossy(key).replacen('\0', " to ", 1);
            corrupt(
                path,
                &format!("grant record of {names}"),
                DecodeError("grant length"),
            )
        }),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}

/// `account`'s pending power-down, if any.
pub(crate) fn power_down(
    txn: &RoTxn<'_>,
    dbs: &Dbs,
    path: &Path,
    account: &str,
) -> Result<Option<PowerDown>, StateError> {
    match dbs.power_downs.get(txn, account.as_bytes()) {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => codec::decode_power_down(bytes)
            .map(Some)
            .map_err(|e| corrupt(path, &format!("power-down record of {account}"), e)),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use crate::error::StateError;
    use crate::projection::codec;

    /// A value of the wrong length in the grants or power-downs table is
    /// reported as corruption by the queries, never read as "nothing".
    #[test]
    fn queries_report_a_stored_value_of_the_wrong_length_as_corruption() {
        let mut config = crate::token::preset("LARYNX").expect("preset");
        config.genesis.balances.insert("alice".into(), 100);
        let dir = tempfile::tempdir().expect("dir");
        let projection = crate::Projection::open(dir.path(), &config).expect("opens");
        assert_eq!(projection.grant("alice", "bob").expect("no grant"), 0);
        assert_eq!(projection.power_down("alice").expect("none"), None);
        {
            let inner = &*projection.inner;
            let mut wtxn = inner.env.write_txn().expect("write txn");
            let mut key = Vec::new();
            codec::grant_key(&mut key, "alice", "bob");
            inner
                .dbs
                .grants
                .put(&mut wtxn, &key, &[7u8; 3])
                .expect("put");
            inner
                .dbs
                .power_downs
                .put(&mut wtxn, b"alice", &[1u8; 5])
                .expect("put");
            inner
                .dbs
                .accounts
                .put(&mut wtxn, b"alice", &[1u8; 5])
                .expect("put");
            wtxn.commit().expect("commit");
        }
        let corrupt = |result: Result<String, StateError>| match result {
            Err(StateError::Corrupt { detail, .. }) => detail,
            other => panic!("expected a corruption error, got {other:?}"),
        };
        let grant = corrupt(projection.grant("alice", "bob").map(|g| g.to_string()));
        assert!(grant.contains("grant record of alice to bob"), "{grant}");
        let power_down = corrupt(projection.power_down("alice").map(|p| format!("{p:?}")));
        assert!(
            power_down.contains("power-down record of alice"),
            "{power_down}"
        );
        let account = corrupt(projection.account("alice").map(|a| format!("{a:?}")));
        assert!(account.contains("account record of alice"), "{account}");
        // Other keys still read normally.
        assert_eq!(projection.grant("bob", "alice").expect("no grant"), 0);
    }

    /// A name LMDB cannot look up (empty, or longer than a key may be)
    /// names nothing stored: the queries answer as for an unknown name.
    #[test]
    fn queries_treat_names_lmdb_cannot_look_up_as_unknown() {
        let config = crate::token::preset("LARYNX").expect("preset");
        let dir = tempfile::tempdir().expect("dir");
        let projection = crate::Projection::open(dir.path(), &config).expect("opens");
        let long = "x".repeat(600);
        for name in ["", long.as_str()] {
            let (state, _) = projection.account(name).expect("unknown account");
            assert_eq!(state, crate::projection::AccountState::default());
            assert_eq!(projection.power_down(name).expect("no power-down"), None);
            assert_eq!(projection.grant(name, "bob").expect("no grant"), 0);
            assert_eq!(projection.grant("bob", name).expect("no grant"), 0);
        }
    }
}
