//! What the terminal reads out of a response: the reason behind a DE 39
//! code (host-interface.md section 7), benefits (DE 63) and the available
//! balance (DE 54).

use crate::receipt::ReceiptBenefits;

/// The reason printed for a DE 39 response code.
#[must_use]
pub fn reason(response_code: &str) -> &'static str {
    match response_code {
        "00" => "approved",
        "03" => "invalid merchant",
        "05" => "do not honor",
        "12" => "invalid transaction",
        "13" => "invalid amount",
        "14" => "invalid card number",
        "25" => "original not found",
        "30" => "format error",
        "41" => "lost card",
        "43" => "stolen card",
        "51" => "insufficient funds",
        "54" => "expired card",
        "55" => "incorrect PIN",
        "57" => "not permitted to cardholder",
        "58" => "not permitted to terminal",
        "59" => "suspected fraud",
        "61" => "exceeds amount limit",
        "63" => "security violation",
        "65" => "exceeds frequency limit",
        "75" => "PIN tries exceeded",
        "91" => "issuer or switch inoperative",
        "94" => "duplicate transmission",
        "95" => "reconciliation error",
        "96" => "system malfunction",
        _ => "unknown response code",
    }
}

/// Parses DE 63 (`PROG=..;DISC=..;PAID=..;PTS=..;BAL=..`); `None` without a
/// program code or with a value that is not a number.
#[must_use]
pub fn parse_benefits(de63: &str) -> Option<ReceiptBenefits> {
    let mut benefits = ReceiptBenefits {
        program: String::new(),
        discount_minor: 0,
        paid_minor: 0,
        points: 0,
        balance: 0,
    };
    for pair in de63.split(';').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=')?;
        match key {
            "PROG" => value.clone_into(&mut benefits.program),
            "DISC" => benefits.discount_minor = value.parse().ok()?,
            "PAID" => benefits.paid_minor = value.parse().ok()?,
            "PTS" => benefits.points = value.parse().ok()?,
            "BAL" => benefits.balance = value.parse().ok()?,
            // Keys added in later versions of the spec are skipped.
            _ => {}
        }
    }
    (!benefits.program.is_empty()).then_some(benefits)
}

/// Length of one DE 54 amount: account type (2) + amount type (2) +
/// currency (3) + sign (1) + amount (12).
const ADDITIONAL_AMOUNT_LEN: usize = 20;

/// The available balance (amount type `02`) of DE 54, signed minor units.
#[must_use]
pub fn parse_available_balance(de54: &str) -> Option<i64> {
    let bytes = de54.as_bytes();
    bytes
        .chunks_exact(ADDITIONAL_AMOUNT_LEN)
        .find(|chunk| chunk.get(2..4) == Some(b"02".as_slice()))
        .and_then(|chunk| {
            let text = std::str::from_utf8(chunk).ok()?;
            let magnitude: i64 = text.get(8..)?.parse().ok()?;
            match text.get(7..8)? {
                "C" => Some(magnitude),
                "D" => Some(-magnitude),
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_benefits() {
        let parsed =
            parse_benefits("PROG=DBCOFFEE;DISC=000000000380;PAID=000000003420;PTS=68;BAL=568");
        assert_eq!(
            parsed,
            Some(ReceiptBenefits {
                program: "DBCOFFEE".into(),
                discount_minor: 380,
                paid_minor: 3_420,
                points: 68,
                balance: 568,
            })
        );
        assert_eq!(parse_benefits("DISC=1"), None);
        assert_eq!(parse_benefits("PROG=X;DISC=abc"), None);
    }

    #[test]
    fn reads_the_available_balance() {
        assert_eq!(
            parse_available_balance("1002156C000001000000"),
            Some(1_000_000)
        );
        assert_eq!(
            parse_available_balance("1001156C0000000000013002156D000000000500"),
            Some(-500)
        );
        assert_eq!(parse_available_balance("1001156C000001000000"), None);
        assert_eq!(parse_available_balance("10021"), None);
    }

    #[test]
    fn every_code_of_the_spec_has_a_reason() {
        let codes = "00 03 05 12 13 14 25 30 41 43 51 54 55 57 58 59 61 63 65 75 91 94 95 96";
        for code in codes.split(' ') {
            assert_ne!(reason(code), "unknown response code", "{code}");
        }
        assert_eq!(reason("51"), "insufficient funds");
        assert_eq!(reason("XY"), "unknown response code");
    }
}
