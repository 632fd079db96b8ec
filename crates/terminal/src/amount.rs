//! Amounts typed as decimal text, converted to integer minor units by string
//! parsing (no floating point anywhere near money).

/// Largest amount DE 4 (n12) can carry, minor units.
pub const AMOUNT_MINOR_MAX: u64 = 999_999_999_999;
/// Decimal places of the terminal's currency (CNY: fen).
pub const CURRENCY_DECIMALS: usize = 2;

/// Why an amount was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("amount {text:?}: {problem}")]
pub struct AmountError {
    /// What was typed.
    pub text: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// Parses `38`, `38.5` or `38.00` into minor units (`3800`, `3850`, `3800`).
///
/// # Errors
/// [`AmountError`] for a sign, a non-digit, more than two decimals, or more
/// than DE 4 can carry.
pub fn parse_amount(text: &str) -> Result<u64, AmountError> {
    let refuse = |problem| AmountError {
        text: text.to_owned(),
        problem,
    };
    let trimmed = text.trim();
    let (whole, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    if whole.is_empty() {
        return Err(refuse("needs digits before the decimal point, e.g. 38.00"));
    }
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(refuse("only digits and one decimal point, e.g. 38.00"));
    }
    if fraction.len() > CURRENCY_DECIMALS {
        return Err(refuse("at most two decimals"));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 10 {
        return Err(refuse("too large for DE 4"));
    }
    let mut minor: u64 = 0;
    let padded = format!("{fraction:0<CURRENCY_DECIMALS$}");
    for byte in whole.bytes().chain(padded.bytes()) {
        minor = minor * 10 + u64::from(byte - b'0');
    }
    if minor > AMOUNT_MINOR_MAX {
        return Err(refuse("too large for DE 4"));
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_text() {
        for (text, minor) in [
            ("38.00", 3_800),
            ("38", 3_800),
            ("38.5", 3_850),
            ("0.01", 1),
            ("0", 0),
            (" 12.34 ", 1_234),
            ("0038.00", 3_800),
            ("9999999999.99", AMOUNT_MINOR_MAX),
        ] {
            assert_eq!(parse_amount(text), Ok(minor), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        for text in [
            "",
            ".5",
            "-1",
            "+1",
            "1.234",
            "1,00",
            "1.2.3",
            "abc",
            "1e3",
            "10000000000.00",
        ] {
            assert!(parse_amount(text).is_err(), "{text}");
        }
    }
}
