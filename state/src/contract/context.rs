//! The ledger together with the books: every write goes through here so that
//! supply, holders and the `stateHash` events can never miss a change.

use crate::contract::{Books, Ledger, PowerDown, TransferRecord};
use crate::error::StateError;
use crate::projection::AccountState;
use crate::token::TokenConfig;

pub(crate) struct Ctx<'a, L: Ledger + ?Sized> {
    pub(crate) ledger: &'a mut L,
    pub(crate) books: &'a mut Books,
    pub(crate) config: &'a TokenConfig,
}

impl<L: Ledger + ?Sized> Ctx<'_, L> {
    pub(crate) fn account(&mut self, name: &str) -> Result<AccountState, StateError> {
        self.ledger.account(name)
    }

    /// Stores `new` for `name` when it differs from `old`.
    pub(crate) fn store(
        &mut self,
        name: &str,
        old: &AccountState,
        new: &AccountState,
    ) -> Result<(), StateError> {
        if old == new {
            return Ok(());
        }
        self.ledger.put_account(name, old, new)?;
        self.books.account_changed(old, new);
        self.books.note_account(name, new);
        self.ledger
            .note_totals(self.books.supply, self.books.holders);
        Ok(())
    }

    pub(crate) fn set_grant(
        &mut self,
        from: &str,
        to: &str,
        amount: u64,
    ) -> Result<(), StateError> {
        self.ledger.put_grant(from, to, amount)?;
        self.books.note_grant(from, to, amount);
        Ok(())
    }

    /// Replaces the account's schedule and keeps the due index in step.
    pub(crate) fn set_power_down(
        &mut self,
        account: &str,
        old: Option<&PowerDown>,
        new: Option<&PowerDown>,
    ) -> Result<(), StateError> {
        if let Some(old) = old {
            self.ledger.remove_due(old.next_due(), account)?;
        }
        if let Some(new) = new {
            self.ledger.add_due(new.next_due(), account)?;
        }
        self.ledger.put_power_down(account, new)?;
        self.books.note_power_down(account, new);
        Ok(())
    }

    pub(crate) fn record_transfer(
        &mut self,
        transfer: &TransferRecord<'_>,
    ) -> Result<(), StateError> {
        self.ledger.record_transfer(transfer)?;
        self.books.note_transfer(transfer);
        Ok(())
    }
}
