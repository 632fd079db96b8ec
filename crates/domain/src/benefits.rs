//! Co-brand benefits: instant discounts funded by the brand partner, points
//! redeemed as part payment, points earned on what the card is charged, and
//! the partner's share of the fee.
//!
//! Points redemption is a cardholder's standing choice held by the issuer
//! (a card set to "pay with points"); the terminal does not ask for it. At a
//! participating merchant a purchase on such a card redeems
//! `min(points balance, floor(amount left after the discount / point value))`
//! whole points: the card is charged `PAID = amount − DISC − redeemed value`
//! and earns points on PAID only. There is no cap besides the amount left
//! after the discount (the cardholder chose to pay with points, and the
//! program's rules have none), so PAID may be zero: a purchase paid wholly
//! with points and the discount. Elsewhere nothing is redeemed. A point is
//! worth the program's `point_value_minor` ([`POINT_VALUE_MINOR_DEFAULT`],
//! 0.01, unless the program says otherwise).
//!
//! A refund gives back the redeemed points and their value in proportion to
//! the part refunded ([`RefundSplit::of`]): cumulative, half up, so a full
//! refund gives back exactly what was redeemed; of the rest, the card gets
//! back what it paid first and the program its discount last.

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
    /// What one point pays when redeemed, minor units (at least 1).
    pub point_value_minor: i64,
}

/// The value of a point when the program says nothing else: 0.01.
pub const POINT_VALUE_MINOR_DEFAULT: i64 = 1;

/// What the program does for one purchase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurchaseBenefits {
    /// Instant discount, funded by the brand partner.
    pub discount: AmountMinor,
    /// Points redeemed as part payment.
    pub redeemed_points: u64,
    /// What the redeemed points pay, funded by the program.
    pub redeemed_value: AmountMinor,
    /// What the card is charged: the amount less the discount and the
    /// redeemed value.
    pub paid: AmountMinor,
    /// Points earned (on `paid`).
    pub points: u64,
}

impl ProgramRules {
    /// The benefits of a purchase of `amount` at a merchant that does or does
    /// not participate. The merchant is credited the full amount either way.
    /// The discount is rounded half up and never exceeds the cap or the amount.
    #[must_use]
    pub fn purchase(&self, amount: AmountMinor, participating: bool) -> PurchaseBenefits {
        self.purchase_with_points(amount, participating, 0)
    }

    /// As [`ProgramRules::purchase`], for a card set to pay with points that
    /// offers `points_balance` points: at a participating merchant it
    /// redeems as many whole points as the balance and the amount left after
    /// the discount allow, and earns points on what remains to pay.
    #[must_use]
    pub fn purchase_with_points(
        &self,
        amount: AmountMinor,
        participating: bool,
        points_balance: u64,
    ) -> PurchaseBenefits {
        let amount = amount.max(AmountMinor::ZERO);
        let discount = if participating {
            apply_bps(amount, self.discount_bps)
                .min(self.discount_cap)
                .min(amount)
        } else {
            AmountMinor::ZERO
        };
        let left = amount.0 - discount.0;
        let value = self.point_value_minor.max(1);
        let redeemable = if participating {
            u64::try_from(left / value).unwrap_or(0)
        } else {
            0
        };
        let redeemed_points = points_balance.min(redeemable);
        // redeemed_points ≤ left / value, so the product fits and ≤ left.
        let redeemed_value = i64::try_from(redeemed_points).unwrap_or(0) * value;
        let paid = AmountMinor(left - redeemed_value);
        let per_unit = if participating {
            self.points_per_unit_participating
        } else {
            self.points_per_unit
        };
        let steps = u64::try_from(paid.0 / self.points_unit_minor.max(1)).unwrap_or(0);
        assert!(paid >= AmountMinor::ZERO && paid.0 + discount.0 + redeemed_value == amount.0);
        PurchaseBenefits {
            discount,
            redeemed_points,
            redeemed_value: AmountMinor(redeemed_value),
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

/// How a sale was paid, as a refund splits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaleParts {
    /// The sale's amount (DE 4), credited to the merchant.
    pub amount: AmountMinor,
    /// The instant discount.
    pub discount: AmountMinor,
    /// Points redeemed.
    pub redeemed_points: u64,
    /// Their value.
    pub redeemed_value: AmountMinor,
}

impl SaleParts {
    /// What the card paid.
    #[must_use]
    pub fn paid(&self) -> AmountMinor {
        AmountMinor(self.amount.0 - self.discount.0 - self.redeemed_value.0)
    }
}

/// Where one refund's money goes back to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefundSplit {
    /// To the card's money account.
    pub card: AmountMinor,
    /// To the program: the discount's part.
    pub discount: AmountMinor,
    /// To the program: the redeemed points' value given back.
    pub redeemed_value: AmountMinor,
    /// Points given back to the card.
    pub redeemed_points: u64,
}

impl RefundSplit {
    /// The split of a refund of `refund` after `refunded_before` of `sale`:
    /// the redeemed value and points in proportion (cumulative, half up, as
    /// [`proportional_part`]); of the rest, cumulatively, the card first up
    /// to what it paid, then the program's discount. Every part is never
    /// negative, the parts sum to `refund`, and refunds in parts that add up
    /// to the sale give back exactly PAID, DISC, the redeemed value and the
    /// redeemed points.
    #[must_use]
    pub fn of(sale: &SaleParts, refunded_before: AmountMinor, refund: AmountMinor) -> RefundSplit {
        let whole = sale.amount;
        let before = refunded_before.max(AmountMinor::ZERO).min(whole);
        let after = AmountMinor(before.0.saturating_add(refund.0.max(0))).min(whole);
        let step = AmountMinor(after.0 - before.0);
        let value_before = proportional_part(sale.redeemed_value, whole, AmountMinor::ZERO, before);
        let value_after = proportional_part(sale.redeemed_value, whole, AmountMinor::ZERO, after);
        let points = points_taken_back(sale.redeemed_points, whole, before, step);
        let paid = sale.paid().0;
        let card_by = |refunded: AmountMinor, value: AmountMinor| (refunded.0 - value.0).min(paid);
        let card = card_by(after, value_after) - card_by(before, value_before);
        let redeemed_value = AmountMinor(value_after.0 - value_before.0);
        RefundSplit {
            card: AmountMinor(card),
            discount: AmountMinor(step.0 - card - redeemed_value.0),
            redeemed_value,
            redeemed_points: points,
        }
    }
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
    fn redemption_as_part_payment() {
        // (amount, participating, balance) → (DISC, redeemed, PAID, PTS).
        let check =
            |amount: i64, participating: bool, balance: u64, expected: (i64, u64, i64, u64)| {
                let b =
                    dbcoffee().purchase_with_points(AmountMinor(amount), participating, balance);
                assert_eq!(
                    (b.discount.0, b.redeemed_points, b.paid.0, b.points),
                    expected,
                    "{amount} {participating} {balance}"
                );
                assert_eq!(
                    b.redeemed_value.0,
                    i64::try_from(b.redeemed_points).unwrap()
                );
                assert_eq!(b.discount.0 + b.redeemed_value.0 + b.paid.0, amount);
            };
        // 38.00: 3.80 off, 5.00 of points, 29.20 paid, 2 × 29 points.
        check(3_800, true, 500, (380, 500, 2_920, 58));
        // More points than the amount left: PAID is zero, nothing earned.
        check(3_800, true, 10_000, (380, 3_420, 0, 0));
        check(3_800, true, 3_420, (380, 3_420, 0, 0));
        check(3_800, true, 3_419, (380, 3_419, 1, 0));
        // Not participating: nothing redeemed, 1 point per full 1.00.
        check(3_800, false, 500, (0, 0, 3_800, 38));
        check(3_800, true, 0, (380, 0, 3_420, 68));
        check(0, true, 500, (0, 0, 0, 0));
        // The discount capped at 20.00, then points.
        check(50_000, true, 1_234, (2_000, 1_234, 46_766, 934));
    }

    #[test]
    fn points_worth_more_than_a_fen_are_redeemed_whole() {
        let program = ProgramRules {
            point_value_minor: 7,
            ..dbcoffee()
        };
        let b = program.purchase_with_points(AmountMinor(1_000), true, 1_000);
        // 100 off, 900 left: 128 points pay 8.96, 0.04 remains to pay.
        assert_eq!(
            (
                b.discount.0,
                b.redeemed_points,
                b.redeemed_value.0,
                b.paid.0
            ),
            (100, 128, 896, 4)
        );
        let b = program.purchase_with_points(AmountMinor(1_000), true, 10);
        assert_eq!((b.redeemed_value.0, b.paid.0, b.points), (70, 830, 16));
    }

    fn parts(amount: i64, discount: i64, redeemed: u64, value: i64) -> SaleParts {
        SaleParts {
            amount: AmountMinor(amount),
            discount: AmountMinor(discount),
            redeemed_points: redeemed,
            redeemed_value: AmountMinor(value),
        }
    }

    #[test]
    fn refunds_give_back_redeemed_points_in_proportion() {
        // 50.00: 5.00 off, 15.00 in points, 30.00 paid by the card.
        let sale = parts(5_000, 500, 1_500, 1_500);
        let split = |before: i64, refund: i64| {
            let s = RefundSplit::of(&sale, AmountMinor(before), AmountMinor(refund));
            (
                s.card.0,
                s.discount.0,
                s.redeemed_value.0,
                s.redeemed_points,
            )
        };
        assert_eq!(split(0, 5_000), (3_000, 500, 1_500, 1_500));
        // 20.00 of 50.00: 40% of 15.00 in points, the rest to the card.
        assert_eq!(split(0, 2_000), (1_400, 0, 600, 600));
        // Then 30.00: the card is repaid first (its 30.00 less 14.00), then the program.
        assert_eq!(split(2_000, 3_000), (1_600, 500, 900, 900));
        // 0.01 parts: the points go back at the half-way fen.
        assert_eq!(split(0, 1), (1, 0, 0, 0));
        assert_eq!(split(1, 1), (0, 0, 1, 1));
        // No redemption: the card first, then the program, as before.
        let plain = parts(5_000, 500, 0, 0);
        let s = RefundSplit::of(&plain, AmountMinor(4_000), AmountMinor(1_000));
        assert_eq!((s.card.0, s.discount.0, s.redeemed_points), (500, 500, 0));
    }

    proptest::proptest! {
        #[test]
        fn refund_parts_add_up(
            amount in 1i64..100_000,
            discount_pct in 0i64..=20,
            value in 1i64..5,
            redeem_pct in 0i64..=100,
            cuts in proptest::collection::vec(1i64..100_000, 0..6),
        ) {
            let discount = amount * discount_pct / 100;
            let redeemed = u64::try_from((amount - discount) * redeem_pct / 100 / value).unwrap();
            let redeemed_value = i64::try_from(redeemed).unwrap() * value;
            let sale = parts(amount, discount, redeemed, redeemed_value);
            let mut points: Vec<i64> = cuts.iter().map(|c| c % amount).collect();
            points.push(0);
            points.push(amount);
            points.sort_unstable();
            let mut total = RefundSplit::default();
            for pair in points.windows(2) {
                let s = RefundSplit::of(&sale, AmountMinor(pair[0]), AmountMinor(pair[1] - pair[0]));
                proptest::prop_assert!(s.card.0 >= 0 && s.discount.0 >= 0 && s.redeemed_value.0 >= 0);
                proptest::prop_assert_eq!(
                    s.card.0 + s.discount.0 + s.redeemed_value.0,
                    pair[1] - pair[0]
                );
                total.card.0 += s.card.0;
                total.discount.0 += s.discount.0;
                total.redeemed_value.0 += s.redeemed_value.0;
                total.redeemed_points += s.redeemed_points;
            }
            proptest::prop_assert_eq!(total.card, sale.paid());
            proptest::prop_assert_eq!(total.discount, sale.discount);
            proptest::prop_assert_eq!(total.redeemed_value, sale.redeemed_value);
            proptest::prop_assert_eq!(total.redeemed_points, redeemed);
        }
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
