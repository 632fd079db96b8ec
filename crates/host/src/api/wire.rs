//! Shared wire types and helpers: money, codes, hex, RFC 3339 times.

use domain::money::{AmountMinor, Currency};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::FieldError;

/// Money on the wire: `{"amount_minor": 2500, "currency": "CNY"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Whole minor units.
    pub amount_minor: i64,
    /// ISO 4217 alphabetic code.
    pub currency: String,
}

impl Money {
    /// Money in the platform currency.
    pub fn cny(amount: AmountMinor) -> Self {
        Self {
            amount_minor: amount.0,
            currency: Currency::CNY.alpha().to_owned(),
        }
    }

    /// A non-negative amount in a supported currency, or field errors.
    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) -> AmountMinor {
        if Currency::from_alpha(&self.currency).is_none() {
            errors.push(FieldError::new(
                format!("{field}.currency"),
                "unsupported currency (supported: CNY)",
            ));
        }
        if self.amount_minor < 0 {
            errors.push(FieldError::new(
                format!("{field}.amount_minor"),
                "must not be negative",
            ));
        }
        AmountMinor(self.amount_minor)
    }

    /// JSON schema.
    pub fn schema() -> Value {
        json!({"type": "object", "additionalProperties": false,
            "required": ["amount_minor", "currency"],
            "properties": {"amount_minor": {"type": "integer", "format": "int64", "minimum": 0},
                "currency": {"type": "string", "enum": ["CNY"]}}})
    }
}

/// Longest resource code.
pub const CODE_LEN_MAX: usize = 32;

/// Checks a resource code: 1 to 32 of `A-Z 0-9 _ -`.
pub fn validate_code(field: &str, code: &str, errors: &mut Vec<FieldError>) {
    let ok = !code.is_empty()
        && code.len() <= CODE_LEN_MAX
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        errors.push(FieldError::new(
            field,
            format!("1 to {CODE_LEN_MAX} characters of A-Z, 0-9, _ and -"),
        ));
    }
}

/// Checks free text: 1 to `len_max` characters, no control characters
/// (PostgreSQL refuses NUL in text; the others have no business here).
pub fn validate_text(field: &str, text: &str, len_max: usize, errors: &mut Vec<FieldError>) {
    let length = text.chars().count();
    if text.trim().is_empty() || length > len_max {
        errors.push(FieldError::new(field, format!("1 to {len_max} characters")));
    } else if text.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "no control characters"));
    }
}

/// Whether `code` could be a resource code (else no such resource).
pub fn is_code(code: &str) -> bool {
    let mut errors = Vec::new();
    validate_code("code", code, &mut errors);
    errors.is_empty()
}

/// JSON schema of a code.
pub fn code_schema() -> Value {
    json!({"type": "string", "pattern": "^[A-Z0-9_-]{1,32}$"})
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lowercase or uppercase hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// RFC 3339 UTC with nanoseconds trimmed to milliseconds.
pub fn rfc3339(time_ns: u64) -> String {
    let seconds = time_ns / 1_000_000_000;
    let millis = (time_ns % 1_000_000_000) / 1_000_000;
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's days → (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_answers() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::rfc3339(1_700_000_000_123_000_000),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
