//! Decoding: a [`Message`] that borrows every value from the input bytes.

use crate::dialect::{Content, Dialect, DigitEncoding, FieldDef, LengthKind};
use crate::error::{Error, Part};
use crate::field::{FieldValue, ascii_to_u64};
use crate::mti::Mti;

/// Largest message, in bytes after the frame length header (spec section 1).
pub const MESSAGE_LEN_MAX: usize = 4096;

/// Bytes of one bitmap.
pub(crate) const BITMAP_LEN: usize = 8;

/// The presence bit of `field` (1..=128) in a 128-bit bitmap, DE 1 first.
#[must_use]
pub(crate) const fn bit(field: usize) -> u128 {
    1u128 << (128 - field)
}

/// Bits of DE 65..=128.
pub(crate) const SECONDARY_BITS: u128 = u64::MAX as u128;

/// Where a value sits in the message bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    /// Where the length prefix (if any) starts.
    pub(crate) wire_start: u16,
    pub(crate) start: u16,
    pub(crate) end: u16,
    /// Length in characters (digits for BCD).
    pub(crate) len: u16,
}

/// A decoded message whose values borrow from the input bytes.
///
/// Decoding validates everything: MTI digits, bitmaps, length prefixes,
/// lengths against the field table, and every character against its format.
/// It never allocates.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    dialect: &'static Dialect,
    bytes: &'a [u8],
    mti: Mti,
    present: u128,
    /// First byte after the bitmaps.
    fields_start: u16,
    /// End offset of each field read; a field starts where the previous
    /// present field ends, so nothing more is needed to find it.
    ends: [u16; 129],
}

/// A decoded [`Message`] without its bytes, to carry with an owned copy of
/// them (to another task, say) and read again without a second decode
/// ([`Layout::attach`]).
#[derive(Debug, Clone)]
pub struct Layout {
    dialect: &'static Dialect,
    len: usize,
    mti: Mti,
    present: u128,
    fields_start: u16,
    ends: [u16; 129],
}

impl Layout {
    /// The message over `bytes`, which must be the bytes the layout was
    /// decoded from (`None` when their length differs).
    #[must_use]
    pub fn attach<'a>(&self, bytes: &'a [u8]) -> Option<Message<'a>> {
        (bytes.len() == self.len).then_some(Message {
            dialect: self.dialect,
            bytes,
            mti: self.mti,
            present: self.present,
            fields_start: self.fields_start,
            ends: self.ends,
        })
    }
}

/// What could be read from a message, when the whole may be malformed
/// (see [`salvage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    /// The MTI, if it could be read.
    pub mti: Option<Mti>,
    /// DE 11, if it could be read and is valid.
    pub stan: Option<u32>,
    /// DE 41, if it could be read and is valid.
    pub terminal_id: Option<[u8; 8]>,
    /// The first error, `None` if the message is valid.
    pub error: Option<Error>,
}

/// What the host does with an incoming frame (spec section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The message is valid: process it.
    Process,
    /// Malformed, but MTI, DE 11 and DE 41 were read: answer with DE 39 = `30`.
    FormatError,
    /// Not even those could be read: close the connection.
    Close,
}

impl Salvage {
    /// What to do with the frame.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        if self.error.is_none() {
            return Disposition::Process;
        }
        if self.mti.is_some() && self.stan.is_some() && self.terminal_id.is_some() {
            Disposition::FormatError
        } else {
            Disposition::Close
        }
    }
}

/// Reads as much of a message as possible: structure errors stop the
/// reading, but a field with bad characters does not stop the fields after
/// it from being read. Use after [`Message::decode`] failed to decide between
/// a `30` response and closing the connection.
#[must_use]
pub fn salvage(dialect: &'static Dialect, bytes: &[u8]) -> Salvage {
    let mut decoder = Decoder::new(dialect, bytes, Mode::Salvage);
    let structure = decoder.run();
    let message = &decoder.message;
    let readable =
        |field: usize| decoder.read & bit(field) != 0 && decoder.invalid & bit(field) == 0;
    let mti = decoder.mti_read.then_some(message.mti);
    let stan = readable(11)
        .then(|| message.field(11).and_then(|v| v.to_u64()))
        .flatten()
        .and_then(|v| u32::try_from(v).ok());
    let terminal_id = readable(41)
        .then(|| message.field(41).and_then(|v| v.as_bytes().try_into().ok()))
        .flatten();
    let error = structure.err().or(decoder.first_content_error);
    Salvage {
        mti,
        stan,
        terminal_id,
        error,
    }
}

impl<'a> Message<'a> {
    /// Decodes one message (without the frame length header).
    ///
    /// # Errors
    ///
    /// Any malformation, with the part, field and byte offset: truncation,
    /// bad MTI, a bitmap bit for a field the dialect lacks, a bad length
    /// prefix, a length outside the field's format, a character outside the
    /// field's character set, trailing bytes, or a message over
    /// [`MESSAGE_LEN_MAX`].
    pub fn decode(dialect: &'static Dialect, bytes: &'a [u8]) -> Result<Message<'a>, Error> {
        let mut decoder = Decoder::new(dialect, bytes, Mode::Strict);
        decoder.run()?;
        Ok(decoder.message)
    }

    /// What was decoded, without the bytes (see [`Layout`]).
    #[must_use]
    pub fn layout(&self) -> Layout {
        Layout {
            dialect: self.dialect,
            len: self.bytes.len(),
            mti: self.mti,
            present: self.present,
            fields_start: self.fields_start,
            ends: self.ends,
        }
    }

    /// The dialect the message was decoded with.
    #[must_use]
    pub fn dialect(&self) -> &'static Dialect {
        self.dialect
    }

    /// All bytes of the message.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The message type indicator.
    #[must_use]
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// The transport header before the MTI (empty in `iso87`).
    #[must_use]
    pub fn header(&self) -> &'a [u8] {
        self.bytes
            .get(..self.dialect.header_len)
            .unwrap_or_default()
    }

    /// Whether data element `field` is present.
    #[must_use]
    pub fn has(&self, field: usize) -> bool {
        (1..=128).contains(&field) && self.present & bit(field) != 0
    }

    /// Numbers of the data elements present (2..=128, DE 1 excluded), in order.
    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        (2..=128).filter(|&field| self.present & bit(field) != 0)
    }

    /// The value of data element `field`, if present.
    #[must_use]
    pub fn field(&self, field: usize) -> Option<FieldValue<'a>> {
        let span = self.span(field)?;
        let content = self.dialect.field(field)?.content;
        let bytes = self
            .bytes
            .get(usize::from(span.start)..usize::from(span.end))
            .unwrap_or_default();
        Some(FieldValue::new(
            bytes,
            usize::from(span.len),
            self.dialect.encoding_of(content),
        ))
    }

    /// The bytes a MAC in DE 64 covers: from the MTI to the end of the
    /// field before DE 64 (the bitmap has the DE 64 bit set, since DE 64 is
    /// there). `None` when DE 64 is absent; for such a message use
    /// [`MessageBuilder::from_message`](crate::MessageBuilder::from_message)
    /// and [`MessageBuilder::mac_input`](crate::MessageBuilder::mac_input),
    /// which set the DE 64 bit.
    #[must_use]
    pub fn mac_input(&self) -> Option<&'a [u8]> {
        if !self.has(64) {
            return None;
        }
        let start = self.dialect.header_len;
        let end = usize::from(self.span(64)?.start);
        self.bytes.get(start..end)
    }

    /// Where field `field` sits (prefix start, value start and end, length
    /// in characters), found from the end of the previous present field.
    pub(crate) fn span(&self, field: usize) -> Option<Span> {
        if !(2..=128).contains(&field) || self.present & bit(field) == 0 {
            return None;
        }
        let def = self.dialect.field(field)?;
        let before = self.present & !bit(1) & !(bit(field) | (bit(field) - 1));
        let wire_start = if before == 0 {
            self.fields_start
        } else {
            let previous = 128 - before.trailing_zeros() as usize;
            *self.ends.get(previous)?
        };
        let digits = def.length.prefix_digits();
        let prefix_encoding = self.dialect.length_prefix;
        let start = usize::from(wire_start) + prefix_encoding.bytes_for(digits);
        let end = *self.ends.get(field)?;
        let len = match def.length {
            LengthKind::Fixed => usize::from(def.len_max),
            LengthKind::LlVar | LengthKind::LllVar => {
                let prefix = self.bytes.get(usize::from(wire_start)..start)?;
                let len = match prefix_encoding {
                    DigitEncoding::Ascii => ascii_to_u64(prefix),
                    DigitEncoding::Bcd => bcd_to_u64(prefix, digits),
                };
                usize::try_from(len?).ok()?
            }
        };
        Some(Span {
            wire_start,
            start: narrow(start),
            end,
            len: narrow(len),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Salvage,
}

/// The decoding loop, kept apart so that [`salvage`] can inspect a half-read
/// message.
struct Decoder<'a> {
    message: Message<'a>,
    position: usize,
    mode: Mode,
    mti_read: bool,
    /// Fields read whole (salvage looks only at those).
    read: u128,
    invalid: u128,
    first_content_error: Option<Error>,
}

impl<'a> Decoder<'a> {
    fn new(dialect: &'static Dialect, bytes: &'a [u8], mode: Mode) -> Self {
        Decoder {
            message: Message {
                dialect,
                bytes,
                mti: Mti::PLACEHOLDER,
                present: 0,
                fields_start: 0,
                ends: [0; 129],
            },
            read: 0,
            position: 0,
            mode,
            mti_read: false,
            invalid: 0,
            first_content_error: None,
        }
    }

    fn run(&mut self) -> Result<(), Error> {
        let bytes = self.message.bytes;
        if bytes.len() > MESSAGE_LEN_MAX {
            return Err(Error::FrameTooLong {
                length_bytes: bytes.len(),
                max_bytes: MESSAGE_LEN_MAX,
            });
        }
        let header_len = self.message.dialect.header_len;
        self.take(header_len, Part::Header)?;
        self.read_mti()?;
        self.read_bitmaps()?;
        self.message.fields_start = narrow(self.position);
        let mut remaining = self.message.present & !bit(1);
        while remaining != 0 {
            let field = remaining.leading_zeros() as usize + 1;
            remaining &= !bit(field);
            self.read_field(field)?;
        }
        if self.position != bytes.len() {
            return Err(Error::TrailingBytes {
                offset: self.position,
                count: bytes.len() - self.position,
            });
        }
        Ok(())
    }

    /// Advances over `count` bytes, returning their start and end.
    fn take(&mut self, count: usize, part: Part) -> Result<(usize, usize), Error> {
        let start = self.position;
        let available = self.message.bytes.len().saturating_sub(start);
        if count > available {
            return Err(Error::Truncated {
                part,
                offset: start,
                needed_bytes: count,
                available_bytes: available,
            });
        }
        self.position = start + count;
        Ok((start, start + count))
    }

    fn slice(&self, range: (usize, usize)) -> &'a [u8] {
        self.message.bytes.get(range.0..range.1).unwrap_or_default()
    }

    fn read_mti(&mut self) -> Result<(), Error> {
        let encoding = self.message.dialect.mti;
        let range = self.take(encoding.bytes_for(4), Part::Mti)?;
        let raw = self.slice(range);
        let mut digits = [0u8; 4];
        let ok = match encoding {
            DigitEncoding::Ascii => raw.try_into().map(|d| digits = d).is_ok(),
            DigitEncoding::Bcd => unpack_bcd_digits(raw, &mut digits),
        };
        let mti = ok.then(|| Mti::new(digits)).flatten();
        let Some(mti) = mti else {
            return Err(Error::InvalidMti { offset: range.0 });
        };
        self.message.mti = mti;
        self.mti_read = true;
        Ok(())
    }

    fn read_bitmaps(&mut self) -> Result<(), Error> {
        let primary = self.read_bitmap(Part::PrimaryBitmap)?;
        let mut present = u128::from(primary) << 64;
        if present & bit(1) != 0 {
            let offset = self.position;
            let secondary = self.read_bitmap(Part::SecondaryBitmap)?;
            if secondary == 0 {
                return Err(Error::FieldNotAllowed {
                    field: 1,
                    offset,
                    dialect: self.message.dialect.name,
                });
            }
            present |= u128::from(secondary);
        }
        self.message.present = present;
        Ok(())
    }

    fn read_bitmap(&mut self, part: Part) -> Result<u64, Error> {
        let range = self.take(BITMAP_LEN, part)?;
        let raw: [u8; BITMAP_LEN] = self.slice(range).try_into().unwrap_or_default();
        Ok(u64::from_be_bytes(raw))
    }

    fn read_field(&mut self, field: usize) -> Result<(), Error> {
        let dialect = self.message.dialect;
        let offset = self.position;
        let Some(def) = dialect.field(field) else {
            return Err(Error::FieldNotAllowed {
                field: field_u8(field),
                offset,
                dialect: dialect.name,
            });
        };
        let len = self.read_length(field, def)?;
        let encoding = dialect.encoding_of(def.content);
        let range = self.take(encoding.bytes_for(len), Part::Field(field_u8(field)))?;
        if let Some(end) = self.message.ends.get_mut(field) {
            *end = narrow(range.1);
        }
        self.read |= bit(field);
        if let Err(error) = validate(field, def, encoding, self.slice(range), len, range.0) {
            if self.mode == Mode::Strict {
                return Err(error);
            }
            self.invalid |= bit(field);
            self.first_content_error.get_or_insert(error);
        }
        Ok(())
    }

    fn read_length(&mut self, field: usize, def: &FieldDef) -> Result<usize, Error> {
        let digits = def.length.prefix_digits();
        if digits == 0 {
            return Ok(usize::from(def.len_max));
        }
        let encoding = self.message.dialect.length_prefix;
        let offset = self.position;
        let range = self.take(
            encoding.bytes_for(digits),
            Part::LengthPrefix(field_u8(field)),
        )?;
        let raw = self.slice(range);
        let len = match encoding {
            DigitEncoding::Ascii => ascii_to_u64(raw),
            DigitEncoding::Bcd => bcd_to_u64(raw, digits),
        };
        let Some(len) = len.and_then(|len| usize::try_from(len).ok()) else {
            return Err(Error::InvalidLengthPrefix {
                field: field_u8(field),
                offset,
                digits,
            });
        };
        if len > usize::from(def.len_max) {
            return Err(length_error(field, def, len, offset));
        }
        Ok(len)
    }
}

/// The `InvalidLength` error for `field`.
pub(crate) fn length_error(field: usize, def: &FieldDef, length: usize, offset: usize) -> Error {
    Error::InvalidLength {
        field: field_u8(field),
        offset,
        length,
        content: def.content,
        length_kind: def.length,
        len_max: def.len_max,
    }
}

/// Checks every character of a value against the field's character set.
fn validate(
    field: usize,
    def: &FieldDef,
    encoding: DigitEncoding,
    raw: &[u8],
    len: usize,
    offset: usize,
) -> Result<(), Error> {
    let bad = |index: usize, found: u8| Error::InvalidCharacter {
        field: field_u8(field),
        offset: offset + index,
        content: def.content,
        found,
    };
    if def.content == Content::Binary {
        return Ok(());
    }
    if encoding == DigitEncoding::Ascii {
        if all_accepted(def.content, raw) {
            return Ok(());
        }
        return match raw
            .iter()
            .enumerate()
            .find(|&(index, &byte)| !def.content.accepts(byte, index))
        {
            Some((index, &byte)) => Err(bad(index, byte)),
            None => Ok(()),
        };
    }
    let track = def.content == Content::Track;
    let pad = len % 2 == 1;
    for (index, &byte) in raw.iter().enumerate() {
        let high = byte >> 4;
        let low = byte & 0x0F;
        let high_ok = if index == 0 && pad {
            high == 0
        } else {
            bcd_ok(high, track)
        };
        if !high_ok || !bcd_ok(low, track) {
            return Err(bad(index, byte));
        }
    }
    Ok(())
}

/// Fast check of a whole value (branch-free loops the compiler vectorises);
/// the slow path in [`validate`] finds the offending byte.
pub(crate) fn all_accepted(content: Content, raw: &[u8]) -> bool {
    match content {
        Content::Numeric => raw.iter().all(|&b| b.wrapping_sub(b'0') < 10),
        Content::AlphaNumericSpecial => raw.iter().all(|&b| b.wrapping_sub(0x20) < 0x5F),
        Content::AlphaNumeric => raw.iter().all(|&b| b.is_ascii_alphanumeric() || b == b' '),
        Content::Binary => true,
        Content::Track | Content::Alpha | Content::SignedNumeric => false,
    }
}

const fn bcd_ok(nibble: u8, track: bool) -> bool {
    nibble <= 9 || (track && nibble == 0x0D)
}

/// Unpacks BCD digits (no pad) into `out`; `false` if a nibble is not a digit.
fn unpack_bcd_digits(raw: &[u8], out: &mut [u8]) -> bool {
    if raw.len() * 2 != out.len() {
        return false;
    }
    for (index, &byte) in raw.iter().enumerate() {
        let (high, low) = (byte >> 4, byte & 0x0F);
        if high > 9 || low > 9 {
            return false;
        }
        if let Some(pair) = out.get_mut(index * 2..index * 2 + 2) {
            pair[0] = b'0' + high;
            pair[1] = b'0' + low;
        }
    }
    true
}

/// A BCD number of `digits` digits (an odd count has a leading 0 nibble).
fn bcd_to_u64(raw: &[u8], digits: usize) -> Option<u64> {
    let mut value: u64 = 0;
    let skip = (raw.len() * 2).saturating_sub(digits);
    for (index, nibble) in raw.iter().flat_map(|b| [b >> 4, b & 0x0F]).enumerate() {
        if nibble > 9 || (index < skip && nibble != 0) {
            return None;
        }
        value = value * 10 + u64::from(nibble);
    }
    Some(value)
}

/// A byte offset as stored in a span: messages are at most
/// [`MESSAGE_LEN_MAX`] bytes (checked first in `run`), so it always fits.
pub(crate) fn narrow(value: usize) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// A field number (1..=128) as stored in errors.
pub(crate) fn field_u8(field: usize) -> u8 {
    u8::try_from(field).unwrap_or(u8::MAX)
}
