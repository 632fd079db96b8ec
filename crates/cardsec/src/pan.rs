//! Primary account numbers: Luhn, masking, and a [`Pan`] type that never
//! prints the clear number.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Shortest PAN accepted (ISO/IEC 7812 allows 8 since 2017).
pub const PAN_DIGITS_MIN: usize = 8;
/// Longest PAN (ISO/IEC 7812).
pub const PAN_DIGITS_MAX: usize = 19;

/// Whether `digits` (decimal only) passes the Luhn mod-10 check. Non-digits
/// or an empty string fail.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    luhn_sum(digits.as_bytes(), false) % 10 == 0
}

/// The Luhn check digit to append to `digits`.
///
/// # Errors
/// [`Error::NotDigits`] for anything but decimal digits, [`Error::Length`]
/// for an empty string.
pub fn luhn_check_digit(digits: &str) -> Result<u8> {
    if digits.is_empty() {
        return Err(Error::Length {
            what: "number",
            expected: "at least 1 digit",
            actual: 0,
        });
    }
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::NotDigits("number"));
    }
    let sum = luhn_sum(digits.as_bytes(), true);
    Ok(u8::try_from((10 - sum % 10) % 10).unwrap_or(0))
}

/// Luhn sum; `double_last` is true when a check digit is still to come.
fn luhn_sum(digits: &[u8], double_last: bool) -> u32 {
    let mut sum = 0u32;
    for (i, c) in digits.iter().rev().enumerate() {
        let d = u32::from(c - b'0');
        let doubled = (i % 2 == 0) == double_last;
        sum += if doubled {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
    }
    sum
}

/// Masks a PAN for display: first 6 and last 4 digits kept for 13 digits and
/// more, only the last 4 for shorter numbers; the rest becomes `*`.
pub fn mask_pan(digits: &str) -> String {
    let len = digits.chars().count();
    let head = if len >= 13 { 6 } else { 0 };
    let tail = len.min(4);
    digits
        .chars()
        .enumerate()
        .map(|(i, c)| if i < head || i >= len - tail { c } else { '*' })
        .collect()
}

/// A PAN: 8 to 19 decimal digits. `Debug` and `Display` show it masked;
/// [`Pan::expose_digits`] gives the clear number. Wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Pan(String);

impl Pan {
    /// Parses a PAN; the Luhn check is separate ([`Pan::is_luhn_valid`])
    /// because test and private-label cards do not always pass it.
    ///
    /// # Errors
    /// [`Error::NotDigits`] or [`Error::Length`].
    pub fn new(digits: &str) -> Result<Self> {
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::NotDigits("PAN"));
        }
        if !(PAN_DIGITS_MIN..=PAN_DIGITS_MAX).contains(&digits.len()) {
            return Err(Error::Length {
                what: "PAN",
                expected: "8 to 19 digits",
                actual: digits.len(),
            });
        }
        Ok(Self(digits.to_owned()))
    }

    /// Parses a PAN that must pass the Luhn check.
    ///
    /// # Errors
    /// As [`Pan::new`], and [`Error::Invalid`] when the check digit is wrong.
    pub fn new_luhn(digits: &str) -> Result<Self> {
        let pan = Self::new(digits)?;
        if pan.is_luhn_valid() {
            Ok(pan)
        } else {
            Err(Error::Invalid("PAN fails the Luhn check"))
        }
    }

    /// The clear digits.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    /// First 6 and last 4 digits, the rest masked.
    pub fn masked(&self) -> String {
        mask_pan(&self.0)
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a PAN has at least 8 digits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the check digit is right.
    pub fn is_luhn_valid(&self) -> bool {
        luhn_valid(&self.0)
    }

    /// The 12 rightmost digits excluding the check digit, left-padded with
    /// zeros: the PAN part of PIN block formats 0 and 3 and of PVV.
    pub(crate) fn rightmost12_excluding_check(&self) -> [u8; 12] {
        let digits = self.0.as_bytes();
        let body = &digits[..digits.len() - 1];
        let start = body.len().saturating_sub(12);
        let take = &body[start..];
        let mut out = [0u8; 12];
        let offset = 12 - take.len();
        for (o, c) in out[offset..].iter_mut().zip(take) {
            *o = c - b'0';
        }
        out
    }

    /// Digit values.
    pub(crate) fn digit_values(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().map(|c| c - b'0')
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Drop for Pan {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Pan {}

impl core::str::FromStr for Pan {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}
