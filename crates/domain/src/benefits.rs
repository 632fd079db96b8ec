//! Co-brand benefits: instant discounts funded by the brand partner, points
//! earned on what the card is charged, and the partner's share of the fee.

use crate::fees::{apply_bps, proportional_part};
use crate::money::AmountMinor;

/// The rules of a co-brand program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramRules {
    /// Program code, e.g. `DBCOFFEE`.
    pub code: String,
    /// Instant discount at participating merchants, in basis points.
    pub discount_bps: u32,
    /// Most discount per transaction.
    pub discount_cap: AmountMinor,
    /// Minor units charged per earning step (100 = every full 1.00).
    pub points_unit_minor: i64,
    /// Points per step anywhere.
    pub points_per_unit: u64,
    /// Points per step at participating merchants.
    pub points_per_unit_participating: u64,
    /// Brand partner's share of the merchant fee of program transactions, in
    /// basis points.
    pub fee_share_bps: u32,
}

/// What the program does for one purchase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurchaseBenefits {
    /// Instant discount, funded by the brand partner.
    pub discount: AmountMinor,
    /// What the card is charged: the amount less the discount.
    pub paid: AmountMinor,
    /// Points earned.
    pub points: u64,
}

impl ProgramRules {
    /// The benefits of a purchase of `amount` at a merchant that does or does
    /// not participate. The merchant is credited the full amount either way.
    /// The discount is rounded half up and never exceeds the cap or the amount.
    #[must_use]
    pub fn purchase(&self, amount: AmountMinor, participating: bool) -> PurchaseBenefits {
        let amount = amount.max(AmountMinor::ZERO);
        let discount = if participating {
            apply_bps(amount, self.discount_bps)
                .min(self.discount_cap)
                .min(amount)
        } else {
            AmountMinor::ZERO
        };
        let paid = AmountMinor(amount.0 - discount.0);
        let per_unit = if participating {
            self.points_per_unit_participating
        } else {
            self.points_per_unit
        };
        let steps = u64::try_from(paid.0 / self.points_unit_minor.max(1)).unwrap_or(0);
        assert!(paid >= AmountMinor::ZERO && paid.0 + discount.0 == amount.0);
        PurchaseBenefits {
            discount,
            paid,
            points: steps.saturating_mul(per_unit),
        }
    }

    /// The brand partner's share of a merchant fee, rounded half up.
    #[must_use]
    pub fn fee_share(&self, fee: AmountMinor) -> AmountMinor {
        apply_bps(fee, self.fee_share_bps).min(fee)
    }
}

/// The points a refund takes back from the card: the refunded part of the
/// points the purchase earned, as [`proportional_part`] (half up,
/// cumulative), so a full refund takes back exactly what was earned.
#[must_use]
pub fn points_taken_back(
    earned: u64,
    amount: AmountMinor,
    refunded_before: AmountMinor,
    refund: AmountMinor,
) -> u64 {
    let earned = AmountMinor(i64::try_from(earned).unwrap_or(i64::MAX));
    let back = proportional_part(earned, amount, refunded_before, refund);
    u64::try_from(back.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbcoffee() -> ProgramRules {
        crate::sandbox::program()
    }

    #[test]
    fn sandbox_program() {
        let check = |amount: i64, participating: bool, expected: (i64, i64, u64)| {
            let b = dbcoffee().purchase(AmountMinor(amount), participating);
            assert_eq!((b.discount.0, b.paid.0, b.points), expected, "{amount}");
        };
        check(3_800, true, (380, 3_420, 68)); // 38.00: 3.80 off, 34.20 paid, 2 × 34
        check(20_000, true, (2_000, 18_000, 360)); // discount exactly at the cap
        check(50_000, true, (2_000, 48_000, 960)); // capped
        check(3_805, true, (381, 3_424, 68)); // 380.5 rounds half up
        check(3_800, false, (0, 3_800, 38));
        check(99, false, (0, 99, 0)); // no full 1.00
        check(0, true, (0, 0, 0));
    }

    #[test]
    fn refunds_take_back_points_in_proportion() {
        let check = |before: i64, refund: i64, expected: u64| {
            let back = points_taken_back(
                90,
                AmountMinor(5_000),
                AmountMinor(before),
                AmountMinor(refund),
            );
            assert_eq!(back, expected, "{before} + {refund}");
        };
        check(0, 5_000, 90);
        check(0, 2_500, 45);
        check(0, 1_000, 18);
        check(0, 2_778, 50); // 49.9994 rounds up
        check(2_778, 2_222, 40); // the rest: 90 in total
        check(5_000, 100, 0); // nothing left to take back
    }

    #[test]
    fn fee_share() {
        let program = dbcoffee();
        assert_eq!(program.fee_share(AmountMinor(60)), AmountMinor(12));
        assert_eq!(program.fee_share(AmountMinor(23)), AmountMinor(5)); // 4.6
        assert_eq!(program.fee_share(AmountMinor(22)), AmountMinor(4)); // 4.4
        assert_eq!(program.fee_share(AmountMinor(0)), AmountMinor(0));
    }
}
