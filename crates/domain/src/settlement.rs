//! Settlement computation: a merchant's net for a cycle, its split across the
//! bound accounts, and whether a payout needs the owners' approval.

use crate::date::BusinessDate;
use crate::money::AmountMinor;

pub mod bindings;

/// Most accounts one binding may split into.
pub const SPLIT_ACCOUNTS_MAX: usize = 16;

/// Settlement cycle of a merchant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cycle {
    /// Real time, all day.
    T0,
    /// Daily at the merchant's cut-off.
    T1,
}

impl Cycle {
    /// Stable name (`T0`, `T1`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Cycle::T0 => "T0",
            Cycle::T1 => "T1",
        }
    }

    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Cycle> {
        match text {
            "T0" => Some(Cycle::T0),
            "T1" => Some(Cycle::T1),
            _ => None,
        }
    }
}

/// Minutes in a day: the cut-off of a day that closes at midnight.
pub const MIDNIGHT_MINUTE: u16 = 24 * 60;

/// The minute after local midnight of `D` at which business date `D`
/// closes, for a merchant whose contract says `cutoff_minute`. A cut-off of
/// 0 (`00:00`, or none in the contract) is the midnight that ENDS the day,
/// not the one that starts it: a merchant without a cut-off has calendar
/// days as business days.
#[must_use]
pub fn close_minute(cutoff_minute: u16) -> u16 {
    if cutoff_minute == 0 || cutoff_minute > MIDNIGHT_MINUTE {
        MIDNIGHT_MINUTE
    } else {
        cutoff_minute
    }
}

/// The business date a transaction at `utc_s` (seconds since the epoch)
/// belongs to, for a merchant whose day closes at `cutoff_minute` minutes
/// after local midnight in a zone `offset_s` seconds east of UTC: before the
/// cut-off it is the local date, from the cut-off on the next day (see
/// [`close_minute`] for a cut-off of 0).
#[must_use]
pub fn business_date(utc_s: i64, offset_s: i64, cutoff_minute: u16) -> Option<BusinessDate> {
    let local_s = utc_s.checked_add(offset_s)?;
    let day = local_s.div_euclid(86_400);
    let minute_of_day = local_s.rem_euclid(86_400) / 60;
    let date = BusinessDate::from_days_since_epoch(day)?;
    if minute_of_day >= i64::from(close_minute(cutoff_minute)) {
        date.next_day()
    } else {
        Some(date)
    }
}

/// The day a business date is settled: the same day for T+0, the next for T+1.
#[must_use]
pub fn settlement_day(date: BusinessDate, cycle: Cycle) -> Option<BusinessDate> {
    match cycle {
        Cycle::T0 => Some(date),
        Cycle::T1 => date.next_day(),
    }
}

/// The sums that make a merchant's net for one cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MerchantTotals {
    /// Sales and completions captured.
    pub captures: AmountMinor,
    /// Refunds.
    pub refunds: AmountMinor,
    /// Merchant fees (net of fees returned by refunds).
    pub fees: AmountMinor,
    /// Chargebacks.
    pub chargebacks: AmountMinor,
    /// Adjustments, signed.
    pub adjustments: AmountMinor,
}

impl MerchantTotals {
    /// `captures − refunds − fees − chargebacks + adjustments`; `None` on
    /// overflow.
    #[must_use]
    pub fn net(&self) -> Option<AmountMinor> {
        self.captures
            .checked_sub(self.refunds)?
            .checked_sub(self.fees)?
            .checked_sub(self.chargebacks)?
            .checked_add(self.adjustments)
    }
}

/// How one bound account shares a merchant's net.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitRule {
    /// A fixed amount per cycle, paid first (less when the net is smaller).
    Fixed(AmountMinor),
    /// A share of what remains after fixed amounts, in basis points.
    Percent(u32),
}

/// One account of a binding and its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitLine {
    /// Settlement account id.
    pub account: String,
    /// Its rule.
    pub rule: SplitRule,
}

/// Why a split cannot be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    /// No accounts, or more than [`SPLIT_ACCOUNTS_MAX`].
    #[error("a binding splits into 1 to {SPLIT_ACCOUNTS_MAX} accounts")]
    AccountCount,
    /// Percentages must add up to exactly 100% (when any are given).
    #[error("percentages add up to {0} basis points, not 10000")]
    PercentSum(u64),
    /// Only fixed amounts: the remainder would have nowhere to go.
    #[error("a binding with fixed amounts needs at least one percentage line")]
    NoRemainderLine,
    /// A negative fixed amount.
    #[error("fixed amounts must not be negative")]
    NegativeFixed,
}

/// Checks a binding's split rules.
///
/// # Errors
/// The first rule that does not hold.
pub fn validate_split(lines: &[SplitLine]) -> Result<(), SplitError> {
    if lines.is_empty() || lines.len() > SPLIT_ACCOUNTS_MAX {
        return Err(SplitError::AccountCount);
    }
    let percent_sum: u64 = lines
        .iter()
        .filter_map(|l| match l.rule {
            SplitRule::Percent(bps) => Some(u64::from(bps)),
            SplitRule::Fixed(_) => None,
        })
        .sum();
    let any_percent = lines
        .iter()
        .any(|l| matches!(l.rule, SplitRule::Percent(_)));
    if !any_percent {
        return Err(SplitError::NoRemainderLine);
    }
    if percent_sum != 10_000 {
        return Err(SplitError::PercentSum(percent_sum));
    }
    if lines
        .iter()
        .any(|l| matches!(l.rule, SplitRule::Fixed(a) if a < AmountMinor::ZERO))
    {
        return Err(SplitError::NegativeFixed);
    }
    Ok(())
}

/// Splits a positive net across the lines: fixed amounts first in order,
/// then the remainder by percentage, each share rounded down and the
/// leftover fen to the last percentage line, so the parts add up exactly.
///
/// # Errors
/// As [`validate_split`].
pub fn split(
    net: AmountMinor,
    lines: &[SplitLine],
) -> Result<Vec<(String, AmountMinor)>, SplitError> {
    validate_split(lines)?;
    let mut remaining = net.max(AmountMinor::ZERO).0;
    let mut parts: Vec<(String, AmountMinor)> = Vec::with_capacity(lines.len());
    for line in lines {
        if let SplitRule::Fixed(amount) = line.rule {
            let take = amount.0.min(remaining);
            remaining -= take;
            parts.push((line.account.clone(), AmountMinor(take)));
        }
    }
    let pool = i128::from(remaining);
    let last_percent = lines
        .iter()
        .rposition(|l| matches!(l.rule, SplitRule::Percent(_)));
    let mut given = 0_i64;
    for (index, line) in lines.iter().enumerate() {
        let SplitRule::Percent(bps) = line.rule else {
            continue;
        };
        let share = if Some(index) == last_percent {
            remaining - given
        } else {
            i64::try_from(pool * i128::from(bps) / 10_000).unwrap_or(0)
        };
        given += share;
        parts.push((line.account.clone(), AmountMinor(share)));
    }
    let total: i64 = parts.iter().map(|(_, a)| a.0).sum();
    assert_eq!(
        total,
        net.max(AmountMinor::ZERO).0,
        "split must add up to the net"
    );
    Ok(parts)
}

/// One item of a merchant's cycle, as the settlement run reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A sale or completion captured, with its merchant fee.
    Capture {
        /// Amount captured.
        amount: AmountMinor,
        /// Merchant fee charged on it.
        fee: AmountMinor,
    },
    /// A refund, with the fee it returns to the merchant (zero under `keep`).
    Refund {
        /// Amount refunded.
        amount: AmountMinor,
        /// Fee returned.
        fee_returned: AmountMinor,
    },
    /// A chargeback.
    Chargeback(AmountMinor),
    /// An operator's adjustment, signed.
    Adjustment(AmountMinor),
}

/// What a settlement run decides for one merchant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MerchantOutcome {
    /// A positive net, split into payouts to the bound accounts.
    Payouts(Vec<(String, AmountMinor)>),
    /// A negative net: an auto-debit of this amount from the merchant's
    /// first bound account.
    AutoDebit {
        /// Account debited.
        account: String,
        /// Amount (positive).
        amount: AmountMinor,
    },
    /// A zero net: nothing moves.
    Nothing,
    /// Settlement held by risk: the net is carried to the next run.
    Held,
}

/// Why a merchant cannot be settled.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettleError {
    /// The totals overflow.
    #[error("merchant totals overflow")]
    Overflow,
    /// The binding's split is invalid.
    #[error(transparent)]
    Split(#[from] SplitError),
}

/// Adds up a merchant's items into totals; `None` on overflow.
#[must_use]
pub fn totals_of(items: &[Item]) -> Option<MerchantTotals> {
    let mut totals = MerchantTotals::default();
    for item in items {
        match item {
            Item::Capture { amount, fee } => {
                totals.captures = totals.captures.checked_add(*amount)?;
                totals.fees = totals.fees.checked_add(*fee)?;
            }
            Item::Refund {
                amount,
                fee_returned,
            } => {
                totals.refunds = totals.refunds.checked_add(*amount)?;
                totals.fees = totals.fees.checked_sub(*fee_returned)?;
            }
            Item::Chargeback(amount) => {
                totals.chargebacks = totals.chargebacks.checked_add(*amount)?;
            }
            Item::Adjustment(amount) => {
                totals.adjustments = totals.adjustments.checked_add(*amount)?;
            }
        }
    }
    Some(totals)
}

/// Settles one merchant: its net from the items, then payouts by the
/// binding in force, an auto-debit when negative, or a hold.
///
/// # Errors
/// [`SettleError::Overflow`], or an invalid binding.
pub fn settle_merchant(
    items: &[Item],
    binding: &[SplitLine],
    held_by_risk: bool,
) -> Result<(MerchantTotals, AmountMinor, MerchantOutcome), SettleError> {
    validate_split(binding)?;
    let totals = totals_of(items).ok_or(SettleError::Overflow)?;
    let net = totals.net().ok_or(SettleError::Overflow)?;
    let outcome = if held_by_risk {
        MerchantOutcome::Held
    } else if net > AmountMinor::ZERO {
        MerchantOutcome::Payouts(split(net, binding)?)
    } else if net < AmountMinor::ZERO {
        MerchantOutcome::AutoDebit {
            account: binding[0].account.clone(),
            amount: AmountMinor(net.0.checked_neg().ok_or(SettleError::Overflow)?),
        }
    } else {
        MerchantOutcome::Nothing
    };
    Ok((totals, net, outcome))
}

/// Whether a payout to a joint account needs its owners' approval: when the
/// account has a payout threshold and the amount is above it.
#[must_use]
pub fn payout_needs_approval(amount: AmountMinor, threshold: Option<AmountMinor>) -> bool {
    threshold.is_some_and(|t| amount > t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(account: &str, rule: SplitRule) -> SplitLine {
        SplitLine {
            account: account.to_owned(),
            rule,
        }
    }

    #[test]
    fn net_formula() {
        let totals = MerchantTotals {
            captures: AmountMinor(100_000),
            refunds: AmountMinor(5_000),
            fees: AmountMinor(570),
            chargebacks: AmountMinor(1_000),
            adjustments: AmountMinor(-30),
        };
        assert_eq!(totals.net(), Some(AmountMinor(93_400)));
    }

    #[test]
    fn splits_fixed_then_percent_exactly() {
        let lines = [
            line("RENT", SplitRule::Fixed(AmountMinor(10_000))),
            line("A", SplitRule::Percent(3_333)),
            line("B", SplitRule::Percent(6_667)),
        ];
        let parts = split(AmountMinor(100_001), &lines).unwrap();
        assert_eq!(
            parts,
            vec![
                ("RENT".to_owned(), AmountMinor(10_000)),
                ("A".to_owned(), AmountMinor(29_997)), // 90 001 × 33.33% = 29 997.33, down
                ("B".to_owned(), AmountMinor(60_004)), // the rest, so the parts add up
            ]
        );
    }

    #[test]
    fn fixed_amounts_take_what_there_is() {
        let lines = [
            line("RENT", SplitRule::Fixed(AmountMinor(10_000))),
            line("A", SplitRule::Percent(10_000)),
        ];
        let parts = split(AmountMinor(4_000), &lines).unwrap();
        assert_eq!(parts[0].1, AmountMinor(4_000));
        assert_eq!(parts[1].1, AmountMinor(0));
    }

    #[test]
    fn invalid_splits() {
        let check = |lines: &[SplitLine], expected: SplitError| {
            assert_eq!(validate_split(lines), Err(expected));
        };
        check(&[], SplitError::AccountCount);
        check(
            &[line("A", SplitRule::Percent(9_999))],
            SplitError::PercentSum(9_999),
        );
        check(
            &[line("A", SplitRule::Fixed(AmountMinor(1)))],
            SplitError::NoRemainderLine,
        );
        check(
            &[
                line("A", SplitRule::Fixed(AmountMinor(-1))),
                line("B", SplitRule::Percent(10_000)),
            ],
            SplitError::NegativeFixed,
        );
    }

    #[test]
    fn business_dates_follow_the_cut_off_in_the_platform_zone() {
        let shanghai = 8 * 3600;
        let cutoff = 23 * 60;
        // 2026-11-24T14:59:59Z is 22:59:59 in Shanghai: still the 24th.
        let check = |utc: &str, expected: &str| {
            let (date, time) = utc.split_once('T').unwrap();
            let date = BusinessDate::parse(date).unwrap();
            let mut parts = time.split(':').map(|p| p.parse::<i64>().unwrap());
            let (h, m, s) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            let utc_s = date.days_since_epoch() * 86_400 + h * 3600 + m * 60 + s;
            let got = business_date(utc_s, shanghai, cutoff).unwrap();
            assert_eq!(got.to_string(), expected, "{utc}");
        };
        check("2026-11-24T14:59:59", "2026-11-24");
        check("2026-11-24T15:00:00", "2026-11-25"); // 23:00 local: the cut-off
        check("2026-11-24T16:00:00", "2026-11-25"); // local midnight
        check("2026-11-23T16:00:00", "2026-11-24");
        check("2026-12-31T15:30:00", "2027-01-01");
        let day = BusinessDate::parse("2026-11-24").unwrap();
        assert_eq!(settlement_day(day, Cycle::T0), Some(day));
        assert_eq!(
            settlement_day(day, Cycle::T1),
            BusinessDate::parse("2026-11-25")
        );
    }

    #[test]
    fn a_cut_off_of_midnight_ends_the_calendar_day() {
        let shanghai = 8 * 3600;
        let day = BusinessDate::parse("2026-11-24").unwrap();
        let local_midnight_utc = day.days_since_epoch() * 86_400 - shanghai;
        for cutoff in [0, MIDNIGHT_MINUTE] {
            assert_eq!(close_minute(cutoff), MIDNIGHT_MINUTE);
            // 00:00:00 local belongs to the day it starts, 23:59:59 too.
            let at = |s| business_date(local_midnight_utc + s, shanghai, cutoff);
            assert_eq!(at(0), Some(day), "cut-off {cutoff}");
            assert_eq!(at(10 * 3600), Some(day), "cut-off {cutoff}");
            assert_eq!(at(86_399), Some(day), "cut-off {cutoff}");
            assert_eq!(at(86_400), day.next_day(), "cut-off {cutoff}");
        }
        assert_eq!(close_minute(1), 1);
        assert_eq!(close_minute(23 * 60), 23 * 60);
    }

    #[test]
    fn settles_a_merchant_day() {
        let items = [
            Item::Capture {
                amount: AmountMinor(10_000),
                fee: AmountMinor(60),
            },
            Item::Capture {
                amount: AmountMinor(500_000),
                fee: AmountMinor(2_500),
            },
            Item::Refund {
                amount: AmountMinor(2_000),
                fee_returned: AmountMinor(0),
            },
            Item::Chargeback(AmountMinor(1_000)),
            Item::Adjustment(AmountMinor(-40)),
        ];
        let binding = [line("ACC-JOINT-1", SplitRule::Percent(10_000))];
        let (totals, net, outcome) = settle_merchant(&items, &binding, false).unwrap();
        assert_eq!(totals.fees, AmountMinor(2_560));
        // 510 000 − 2 000 − 2 560 − 1 000 − 40
        assert_eq!(net, AmountMinor(504_400));
        assert_eq!(
            outcome,
            MerchantOutcome::Payouts(vec![("ACC-JOINT-1".to_owned(), AmountMinor(504_400))])
        );
        let (_, _, held) = settle_merchant(&items, &binding, true).unwrap();
        assert_eq!(held, MerchantOutcome::Held);
    }

    #[test]
    fn negative_net_is_an_auto_debit() {
        let items = [
            Item::Capture {
                amount: AmountMinor(1_000),
                fee: AmountMinor(6),
            },
            Item::Refund {
                amount: AmountMinor(5_000),
                fee_returned: AmountMinor(0),
            },
        ];
        let binding = [line("ACC-SINGLE-2", SplitRule::Percent(10_000))];
        let (_, net, outcome) = settle_merchant(&items, &binding, false).unwrap();
        assert_eq!(net, AmountMinor(-4_006));
        assert_eq!(
            outcome,
            MerchantOutcome::AutoDebit {
                account: "ACC-SINGLE-2".to_owned(),
                amount: AmountMinor(4_006)
            }
        );
        let (_, _, nothing) = settle_merchant(&[], &binding, false).unwrap();
        assert_eq!(nothing, MerchantOutcome::Nothing);
        assert_eq!(
            settle_merchant(&[], &[], false),
            Err(SettleError::Split(SplitError::AccountCount))
        );
    }

    #[test]
    fn payout_threshold() {
        let threshold = Some(AmountMinor(5_000_000));
        assert!(!payout_needs_approval(AmountMinor(5_000_000), threshold));
        assert!(payout_needs_approval(AmountMinor(5_000_001), threshold));
        assert!(!payout_needs_approval(AmountMinor(i64::MAX), None));
    }

    proptest! {
        #[test]
        fn parts_always_add_up(net in 0_i64..1_000_000_000_000, a in 0_u32..=10_000, fixed in 0_i64..1_000_000) {
            let lines = [
                line("F", SplitRule::Fixed(AmountMinor(fixed))),
                line("A", SplitRule::Percent(a)),
                line("B", SplitRule::Percent(10_000 - a)),
            ];
            let parts = split(AmountMinor(net), &lines).unwrap();
            prop_assert_eq!(parts.iter().map(|(_, x)| x.0).sum::<i64>(), net);
            prop_assert!(parts.iter().all(|(_, x)| x.0 >= 0));
        }
    }
}
