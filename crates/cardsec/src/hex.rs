//! Hexadecimal in and out: uppercase out, either case in.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

const DIGITS: &[u8; 16] = b"0123456789ABCDEF";

/// Uppercase hexadecimal of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    out
}

/// Value of one hex digit.
pub(crate) fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes hexadecimal (either case); the buffer is wiped on drop because it
/// may hold a key.
///
/// # Errors
/// [`Error::NotHex`] for a non-hex character, [`Error::Length`] for an odd
/// number of digits. `what` names the input in the message.
pub fn decode(text: &str, what: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    let digits = text.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(Error::Length {
            what,
            expected: "an even number of hex digits",
            actual: digits.len(),
        });
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let (Some(high), Some(low)) = (nibble(pair[0]), nibble(pair[1])) else {
            return Err(Error::NotHex(what));
        };
        out.push((high << 4) | low);
    }
    Ok(out)
}

/// Decodes exactly `N` bytes of hexadecimal.
///
/// # Errors
/// As [`decode`], and [`Error::Length`] for any other length.
pub fn decode_array<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N]> {
    let bytes = decode(text, what)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| Error::Length {
        what,
        expected: fixed_len_words(N),
        actual: bytes.len(),
    })
}

fn fixed_len_words(n: usize) -> &'static str {
    match n {
        2 => "2 bytes (4 hex digits)",
        4 => "4 bytes (8 hex digits)",
        5 => "5 bytes (10 hex digits)",
        8 => "8 bytes (16 hex digits)",
        10 => "10 bytes (20 hex digits)",
        12 => "12 bytes (24 hex digits)",
        16 => "16 bytes (32 hex digits)",
        _ => "a fixed number of bytes",
    }
}
