//! Payouts: which binding is in force, how a merchant's settlement becomes
//! legs to its bound accounts, and the payout lifecycle
//! (`awaiting_approval` → `approved` → `sent` → `paid` | `returned`, with
//! `held` for merchants under a risk hold).

use crate::date::BusinessDate;
use crate::money::AmountMinor;
use crate::settlement::{MerchantTotals, SettleError, SplitLine, split, validate_split};

/// State of a payout instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayoutStatus {
    /// The merchant is under a risk hold: nothing is sent.
    Held,
    /// Above the account's threshold: waiting for its owners.
    AwaitingApproval,
    /// Ready to send to the bank.
    Approved,
    /// Sent to the bank.
    Sent,
    /// The bank confirmed the credit (or the debit).
    Paid,
    /// The bank returned it.
    Returned,
}

impl PayoutStatus {
    /// Every status.
    pub const ALL: [PayoutStatus; 6] = [
        PayoutStatus::Held,
        PayoutStatus::AwaitingApproval,
        PayoutStatus::Approved,
        PayoutStatus::Sent,
        PayoutStatus::Paid,
        PayoutStatus::Returned,
    ];

    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Held => "held",
            PayoutStatus::AwaitingApproval => "awaiting_approval",
            PayoutStatus::Approved => "approved",
            PayoutStatus::Sent => "sent",
            PayoutStatus::Paid => "paid",
            PayoutStatus::Returned => "returned",
        }
    }

    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<PayoutStatus> {
        PayoutStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What an operator does to a payout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutAction {
    /// Send it to the bank.
    Send,
    /// The bank confirmed it.
    Confirm,
    /// The bank returned it (with a reason).
    Return,
}

impl PayoutAction {
    /// Stable name (`send`, `confirm`, `return`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutAction::Send => "send",
            PayoutAction::Confirm => "confirm",
            PayoutAction::Return => "return",
        }
    }
}

/// Why a payout cannot take an action.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a payout that is {} cannot be {}", .from.as_str(), past(*.action))]
pub struct TransitionError {
    /// Its status.
    pub from: PayoutStatus,
    /// The action refused.
    pub action: PayoutAction,
}

fn past(action: PayoutAction) -> &'static str {
    match action {
        PayoutAction::Send => "sent",
        PayoutAction::Confirm => "confirmed",
        PayoutAction::Return => "returned",
    }
}

/// The status after `action`.
///
/// # Errors
/// [`TransitionError`] when the lifecycle does not allow it: only an
/// approved payout is sent, only a sent one is confirmed or returned.
pub fn transition(
    from: PayoutStatus,
    action: PayoutAction,
) -> Result<PayoutStatus, TransitionError> {
    match (from, action) {
        (PayoutStatus::Approved, PayoutAction::Send) => Ok(PayoutStatus::Sent),
        (PayoutStatus::Sent, PayoutAction::Confirm) => Ok(PayoutStatus::Paid),
        (PayoutStatus::Sent, PayoutAction::Return) => Ok(PayoutStatus::Returned),
        _ => Err(TransitionError { from, action }),
    }
}

/// What a leg moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegKind {
    /// A payout to the account.
    Credit,
    /// An auto-debit of a negative net from the account.
    Debit,
    /// A payout held by risk.
    Held,
}

impl LegKind {
    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LegKind::Credit => "credit",
            LegKind::Debit => "debit",
            LegKind::Held => "held",
        }
    }

    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<LegKind> {
        [LegKind::Credit, LegKind::Debit, LegKind::Held]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// The first status of a payout of `kind` and `amount` to an account with
/// payout threshold `threshold`.
#[must_use]
pub fn initial_status(
    kind: LegKind,
    amount: AmountMinor,
    threshold: Option<AmountMinor>,
) -> PayoutStatus {
    match kind {
        LegKind::Held => PayoutStatus::Held,
        LegKind::Debit => PayoutStatus::Approved,
        LegKind::Credit if crate::settlement::payout_needs_approval(amount, threshold) => {
            PayoutStatus::AwaitingApproval
        }
        LegKind::Credit => PayoutStatus::Approved,
    }
}

/// An approved binding of a merchant, as the in-force rule reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedBinding {
    /// Binding id.
    pub id: String,
    /// Terminals it is for (empty: the whole merchant).
    pub terminals: Vec<String>,
    /// First business date it applies to (`None`: always).
    pub effective_from: Option<BusinessDate>,
}

/// The binding in force for a terminal's transactions on `date`: the
/// terminal-specific one with the greatest `effective_from` not after
/// `date`, else the merchant-wide one with the greatest such date (ties go
/// to the greater id, so the choice never depends on the order given).
#[must_use]
pub fn binding_in_force<'a>(
    bindings: &'a [ApprovedBinding],
    tid: &str,
    date: BusinessDate,
) -> Option<&'a ApprovedBinding> {
    let latest = |specific: bool| {
        bindings
            .iter()
            .filter(|b| b.effective_from.is_none_or(|from| from <= date))
            .filter(|b| {
                if specific {
                    b.terminals.iter().any(|t| t == tid)
                } else {
                    b.terminals.is_empty()
                }
            })
            .max_by(|a, b| (a.effective_from, &a.id).cmp(&(b.effective_from, &b.id)))
    };
    latest(true).or_else(|| latest(false))
}

/// One movement of a merchant's settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    /// Settlement account.
    pub account: String,
    /// What it moves.
    pub kind: LegKind,
    /// Amount, positive.
    pub amount: AmountMinor,
}

/// Adds two sets of totals; `None` on overflow.
#[must_use]
pub fn add_totals(a: MerchantTotals, b: MerchantTotals) -> Option<MerchantTotals> {
    Some(MerchantTotals {
        captures: a.captures.checked_add(b.captures)?,
        refunds: a.refunds.checked_add(b.refunds)?,
        fees: a.fees.checked_add(b.fees)?,
        chargebacks: a.chargebacks.checked_add(b.chargebacks)?,
        adjustments: a.adjustments.checked_add(b.adjustments)?,
    })
}

/// Settles a merchant whose items fall under one or more bindings (a
/// terminal-specific binding takes its terminals' items): each part's net
/// is split across its binding's accounts (credits, or held credits under
/// a risk hold), a negative part becomes an auto-debit of its binding's
/// first account. Legs to the same account and of the same kind are added
/// up; zero legs are left out. Returns the legs by account and kind.
///
/// # Errors
/// [`SettleError`] for an invalid binding or overflow.
pub fn merchant_legs(
    parts: &[(MerchantTotals, &[SplitLine])],
    held_by_risk: bool,
) -> Result<Vec<Leg>, SettleError> {
    let mut legs: Vec<Leg> = Vec::new();
    let mut add = |account: &str, kind: LegKind, amount: AmountMinor| -> Result<(), SettleError> {
        if amount == AmountMinor::ZERO {
            return Ok(());
        }
        match legs
            .iter_mut()
            .find(|l| l.account == account && l.kind == kind)
        {
            Some(leg) => {
                leg.amount = leg
                    .amount
                    .checked_add(amount)
                    .ok_or(SettleError::Overflow)?
            }
            None => legs.push(Leg {
                account: account.to_owned(),
                kind,
                amount,
            }),
        }
        Ok(())
    };
    for (totals, binding) in parts {
        validate_split(binding)?;
        let net = totals.net().ok_or(SettleError::Overflow)?;
        if net > AmountMinor::ZERO {
            let kind = if held_by_risk {
                LegKind::Held
            } else {
                LegKind::Credit
            };
            for (account, amount) in split(net, binding)? {
                add(&account, kind, amount)?;
            }
        } else if net < AmountMinor::ZERO {
            let amount = AmountMinor(net.0.checked_neg().ok_or(SettleError::Overflow)?);
            add(&binding[0].account, LegKind::Debit, amount)?;
        }
    }
    legs.sort_by(|a, b| (&a.account, a.kind).cmp(&(&b.account, b.kind)));
    Ok(legs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::SplitRule;

    fn date(text: &str) -> BusinessDate {
        BusinessDate::parse(text).unwrap()
    }

    fn binding(id: &str, terminals: &[&str], from: Option<&str>) -> ApprovedBinding {
        ApprovedBinding {
            id: id.into(),
            terminals: terminals.iter().map(|t| (*t).to_owned()).collect(),
            effective_from: from.map(date),
        }
    }

    #[test]
    fn lifecycle() {
        use PayoutAction::{Confirm, Return, Send};
        use PayoutStatus::*;
        let check = |from, action, expected: Option<PayoutStatus>| {
            assert_eq!(
                transition(from, action).ok(),
                expected,
                "{from:?} {action:?}"
            );
        };
        check(Approved, Send, Some(Sent));
        check(Sent, Confirm, Some(Paid));
        check(Sent, Return, Some(Returned));
        check(AwaitingApproval, Send, None);
        check(Held, Send, None);
        check(Approved, Confirm, None);
        check(Paid, Return, None);
        check(Returned, Send, None);
        check(Paid, Confirm, None);
        assert_eq!(
            transition(AwaitingApproval, Send).unwrap_err().to_string(),
            "a payout that is awaiting_approval cannot be sent"
        );
        for status in PayoutStatus::ALL {
            assert_eq!(PayoutStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn initial_statuses() {
        let threshold = Some(AmountMinor(5_000_000));
        let check = |kind, amount, expected| {
            assert_eq!(
                initial_status(kind, AmountMinor(amount), threshold),
                expected
            );
        };
        check(LegKind::Credit, 5_000_000, PayoutStatus::Approved);
        check(LegKind::Credit, 5_000_001, PayoutStatus::AwaitingApproval);
        check(LegKind::Debit, 9_000_000, PayoutStatus::Approved);
        check(LegKind::Held, 1, PayoutStatus::Held);
        assert_eq!(
            initial_status(LegKind::Credit, AmountMinor(i64::MAX), None),
            PayoutStatus::Approved
        );
    }

    #[test]
    fn binding_in_force_by_date_and_terminal() {
        let bindings = [
            binding("B1", &[], Some("2026-11-01")),
            binding("B2", &[], Some("2026-11-25")),
            binding("B3", &["T2"], Some("2026-11-20")),
            binding("B4", &["T3"], Some("2026-12-01")),
        ];
        let check = |tid, day, expected: Option<&str>| {
            let got = binding_in_force(&bindings, tid, date(day)).map(|b| b.id.as_str());
            assert_eq!(got, expected, "{tid} {day}");
        };
        check("T1", "2026-10-31", None);
        check("T1", "2026-11-24", Some("B1"));
        check("T1", "2026-11-25", Some("B2"));
        check("T2", "2026-11-19", Some("B1"));
        check("T2", "2026-11-24", Some("B3"));
        check("T2", "2026-11-26", Some("B3"));
        check("T3", "2026-11-30", Some("B2"));
        check("T3", "2026-12-01", Some("B4"));
    }

    fn totals(captures: i64, refunds: i64, fees: i64) -> MerchantTotals {
        MerchantTotals {
            captures: AmountMinor(captures),
            refunds: AmountMinor(refunds),
            fees: AmountMinor(fees),
            ..MerchantTotals::default()
        }
    }

    fn line(account: &str, bps: u32) -> SplitLine {
        SplitLine {
            account: account.into(),
            rule: SplitRule::Percent(bps),
        }
    }

    #[test]
    fn legs_of_parts_add_up_by_account() {
        let wide = [line("A", 5_000), line("B", 5_000)];
        let terminal = [line("B", 10_000)];
        let parts = [
            (totals(10_001, 0, 1), &wide[..]),
            (totals(500, 100, 3), &terminal[..]),
        ];
        let legs = merchant_legs(&parts, false).unwrap();
        let expected = [("A", 5_000), ("B", 5_000 + 397)];
        assert_eq!(legs.len(), 2);
        for (leg, (account, amount)) in legs.iter().zip(expected) {
            assert_eq!((leg.account.as_str(), leg.amount.0), (account, amount));
            assert_eq!(leg.kind, LegKind::Credit);
        }
        let held = merchant_legs(&parts, true).unwrap();
        assert!(held.iter().all(|l| l.kind == LegKind::Held));
        let negative = [
            (totals(100, 5_000, 1), &wide[..]),
            (totals(0, 0, 0), &wide[..]),
        ];
        let legs = merchant_legs(&negative, false).unwrap();
        assert_eq!(
            legs,
            vec![Leg {
                account: "A".into(),
                kind: LegKind::Debit,
                amount: AmountMinor(4_901)
            }]
        );
        assert!(merchant_legs(&[(totals(1, 0, 0), &[][..])], false).is_err());
    }
}
