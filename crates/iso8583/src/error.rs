//! The one error type of the codec.

use std::fmt;

use crate::dialect::{Content, LengthKind};

/// Which part of a message an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The 2-byte frame length header.
    FrameHeader,
    /// Transport header (TPDU and message header) before the MTI.
    Header,
    /// The message type indicator.
    Mti,
    /// The primary bitmap.
    PrimaryBitmap,
    /// The secondary bitmap (DE 1).
    SecondaryBitmap,
    /// The length prefix of a data element.
    LengthPrefix(u8),
    /// The value of a data element.
    Field(u8),
    /// A BER-TLV tag.
    TlvTag,
    /// A BER-TLV length.
    TlvLength,
    /// A BER-TLV value.
    TlvValue,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::FrameHeader => f.write_str("frame length header"),
            Part::Header => f.write_str("message header"),
            Part::Mti => f.write_str("MTI"),
            Part::PrimaryBitmap => f.write_str("primary bitmap"),
            Part::SecondaryBitmap => f.write_str("secondary bitmap"),
            Part::LengthPrefix(field) => write!(f, "DE {field} length prefix"),
            Part::Field(field) => write!(f, "DE {field}"),
            Part::TlvTag => f.write_str("TLV tag"),
            Part::TlvLength => f.write_str("TLV length"),
            Part::TlvValue => f.write_str("TLV value"),
        }
    }
}

/// Everything that can go wrong decoding or encoding. Offsets count bytes
/// from the start of the message (the first header byte, or the MTI when
/// the dialect has no header; the frame length header is not counted), or
/// from the start of the TLV data for TLV errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A frame announces more bytes than the 4096-byte limit.
    #[error("frame length {length_bytes} exceeds the maximum of {max_bytes} bytes")]
    FrameTooLong {
        /// The announced length.
        length_bytes: usize,
        /// The limit.
        max_bytes: usize,
    },
    /// The input ends inside a part of the message.
    #[error("{part} at byte {offset}: needs {needed_bytes} bytes, only {available_bytes} left")]
    Truncated {
        /// What was being read.
        part: Part,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed_bytes: usize,
        /// Bytes that were left.
        available_bytes: usize,
    },
    /// The MTI is not four decimal digits.
    #[error("MTI at byte {offset}: expected 4 decimal digits")]
    InvalidMti {
        /// Where the MTI starts.
        offset: usize,
    },
    /// The bitmap names a field the dialect does not define (or DE 1 set
    /// without any of DE 65-128).
    #[error("DE {field} at byte {offset}: not allowed in dialect {dialect}")]
    FieldNotAllowed {
        /// Field number.
        field: u8,
        /// Where the bitmap (or value) is.
        offset: usize,
        /// Dialect name.
        dialect: &'static str,
    },
    /// A length prefix is not decimal digits.
    #[error("DE {field} at byte {offset}: length prefix is not {digits} decimal digits")]
    InvalidLengthPrefix {
        /// Field number.
        field: u8,
        /// Where the prefix starts.
        offset: usize,
        /// Digits the prefix should have.
        digits: usize,
    },
    /// A field is longer than its definition allows, or not of its fixed length.
    #[error("DE {field} at byte {offset}: length {length} does not fit format {content}{}{len_max}",
        if matches!(.length_kind, LengthKind::Fixed) { "" } else { ".." })]
    InvalidLength {
        /// Field number.
        field: u8,
        /// Where the field (or its prefix) starts; 0 when encoding.
        offset: usize,
        /// The length found.
        length: usize,
        /// Character set of the field.
        content: Content,
        /// Fixed or variable.
        length_kind: LengthKind,
        /// Fixed or maximum length.
        len_max: u16,
    },
    /// A byte outside the field's character set.
    #[error("DE {field} at byte {offset}: byte 0x{found:02X} is not valid in format {content}")]
    InvalidCharacter {
        /// Field number.
        field: u8,
        /// Where the bad byte is (character index when encoding).
        offset: usize,
        /// Character set of the field.
        content: Content,
        /// The bad byte (for BCD, the byte holding the bad nibble).
        found: u8,
    },
    /// Bytes after the last field the bitmap announces.
    #[error("{count} unexpected bytes after the last field, at byte {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
    /// Field number outside 2..=128 given to a builder.
    #[error("field number {field} is not a data element (2..=128)")]
    InvalidFieldNumber {
        /// The number given.
        field: usize,
    },
    /// The encoded message would not fit the output buffer or the frame limit.
    #[error("encoded message needs more than {capacity_bytes} bytes")]
    BufferTooSmall {
        /// The space there was.
        capacity_bytes: usize,
    },
    /// A message header of the wrong size was given.
    #[error("message header must be {expected_bytes} bytes, got {actual_bytes}")]
    InvalidHeader {
        /// What the dialect needs.
        expected_bytes: usize,
        /// What was given.
        actual_bytes: usize,
    },
    /// Malformed BER-TLV data.
    #[error("{part} at byte {offset}: {problem}")]
    InvalidTlv {
        /// Tag, length or value.
        part: Part,
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        problem: &'static str,
    },
}
