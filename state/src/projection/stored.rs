//! One stored account, grant or power-down, read and decoded: what both
//! ledgers (`LmdbLedger` in its write transaction, the pipeline's
//! `Recorder` in a read transaction) ask of LMDB.

use std::path::Path;

use heed::{RoTxn, WithoutTls};

use crate::contract::PowerDown;
use crate::error::StateError;
use crate::projection::codec::{self, corrupt, DecodeError};
use crate::projection::env::Dbs;
use crate::projection::AccountState;

/// `name`'s figures; zeros when it has none.
pub(crate) fn account(
    txn: &RoTxn<'_, WithoutTls>,
    dbs: &Dbs,
    path: &Path,
    name: &str,
) -> Result<AccountState, StateError> {
    match dbs.accounts.get(txn, name.as_bytes()) {
        Ok(Some(bytes)) => {
            codec::decode_account(bytes).map_err(|e| corrupt(path, "account record", e))
        }
        Ok(None) => Ok(AccountState::default()),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}

/// The amount of the grant at `key` (see `codec::grant_key`); 0 when none.
pub(crate) fn grant(
    txn: &RoTxn<'_, WithoutTls>,
    dbs: &Dbs,
    path: &Path,
    key: &[u8],
) -> Result<u64, StateError> {
    match dbs.grants.get(txn, key) {
        Ok(None) => Ok(0),
        Ok(Some(bytes)) => bytes
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| corrupt(path, "grant record", DecodeError("grant length"))),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}

/// `account`'s pending power-down, if any.
pub(crate) fn power_down(
    txn: &RoTxn<'_, WithoutTls>,
    dbs: &Dbs,
    path: &Path,
    account: &str,
) -> Result<Option<PowerDown>, StateError> {
    match dbs.power_downs.get(txn, account.as_bytes()) {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => codec::decode_power_down(bytes)
            .map(Some)
            .map_err(|e| corrupt(path, "power-down record", e)),
        Err(e) => Err(StateError::lmdb(path, e)),
    }
}
