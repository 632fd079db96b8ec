//! On-us issuing: the host's own bank authorizes its own cards.
//!
//! The decision is pure: the host verifies the PIN and the card cryptogram
//! with `cardsec` and passes the outcomes in; this module decides the
//! response and the card's next PIN-failure count.

use crate::date::YearMonth;
use crate::money::AmountMinor;
use crate::response::ResponseCode;
use crate::routing::CardProduct;

/// Wrong PINs in a row after which the card's PIN is blocked (`75`) until an
/// operator resets it.
pub const PIN_TRIES_MAX: u8 = 3;

/// Card status as the issuer keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardStatus {
    /// Usable.
    Active,
    /// Reported lost (`41`).
    Lost,
    /// Reported stolen (`43`).
    Stolen,
}

/// What the issuer knows about one of its cards (never the clear PAN or PIN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCard {
    /// Debit or credit.
    pub product: CardProduct,
    /// Status.
    pub status: CardStatus,
    /// Expiry month printed on the card.
    pub expiry: YearMonth,
    /// What may still be spent: the balance of a debit card, the unused limit
    /// of a credit card.
    pub available: AmountMinor,
    /// Wrong PINs in a row so far.
    pub pin_failures: u8,
}

/// The kind of authorization asked of the issuer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// Sale or completion without a prior hold: spends the amount.
    Purchase,
    /// Places a hold of the amount.
    PreAuthorization,
    /// Reports the available balance; spends nothing.
    BalanceInquiry,
}

/// Outcome of PIN verification done by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinCheck {
    /// No PIN block in the request.
    NotPresent,
    /// The PIN verified.
    Correct,
    /// The PIN did not verify.
    Incorrect,
}

/// Outcome of the EMV cryptogram (ARQC) verification done by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptogramCheck {
    /// Not a chip transaction.
    NotPresent,
    /// The ARQC verified.
    Valid,
    /// The ARQC did not verify (`05`).
    Invalid,
}

/// An authorization request as the issuer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnUsRequest {
    /// Kind of authorization.
    pub kind: AuthKind,
    /// Amount in minor units.
    pub amount: AmountMinor,
    /// Expiry read from the card (DE 14 or track 2).
    pub expiry: YearMonth,
    /// The current month in the platform's time zone.
    pub today: YearMonth,
    /// PIN verification outcome.
    pub pin: PinCheck,
    /// Cryptogram verification outcome.
    pub cryptogram: CryptogramCheck,
}

/// The issuer's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnUsDecision {
    /// Response code.
    pub code: ResponseCode,
    /// The card's wrong-PIN count after this request.
    pub pin_failures: u8,
    /// What the approval spends or holds (zero when declined or an inquiry).
    pub spend: AmountMinor,
}

/// Decides an on-us authorization.
///
/// Order: card status, expiry, PIN, cryptogram, amount, funds. A correct PIN
/// resets the wrong-PIN count even when a later check declines; the third
/// wrong PIN in a row answers `75` and every later request with a PIN too.
#[must_use]
pub fn decide(card: &IssuedCard, request: &OnUsRequest) -> OnUsDecision {
    let pin_failures = next_pin_failures(card.pin_failures, request.pin);
    let decline = |code| OnUsDecision {
        code,
        pin_failures,
        spend: AmountMinor::ZERO,
    };
    if let Some(code) = status_decline(card, request) {
        return decline(code);
    }
    if let Some(code) = pin_decline(card.pin_failures, request.pin) {
        return decline(code);
    }
    if request.cryptogram == CryptogramCheck::Invalid {
        return decline(ResponseCode::DoNotHonor);
    }
    let spend = match request.kind {
        AuthKind::BalanceInquiry => AmountMinor::ZERO,
        AuthKind::Purchase | AuthKind::PreAuthorization => request.amount,
    };
    if request.kind != AuthKind::BalanceInquiry && request.amount <= AmountMinor::ZERO {
        return decline(ResponseCode::InvalidAmount);
    }
    if spend > card.available {
        return decline(ResponseCode::InsufficientFunds);
    }
    OnUsDecision {
        code: ResponseCode::Approved,
        pin_failures,
        spend,
    }
}

fn status_decline(card: &IssuedCard, request: &OnUsRequest) -> Option<ResponseCode> {
    match card.status {
        CardStatus::Lost => return Some(ResponseCode::LostCard),
        CardStatus::Stolen => return Some(ResponseCode::StolenCard),
        CardStatus::Active => {}
    }
    let expired = card.expiry < request.today || request.expiry != card.expiry;
    expired.then_some(ResponseCode::ExpiredCard)
}

fn pin_decline(failures_before: u8, pin: PinCheck) -> Option<ResponseCode> {
    match pin {
        PinCheck::NotPresent => None,
        _ if failures_before >= PIN_TRIES_MAX => Some(ResponseCode::PinTriesExceeded),
        PinCheck::Correct => None,
        PinCheck::Incorrect if failures_before + 1 >= PIN_TRIES_MAX => {
            Some(ResponseCode::PinTriesExceeded)
        }
        PinCheck::Incorrect => Some(ResponseCode::IncorrectPin),
    }
}

fn next_pin_failures(before: u8, pin: PinCheck) -> u8 {
    match pin {
        PinCheck::NotPresent => before,
        _ if before >= PIN_TRIES_MAX => before,
        PinCheck::Correct => 0,
        PinCheck::Incorrect => before + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(yymm: &str) -> YearMonth {
        YearMonth::parse_yymm(yymm).unwrap()
    }

    fn card(status: CardStatus, expiry: &str, available: i64) -> IssuedCard {
        IssuedCard {
            product: CardProduct::Debit,
            status,
            expiry: month(expiry),
            available: AmountMinor(available),
            pin_failures: 0,
        }
    }

    fn sale(amount: i64, expiry: &str, pin: PinCheck) -> OnUsRequest {
        OnUsRequest {
            kind: AuthKind::Purchase,
            amount: AmountMinor(amount),
            expiry: month(expiry),
            today: month("2611"),
            pin,
            cryptogram: CryptogramCheck::NotPresent,
        }
    }

    #[test]
    fn sandbox_card_outcomes() {
        let check = |card: IssuedCard, request: OnUsRequest, expected: ResponseCode| {
            assert_eq!(decide(&card, &request).code, expected);
        };
        let active = card(CardStatus::Active, "3012", 1_000_000);
        check(
            active.clone(),
            sale(10_000, "3012", PinCheck::Correct),
            ResponseCode::Approved,
        );
        check(
            card(CardStatus::Active, "3012", 1_000),
            sale(1_001, "3012", PinCheck::Correct),
            ResponseCode::InsufficientFunds,
        );
        check(
            card(CardStatus::Lost, "3012", 1_000_000),
            sale(100, "3012", PinCheck::Correct),
            ResponseCode::LostCard,
        );
        check(
            card(CardStatus::Stolen, "3012", 1_000_000),
            sale(100, "3012", PinCheck::Correct),
            ResponseCode::StolenCard,
        );
        check(
            card(CardStatus::Active, "2001", 1_000_000),
            sale(100, "2001", PinCheck::Correct),
            ResponseCode::ExpiredCard,
        );
        check(
            active.clone(),
            sale(100, "3011", PinCheck::Correct),
            ResponseCode::ExpiredCard,
        );
        check(
            active.clone(),
            sale(0, "3012", PinCheck::Correct),
            ResponseCode::InvalidAmount,
        );
        check(
            active,
            sale(100, "3012", PinCheck::Incorrect),
            ResponseCode::IncorrectPin,
        );
    }

    #[test]
    fn third_wrong_pin_blocks_until_reset() {
        let mut card = card(CardStatus::Active, "3012", 1_000_000);
        let mut codes = Vec::new();
        for pin in [
            PinCheck::Incorrect,
            PinCheck::Incorrect,
            PinCheck::Incorrect,
            PinCheck::Correct,
        ] {
            let decision = decide(&card, &sale(100, "3012", pin));
            card.pin_failures = decision.pin_failures;
            codes.push(decision.code);
        }
        assert_eq!(
            codes,
            [
                ResponseCode::IncorrectPin,
                ResponseCode::IncorrectPin,
                ResponseCode::PinTriesExceeded,
                ResponseCode::PinTriesExceeded,
            ]
        );
        assert_eq!(card.pin_failures, PIN_TRIES_MAX);
    }

    #[test]
    fn correct_pin_resets_failures() {
        let mut card = card(CardStatus::Active, "3012", 1_000_000);
        card.pin_failures = 2;
        let decision = decide(&card, &sale(100, "3012", PinCheck::Correct));
        assert_eq!(
            (decision.code, decision.pin_failures),
            (ResponseCode::Approved, 0)
        );
    }

    #[test]
    fn failed_cryptogram_is_do_not_honor_and_spends_nothing() {
        let card = card(CardStatus::Active, "3012", 1_000_000);
        let mut request = sale(100, "3012", PinCheck::NotPresent);
        request.cryptogram = CryptogramCheck::Invalid;
        let decision = decide(&card, &request);
        assert_eq!(
            (decision.code, decision.spend),
            (ResponseCode::DoNotHonor, AmountMinor::ZERO)
        );
    }

    #[test]
    fn balance_inquiry_spends_nothing() {
        let card = card(CardStatus::Active, "3012", 1_000);
        let mut request = sale(0, "3012", PinCheck::Correct);
        request.kind = AuthKind::BalanceInquiry;
        let decision = decide(&card, &request);
        assert_eq!(
            (decision.code, decision.spend),
            (ResponseCode::Approved, AmountMinor::ZERO)
        );
    }
}
