//! What may be done to an earlier transaction: void, refund, completion.
//!
//! The host finds the original by RRN (not found → `25`); these checks decide
//! whether the follow-up is allowed in the original's state.

use crate::money::AmountMinor;
use crate::response::ResponseCode;

/// What the original transaction was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginalKind {
    /// A sale (0200, 000000).
    Sale,
    /// A pre-authorization (0100, 000000).
    PreAuthorization,
    /// A pre-authorization completion (0220).
    Completion,
    /// A refund (0200, 200000).
    Refund,
}

/// Where the original transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginalState {
    /// Approved and still in force (a sale captured, a hold open).
    Approved,
    /// Declined.
    Declined,
    /// Voided by the terminal.
    Voided,
    /// Reversed.
    Reversed,
    /// A pre-authorization completed.
    Completed,
    /// A pre-authorization whose hold expired.
    Expired,
}

/// What a follow-up needs to know about its original.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Original {
    /// Kind.
    pub kind: OriginalKind,
    /// State.
    pub state: OriginalState,
    /// Amount approved (for a pre-authorization, the hold).
    pub amount: AmountMinor,
    /// Amount refunded so far.
    pub refunded: AmountMinor,
    /// Whether the original's batch is closed (settled at the terminal).
    pub batch_closed: bool,
}

/// Checks a void: only an approved sale in the open batch, for its full amount.
///
/// # Errors
/// `12` when the original is not a voidable sale, `13` when the amount differs.
pub fn check_void(original: &Original, amount: AmountMinor) -> Result<(), ResponseCode> {
    let voidable = matches!(original.kind, OriginalKind::Sale | OriginalKind::Completion)
        && original.state == OriginalState::Approved
        && original.refunded == AmountMinor::ZERO
        && !original.batch_closed;
    if !voidable {
        return Err(ResponseCode::InvalidTransaction);
    }
    if amount != original.amount {
        return Err(ResponseCode::InvalidAmount);
    }
    Ok(())
}

/// Checks a refund: of a captured sale or completion, up to what is not yet
/// refunded.
///
/// # Errors
/// `12` when the original cannot be refunded, `13` for a zero amount or more
/// than remains.
pub fn check_refund(original: &Original, amount: AmountMinor) -> Result<(), ResponseCode> {
    let refundable = matches!(original.kind, OriginalKind::Sale | OriginalKind::Completion)
        && original.state == OriginalState::Approved;
    if !refundable {
        return Err(ResponseCode::InvalidTransaction);
    }
    let remaining = original
        .amount
        .checked_sub(original.refunded)
        .ok_or(ResponseCode::InvalidAmount)?;
    if amount <= AmountMinor::ZERO || amount > remaining {
        return Err(ResponseCode::InvalidAmount);
    }
    Ok(())
}

/// Checks a completion: of an open pre-authorization, up to its amount.
///
/// # Errors
/// `12` when the original is not an open pre-authorization, `13` for a zero
/// amount or more than was authorized.
pub fn check_completion(original: &Original, amount: AmountMinor) -> Result<(), ResponseCode> {
    if original.kind != OriginalKind::PreAuthorization || original.state != OriginalState::Approved
    {
        return Err(ResponseCode::InvalidTransaction);
    }
    if amount <= AmountMinor::ZERO || amount > original.amount {
        return Err(ResponseCode::InvalidAmount);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Result<(), ResponseCode> = Ok(());
    const R12: Result<(), ResponseCode> = Err(ResponseCode::InvalidTransaction);
    const R13: Result<(), ResponseCode> = Err(ResponseCode::InvalidAmount);

    fn original(kind: OriginalKind, state: OriginalState) -> Original {
        Original {
            kind,
            state,
            amount: AmountMinor(10_000),
            refunded: AmountMinor::ZERO,
            batch_closed: false,
        }
    }

    #[test]
    fn void_matrix() {
        use OriginalKind as K;
        use OriginalState as S;
        let check = |kind, state, amount, closed, expected| {
            let mut o = original(kind, state);
            o.batch_closed = closed;
            assert_eq!(
                check_void(&o, AmountMinor(amount)),
                expected,
                "{kind:?} {state:?}"
            );
        };
        check(K::Sale, S::Approved, 10_000, false, OK);
        check(K::Sale, S::Approved, 9_999, false, R13);
        check(K::Sale, S::Approved, 10_000, true, R12);
        check(K::Sale, S::Voided, 10_000, false, R12);
        check(K::Sale, S::Reversed, 10_000, false, R12);
        check(K::Sale, S::Declined, 10_000, false, R12);
        check(K::Completion, S::Approved, 10_000, false, OK);
        check(K::PreAuthorization, S::Approved, 10_000, false, R12);
        check(K::Refund, S::Approved, 10_000, false, R12);
    }

    #[test]
    fn refund_up_to_remaining() {
        let mut o = original(OriginalKind::Sale, OriginalState::Approved);
        assert_eq!(check_refund(&o, AmountMinor(10_000)), OK);
        assert_eq!(check_refund(&o, AmountMinor(10_001)), R13);
        assert_eq!(check_refund(&o, AmountMinor(0)), R13);
        o.refunded = AmountMinor(6_000);
        assert_eq!(check_refund(&o, AmountMinor(4_000)), OK);
        assert_eq!(check_refund(&o, AmountMinor(4_001)), R13);
        o.batch_closed = true;
        assert_eq!(
            check_refund(&o, AmountMinor(1)),
            OK,
            "refunds outlive the batch"
        );
        let voided = original(OriginalKind::Sale, OriginalState::Voided);
        assert_eq!(check_refund(&voided, AmountMinor(1)), R12);
        let partly_refunded = Original {
            refunded: AmountMinor(1),
            ..original(OriginalKind::Sale, OriginalState::Approved)
        };
        assert_eq!(check_void(&partly_refunded, AmountMinor(10_000)), R12);
    }

    #[test]
    fn completion_up_to_authorized() {
        let hold = original(OriginalKind::PreAuthorization, OriginalState::Approved);
        assert_eq!(check_completion(&hold, AmountMinor(10_000)), OK);
        assert_eq!(check_completion(&hold, AmountMinor(2_500)), OK);
        assert_eq!(check_completion(&hold, AmountMinor(10_001)), R13);
        let done = original(OriginalKind::PreAuthorization, OriginalState::Completed);
        assert_eq!(check_completion(&done, AmountMinor(1)), R12);
        let expired = original(OriginalKind::PreAuthorization, OriginalState::Expired);
        assert_eq!(check_completion(&expired, AmountMinor(1)), R12);
        let sale = original(OriginalKind::Sale, OriginalState::Approved);
        assert_eq!(check_completion(&sale, AmountMinor(1)), R12);
    }
}
