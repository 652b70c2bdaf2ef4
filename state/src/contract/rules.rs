//! The four operations of contract v1 and their checks (contract.md §2-§4).
//!
//! Every check of an operation runs before its first write, so a rejected
//! operation changes nothing but its own outcome record.

use crate::account::is_valid_account;
use crate::contract::context::Ctx;
use crate::contract::payload::{parse_payload, Payload};
use crate::contract::{Ledger, Outcome, PowerDown, Reject, TransferRecord};
use crate::error::StateError;
use crate::op::{Authority, TokenOp};
use crate::projection::AccountState;

/// Name of the `send` operation.
pub const SEND: &str = "send";
/// Name of the `power_up` operation.
pub const POWER_UP: &str = "power_up";
/// Name of the `power_down` operation.
pub const POWER_DOWN: &str = "power_down";
/// Name of the `power_grant` operation.
pub const POWER_GRANT: &str = "power_grant";

/// Why an operation did not apply: a contract rejection, or the storage failed.
enum Fail {
    Reject(Reject),
    Storage(StateError),
}

impl From<Reject> for Fail {
    fn from(r: Reject) -> Self {
        Fail::Reject(r)
    }
}

impl From<StateError> for Fail {
    fn from(e: StateError) -> Self {
        Fail::Storage(e)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Send,
    PowerUp,
    PowerDown,
    PowerGrant,
}

/// Applies one operation and records its outcome. Errors are storage errors
/// only; a contract rejection is an outcome.
pub(crate) fn apply_op<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    op: &TokenOp,
) -> Result<Outcome, StateError> {
    let kind = match op.name.as_str() {
        SEND => Some(Kind::Send),
        POWER_UP => Some(Kind::PowerUp),
        POWER_DOWN => Some(Kind::PowerDown),
        POWER_GRANT => Some(Kind::PowerGrant),
        _ => None,
    };
    let outcome = match kind {
        None => Outcome::Unsupported,
        Some(kind) => match evaluate(cx, op, kind) {
            Ok(()) => Outcome::Applied,
            Err(Fail::Reject(reason)) => Outcome::Rejected(reason),
            Err(Fail::Storage(e)) => return Err(e),
        },
    };
    cx.ledger
        .record_outcome(op, op.sender().map(|(s, _)| s), outcome)?;
    cx.books.note_outcome(op, outcome);
    Ok(outcome)
}

fn evaluate<L: Ledger + ?Sized>(cx: &mut Ctx<'_, L>, op: &TokenOp, kind: Kind) -> Result<(), Fail> {
    let payload = parse_payload(&op.json).ok_or(Reject::InvalidJson)?;
    match kind {
        Kind::Send => send(cx, op, &payload),
        Kind::PowerUp => power_up(cx, op, &payload),
        Kind::PowerDown => power_down(cx, op, &payload),
        Kind::PowerGrant => power_grant(cx, op, &payload),
    }
}

/// The sender, who must have signed with active authority (contract.md §2).
/// A sender that is not a valid account name cannot happen on Hive; it is
/// treated as no sender at all.
fn active_sender(op: &TokenOp) -> Result<&str, Reject> {
    match op.sender() {
        None => Err(Reject::NoSender),
        Some((_, Authority::Posting)) => Err(Reject::ActiveAuthorityRequired),
        Some((sender, Authority::Active)) if is_valid_account(sender) => Ok(sender),
        Some((_, Authority::Active)) => Err(Reject::NoSender),
    }
}

fn require_staking<L: Ledger + ?Sized>(cx: &Ctx<'_, L>) -> Result<(), Reject> {
    if cx.config.features.staking {
        Ok(())
    } else {
        Err(Reject::StakingDisabled)
    }
}

/// Power the account may still move: own power not granted away.
fn free_power(state: &AccountState) -> u64 {
    state.power.saturating_sub(state.granted_out)
}

fn send<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    op: &TokenOp,
    payload: &Payload<'_>,
) -> Result<(), Fail> {
    if !cx.config.features.transfers {
        return Err(Reject::TransfersDisabled.into());
    }
    let sender = active_sender(op)?;
    let to = payload
        .to()
        .filter(|to| is_valid_account(to))
        .ok_or(Reject::InvalidAccount)?;
    let amount = payload
        .amount()
        .filter(|a| *a > 0)
        .ok_or(Reject::InvalidAmount)?;
    let memo = payload.memo()?;
    if to == sender {
        return Err(Reject::CannotSendToSelf.into());
    }
    let from_old = cx.account(sender)?;
    let from_balance = from_old
        .balance
        .checked_sub(amount)
        .ok_or(Reject::InsufficientBalance)?;
    let to_old = cx.account(&to)?;
    let to_balance = to_old.balance.checked_add(amount).ok_or(Reject::Overflow)?;

    let from_new = AccountState {
        balance: from_balance,
        ..from_old
    };
    let to_new = AccountState {
        balance: to_balance,
        ..to_old
    };
    cx.store(sender, &from_old, &from_new)?;
    cx.store(&to, &to_old, &to_new)?;
    cx.record_transfer(&TransferRecord {
        op,
        from: sender,
        to: &to,
        amount,
        memo: memo.as_deref().unwrap_or(""),
    })?;
    Ok(())
}

fn power_up<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    op: &TokenOp,
    payload: &Payload<'_>,
) -> Result<(), Fail> {
    require_staking(cx)?;
    let sender = active_sender(op)?;
    let amount = payload
        .amount()
        .filter(|a| *a > 0)
        .ok_or(Reject::InvalidAmount)?;
    let old = cx.account(sender)?;
    let balance = old
        .balance
        .checked_sub(amount)
        .ok_or(Reject::InsufficientBalance)?;
    let power = old.power.checked_add(amount).ok_or(Reject::Overflow)?;
    cx.store(
        sender,
        &old,
        &AccountState {
            balance,
            power,
            ..old
        },
    )?;
    Ok(())
}

fn power_down<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    op: &TokenOp,
    payload: &Payload<'_>,
) -> Result<(), Fail> {
    require_staking(cx)?;
    let sender = active_sender(op)?;
    let amount = payload.amount().ok_or(Reject::InvalidAmount)?;
    let pending = cx.ledger.power_down(sender)?;
    if amount == 0 {
        if pending.is_some() {
            cx.set_power_down(sender, pending.as_ref(), None)?;
        }
        return Ok(());
    }
    let state = cx.account(sender)?;
    if amount > free_power(&state) {
        return Err(Reject::InsufficientPower.into());
    }
    let schedule =
        PowerDown::new(op.block, cx.config.power_down_interval, amount).ok_or(Reject::Overflow)?;
    cx.set_power_down(sender, pending.as_ref(), Some(&schedule))?;
    Ok(())
}

fn power_grant<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    op: &TokenOp,
    payload: &Payload<'_>,
) -> Result<(), Fail> {
    require_staking(cx)?;
    let sender = active_sender(op)?;
    let to = payload
        .to()
        .filter(|to| is_valid_account(to))
        .ok_or(Reject::InvalidAccount)?;
    if to == sender {
        return Err(Reject::CannotGrantToSelf.into());
    }
    let amount = payload.amount().ok_or(Reject::InvalidAmount)?;
    let current = cx.ledger.grant(sender, &to)?;
    let from_old = cx.account(sender)?;
    let to_old = cx.account(&to)?;
    let (granted_out, granted_in) = if amount >= current {
        let d = amount - current;
        if d > free_power(&from_old) {
            return Err(Reject::InsufficientPower.into());
        }
        (
            from_old
                .granted_out
                .checked_add(d)
                .ok_or(Reject::Overflow)?,
            to_old.granted_in.checked_add(d).ok_or(Reject::Overflow)?,
        )
    } else {
        // Grants only ever add to both sides together, so these cannot go
        // below zero; refuse rather than wrap if the store says otherwise.
        let d = current - amount;
        (
            from_old
                .granted_out
                .checked_sub(d)
                .ok_or(Reject::Overflow)?,
            to_old.granted_in.checked_sub(d).ok_or(Reject::Overflow)?,
        )
    };
    if amount != current {
        cx.set_grant(sender, &to, amount)?;
    }
    cx.store(
        sender,
        &from_old,
        &AccountState {
            granted_out,
            ..from_old
        },
    )?;
    cx.store(
        &to,
        &to_old,
        &AccountState {
            granted_in,
            ..to_old
        },
    )?;
    Ok(())
}
