//! Money: whole minor units with an explicit currency. No floating point.

use std::fmt;

/// An ISO 4217 currency: numeric code, alphabetic code and minor-unit exponent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    numeric: u16,
    alpha: &'static str,
    exponent: u8,
}

impl Currency {
    /// Chinese yuan renminbi (156), minor unit fen.
    pub const CNY: Currency = Currency {
        numeric: 156,
        alpha: "CNY",
        exponent: 2,
    };

    /// Currencies the platform accepts.
    pub const SUPPORTED: [Currency; 1] = [Currency::CNY];

    /// Looks up a supported currency by its ISO 4217 numeric code (DE 49).
    #[must_use]
    pub fn from_numeric(numeric: u16) -> Option<Currency> {
        Self::SUPPORTED.into_iter().find(|c| c.numeric == numeric)
    }

    /// Looks up a supported currency by its alphabetic code.
    #[must_use]
    pub fn from_alpha(alpha: &str) -> Option<Currency> {
        Self::SUPPORTED.into_iter().find(|c| c.alpha == alpha)
    }

    /// ISO 4217 numeric code.
    #[must_use]
    pub fn numeric(self) -> u16 {
        self.numeric
    }

    /// ISO 4217 alphabetic code.
    #[must_use]
    pub fn alpha(self) -> &'static str {
        self.alpha
    }

    /// Number of decimal places of the minor unit.
    #[must_use]
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

/// An amount in whole minor units (fen for CNY). Never negative in a request;
/// balances that can be negative use signed arithmetic explicitly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AmountMinor(pub i64);

impl AmountMinor {
    /// Zero.
    pub const ZERO: AmountMinor = AmountMinor(0);

    /// The largest amount a DE 4 (n12) can carry.
    pub const DE4_MAX: AmountMinor = AmountMinor(999_999_999_999);

    /// Adds, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: AmountMinor) -> Option<AmountMinor> {
        self.0.checked_add(other.0).map(AmountMinor)
    }

    /// Subtracts, or `None` on overflow.
    #[must_use]
    pub fn checked_sub(self, other: AmountMinor) -> Option<AmountMinor> {
        self.0.checked_sub(other.0).map(AmountMinor)
    }

    /// Formats with the currency's exponent, e.g. `12.34` for 1234 fen.
    #[must_use]
    pub fn display(self, currency: Currency) -> String {
        let scale = 10_i64.pow(u32::from(currency.exponent()));
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let scale = scale.unsigned_abs();
        if scale == 1 {
            return format!("{sign}{abs}");
        }
        let width = usize::from(currency.exponent());
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale)
    }
}

impl fmt::Display for AmountMinor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_with_exponent() {
        let check = |minor: i64, expected: &str| {
            assert_eq!(AmountMinor(minor).display(Currency::CNY), expected);
        };
        check(0, "0.00");
        check(5, "0.05");
        check(1234, "12.34");
        check(-1234, "-12.34");
        check(1_000_000, "10000.00");
    }

    #[test]
    fn looks_up_currencies() {
        assert_eq!(Currency::from_numeric(156), Some(Currency::CNY));
        assert_eq!(Currency::from_alpha("CNY"), Some(Currency::CNY));
        assert_eq!(Currency::from_numeric(840), None);
    }
}
