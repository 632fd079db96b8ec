//! Wire ↔ domain translations of the host interface's data elements, as pure
//! functions over field text: entry mode (DE 22), message classification
//! (MTI + DE 3 + DE 70), original data (DE 90), track 2 (DE 35), additional
//! amounts (DE 54) and benefits (DE 63).

use domain::routing::CardProduct;
use domain::{AmountMinor, Currency, YearMonth};

/// How the card was read (first two digits of DE 22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanEntry {
    /// `01` manual key entry.
    Keyed,
    /// `02` or `90` magnetic stripe.
    Swipe,
    /// `05` contact chip.
    Chip,
    /// `07` contactless chip.
    Contactless,
    /// `91` contactless magstripe.
    ContactlessMagstripe,
    /// `03` QR or barcode.
    Qr,
}

/// POS entry mode (DE 22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryMode {
    /// How the PAN was read.
    pub pan_entry: PanEntry,
    /// Whether the terminal can accept a PIN (third digit `1`).
    pub pin_capable: bool,
}

impl EntryMode {
    /// Parses DE 22 (`n3`); `None` for an undefined value.
    #[must_use]
    pub fn parse(de22: &str) -> Option<EntryMode> {
        let pan_entry = match de22.get(..2)? {
            "01" => PanEntry::Keyed,
            "02" | "90" => PanEntry::Swipe,
            "05" => PanEntry::Chip,
            "07" => PanEntry::Contactless,
            "91" => PanEntry::ContactlessMagstripe,
            "03" => PanEntry::Qr,
            _ => return None,
        };
        let pin_capable = match de22.get(2..)? {
            "1" => true,
            "2" => false,
            _ => return None,
        };
        Some(EntryMode {
            pan_entry,
            pin_capable,
        })
    }

    /// Whether the request must carry ICC data (DE 55).
    #[must_use]
    pub fn requires_icc(self) -> bool {
        matches!(self.pan_entry, PanEntry::Chip | PanEntry::Contactless)
    }
}

/// What a request asks for (host-interface.md section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// 0800 sign-on (DE 70 = 001).
    SignOn,
    /// 0800 sign-off (DE 70 = 002).
    SignOff,
    /// 0800 echo test (DE 70 = 301).
    Echo,
    /// 0100 with DE 3 = 000000.
    PreAuthorization,
    /// 0100 with DE 3 = 310000.
    BalanceInquiry,
    /// 0200 with DE 3 = 000000.
    Sale,
    /// 0200 with DE 3 = 020000.
    Void,
    /// 0200 with DE 3 = 200000.
    Refund,
    /// 0220 with DE 3 = 000000.
    Completion,
    /// 0400.
    Reversal,
    /// 0420.
    ReversalAdvice,
    /// 0500 with DE 3 = 920000.
    BatchSettlement,
}

impl RequestKind {
    /// Classifies a request by MTI, DE 3 and DE 70. 0400/0420 take any DE 3
    /// (that of their original). `None` for a combination the host does not
    /// serve.
    #[must_use]
    pub fn classify(
        mti: &str,
        processing_code: Option<&str>,
        network_code: Option<&str>,
    ) -> Option<RequestKind> {
        use RequestKind as K;
        match (mti, processing_code, network_code) {
            ("0800", _, Some("001")) => Some(K::SignOn),
            ("0800", _, Some("002")) => Some(K::SignOff),
            ("0800", _, Some("301")) => Some(K::Echo),
            ("0100", Some("000000"), _) => Some(K::PreAuthorization),
            ("0100", Some("310000"), _) => Some(K::BalanceInquiry),
            ("0200", Some("000000"), _) => Some(K::Sale),
            ("0200", Some("020000"), _) => Some(K::Void),
            ("0200", Some("200000"), _) => Some(K::Refund),
            ("0220", Some("000000"), _) => Some(K::Completion),
            ("0400", _, _) => Some(K::Reversal),
            ("0420", _, _) => Some(K::ReversalAdvice),
            ("0500", Some("920000"), _) => Some(K::BatchSettlement),
            _ => None,
        }
    }

    /// Whether this is a financial request (0100, 0200, 0220).
    #[must_use]
    pub fn is_financial(self) -> bool {
        use RequestKind as K;
        matches!(
            self,
            K::PreAuthorization | K::BalanceInquiry | K::Sale | K::Void | K::Refund | K::Completion
        )
    }
}

/// The response MTI of a request MTI (`0200` → `0210`); `None` unless the MTI
/// is a request.
#[must_use]
pub fn response_mti(mti: &str) -> Option<String> {
    let bytes = mti.as_bytes();
    let valid = bytes.len() == 4 && bytes.iter().all(u8::is_ascii_digit);
    if !valid || (bytes[2] - b'0') % 2 != 0 {
        return None;
    }
    let mut out = bytes.to_vec();
    out[2] += 1;
    String::from_utf8(out).ok()
}

/// The original a reversal names (DE 90).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginalData {
    /// Original MTI.
    pub mti: String,
    /// Original STAN.
    pub stan: String,
    /// Original transmission date and time (DE 7).
    pub transmission: String,
}

impl OriginalData {
    /// Parses DE 90: MTI (4) + STAN (6) + DE 7 (10) + 22 zeros, all digits.
    #[must_use]
    pub fn parse(de90: &str) -> Option<OriginalData> {
        let digits = de90.len() == 42 && de90.bytes().all(|b| b.is_ascii_digit());
        if !digits || !de90[20..].bytes().all(|b| b == b'0') {
            return None;
        }
        Some(OriginalData {
            mti: de90[..4].to_owned(),
            stan: de90[4..10].to_owned(),
            transmission: de90[10..20].to_owned(),
        })
    }

    /// Formats DE 90.
    #[must_use]
    pub fn format(&self) -> String {
        format!(
            "{}{}{}{}",
            self.mti,
            self.stan,
            self.transmission,
            "0".repeat(22)
        )
    }
}

/// PAN and expiry read from track 2 (DE 35). The track itself is never kept.
#[derive(Clone, PartialEq, Eq)]
pub struct Track2Card {
    /// PAN digits.
    pub pan: String,
    /// Expiry.
    pub expiry: YearMonth,
    /// Service code (3 digits).
    pub service_code: String,
}

impl std::fmt::Debug for Track2Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track2Card")
            .field("pan", &"<redacted>")
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// Parses track 2 equivalent data: PAN (12–19 digits), separator `=` or `D`,
/// expiry `YYMM`, service code (3 digits), then discretionary digits.
#[must_use]
pub fn parse_track2(de35: &str) -> Option<Track2Card> {
    let separator = de35.find(['=', 'D', 'd'])?;
    let (pan, rest) = (&de35[..separator], &de35[separator + 1..]);
    let pan_ok = (12..=19).contains(&pan.len()) && pan.bytes().all(|b| b.is_ascii_digit());
    if !pan_ok || rest.len() < 7 || !rest.bytes().all(|b| b.is_ascii_digit() || b == b'F') {
        return None;
    }
    let expiry = YearMonth::parse_yymm(&rest[..4])?;
    let service_code = rest[4..7].to_owned();
    if !service_code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Track2Card {
        pan: pan.to_owned(),
        expiry,
        service_code,
    })
}

/// DE 54 of a balance inquiry response: account type (2) + amount type
/// (`02` available) + currency (3) + `C`/`D` + amount (12).
///
/// Account type `10` for a debit (savings) card, `30` for a credit card.
#[must_use]
pub fn format_available_balance(
    product: CardProduct,
    currency: Currency,
    available: AmountMinor,
) -> String {
    let account_type = match product {
        CardProduct::Debit => "10",
        CardProduct::Credit => "30",
    };
    let sign = if available.0 < 0 { 'D' } else { 'C' };
    let magnitude = available.0.unsigned_abs().min(999_999_999_999);
    format!(
        "{account_type}02{:03}{sign}{magnitude:012}",
        currency.numeric()
    )
}

/// Benefits of a co-brand purchase for DE 63.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenefitsField {
    /// Program code.
    pub program: String,
    /// Instant discount.
    pub discount: AmountMinor,
    /// Amount charged to the card.
    pub paid: AmountMinor,
    /// Points earned.
    pub points: u64,
    /// Points balance after this purchase.
    pub balance: u64,
}

impl BenefitsField {
    /// Formats DE 63: `PROG=..;DISC=n12;PAID=n12;PTS=..;BAL=..` in that order.
    #[must_use]
    pub fn format(&self) -> String {
        format!(
            "PROG={};DISC={:012};PAID={:012};PTS={};BAL={}",
            self.program,
            self.discount.0.max(0),
            self.paid.0.max(0),
            self.points,
            self.balance
        )
    }

    /// Parses DE 63 as [`BenefitsField::format`] writes it.
    #[must_use]
    pub fn parse(de63: &str) -> Option<BenefitsField> {
        let mut values = de63.split(';').map(|pair| pair.split_once('='));
        let mut take = |key: &str| match values.next() {
            Some(Some((k, v))) if k == key => Some(v.to_owned()),
            _ => None,
        };
        let program = take("PROG")?;
        let discount = take("DISC")?.parse().ok().map(AmountMinor)?;
        let paid = take("PAID")?.parse().ok().map(AmountMinor)?;
        let points = take("PTS")?.parse().ok()?;
        let balance = take("BAL")?.parse().ok()?;
        Some(BenefitsField {
            program,
            discount,
            paid,
            points,
            balance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_modes() {
        let check = |de22: &str, expected: Option<(PanEntry, bool)>| {
            let got = EntryMode::parse(de22).map(|m| (m.pan_entry, m.pin_capable));
            assert_eq!(got, expected, "{de22}");
        };
        check("051", Some((PanEntry::Chip, true)));
        check("072", Some((PanEntry::Contactless, false)));
        check("021", Some((PanEntry::Swipe, true)));
        check("901", Some((PanEntry::Swipe, true)));
        check("911", Some((PanEntry::ContactlessMagstripe, true)));
        check("012", Some((PanEntry::Keyed, false)));
        check("031", Some((PanEntry::Qr, true)));
        check("041", None);
        check("053", None);
        check("05", None);
        assert!(EntryMode::parse("071").unwrap().requires_icc());
        assert!(!EntryMode::parse("911").unwrap().requires_icc());
    }

    #[test]
    fn classifies_every_request_of_section_4() {
        use RequestKind as K;
        let check = |mti, de3, de70, expected| {
            assert_eq!(
                RequestKind::classify(mti, de3, de70),
                expected,
                "{mti} {de3:?}"
            );
        };
        check("0800", None, Some("001"), Some(K::SignOn));
        check("0800", None, Some("002"), Some(K::SignOff));
        check("0800", None, Some("301"), Some(K::Echo));
        check("0800", None, Some("999"), None);
        check("0100", Some("000000"), None, Some(K::PreAuthorization));
        check("0100", Some("310000"), None, Some(K::BalanceInquiry));
        check("0200", Some("000000"), None, Some(K::Sale));
        check("0200", Some("020000"), None, Some(K::Void));
        check("0200", Some("200000"), None, Some(K::Refund));
        check("0200", Some("310000"), None, None);
        check("0220", Some("000000"), None, Some(K::Completion));
        check("0400", Some("000000"), None, Some(K::Reversal));
        check("0420", Some("020000"), None, Some(K::ReversalAdvice));
        check("0500", Some("920000"), None, Some(K::BatchSettlement));
        check("0500", Some("000000"), None, None);
        check("0210", Some("000000"), None, None);
    }

    #[test]
    fn response_mtis() {
        assert_eq!(response_mti("0200").as_deref(), Some("0210"));
        assert_eq!(response_mti("0420").as_deref(), Some("0430"));
        assert_eq!(response_mti("0800").as_deref(), Some("0810"));
        assert_eq!(response_mti("0210"), None);
        assert_eq!(response_mti("02x0"), None);
    }

    #[test]
    fn original_data() {
        let de90 = "020000012311241530450000000000000000000000";
        let original = OriginalData::parse(de90).unwrap();
        assert_eq!(
            (
                original.mti.as_str(),
                original.stan.as_str(),
                original.transmission.as_str()
            ),
            ("0200", "000123", "1124153045")
        );
        assert_eq!(original.format(), de90);
        assert!(OriginalData::parse(&de90[..41]).is_none());
        assert!(OriginalData::parse("020000012311241530450000000000000000000001").is_none());
    }

    #[test]
    fn track2() {
        let card = parse_track2("6217000000000014=30121010000000000000").unwrap();
        assert_eq!(card.pan, "6217000000000014");
        assert_eq!(card.expiry, YearMonth::parse_yymm("3012").unwrap());
        assert_eq!(card.service_code, "101");
        assert!(!format!("{card:?}").contains("6217000000000014"));
        assert!(parse_track2("6217000000000014D3012101").is_some());
        assert!(parse_track2("6217000000000014=3013101").is_none());
        assert!(parse_track2("62170000=3012101").is_none());
        assert!(parse_track2("6217000000000014").is_none());
    }

    #[test]
    fn balance_field() {
        let de54 =
            format_available_balance(CardProduct::Debit, Currency::CNY, AmountMinor(1_000_000));
        assert_eq!(de54, "1002156C000001000000");
        assert_eq!(de54.len(), 20);
        let credit = format_available_balance(CardProduct::Credit, Currency::CNY, AmountMinor(-5));
        assert_eq!(credit, "3002156D000000000005");
    }

    #[test]
    fn benefits_field() {
        let field = BenefitsField {
            program: "DBCOFFEE".into(),
            discount: AmountMinor(380),
            paid: AmountMinor(3_420),
            points: 68,
            balance: 568,
        };
        let text = field.format();
        assert_eq!(
            text,
            "PROG=DBCOFFEE;DISC=000000000380;PAID=000000003420;PTS=68;BAL=568"
        );
        assert_eq!(BenefitsField::parse(&text), Some(field));
        assert_eq!(
            BenefitsField::parse("DISC=1;PROG=X;PAID=1;PTS=1;BAL=1"),
            None
        );
    }
}
