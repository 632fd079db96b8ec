//! Authorization outcomes and their ISO 8583 response codes (DE 39).
//!
//! This is the one place where an outcome becomes a two-character code; the
//! host writes `code.as_str()` into DE 39 and nothing else decides it.

/// An outcome of a request, as the host interface's response codes name them
/// (host-interface.md section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    /// `00` approved.
    Approved,
    /// `03` invalid merchant (DE 42 does not match, or merchant closed).
    InvalidMerchant,
    /// `05` do not honor (includes a failed card cryptogram).
    DoNotHonor,
    /// `12` invalid transaction (not allowed in this state).
    InvalidTransaction,
    /// `13` invalid amount.
    InvalidAmount,
    /// `14` invalid card number (Luhn, unknown BIN).
    InvalidCardNumber,
    /// `25` original not found (void, refund, completion).
    OriginalNotFound,
    /// `30` format error.
    FormatError,
    /// `41` lost card.
    LostCard,
    /// `43` stolen card.
    StolenCard,
    /// `51` insufficient funds.
    InsufficientFunds,
    /// `54` expired card.
    ExpiredCard,
    /// `55` incorrect PIN.
    IncorrectPin,
    /// `57` not permitted to cardholder.
    NotPermittedToCardholder,
    /// `58` not permitted to terminal (unknown, inactive, or not certified).
    NotPermittedToTerminal,
    /// `59` suspected fraud (risk rule).
    SuspectedFraud,
    /// `61` exceeds amount limit (risk rule or card limit).
    ExceedsAmountLimit,
    /// `63` security violation (MAC failure, KSN replay).
    SecurityViolation,
    /// `65` exceeds frequency limit (risk rule).
    ExceedsFrequencyLimit,
    /// `75` PIN tries exceeded.
    PinTriesExceeded,
    /// `91` issuer or switch inoperative (timeout).
    IssuerInoperative,
    /// `94` duplicate transmission, or reversed before arrival.
    Duplicate,
    /// `95` reconciliation error (0510 out of balance).
    ReconciliationError,
    /// `96` system malfunction.
    SystemMalfunction,
}

/// Every response code with its two characters, in the order of the spec.
const TABLE: [(ResponseCode, &str); 24] = [
    (ResponseCode::Approved, "00"),
    (ResponseCode::InvalidMerchant, "03"),
    (ResponseCode::DoNotHonor, "05"),
    (ResponseCode::InvalidTransaction, "12"),
    (ResponseCode::InvalidAmount, "13"),
    (ResponseCode::InvalidCardNumber, "14"),
    (ResponseCode::OriginalNotFound, "25"),
    (ResponseCode::FormatError, "30"),
    (ResponseCode::LostCard, "41"),
    (ResponseCode::StolenCard, "43"),
    (ResponseCode::InsufficientFunds, "51"),
    (ResponseCode::ExpiredCard, "54"),
    (ResponseCode::IncorrectPin, "55"),
    (ResponseCode::NotPermittedToCardholder, "57"),
    (ResponseCode::NotPermittedToTerminal, "58"),
    (ResponseCode::SuspectedFraud, "59"),
    (ResponseCode::ExceedsAmountLimit, "61"),
    (ResponseCode::SecurityViolation, "63"),
    (ResponseCode::ExceedsFrequencyLimit, "65"),
    (ResponseCode::PinTriesExceeded, "75"),
    (ResponseCode::IssuerInoperative, "91"),
    (ResponseCode::Duplicate, "94"),
    (ResponseCode::ReconciliationError, "95"),
    (ResponseCode::SystemMalfunction, "96"),
];

impl ResponseCode {
    /// Every response code, in the order of the spec.
    pub fn all() -> impl Iterator<Item = ResponseCode> {
        TABLE.iter().map(|(code, _)| *code)
    }

    /// The two characters of DE 39.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(code, _)| *code == self)
            .map_or("96", |(_, text)| text)
    }

    /// Parses DE 39; `None` for a code the spec does not define.
    #[must_use]
    pub fn parse(text: &str) -> Option<ResponseCode> {
        TABLE
            .iter()
            .find(|(_, t)| *t == text)
            .map(|(code, _)| *code)
    }

    /// Whether the request was approved.
    #[must_use]
    pub fn is_approved(self) -> bool {
        self == ResponseCode::Approved
    }

    /// A short human reason, as printed on receipts and in reports.
    #[must_use]
    pub fn reason(self) -> &'static str {
        use ResponseCode as R;
        match self {
            R::Approved => "approved",
            R::InvalidMerchant => "invalid merchant",
            R::DoNotHonor => "do not honor",
            R::InvalidTransaction => "invalid transaction",
            R::InvalidAmount => "invalid amount",
            R::InvalidCardNumber => "invalid card number",
            R::OriginalNotFound => "original not found",
            R::FormatError => "format error",
            R::LostCard => "lost card",
            R::StolenCard => "stolen card",
            R::InsufficientFunds => "insufficient funds",
            R::ExpiredCard => "expired card",
            R::IncorrectPin => "incorrect PIN",
            R::NotPermittedToCardholder => "not permitted to cardholder",
            R::NotPermittedToTerminal => "not permitted to terminal",
            R::SuspectedFraud => "suspected fraud",
            R::ExceedsAmountLimit => "exceeds amount limit",
            R::SecurityViolation => "security violation",
            R::ExceedsFrequencyLimit => "exceeds frequency limit",
            R::PinTriesExceeded => "PIN tries exceeded",
            R::IssuerInoperative => "issuer or switch inoperative",
            R::Duplicate => "duplicate transmission",
            R::ReconciliationError => "reconciliation error",
            R::SystemMalfunction => "system malfunction",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in ResponseCode::all() {
            assert!(seen.insert(code.as_str()), "{code:?} repeats");
            assert_eq!(ResponseCode::parse(code.as_str()), Some(code));
            assert_eq!(code.as_str().len(), 2);
        }
        assert_eq!(seen.len(), 24);
    }

    #[test]
    fn spec_codes() {
        let check = |code: ResponseCode, text: &str| assert_eq!(code.as_str(), text);
        check(ResponseCode::Approved, "00");
        check(ResponseCode::PinTriesExceeded, "75");
        check(ResponseCode::Duplicate, "94");
        check(ResponseCode::ReconciliationError, "95");
        assert_eq!(ResponseCode::parse("99"), None);
        assert!(ResponseCode::Approved.is_approved());
        assert!(!ResponseCode::DoNotHonor.is_approved());
    }
}
