//! Merchant fees: plans by channel with rates in basis points, caps and
//! minimums, MCC and per-merchant overrides, and the refund policy.
//!
//! Fees are whole minor units, rounded half up (0.5 fen → 1 fen). All
//! products are taken in `i128`, so no amount a DE 4 can carry overflows.

use std::collections::HashMap;

use crate::money::AmountMinor;

/// Basis points in one whole (100%).
pub const BPS_PER_WHOLE: i128 = 10_000;

/// The rate a plan may charge at most, in basis points (100%).
pub const RATE_BPS_MAX: u32 = 10_000;

/// Payment channel a fee rate applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Credit cards, any entry mode.
    Credit,
    /// Debit cards.
    Debit,
    /// Alipay-style and WeChat-style wallet QR.
    WalletQr,
    /// UnionPay QR.
    UnionPayQr,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [
        Channel::Credit,
        Channel::Debit,
        Channel::WalletQr,
        Channel::UnionPayQr,
    ];

    /// Stable name used in the API and in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Credit => "credit",
            Channel::Debit => "debit",
            Channel::WalletQr => "wallet_qr",
            Channel::UnionPayQr => "unionpay_qr",
        }
    }

    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The rate of one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Rate in basis points (60 = 0.60%).
    pub rate_bps: u32,
    /// Most a single transaction is charged.
    pub cap: Option<AmountMinor>,
    /// Least a single transaction is charged.
    pub minimum: Option<AmountMinor>,
}

/// What happens to the fee when a transaction is refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPolicy {
    /// The merchant keeps paying the original fee.
    Keep,
    /// The fee is returned in proportion to the amount refunded.
    Proportional,
}

/// Why a fee plan is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeePlanError {
    /// A rate above 100%.
    #[error("rate of channel {0} exceeds {RATE_BPS_MAX} basis points")]
    RateTooHigh(&'static str),
    /// A negative cap or minimum, or a minimum above the cap.
    #[error("cap and minimum of channel {0} are inconsistent")]
    BadBounds(&'static str),
    /// A channel without a rate.
    #[error("channel {0} has no rate")]
    MissingChannel(&'static str),
}

/// A fee plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeePlan {
    /// Rate of every channel.
    pub rates: HashMap<Channel, Rate>,
    /// Rates that replace the channel rate for a merchant category code.
    pub mcc_overrides: HashMap<(u16, Channel), Rate>,
    /// Refund policy.
    pub refund_policy: RefundPolicy,
}

impl FeePlan {
    /// Checks the plan.
    ///
    /// # Errors
    /// The first inconsistency found.
    pub fn validate(&self) -> Result<(), FeePlanError> {
        for channel in Channel::ALL {
            let rate = self
                .rates
                .get(&channel)
                .ok_or(FeePlanError::MissingChannel(channel.as_str()))?;
            validate_rate(channel, rate)?;
        }
        for ((_, channel), rate) in &self.mcc_overrides {
            validate_rate(*channel, rate)?;
        }
        Ok(())
    }

    /// The rate that applies: a merchant's own override first, then the MCC
    /// override, then the channel rate.
    #[must_use]
    pub fn rate_for(
        &self,
        channel: Channel,
        mcc: u16,
        merchant_overrides: &HashMap<Channel, Rate>,
    ) -> Option<Rate> {
        merchant_overrides
            .get(&channel)
            .or_else(|| self.mcc_overrides.get(&(mcc, channel)))
            .or_else(|| self.rates.get(&channel))
            .copied()
    }
}

fn validate_rate(channel: Channel, rate: &Rate) -> Result<(), FeePlanError> {
    if rate.rate_bps > RATE_BPS_MAX {
        return Err(FeePlanError::RateTooHigh(channel.as_str()));
    }
    let negative = |bound: Option<AmountMinor>| bound.is_some_and(|a| a < AmountMinor::ZERO);
    let inverted = matches!((rate.minimum, rate.cap), (Some(min), Some(cap)) if min > cap);
    if negative(rate.cap) || negative(rate.minimum) || inverted {
        return Err(FeePlanError::BadBounds(channel.as_str()));
    }
    Ok(())
}

/// `numerator / denominator` rounded half up, for non-negative operands.
/// A zero denominator gives zero.
#[must_use]
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    if denominator <= 0 || numerator < 0 {
        return 0;
    }
    (numerator + denominator / 2) / denominator
}

/// `amount × bps / 10 000`, rounded half up.
#[must_use]
pub fn apply_bps(amount: AmountMinor, bps: u32) -> AmountMinor {
    let product = i128::from(amount.0) * i128::from(bps);
    let rounded = div_round_half_up(product, BPS_PER_WHOLE);
    AmountMinor(i64::try_from(rounded).unwrap_or(i64::MAX))
}

/// The fee of one captured transaction.
#[must_use]
pub fn fee_for(amount: AmountMinor, rate: &Rate) -> AmountMinor {
    if amount <= AmountMinor::ZERO {
        return AmountMinor::ZERO;
    }
    let mut fee = apply_bps(amount, rate.rate_bps);
    if let Some(minimum) = rate.minimum {
        fee = fee.max(minimum);
    }
    if let Some(cap) = rate.cap {
        fee = fee.min(cap);
    }
    // A minimum never charges more than the transaction itself.
    let fee = fee.min(amount);
    assert!(fee >= AmountMinor::ZERO && fee <= amount);
    fee
}

/// The fee returned to the merchant by a refund.
///
/// Under [`RefundPolicy::Proportional`] the cumulative return is
/// `fee × refunded_total / amount` rounded half up, and this refund returns
/// the difference to what earlier refunds returned, so partial refunds never
/// return more than the fee in total.
#[must_use]
pub fn fee_returned_by_refund(
    policy: RefundPolicy,
    original_amount: AmountMinor,
    original_fee: AmountMinor,
    refunded_before: AmountMinor,
    refund: AmountMinor,
) -> AmountMinor {
    if policy == RefundPolicy::Keep {
        return AmountMinor::ZERO;
    }
    proportional_part(original_fee, original_amount, refunded_before, refund)
}

/// The part of `total` (a fee, a fee share, points) that a refund of
/// `refund` gives back, when `refunded_before` of `whole` was refunded
/// already: the cumulative part `total × refunded / whole` rounded half up,
/// less the cumulative part before. Refunds in parts therefore never give
/// back more than `total`, and a full refund gives back all of it.
#[must_use]
pub fn proportional_part(
    total: AmountMinor,
    whole: AmountMinor,
    refunded_before: AmountMinor,
    refund: AmountMinor,
) -> AmountMinor {
    if whole <= AmountMinor::ZERO {
        return AmountMinor::ZERO;
    }
    let cumulative = |refunded: AmountMinor| {
        let refunded = refunded.min(whole).max(AmountMinor::ZERO);
        let product = i128::from(total.0) * i128::from(refunded.0);
        div_round_half_up(product, i128::from(whole.0))
    };
    let after = cumulative(AmountMinor(refunded_before.0.saturating_add(refund.0)));
    let returned = after - cumulative(refunded_before);
    AmountMinor(i64::try_from(returned).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rate(rate_bps: u32, cap: Option<i64>, minimum: Option<i64>) -> Rate {
        Rate {
            rate_bps,
            cap: cap.map(AmountMinor),
            minimum: minimum.map(AmountMinor),
        }
    }

    #[test]
    fn sandbox_standard_plan_boundaries() {
        let check = |amount: i64, rate: Rate, expected: i64| {
            assert_eq!(
                fee_for(AmountMinor(amount), &rate),
                AmountMinor(expected),
                "{amount}"
            );
        };
        let credit = rate(60, None, None);
        let debit = rate(50, Some(2_500), None);
        let wallet = rate(38, None, None);
        check(10_000, credit, 60);
        check(83, credit, 0); // 0.498 fen rounds down
        check(84, credit, 1); // 0.504 fen rounds up
        check(25, debit, 0); // 0.125
        check(100, debit, 1); // 0.5 fen rounds half up
        check(99, debit, 0); // 0.495
        check(499_900, debit, 2_500); // 24.995 rounds to 25.00
        check(500_000, debit, 2_500); // the cap reached at 5,000.00
        check(499_800, debit, 2_499);
        check(10_000_000, debit, 2_500);
        check(1_184, wallet, 4); // 4.4992 fen
        check(1_185, wallet, 5); // 4.5030 fen
        check(1_316, wallet, 5); // 5.0008 fen
    }

    #[test]
    fn minimum_and_cap() {
        let with_minimum = rate(60, Some(1_000), Some(50));
        assert_eq!(fee_for(AmountMinor(100), &with_minimum), AmountMinor(50));
        assert_eq!(
            fee_for(AmountMinor(30), &with_minimum),
            AmountMinor(30),
            "never above the amount"
        );
        assert_eq!(
            fee_for(AmountMinor(1_000_000), &with_minimum),
            AmountMinor(1_000)
        );
        assert_eq!(fee_for(AmountMinor(0), &with_minimum), AmountMinor(0));
    }

    #[test]
    fn override_precedence() {
        let mut plan = FeePlan {
            rates: Channel::ALL
                .into_iter()
                .map(|c| (c, rate(60, None, None)))
                .collect(),
            mcc_overrides: HashMap::new(),
            refund_policy: RefundPolicy::Keep,
        };
        plan.mcc_overrides
            .insert((5411, Channel::Credit), rate(40, None, None));
        let mut merchant = HashMap::new();
        assert_eq!(
            plan.rate_for(Channel::Credit, 5814, &merchant)
                .unwrap()
                .rate_bps,
            60
        );
        assert_eq!(
            plan.rate_for(Channel::Credit, 5411, &merchant)
                .unwrap()
                .rate_bps,
            40
        );
        merchant.insert(Channel::Credit, rate(30, None, None));
        assert_eq!(
            plan.rate_for(Channel::Credit, 5411, &merchant)
                .unwrap()
                .rate_bps,
            30
        );
        assert_eq!(plan.validate(), Ok(()));
        plan.rates.remove(&Channel::WalletQr);
        assert_eq!(
            plan.validate(),
            Err(FeePlanError::MissingChannel("wallet_qr"))
        );
    }

    #[test]
    fn invalid_rates() {
        let check = |r: Rate, expected: Result<(), FeePlanError>| {
            assert_eq!(validate_rate(Channel::Debit, &r), expected);
        };
        check(
            rate(10_001, None, None),
            Err(FeePlanError::RateTooHigh("debit")),
        );
        check(
            rate(50, Some(10), Some(20)),
            Err(FeePlanError::BadBounds("debit")),
        );
        check(
            rate(50, Some(-1), None),
            Err(FeePlanError::BadBounds("debit")),
        );
        check(rate(50, Some(20), Some(20)), Ok(()));
    }

    #[test]
    fn refund_policies() {
        let keep = fee_returned_by_refund(
            RefundPolicy::Keep,
            AmountMinor(10_000),
            AmountMinor(60),
            AmountMinor(0),
            AmountMinor(10_000),
        );
        assert_eq!(keep, AmountMinor(0));
        let returned = |before: i64, refund: i64| {
            fee_returned_by_refund(
                RefundPolicy::Proportional,
                AmountMinor(10_000),
                AmountMinor(61),
                AmountMinor(before),
                AmountMinor(refund),
            )
        };
        assert_eq!(returned(0, 5_000), AmountMinor(31)); // 30.5 → 31
        assert_eq!(returned(5_000, 5_000), AmountMinor(30));
        assert_eq!(returned(0, 10_000), AmountMinor(61));
    }

    proptest! {
        #[test]
        fn partial_refunds_never_return_more_than_the_fee(
            amount in 1_i64..1_000_000_000,
            rate_bps in 0_u32..=10_000,
            cuts in proptest::collection::vec(1_u32..100, 1..10),
        ) {
            let fee = fee_for(AmountMinor(amount), &rate(rate_bps, None, None));
            let total_weight: u64 = cuts.iter().map(|c| u64::from(*c)).sum();
            let mut refunded = 0_i64;
            let mut returned = 0_i64;
            for (i, cut) in cuts.iter().enumerate() {
                let part = if i + 1 == cuts.len() {
                    amount - refunded
                } else {
                    i64::try_from(u64::try_from(amount).unwrap() * u64::from(*cut) / total_weight).unwrap()
                };
                returned += fee_returned_by_refund(
                    RefundPolicy::Proportional,
                    AmountMinor(amount),
                    fee,
                    AmountMinor(refunded),
                    AmountMinor(part),
                ).0;
                refunded += part;
                prop_assert!(returned <= fee.0);
            }
            prop_assert_eq!(returned, fee.0, "a full refund in parts returns the whole fee");
        }

        #[test]
        fn fee_is_exact_rounding(amount in 0_i64..999_999_999_999, rate_bps in 0_u32..=10_000) {
            let fee = fee_for(AmountMinor(amount), &rate(rate_bps, None, None)).0;
            // fee × 10 000 − amount × bps in (−5 000, 5 000]: the nearest fen, ties up.
            let exact = i128::from(amount) * i128::from(rate_bps);
            let diff = i128::from(fee) * 10_000 - exact;
            prop_assert!(diff > -5_000 && diff <= 5_000, "fee {} for {} at {}", fee, amount, rate_bps);
        }
    }
}
