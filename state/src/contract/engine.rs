//! Log records in, effects out: block boundaries, installments and order.
//!
//! An `Op` at block b first completes every block below b, then applies.
//! A `BlockEnd(ref)` completes every block up to `ref.num` and moves the
//! cursor to `ref`. Completing block N pays the installments due at N (after
//! all of N's operations) and moves the `stateHash` over N. Blocks without
//! operations are completed in one step that visits only the blocks where an
//! installment is due, so a long gap costs nothing.
//!
//! The result depends only on the genesis and the sequence of records, not
//! on how the sequence is cut into calls (architecture.md invariant 1).

use crate::block::BlockNum;
use crate::contract::context::Ctx;
use crate::contract::rules::apply_op;
use crate::contract::{Books, Ledger, OpPosition, Outcome, Reject};
use crate::error::StateError;
use crate::log::LogRecord;
use crate::projection::{AccountState, ApplySummary};
use crate::token::TokenConfig;

/// Applies the token's genesis (contract.md §5) to an empty ledger and
/// returns the books that go with it, `stateHash` included.
pub fn genesis_books<L: Ledger + ?Sized>(
    ledger: &mut L,
    config: &TokenConfig,
) -> Result<Books, StateError> {
    let mut books = Books::default();
    let genesis = &config.genesis;
    // Both maps are sorted by name; walk them together so each account is
    // written once, in name order (the order the genesis hash lists them in).
    let mut names: Vec<&String> = genesis
        .balances
        .keys()
        .chain(genesis.power.keys())
        .collect();
    names.sort();
    names.dedup();
    let mut cx = Ctx {
        ledger,
        books: &mut books,
        config,
    };
    for name in names {
        let new = AccountState {
            balance: genesis.balances.get(name).copied().unwrap_or(0),
            power: genesis.power.get(name).copied().unwrap_or(0),
            ..AccountState::default()
        };
        let old = cx.account(name)?;
        cx.store(name, &old, &new)?;
    }
    books.seal_genesis();
    Ok(books)
}

/// Applies `records` in order. The order is checked first, so a refused
/// sequence changes nothing; after that only the ledger can fail.
pub fn apply_records<L: Ledger + ?Sized>(
    ledger: &mut L,
    books: &mut Books,
    config: &TokenConfig,
    records: &[LogRecord],
) -> Result<ApplySummary, StateError> {
    check_order(books, records)?;
    let mut cx = Ctx {
        ledger,
        books,
        config,
    };
    let mut summary = ApplySummary::default();
    for record in records {
        match record {
            LogRecord::Op(op) => {
                if let Some(previous) = op.block.checked_sub(1) {
                    advance_to(&mut cx, previous)?;
                }
                cx.ledger.set_block(op.block);
                match apply_op(&mut cx, op)? {
                    Outcome::Applied => summary.applied += 1,
                    Outcome::Rejected(reason) => {
                        summary.rejected += 1;
                        if let Some(i) = Reject::ALL.iter().position(|r| *r == reason) {
                            summary.rejected_by_reason[i] += 1;
                        }
                    }
                    Outcome::Unsupported => summary.unsupported += 1,
                }
                cx.books.last_op = Some(OpPosition::of(op));
            }
            LogRecord::BlockEnd(block) => {
                advance_to(&mut cx, block.num)?;
                cx.books.cursor = Some(block.clone());
                summary.blocks += 1;
            }
        }
    }
    Ok(summary)
}

/// Refuses a sequence that does not continue where the books stand: every
/// operation strictly after the last one, and no record in a completed block
/// (a `BlockEnd` may repeat the last completed block).
pub(crate) fn check_order(books: &Books, records: &[LogRecord]) -> Result<(), StateError> {
    let mut completed = books.completed;
    let mut last_op = books.last_op;
    for (index, record) in records.iter().enumerate() {
        let refuse = |why: String| {
            Err(StateError::InvalidArgument(format!(
                "log record {index} of the batch is out of order: {why}"
            )))
        };
        match record {
            LogRecord::Op(op) => {
                let position = OpPosition::of(op);
                if let Some(done) = completed.filter(|done| op.block <= *done) {
                    return refuse(format!(
                        "operation at block {} but block {done} is complete",
                        op.block
                    ));
                }
                if let Some(last) = last_op.filter(|last| position <= *last) {
                    return refuse(format!(
                        "operation {position:?} does not come after {last:?}"
                    ));
                }
                last_op = Some(position);
            }
            LogRecord::BlockEnd(block) => {
                if let Some(done) = completed.filter(|done| block.num < *done) {
                    return refuse(format!(
                        "end of block {} but block {done} is complete",
                        block.num
                    ));
                }
                if let Some(last) = last_op.filter(|last| block.num < last.block) {
                    return refuse(format!(
                        "end of block {} after an operation at block {}",
                        block.num, last.block
                    ));
                }
                completed = Some(block.num);
            }
        }
    }
    Ok(())
}

/// Completes every block up to `through`: the open block first, then each
/// block with an installment due, in block order.
fn advance_to<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    through: BlockNum,
) -> Result<(), StateError> {
    if cx.books.completed.is_some_and(|done| done >= through) {
        return Ok(());
    }
    if let Some(open) = cx.books.open_block() {
        // `check_order` guarantees open <= through.
        complete_block(cx, open)?;
    }
    loop {
        let from = cx.books.completed.map_or(0, |done| done.saturating_add(1));
        if from > through {
            break;
        }
        match cx.ledger.next_due(from, through)? {
            Some((due, _)) => complete_block(cx, due)?,
            None => break,
        }
    }
    cx.books.completed = Some(through);
    Ok(())
}

/// Pays the installments due at `block`, seals its hash and marks it complete.
fn complete_block<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    block: BlockNum,
) -> Result<(), StateError> {
    cx.ledger.set_block(block);
    while let Some((due, account)) = cx.ledger.next_due(block, block)? {
        debug_assert_eq!(due, block);
        pay_installment(cx, block, &account)?;
    }
    cx.books.seal_block(block);
    cx.books.completed = Some(block);
    Ok(())
}

/// Pays `account`'s installment due at `block`:
/// `x = min(installment, power - grantedOut)`, `power -= x`, `balance += x`.
/// `x` is also capped so the balance cannot pass u64::MAX (what is not paid
/// stays as power); an overflow cannot be rejected here, as no operation asked for it.
fn pay_installment<L: Ledger + ?Sized>(
    cx: &mut Ctx<'_, L>,
    block: BlockNum,
    account: &str,
) -> Result<(), StateError> {
    let Some(schedule) = cx.ledger.power_down(account)? else {
        // An index entry without a schedule cannot be written by the
        // contract; drop it so it cannot stall the block.
        return cx.ledger.remove_due(block, account);
    };
    if schedule.next_due() != block {
        return cx.ledger.remove_due(block, account);
    }
    let old = cx.account(account)?;
    let x = schedule
        .next_amount()
        .min(old.power.saturating_sub(old.granted_out))
        .min(u64::MAX - old.balance);
    let new = AccountState {
        power: old.power - x,
        balance: old.balance + x,
        ..old
    };
    cx.store(account, &old, &new)?;
    let next = schedule.after_payment();
    cx.set_power_down(account, Some(&schedule), next.as_ref())
}
