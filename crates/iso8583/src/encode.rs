//! Encoding into a caller's buffer, and [`MessageBuilder`], the owned
//! message for building requests and responses.

use crate::dialect::{Dialect, DigitEncoding, LengthKind};
use crate::error::Error;
use crate::field::{FieldValue, char_to_nibble, write_ascii_digits};
use crate::frame::FRAME_HEADER_LEN;
use crate::message::{
    MESSAGE_LEN_MAX, Message, SECONDARY_BITS, Span, all_accepted, bit, field_u8, length_error,
    narrow,
};
use crate::mti::Mti;

/// Longest transport header a dialect may have.
pub const HEADER_LEN_MAX: usize = 16;

/// A bounded writer over the caller's buffer.
struct Output<'b> {
    buffer: &'b mut [u8],
    position: usize,
    limit: usize,
}

impl Output<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self.position + bytes.len();
        match self.buffer.get_mut(self.position..end) {
            Some(slot) if end <= self.limit => {
                slot.copy_from_slice(bytes);
                self.position = end;
                Ok(())
            }
            _ => Err(Error::BufferTooSmall {
                capacity_bytes: self.limit.min(self.buffer.len()),
            }),
        }
    }
}

/// Encodes `source`; with `stop_before_field` set, stops before writing that
/// field (the bitmap still names it). Returns the bytes written.
fn encode_source(
    source: &MessageBuilder,
    present: u128,
    stop_before_field: Option<usize>,
    buffer: &mut [u8],
) -> Result<usize, Error> {
    let dialect = source.dialect();
    let limit = MESSAGE_LEN_MAX.min(buffer.len());
    let mut out = Output {
        buffer,
        position: 0,
        limit,
    };
    let header = source.header();
    if header.len() != dialect.header_len {
        return Err(Error::InvalidHeader {
            expected_bytes: dialect.header_len,
            actual_bytes: header.len(),
        });
    }
    out.put(header)?;
    write_digits(&mut out, source.mti().as_bytes(), dialect.mti)?;
    let present = if present & SECONDARY_BITS != 0 {
        present | bit(1)
    } else {
        present & !bit(1)
    };
    out.put(&((present >> 64) as u64).to_be_bytes())?;
    if present & bit(1) != 0 {
        out.put(&(present as u64).to_be_bytes())?;
    }
    if stop_before_field.is_none() && source.wire_ready && source.in_order {
        // The values were stored in field order with their length prefixes.
        out.put(&source.data)?;
        return Ok(out.position);
    }
    let mut remaining = present & !bit(1);
    while remaining != 0 {
        let field = remaining.leading_zeros() as usize + 1;
        remaining &= !bit(field);
        if stop_before_field == Some(field) {
            break;
        }
        match source.wire(field) {
            Some(wire) => out.put(wire)?,
            None => write_field(&mut out, dialect, field, source.value(field))?,
        }
    }
    Ok(out.position)
}

fn write_field(
    out: &mut Output<'_>,
    dialect: &Dialect,
    field: usize,
    value: FieldValue<'_>,
) -> Result<(), Error> {
    let Some(def) = dialect.field(field) else {
        return Err(Error::FieldNotAllowed {
            field: field_u8(field),
            offset: out.position,
            dialect: dialect.name,
        });
    };
    let len = value.len();
    let fits = match def.length {
        LengthKind::Fixed => len == usize::from(def.len_max),
        LengthKind::LlVar | LengthKind::LllVar => len <= usize::from(def.len_max),
    };
    if !fits {
        return Err(length_error(field, def, len, out.position));
    }
    let digits = def.length.prefix_digits();
    if digits > 0 {
        let mut prefix = [0u8; 3];
        let prefix = prefix.get_mut(..digits).unwrap_or_default();
        write_ascii_digits(len as u64, prefix);
        write_digits(out, prefix, dialect.length_prefix)?;
    }
    let target = dialect.encoding_of(def.content);
    if target == value.encoding() {
        return out.put(value.as_bytes());
    }
    // Characters to packed BCD (a builder's value in a BCD dialect).
    let mut chars = [0u8; 1024];
    let mut count = 0;
    for (slot, char) in chars.iter_mut().zip(value.chars()) {
        *slot = char;
        count += 1;
    }
    write_digits(out, chars.get(..count).unwrap_or_default(), target)
}

/// Writes ASCII digits (or `D`/`=`) as ASCII or packed BCD.
fn write_digits(out: &mut Output<'_>, chars: &[u8], encoding: DigitEncoding) -> Result<(), Error> {
    match encoding {
        DigitEncoding::Ascii => out.put(chars),
        DigitEncoding::Bcd => {
            let mut packed = [0u8; 512];
            let pad = chars.len() % 2;
            let bytes = chars.len().div_ceil(2);
            for (index, &char) in chars.iter().enumerate() {
                let nibble_index = index + pad;
                if let Some(byte) = packed.get_mut(nibble_index / 2) {
                    let shift = if nibble_index % 2 == 0 { 4 } else { 0 };
                    *byte |= char_to_nibble(char) << shift;
                }
            }
            out.put(packed.get(..bytes).unwrap_or_default())
        }
    }
}

impl Message<'_> {
    /// Encodes the message again into `buffer`: the same bytes as decoded
    /// (decoding accepts only the canonical form, so this is a copy).
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] when `buffer` cannot hold it.
    pub fn encode(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        let bytes = self.bytes();
        let capacity_bytes = buffer.len();
        let Some(slot) = buffer.get_mut(..bytes.len()) else {
            return Err(Error::BufferTooSmall { capacity_bytes });
        };
        slot.copy_from_slice(bytes);
        Ok(bytes.len())
    }
}

/// An owned message for building requests and responses. Values are kept as
/// characters (binary fields as bytes) in one buffer of at most
/// [`MESSAGE_LEN_MAX`] bytes and validated when set.
///
/// ```
/// use iso8583::{ISO87, MessageBuilder, Mti, Message};
/// let mut reply = MessageBuilder::new(&ISO87, Mti::parse("0810").expect("digits"));
/// reply.set_text(11, "000123")?.set_text(39, "00")?.set_number(70, 301)?;
/// let mut buffer = [0u8; 64];
/// let len = reply.encode(&mut buffer)?;
/// let decoded = Message::decode(&ISO87, &buffer[..len])?;
/// assert_eq!(decoded.stan(), Some(123));
/// # Ok::<(), iso8583::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    dialect: &'static Dialect,
    mti: Mti,
    header: [u8; HEADER_LEN_MAX],
    present: u128,
    spans: [Span; 129],
    /// Values as characters; in an all-ASCII dialect each is preceded by its
    /// length prefix, so that `data` holds the fields as on the wire.
    data: Vec<u8>,
    /// Whether values in `data` carry their length prefixes.
    wire_ready: bool,
    /// Whether `data` is exactly the wire bytes of the fields, in order.
    in_order: bool,
    /// Highest field set so far.
    last_field: usize,
}

impl MessageBuilder {
    /// An empty message (header all zero bytes).
    #[must_use]
    pub fn new(dialect: &'static Dialect, mti: Mti) -> Self {
        MessageBuilder {
            dialect,
            mti,
            header: [0; HEADER_LEN_MAX],
            present: 0,
            spans: [Span::default(); 129],
            data: Vec::with_capacity(MESSAGE_LEN_MAX),
            wire_ready: dialect.length_prefix == DigitEncoding::Ascii
                && dialect.numeric == DigitEncoding::Ascii,
            in_order: true,
            last_field: 0,
        }
    }

    /// The value as the encoder sees it.
    fn value(&self, field: usize) -> FieldValue<'_> {
        let bytes = self.get(field).unwrap_or_default();
        FieldValue::new(bytes, bytes.len(), DigitEncoding::Ascii)
    }

    /// The wire bytes (prefix and value) of a field, when stored that way.
    fn wire(&self, field: usize) -> Option<&[u8]> {
        if !self.wire_ready || !self.has(field) {
            return None;
        }
        let span = self.spans.get(field)?;
        self.data
            .get(usize::from(span.wire_start)..usize::from(span.end))
    }

    /// A copy of a decoded message, as characters.
    ///
    /// # Errors
    ///
    /// None in practice: the values were validated when decoded.
    pub fn from_message(message: &Message<'_>) -> Result<Self, Error> {
        let mut builder = MessageBuilder::new(message.dialect(), message.mti());
        builder.set_header(message.header())?;
        if builder.wire_ready {
            builder.copy_wire_fields(message);
            return Ok(builder);
        }
        let mut chars = [0u8; 1024];
        for field in message.fields() {
            let Some(value) = message.field(field) else {
                continue;
            };
            if value.encoding() == DigitEncoding::Ascii {
                builder.set(field, value.as_bytes())?;
                continue;
            }
            let mut count = 0;
            for (slot, char) in chars.iter_mut().zip(value.chars()) {
                *slot = char;
                count += 1;
            }
            builder.set(field, chars.get(..count).unwrap_or_default())?;
        }
        Ok(builder)
    }

    /// A response to `request`: the response MTI, the request's header and
    /// a copy of the `echo` fields that are present in it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFieldNumber`] for an echo field outside 2..=128.
    pub fn response_to(request: &Message<'_>, echo: &[usize]) -> Result<Self, Error> {
        let mut builder = MessageBuilder::new(request.dialect(), request.mti().response());
        builder.set_header(request.header())?;
        let mut chars = [0u8; 1024];
        for &field in echo {
            let Some(value) = request.field(field) else {
                continue;
            };
            let mut count = 0;
            for (slot, char) in chars.iter_mut().zip(value.chars()) {
                *slot = char;
                count += 1;
            }
            builder.set(field, chars.get(..count).unwrap_or_default())?;
        }
        Ok(builder)
    }

    /// Takes the fields of a decoded message of the same (wire-ready)
    /// dialect in one copy: they were validated when decoded.
    fn copy_wire_fields(&mut self, message: &Message<'_>) {
        let Some(first) = message.fields().next() else {
            return;
        };
        let base = message
            .span(first)
            .map_or(0, |span| usize::from(span.wire_start));
        self.data.clear();
        self.data
            .extend_from_slice(message.bytes().get(base..).unwrap_or_default());
        for field in message.fields() {
            let (Some(span), Some(slot)) = (message.span(field), self.spans.get_mut(field)) else {
                continue;
            };
            let shift = |offset: u16| narrow(usize::from(offset).saturating_sub(base));
            *slot = Span {
                wire_start: shift(span.wire_start),
                start: shift(span.start),
                end: shift(span.end),
                len: span.len,
            };
            self.present |= bit(field);
            self.last_field = field;
        }
    }

    /// The dialect.
    #[must_use]
    pub fn dialect(&self) -> &'static Dialect {
        self.dialect
    }

    /// The MTI.
    #[must_use]
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// Changes the MTI.
    pub fn set_mti(&mut self, mti: Mti) -> &mut Self {
        self.mti = mti;
        self
    }

    /// The transport header.
    #[must_use]
    pub fn header(&self) -> &[u8] {
        self.header
            .get(..self.dialect.header_len)
            .unwrap_or_default()
    }

    /// Sets the transport header (TPDU + header in `cup`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHeader`] if it is not the dialect's header length.
    pub fn set_header(&mut self, header: &[u8]) -> Result<&mut Self, Error> {
        let expected = self.dialect.header_len;
        match self.header.get_mut(..expected) {
            Some(slot) if header.len() == expected => {
                slot.copy_from_slice(header);
                Ok(self)
            }
            _ => Err(Error::InvalidHeader {
                expected_bytes: expected,
                actual_bytes: header.len(),
            }),
        }
    }

    /// Whether data element `field` is set.
    #[must_use]
    pub fn has(&self, field: usize) -> bool {
        (1..=128).contains(&field) && self.present & bit(field) != 0
    }

    /// The value of `field` as characters (bytes for binary fields).
    #[must_use]
    pub fn get(&self, field: usize) -> Option<&[u8]> {
        if !self.has(field) {
            return None;
        }
        let span = self.spans.get(field)?;
        self.data
            .get(usize::from(span.start)..usize::from(span.end))
    }

    /// Numbers of the data elements set, in order.
    pub fn fields(&self) -> impl Iterator<Item = usize> + '_ {
        (2..=128).filter(|&field| self.present & bit(field) != 0)
    }

    /// Sets data element `field` (2..=128) to `value`: characters for
    /// `n`/`z`/`a`/`an`/`ans`, bytes for `b`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFieldNumber`], [`Error::FieldNotAllowed`],
    /// [`Error::InvalidLength`] (offset 0), [`Error::InvalidCharacter`]
    /// (offset = character index), [`Error::BufferTooSmall`].
    pub fn set(&mut self, field: usize, value: &[u8]) -> Result<&mut Self, Error> {
        if !(2..=128).contains(&field) {
            return Err(Error::InvalidFieldNumber { field });
        }
        let Some(def) = self.dialect.field(field) else {
            return Err(Error::FieldNotAllowed {
                field: field_u8(field),
                offset: 0,
                dialect: self.dialect.name,
            });
        };
        let fits = match def.length {
            LengthKind::Fixed => value.len() == usize::from(def.len_max),
            LengthKind::LlVar | LengthKind::LllVar => value.len() <= usize::from(def.len_max),
        };
        if !fits {
            return Err(length_error(field, def, value.len(), 0));
        }
        if !all_accepted(def.content, value) {
            let bad = value
                .iter()
                .enumerate()
                .find(|&(index, &byte)| !def.content.accepts(byte, index));
            if let Some((index, &found)) = bad {
                return Err(Error::InvalidCharacter {
                    field: field_u8(field),
                    offset: index,
                    content: def.content,
                    found,
                });
            }
        }
        self.store(field, value)?;
        Ok(self)
    }

    /// Sets a text field.
    ///
    /// # Errors
    ///
    /// As [`MessageBuilder::set`].
    pub fn set_text(&mut self, field: usize, value: &str) -> Result<&mut Self, Error> {
        self.set(field, value.as_bytes())
    }

    /// Sets a numeric field from a number: zero-filled to the length of a
    /// fixed field, plain digits for a variable one.
    ///
    /// # Errors
    ///
    /// As [`MessageBuilder::set`]; [`Error::InvalidLength`] when the number
    /// has more digits than the field.
    pub fn set_number(&mut self, field: usize, value: u64) -> Result<&mut Self, Error> {
        let natural = count_digits(value);
        let width = match self.dialect.field(field) {
            Some(def) if def.length == LengthKind::Fixed => {
                if natural > usize::from(def.len_max) {
                    return Err(length_error(field, def, natural, 0));
                }
                usize::from(def.len_max)
            }
            _ => natural,
        };
        let mut digits = [0u8; 64];
        let slot = digits.get_mut(..width).unwrap_or_default();
        write_ascii_digits(value, slot);
        let len = slot.len();
        self.set(field, digits.get(..len).unwrap_or_default())
    }

    /// Removes a data element.
    pub fn remove(&mut self, field: usize) -> &mut Self {
        if self.has(field) {
            self.present &= !bit(field);
            self.in_order = false;
        }
        self
    }

    /// Encodes into `buffer`; returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] when the message does not fit `buffer` or
    /// [`MESSAGE_LEN_MAX`].
    pub fn encode(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        encode_source(self, self.present, None, buffer)
    }

    /// Encodes with the 2-byte big-endian length header in front.
    ///
    /// # Errors
    ///
    /// As [`MessageBuilder::encode`].
    pub fn encode_framed(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        let body = buffer.get_mut(FRAME_HEADER_LEN..).unwrap_or_default();
        let len = self.encode(body)?;
        let header = (len as u16).to_be_bytes();
        if let Some(slot) = buffer.get_mut(..FRAME_HEADER_LEN) {
            slot.copy_from_slice(&header);
        }
        Ok(len + FRAME_HEADER_LEN)
    }

    /// The bytes a MAC in DE 64 will cover (spec section 10): the message
    /// from the MTI to the end of the field before DE 64, with the bitmap bit
    /// for DE 64 set (whether or not DE 64 is set yet). Written into
    /// `buffer`; compute the MAC over the returned slice, then
    /// `set(64, &mac)`.
    ///
    /// # Errors
    ///
    /// As [`MessageBuilder::encode`].
    pub fn mac_input<'b>(&self, buffer: &'b mut [u8]) -> Result<&'b [u8], Error> {
        let len = encode_source(self, self.present | bit(64), Some(64), buffer)?;
        Ok(buffer.get(self.dialect.header_len..len).unwrap_or_default())
    }

    /// Appends a value (after its length prefix in a wire-ready builder)
    /// to the data buffer, compacting it when full.
    fn store(&mut self, field: usize, value: &[u8]) -> Result<(), Error> {
        let mut prefix = [0u8; 3];
        let prefix_len = match self.dialect.field(field) {
            Some(def) if self.wire_ready => def.length.prefix_digits(),
            _ => 0,
        };
        let prefix = prefix.get_mut(..prefix_len).unwrap_or_default();
        write_ascii_digits(value.len() as u64, prefix);
        let needed = prefix.len() + value.len();
        if self.has(field) || field < self.last_field {
            self.in_order = false;
        }
        self.present &= !bit(field);
        if self.data.len() + needed > MESSAGE_LEN_MAX {
            self.compact();
        }
        if self.data.len() + needed > MESSAGE_LEN_MAX {
            return Err(Error::BufferTooSmall {
                capacity_bytes: MESSAGE_LEN_MAX,
            });
        }
        let wire_start = narrow(self.data.len());
        self.data.extend_from_slice(prefix);
        let start = self.data.len();
        self.data.extend_from_slice(value);
        if let Some(span) = self.spans.get_mut(field) {
            *span = Span {
                wire_start,
                start: narrow(start),
                end: narrow(self.data.len()),
                len: narrow(value.len()),
            };
            self.present |= bit(field);
            self.last_field = self.last_field.max(field);
        }
        Ok(())
    }

    /// Drops the bytes of removed or replaced values.
    fn compact(&mut self) {
        let mut write = 0usize;
        let mut order: [(u16, u8); 129] = [(0, 0); 129];
        let mut count = 0;
        for field in 2..=128 {
            if self.present & bit(field) != 0 {
                order[count] = (self.spans[field].wire_start, field_u8(field));
                count += 1;
            }
        }
        let order = &mut order[..count];
        order.sort_unstable();
        for &(_, field) in order.iter() {
            let span = &mut self.spans[usize::from(field)];
            let (wire_start, start, end) = (
                usize::from(span.wire_start),
                usize::from(span.start),
                usize::from(span.end),
            );
            self.data.copy_within(wire_start..end, write);
            span.wire_start = narrow(write);
            span.start = narrow(write + (start - wire_start));
            write += end - wire_start;
            span.end = narrow(write);
        }
        self.data.truncate(write);
        self.in_order = order.windows(2).all(|pair| pair[0].1 < pair[1].1);
    }
}

fn count_digits(mut value: u64) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
}
