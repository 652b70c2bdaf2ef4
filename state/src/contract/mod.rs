//! The honeycomb token contract v1, exactly as `spec/contract.md` states it.
//!
//! The contract is written against the [`Ledger`] trait so the same code runs
//! over the LMDB projection and over the in-memory ledger the tests use.

use serde::{Deserialize, Serialize};

/// Version of the contract these rules implement; stored in every projection.
pub const CONTRACT_VERSION: u32 = 1;

/// Why an operation was rejected (contract.md §4 and §6). `as_str` gives the
/// exact reason strings of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reject {
    /// `transfers disabled`
    TransfersDisabled,
    /// `staking disabled`
    StakingDisabled,
    /// `active authority required`
    ActiveAuthorityRequired,
    /// `invalid json`
    InvalidJson,
    /// `invalid amount`
    InvalidAmount,
    /// `invalid account`
    InvalidAccount,
    /// `invalid memo`
    InvalidMemo,
    /// `cannot send to self`
    CannotSendToSelf,
    /// `cannot grant to self`
    CannotGrantToSelf,
    /// `insufficient balance`
    InsufficientBalance,
    /// `insufficient power`
    InsufficientPower,
    /// `overflow`
    Overflow,
    /// `no sender`: neither auth list names an account (Hive itself forbids this).
    NoSender,
}

impl Reject {
    /// The reason string of contract.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::TransfersDisabled => "transfers disabled",
            Reject::StakingDisabled => "staking disabled",
            Reject::ActiveAuthorityRequired => "active authority required",
            Reject::InvalidJson => "invalid json",
            Reject::InvalidAmount => "invalid amount",
            Reject::InvalidAccount => "invalid account",
            Reject::InvalidMemo => "invalid memo",
            Reject::CannotSendToSelf => "cannot send to self",
            Reject::CannotGrantToSelf => "cannot grant to self",
            Reject::InsufficientBalance => "insufficient balance",
            Reject::InsufficientPower => "insufficient power",
            Reject::Overflow => "overflow",
            Reject::NoSender => "no sender",
        }
    }
}

/// The outcome of one logged operation (contract.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The operation took effect.
    Applied,
    /// The operation was rejected for this reason; no state changed.
    Rejected(Reject),
    /// The operation name has no meaning in this contract version.
    Unsupported,
}

impl Outcome {
    /// `applied`, `rejected` or `unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Rejected(_) => "rejected",
            Outcome::Unsupported => "unsupported",
        }
    }

    /// The rejection reason, if rejected.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Rejected(r) => Some(r.as_str()),
            _ => None,
        }
    }
}
