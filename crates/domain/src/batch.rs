//! Terminal batch totals (0500 / 0510) and their reconciliation.

use crate::money::AmountMinor;
use crate::response::ResponseCode;

/// Totals of one terminal batch, as DE 74/86 (credits: refunds) and DE 76/88
/// (debits: sales and completions). Voided and reversed transactions are not
/// counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchTotals {
    /// Number of refunds (DE 74).
    pub credit_count: u64,
    /// Total of refunds (DE 86).
    pub credit_amount: AmountMinor,
    /// Number of sales and completions (DE 76).
    pub debit_count: u64,
    /// Total of sales and completions (DE 88).
    pub debit_amount: AmountMinor,
}

/// Which side of the batch a captured transaction counts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchSide {
    /// Sale or completion.
    Debit,
    /// Refund.
    Credit,
}

impl BatchTotals {
    /// Adds one captured transaction; `None` on overflow.
    #[must_use]
    pub fn with(self, side: BatchSide, amount: AmountMinor) -> Option<BatchTotals> {
        let mut next = self;
        match side {
            BatchSide::Debit => {
                next.debit_count = next.debit_count.checked_add(1)?;
                next.debit_amount = next.debit_amount.checked_add(amount)?;
            }
            BatchSide::Credit => {
                next.credit_count = next.credit_count.checked_add(1)?;
                next.credit_amount = next.credit_amount.checked_add(amount)?;
            }
        }
        Some(next)
    }

    /// Compares the terminal's totals with the host's: `00` when they match,
    /// `95` when they do not. The batch closes either way.
    #[must_use]
    pub fn reconcile(terminal: &BatchTotals, host: &BatchTotals) -> ResponseCode {
        if terminal == host {
            ResponseCode::Approved
        } else {
            ResponseCode::ReconciliationError
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_reconciliation() {
        let host = BatchTotals::default()
            .with(BatchSide::Debit, AmountMinor(10_000))
            .and_then(|t| t.with(BatchSide::Debit, AmountMinor(2_500)))
            .and_then(|t| t.with(BatchSide::Credit, AmountMinor(1_000)))
            .unwrap();
        assert_eq!(
            host,
            BatchTotals {
                credit_count: 1,
                credit_amount: AmountMinor(1_000),
                debit_count: 2,
                debit_amount: AmountMinor(12_500),
            }
        );
        assert_eq!(BatchTotals::reconcile(&host, &host), ResponseCode::Approved);
        let mut off = host;
        off.debit_amount = AmountMinor(12_501);
        assert_eq!(
            BatchTotals::reconcile(&off, &host),
            ResponseCode::ReconciliationError
        );
        let full = BatchTotals {
            debit_amount: AmountMinor(i64::MAX),
            ..BatchTotals::default()
        };
        assert_eq!(full.with(BatchSide::Debit, AmountMinor(1)), None);
    }
}
