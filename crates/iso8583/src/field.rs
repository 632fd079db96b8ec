//! Field values as they sit in a message, and digit (BCD/ASCII) helpers.

use crate::dialect::DigitEncoding;

/// The value of one data element, borrowed from a message.
///
/// `n` and `z` values are packed BCD in dialects with BCD numerics; every
/// other value is the bytes as sent. [`FieldValue::chars`] gives the
/// characters in either case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldValue<'a> {
    bytes: &'a [u8],
    len: usize,
    encoding: DigitEncoding,
}

impl<'a> FieldValue<'a> {
    pub(crate) const fn new(bytes: &'a [u8], len: usize, encoding: DigitEncoding) -> Self {
        FieldValue {
            bytes,
            len,
            encoding,
        }
    }

    /// The value bytes as on the wire (without the length prefix).
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The length in characters (digits for `n`/`z`, bytes otherwise).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the value is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How the value is written on the wire.
    #[must_use]
    pub const fn encoding(&self) -> DigitEncoding {
        self.encoding
    }

    /// The value as text when it is stored as characters (ASCII dialect, or
    /// a non-numeric field). `None` for packed BCD and for binary values that
    /// are not UTF-8.
    #[must_use]
    pub fn as_text(&self) -> Option<&'a str> {
        match self.encoding {
            DigitEncoding::Ascii => std::str::from_utf8(self.bytes).ok(),
            DigitEncoding::Bcd => None,
        }
    }

    /// The characters of the value: the bytes themselves, or the unpacked
    /// BCD digits (`0`-`9`, `D` for the track 2 separator).
    pub fn chars(&self) -> impl Iterator<Item = u8> + 'a {
        let (bytes, skip, take) = match self.encoding {
            DigitEncoding::Ascii => (self.bytes, 0, 0),
            DigitEncoding::Bcd => (self.bytes, self.len % 2, self.len),
        };
        let packed = self.encoding == DigitEncoding::Bcd;
        let ascii = bytes.iter().copied().filter(move |_| !packed);
        let bcd = bytes
            .iter()
            .filter(move |_| packed)
            .flat_map(|b| [b >> 4, b & 0x0F])
            .skip(skip)
            .take(take)
            .map(nibble_to_char);
        ascii.chain(bcd)
    }

    /// The value as an unsigned number when it is 1 to 19 decimal digits.
    #[must_use]
    pub fn to_u64(&self) -> Option<u64> {
        if self.len == 0 || self.len > 19 {
            return None;
        }
        match self.encoding {
            DigitEncoding::Ascii => ascii_to_u64(self.bytes),
            DigitEncoding::Bcd => {
                let mut value: u64 = 0;
                for char in self.chars() {
                    if !char.is_ascii_digit() {
                        return None;
                    }
                    value = value.checked_mul(10)?.checked_add(u64::from(char - b'0'))?;
                }
                Some(value)
            }
        }
    }
}

/// Parses ASCII digits (at most 19) into a number.
pub(crate) fn ascii_to_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(byte - b'0');
    }
    Some(value)
}

/// The character of a BCD nibble (`D` stands for the track separator).
pub(crate) const fn nibble_to_char(nibble: u8) -> u8 {
    match nibble {
        0..=9 => b'0' + nibble,
        _ => b'A' + (nibble - 10),
    }
}

/// The nibble of a character that BCD can hold (`=` packs as `D`).
pub(crate) const fn char_to_nibble(char: u8) -> u8 {
    match char {
        b'0'..=b'9' => char - b'0',
        b'=' | b'D' => 0x0D,
        _ => 0x0F,
    }
}

/// Writes `value` as exactly `out.len()` ASCII digits, zero-filled.
/// Returns `false` when it does not fit.
pub(crate) fn write_ascii_digits(mut value: u64, out: &mut [u8]) -> bool {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    value == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_chars_skip_the_pad_nibble() {
        let value = FieldValue::new(&[0x01, 0x23], 3, DigitEncoding::Bcd);
        assert_eq!(value.chars().collect::<Vec<_>>(), b"123");
        assert_eq!(value.to_u64(), Some(123));
        let track = FieldValue::new(&[0x12, 0xD3], 4, DigitEncoding::Bcd);
        assert_eq!(track.chars().collect::<Vec<_>>(), b"12D3");
        assert_eq!(track.to_u64(), None);
    }

    #[test]
    fn ascii_digits() {
        let mut out = [0u8; 6];
        assert!(write_ascii_digits(42, &mut out));
        assert_eq!(&out, b"000042");
        assert!(!write_ascii_digits(1_000_000, &mut out));
        assert_eq!(ascii_to_u64(b"000042"), Some(42));
        assert_eq!(ascii_to_u64(b"0A"), None);
    }
}
