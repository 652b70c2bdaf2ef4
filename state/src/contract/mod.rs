//! The honeycomb token contract v1, exactly as `spec/contract.md` states it.
//!
//! The contract is written against the [`Ledger`] trait so the same code runs
//! over the LMDB projection and over the in-memory [`MemLedger`] the tests and
//! benches use. [`apply_records`] is the one entry point both share: it turns
//! a run of log records into effects, so live ingest and replay cannot differ
//! (architecture.md invariant 1).
//!
//! - [`payload`]: reading an operation's `json` (contract.md §3);
//! - [`rules`]: the four operations and their checks (§4);
//! - [`power_down`]: schedules and installments;
//! - [`books`]: supply, holders, progress and the running `stateHash`;
//! - [`engine`]: block boundaries and the order of log records;
//! - [`mem`]: the in-memory ledger.

use serde::{Deserialize, Serialize};

pub mod books;
mod context;
pub mod engine;
pub mod ledger;
pub mod mem;
pub mod payload;
pub mod power_down;
pub mod rules;

pub use books::{Books, OpPosition};
pub(crate) use engine::check_order;
pub use engine::{apply_records, genesis_books};
pub use ledger::{Ledger, TransferRecord};
pub use mem::MemLedger;
pub use power_down::PowerDown;

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
    /// Every reason, in the order of their stable codes (see [`Reject::code`]).
    pub const ALL: [Reject; 13] = [
        Reject::TransfersDisabled,
        Reject::StakingDisabled,
        Reject::ActiveAuthorityRequired,
        Reject::InvalidJson,
        Reject::InvalidAmount,
        Reject::InvalidAccount,
        Reject::InvalidMemo,
        Reject::CannotSendToSelf,
        Reject::CannotGrantToSelf,
        Reject::InsufficientBalance,
        Reject::InsufficientPower,
        Reject::Overflow,
        Reject::NoSender,
    ];

    /// A stable one-byte code (1 to 13) used on disk and in the `stateHash`.
    pub fn code(self) -> u8 {
        let index = Reject::ALL
            .iter()
            .position(|r| *r == self)
            .expect("ALL lists every variant");
        index as u8 + 1
    }

    /// The reason with this [`Reject::code`], if any.
    pub fn from_code(code: u8) -> Option<Reject> {
        Reject::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

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

    /// Stable two-byte code (kind, reason) used on disk and in the `stateHash`:
    /// `(0, 0)` applied, `(1, reason code)` rejected, `(2, 0)` unsupported.
    pub fn code(&self) -> [u8; 2] {
        match self {
            Outcome::Applied => [0, 0],
            Outcome::Rejected(r) => [1, r.code()],
            Outcome::Unsupported => [2, 0],
        }
    }

    /// The outcome with this [`Outcome::code`], if any.
    pub fn from_code(code: [u8; 2]) -> Option<Outcome> {
        match code {
            [0, 0] => Some(Outcome::Applied),
            [1, r] => Reject::from_code(r).map(Outcome::Rejected),
            [2, 0] => Some(Outcome::Unsupported),
            _ => None,
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
