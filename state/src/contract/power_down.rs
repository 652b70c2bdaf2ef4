//! Power-down schedules (contract.md §4, `power_down`).

use serde::{Deserialize, Serialize};

use crate::block::BlockNum;

/// Number of installments of a power-down.
pub const INSTALLMENTS: u8 = 4;

/// A pending power-down: `amount` paid in 4 installments due at
/// `start + k * interval` for k = 1..4.
///
/// The interval is kept with the schedule so a schedule keeps its due blocks
/// whatever happens to the token's setting later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerDown {
    /// Block of the `power_down` operation (B).
    pub start: BlockNum,
    /// Blocks between installments.
    pub interval: u64,
    /// Total amount to power down.
    pub amount: u64,
    /// Installments paid so far (0 to 3; the schedule is gone after the 4th).
    pub paid: u8,
}

impl PowerDown {
    /// A new schedule, or `None` when its last due block would not fit a u64.
    pub fn new(start: BlockNum, interval: u64, amount: u64) -> Option<PowerDown> {
        // An interval of 0 would put every installment in the operation's
        // own block; token validation forbids it, and 1 is the closest meaning.
        let interval = interval.max(1);
        interval
            .checked_mul(u64::from(INSTALLMENTS))
            .and_then(|span| start.checked_add(span))?;
        Some(PowerDown {
            start,
            interval,
            amount,
            paid: 0,
        })
    }

    /// Number (1 to 4) of the next installment.
    pub fn next_installment(&self) -> u8 {
        self.paid + 1
    }

    /// Block at which the next installment is due.
    pub fn next_due(&self) -> BlockNum {
        // `new` checked that start + 4 * interval fits, and paid < 4.
        self.start + u64::from(self.next_installment()) * self.interval
    }

    /// Amount of the next installment: `floor(amount / 4)` for 1 to 3, the rest for the 4th.
    pub fn next_amount(&self) -> u64 {
        let quarter = self.amount / u64::from(INSTALLMENTS);
        if self.next_installment() < INSTALLMENTS {
            quarter
        } else {
            self.amount - quarter * u64::from(INSTALLMENTS - 1)
        }
    }

    /// The schedule after its next installment, or `None` after the 4th.
    pub fn after_payment(&self) -> Option<PowerDown> {
        (self.next_installment() < INSTALLMENTS).then_some(PowerDown {
            paid: self.paid + 1,
            ..*self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_installments_floor_then_rest() {
        let mut schedule = Some(PowerDown::new(100, 10, 1003).expect("fits"));
        let mut paid = Vec::new();
        while let Some(s) = schedule {
            paid.push((s.next_due(), s.next_amount()));
            schedule = s.after_payment();
        }
        assert_eq!(paid, vec![(110, 250), (120, 250), (130, 250), (140, 253)]);
    }

    #[test]
    fn small_amounts_pay_everything_in_the_last_installment() {
        let s = PowerDown::new(0, 1, 3).expect("fits");
        let s2 = s
            .after_payment()
            .and_then(|s| s.after_payment())
            .and_then(|s| s.after_payment());
        assert_eq!(s.next_amount(), 0);
        assert_eq!(s2.map(|s| (s.next_amount(), s.next_due())), Some((3, 4)));
    }

    #[test]
    fn refuses_due_blocks_past_u64() {
        assert!(PowerDown::new(u64::MAX - 3, 1, 5).is_none());
        assert!(PowerDown::new(u64::MAX - 4, 1, 5).is_some());
        assert!(PowerDown::new(0, u64::MAX / 2, 5).is_none());
    }
}
