//! Framing: the 2-byte big-endian length header of spec section 1.

use crate::error::{Error, Part};
use crate::message::MESSAGE_LEN_MAX;

/// Bytes of the length header.
pub const FRAME_HEADER_LEN: usize = 2;

/// One complete frame found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The message bytes (after the length header).
    pub body: &'a [u8],
    /// Bytes of the buffer the frame used (header + body): drop them before
    /// looking for the next frame.
    pub consumed: usize,
}

/// Looks for one frame at the start of `buffer`, streaming style: `Ok(None)`
/// means "need more bytes" (fewer than 2 header bytes, or the body is not all
/// there yet); nothing is copied.
///
/// # Errors
///
/// [`Error::FrameTooLong`] when the header announces more than
/// [`MESSAGE_LEN_MAX`] bytes: the connection cannot be resynchronised.
pub fn decode_frame(buffer: &[u8]) -> Result<Option<Frame<'_>>, Error> {
    let Some(&[high, low]) = buffer.get(..FRAME_HEADER_LEN) else {
        return Ok(None);
    };
    let length = usize::from(u16::from_be_bytes([high, low]));
    if length > MESSAGE_LEN_MAX {
        return Err(Error::FrameTooLong {
            length_bytes: length,
            max_bytes: MESSAGE_LEN_MAX,
        });
    }
    let consumed = FRAME_HEADER_LEN + length;
    Ok(buffer
        .get(FRAME_HEADER_LEN..consumed)
        .map(|body| Frame { body, consumed }))
}

/// Strips the length header from a buffer that holds exactly one frame.
///
/// # Errors
///
/// [`Error::FrameTooLong`]; [`Error::Truncated`] when the body is shorter
/// than announced; [`Error::TrailingBytes`] when bytes follow it.
pub fn unframe(buffer: &[u8]) -> Result<&[u8], Error> {
    let Some(frame) = decode_frame(buffer)? else {
        let announced = match buffer {
            [high, low, ..] => usize::from(u16::from_be_bytes([*high, *low])),
            _ => FRAME_HEADER_LEN,
        };
        let (part, needed) = if buffer.len() < FRAME_HEADER_LEN {
            (Part::FrameHeader, FRAME_HEADER_LEN)
        } else {
            (Part::Header, announced)
        };
        return Err(Error::Truncated {
            part,
            offset: buffer.len().min(FRAME_HEADER_LEN),
            needed_bytes: needed,
            available_bytes: buffer.len().saturating_sub(FRAME_HEADER_LEN),
        });
    };
    if frame.consumed != buffer.len() {
        return Err(Error::TrailingBytes {
            offset: frame.consumed,
            count: buffer.len() - frame.consumed,
        });
    }
    Ok(frame.body)
}

/// Writes the length header for a body of `body_len` bytes.
///
/// # Errors
///
/// [`Error::FrameTooLong`] above [`MESSAGE_LEN_MAX`].
pub fn frame_header(body_len: usize) -> Result<[u8; FRAME_HEADER_LEN], Error> {
    match u16::try_from(body_len) {
        Ok(length) if body_len <= MESSAGE_LEN_MAX => Ok(length.to_be_bytes()),
        _ => Err(Error::FrameTooLong {
            length_bytes: body_len,
            max_bytes: MESSAGE_LEN_MAX,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8], expected: Result<Option<(&[u8], usize)>, Error>) {
        let actual = decode_frame(input).map(|f| f.map(|f| (f.body, f.consumed)));
        assert_eq!(actual, expected, "input {input:02X?}");
    }

    #[test]
    fn streaming() {
        check(b"", Ok(None));
        check(b"\x00", Ok(None));
        check(b"\x00\x03ab", Ok(None));
        check(b"\x00\x03abc", Ok(Some((b"abc", 5))));
        check(b"\x00\x03abcd", Ok(Some((b"abc", 5))));
        check(b"\x00\x00", Ok(Some((b"", 2))));
        check(b"\x10\x00", Ok(None));
        check(
            b"\x10\x01",
            Err(Error::FrameTooLong {
                length_bytes: 4097,
                max_bytes: 4096,
            }),
        );
    }

    #[test]
    fn whole_frames() {
        assert_eq!(unframe(b"\x00\x02ab"), Ok(&b"ab"[..]));
        assert!(matches!(
            unframe(b"\x00\x02a"),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(
            unframe(b"\x00\x02abc"),
            Err(Error::TrailingBytes { .. })
        ));
        assert_eq!(frame_header(280), Ok([0x01, 0x18]));
        assert!(frame_header(4097).is_err());
    }
}
