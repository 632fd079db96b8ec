//! The message type indicator.

use std::fmt;

/// A message type indicator: four ASCII decimal digits (`0200`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

impl Mti {
    /// `0000`, a stand-in before an MTI is read.
    pub(crate) const PLACEHOLDER: Mti = Mti(*b"0000");

    /// An MTI from four ASCII digits; `None` if any is not a digit.
    #[must_use]
    pub const fn new(digits: [u8; 4]) -> Option<Mti> {
        let mut index = 0;
        while index < 4 {
            if !digits[index].is_ascii_digit() {
                return None;
            }
            index += 1;
        }
        Some(Mti(digits))
    }

    /// Parses `"0200"`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Mti> {
        let digits: [u8; 4] = text.as_bytes().try_into().ok()?;
        Mti::new(digits)
    }

    /// The four ASCII digits.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The MTI as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The digits were checked in `new`: always ASCII.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// Whether the function digit (third) says request or advice (even).
    #[must_use]
    pub const fn is_request(&self) -> bool {
        (self.0[2] - b'0') % 2 == 0
    }

    /// The response MTI of a request (`0200` → `0210`, `0420` → `0430`);
    /// a response is returned unchanged.
    #[must_use]
    pub const fn response(&self) -> Mti {
        let mut digits = self.0;
        if self.is_request() {
            digits[2] += 1;
        }
        Mti(digits)
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mti({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let check = |request: &str, expected: &str| {
            let mti = Mti::parse(request).expect("valid MTI");
            assert_eq!(mti.response().as_str(), expected);
        };
        check("0200", "0210");
        check("0420", "0430");
        check("0800", "0810");
        check("0810", "0810");
        assert!(Mti::parse("02A0").is_none());
        assert!(Mti::parse("020").is_none());
    }
}
