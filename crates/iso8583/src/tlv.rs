//! EMV BER-TLV, the content of DE 55 (spec section 8).
//!
//! Tags of 1 to 4 bytes (multi-byte when the low 5 bits of the first byte
//! are all set), definite lengths in short form or long form (`81`..`84`),
//! constructed tags (bit 6 of the first byte) whose value is more TLV.
//! Padding bytes between objects are not accepted.

use std::fmt;

use crate::error::{Error, Part};

/// Longest tag, in bytes.
pub const TAG_LEN_MAX: usize = 4;
/// Deepest nesting of constructed tags [`validate`] follows.
pub const TLV_DEPTH_MAX: usize = 8;

/// A BER tag, kept as its bytes (`9F26` is `[0x9F, 0x26]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    bytes: [u8; TAG_LEN_MAX],
    len: u8,
}

impl Tag {
    /// A tag from its bytes; `None` unless they form exactly one BER tag.
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Tag> {
        let (tag, used) = parse_tag(bytes).ok()?;
        (used == bytes.len()).then_some(tag)
    }

    /// A tag from its number written as hex bytes (`0x9F26`).
    #[must_use]
    pub fn from_u32(value: u32) -> Option<Tag> {
        let bytes = value.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
        Tag::from_bytes(bytes.get(skip..)?)
    }

    /// The tag bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Whether the value holds more TLV objects.
    #[must_use]
    pub fn is_constructed(&self) -> bool {
        self.bytes[0] & 0x20 != 0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes()
            .iter()
            .try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// One TLV object borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
    /// Offset of the tag from the start of the data iterated.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// The objects inside a constructed tag (empty for a primitive one).
    #[must_use]
    pub fn children(&self) -> TlvIter<'a> {
        let value = if self.tag.is_constructed() {
            self.value
        } else {
            &[]
        };
        TlvIter::new(value)
    }
}

/// Iterates over the TLV objects of one level; stops after the first error.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    data: &'a [u8],
    position: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over `data`.
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        TlvIter {
            data,
            position: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.position >= self.data.len() {
            return None;
        }
        let result = parse_one(self.data, self.position);
        match result {
            Ok((tlv, next)) => {
                self.position = next;
                Some(Ok(tlv))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Checks that `data` is well-formed TLV, constructed values included (to
/// [`TLV_DEPTH_MAX`] levels).
///
/// # Errors
///
/// [`Error::InvalidTlv`] with the offset of the first problem.
pub fn validate(data: &[u8]) -> Result<(), Error> {
    validate_at(data, 0, 0)
}

fn validate_at(data: &[u8], base: usize, depth: usize) -> Result<(), Error> {
    for tlv in TlvIter::new(data) {
        let tlv = tlv.map_err(|error| shift(error, base))?;
        if !tlv.tag.is_constructed() {
            continue;
        }
        // Where the value starts inside `data` (the length may be non-minimal).
        let value_offset = base + (tlv.value.as_ptr() as usize - data.as_ptr() as usize);
        if depth + 1 >= TLV_DEPTH_MAX {
            return Err(Error::InvalidTlv {
                part: Part::TlvValue,
                offset: value_offset,
                problem: "constructed tags nested too deep",
            });
        }
        validate_at(tlv.value, value_offset, depth + 1)?;
    }
    Ok(())
}

fn shift(error: Error, base: usize) -> Error {
    match error {
        Error::InvalidTlv {
            part,
            offset,
            problem,
        } => Error::InvalidTlv {
            part,
            offset: offset + base,
            problem,
        },
        other => other,
    }
}

fn tlv_error(part: Part, offset: usize, problem: &'static str) -> Error {
    Error::InvalidTlv {
        part,
        offset,
        problem,
    }
}

fn parse_tag(bytes: &[u8]) -> Result<(Tag, usize), &'static str> {
    let Some(&first) = bytes.first() else {
        return Err("missing tag");
    };
    let mut tag = Tag {
        bytes: [first, 0, 0, 0],
        len: 1,
    };
    if first & 0x1F != 0x1F {
        return Ok((tag, 1));
    }
    for index in 1..TAG_LEN_MAX {
        let Some(&byte) = bytes.get(index) else {
            return Err("tag truncated");
        };
        tag.bytes[index] = byte;
        tag.len += 1;
        if byte & 0x80 == 0 {
            return Ok((tag, index + 1));
        }
    }
    Err("tag longer than 4 bytes")
}

fn parse_one(data: &[u8], start: usize) -> Result<(Tlv<'_>, usize), Error> {
    let rest = data.get(start..).unwrap_or_default();
    let (tag, tag_len) = parse_tag(rest).map_err(|p| tlv_error(Part::TlvTag, start, p))?;
    let length_at = start + tag_len;
    let rest = data.get(length_at..).unwrap_or_default();
    let (length, length_len) =
        parse_length(rest).map_err(|p| tlv_error(Part::TlvLength, length_at, p))?;
    let value_at = length_at + length_len;
    let Some(value) = data.get(value_at..value_at.saturating_add(length)) else {
        return Err(tlv_error(
            Part::TlvValue,
            value_at,
            "value runs past the end",
        ));
    };
    let tlv = Tlv {
        tag,
        value,
        offset: start,
    };
    Ok((tlv, value_at + length))
}

fn parse_length(bytes: &[u8]) -> Result<(usize, usize), &'static str> {
    let Some(&first) = bytes.first() else {
        return Err("missing length");
    };
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let count = usize::from(first & 0x7F);
    if count == 0 {
        return Err("indefinite length not allowed");
    }
    if count > 4 {
        return Err("length of more than 4 bytes");
    }
    let Some(digits) = bytes.get(1..=count) else {
        return Err("length truncated");
    };
    let length = digits
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((length, 1 + count))
}

/// Bytes of the minimal length encoding for `length`.
const fn length_len(length: usize) -> usize {
    match length {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

/// Writes TLV objects into a caller's buffer (minimal length encoding).
#[derive(Debug)]
pub struct TlvWriter<'b> {
    buffer: &'b mut [u8],
    position: usize,
}

impl<'b> TlvWriter<'b> {
    /// Writes into `buffer` from its start.
    #[must_use]
    pub fn new(buffer: &'b mut [u8]) -> Self {
        TlvWriter {
            buffer,
            position: 0,
        }
    }

    /// Bytes written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.position
    }

    /// Whether nothing was written.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.position == 0
    }

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.get(..self.position).unwrap_or_default()
    }

    /// Writes one object.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`].
    pub fn put(&mut self, tag: Tag, value: &[u8]) -> Result<&mut Self, Error> {
        let mut header = [0u8; TAG_LEN_MAX + 5];
        let tag_bytes = tag.as_bytes();
        let mut used = tag_bytes.len();
        header[..used].copy_from_slice(tag_bytes);
        used += write_length(value.len(), &mut header[used..]);
        self.append(&header[..used])?;
        self.append(value)?;
        Ok(self)
    }

    /// Writes a constructed object whose children `build` writes.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`], or what `build` returns.
    pub fn put_constructed(
        &mut self,
        tag: Tag,
        build: impl FnOnce(&mut TlvWriter<'_>) -> Result<(), Error>,
    ) -> Result<&mut Self, Error> {
        let start = self.position;
        // Leave room for the tag and the longest length, then shift down.
        let reserve = tag.as_bytes().len() + 5;
        let capacity = self.buffer.len();
        let Some(inner) = self.buffer.get_mut(start + reserve..) else {
            return Err(Error::BufferTooSmall {
                capacity_bytes: capacity,
            });
        };
        let mut child = TlvWriter::new(inner);
        build(&mut child)?;
        let children_len = child.len();
        let mut header = [0u8; TAG_LEN_MAX + 5];
        let tag_bytes = tag.as_bytes();
        let mut used = tag_bytes.len();
        header[..used].copy_from_slice(tag_bytes);
        used += write_length(children_len, &mut header[used..]);
        let from = start + reserve;
        self.buffer
            .copy_within(from..from + children_len, start + used);
        self.buffer[start..start + used].copy_from_slice(&header[..used]);
        self.position = start + used + children_len;
        Ok(self)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.position + bytes.len();
        let capacity = self.buffer.len();
        let Some(slot) = self.buffer.get_mut(self.position..end) else {
            return Err(Error::BufferTooSmall {
                capacity_bytes: capacity,
            });
        };
        slot.copy_from_slice(bytes);
        self.position = end;
        Ok(())
    }
}

/// Writes a minimal BER length into `out` (at least 5 bytes); returns its size.
fn write_length(length: usize, out: &mut [u8]) -> usize {
    let size = length_len(length);
    if size == 1 {
        out[0] = length as u8;
        return 1;
    }
    let count = size - 1;
    out[0] = 0x80 | count as u8;
    let bytes = (length as u64).to_be_bytes();
    out[1..size].copy_from_slice(&bytes[8 - count..]);
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(value: u32) -> Tag {
        Tag::from_u32(value).expect("valid tag")
    }

    fn check(input: &[u8], expected: &[(&str, &[u8])]) {
        let actual: Vec<(String, &[u8])> = TlvIter::new(input)
            .map(|tlv| tlv.map(|t| (t.tag.to_string(), t.value)))
            .collect::<Result<_, _>>()
            .expect("valid TLV");
        let expected: Vec<(String, &[u8])> =
            expected.iter().map(|(t, v)| (t.to_string(), *v)).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn known_answers() {
        check(&[0x9F, 0x27, 0x01, 0x80], &[("9F27", &[0x80])]);
        check(
            &[0x95, 0x05, 0, 0, 0, 0, 0, 0x9A, 0x03, 0x26, 0x11, 0x24],
            &[("95", &[0; 5]), ("9A", &[0x26, 0x11, 0x24])],
        );
        let long = [0xAB; 0x90];
        let mut input = vec![0xDF, 0x81, 0x01, 0x81, 0x90];
        input.extend_from_slice(&long);
        check(&input, &[("DF8101", &long)]);
    }

    #[test]
    fn errors_name_the_offset() {
        let check_error = |input: &[u8], part: Part, offset: usize| {
            let error = TlvIter::new(input).find_map(Result::err).expect("an error");
            assert!(
                matches!(error, Error::InvalidTlv { part: p, offset: o, .. } if p == part && o == offset),
                "{error:?}"
            );
        };
        check_error(&[0x9F], Part::TlvTag, 0);
        check_error(&[0x9F, 0x81, 0x81, 0x81, 0x01], Part::TlvTag, 0);
        check_error(&[0x82, 0x80], Part::TlvLength, 1);
        check_error(&[0x82, 0x85, 0, 0, 0, 0, 1], Part::TlvLength, 1);
        check_error(
            &[0x82, 0x02, 0x01, 0x9F, 0x36, 0x03, 0x01],
            Part::TlvValue,
            6,
        );
    }

    #[test]
    fn constructed_round_trip() {
        let mut buffer = [0u8; 400];
        let mut writer = TlvWriter::new(&mut buffer);
        writer
            .put(tag(0x9F26), &[1, 2, 3, 4, 5, 6, 7, 8])
            .expect("fits");
        writer
            .put_constructed(tag(0x70), |inner| {
                inner.put(tag(0x5A), &[0x47, 0x61])?;
                inner.put(tag(0xDF8101), &[0x55; 200])?;
                Ok(())
            })
            .expect("fits");
        let bytes = writer.as_bytes().to_vec();
        assert_eq!(&bytes[..11], &[0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[11..14], &[0x70, 0x81, 4 + 5 + 200]);
        validate(&bytes).expect("valid");
        let outer: Vec<_> = TlvIter::new(&bytes).map(|t| t.expect("valid")).collect();
        assert_eq!(outer.len(), 2);
        let inner: Vec<_> = outer[1].children().map(|t| t.expect("valid")).collect();
        assert_eq!(inner[0].tag, tag(0x5A));
        assert_eq!(inner[1].value, &[0x55; 200]);
    }

    #[test]
    fn tags() {
        assert_eq!(tag(0x9F26).to_string(), "9F26");
        assert!(Tag::from_u32(0x9F).is_none(), "9F needs a second byte");
        assert!(tag(0x70).is_constructed());
        assert!(!tag(0x9F26).is_constructed());
    }
}
