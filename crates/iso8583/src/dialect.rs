//! Dialects: the wire layout of a message as data.
//!
//! A [`Dialect`] is a table of 129 field definitions plus a few encoding
//! choices (how the MTI, numeric fields and length prefixes are written, and
//! how many header bytes precede the MTI). The codec has no code specific to
//! one dialect.

use std::fmt;

/// Largest field number (DE 128).
pub const FIELD_NUMBER_MAX: usize = 128;

/// Character set (content class) of a field, as in the ISO 8583 tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// `n`: decimal digits.
    Numeric,
    /// `z`: track 2/3 code set: digits, `=` and `D` (field separator).
    Track,
    /// `a`: letters (and space, used as padding).
    Alpha,
    /// `an`: letters and digits (and space, used as padding).
    AlphaNumeric,
    /// `ans`: printable ASCII (0x20..=0x7E).
    AlphaNumericSpecial,
    /// `x+n`: `C` (credit) or `D` (debit) followed by digits.
    SignedNumeric,
    /// `b`: arbitrary bytes.
    Binary,
}

impl Content {
    /// The ISO 8583 abbreviation (`n`, `z`, `an`, ...).
    #[must_use]
    pub const fn abbreviation(self) -> &'static str {
        match self {
            Content::Numeric => "n",
            Content::Track => "z",
            Content::Alpha => "a",
            Content::AlphaNumeric => "an",
            Content::AlphaNumericSpecial => "ans",
            Content::SignedNumeric => "x+n",
            Content::Binary => "b",
        }
    }

    /// Whether `byte` belongs to this character set at `position` (0-based
    /// character index within the field; only `x+n` cares).
    #[must_use]
    pub const fn accepts(self, byte: u8, position: usize) -> bool {
        match self {
            Content::Numeric => byte.is_ascii_digit(),
            Content::Track => byte.is_ascii_digit() || byte == b'=' || byte == b'D',
            Content::Alpha => byte.is_ascii_alphabetic() || byte == b' ',
            Content::AlphaNumeric => byte.is_ascii_alphanumeric() || byte == b' ',
            Content::AlphaNumericSpecial => byte >= 0x20 && byte <= 0x7E,
            Content::SignedNumeric => {
                if position == 0 {
                    byte == b'C' || byte == b'D'
                } else {
                    byte.is_ascii_digit()
                }
            }
            Content::Binary => true,
        }
    }

    /// Whether a dialect with BCD numerics packs this content as BCD.
    #[must_use]
    pub const fn is_packable(self) -> bool {
        matches!(self, Content::Numeric | Content::Track)
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// How the length of a field is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthKind {
    /// Always exactly `max_len`.
    Fixed,
    /// Two-digit length prefix (LLVAR).
    LlVar,
    /// Three-digit length prefix (LLLVAR).
    LllVar,
}

impl LengthKind {
    /// Number of decimal digits in the length prefix (0 for fixed).
    #[must_use]
    pub const fn prefix_digits(self) -> usize {
        match self {
            LengthKind::Fixed => 0,
            LengthKind::LlVar => 2,
            LengthKind::LllVar => 3,
        }
    }
}

/// Definition of one data element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// Character set.
    pub content: Content,
    /// Fixed or variable length.
    pub length: LengthKind,
    /// Fixed length, or maximum length for LLVAR/LLLVAR, in characters
    /// (digits for `n`/`z`, bytes for `b`).
    pub len_max: u16,
    /// Name from ISO 8583:1987.
    pub name: &'static str,
}

impl FieldDef {
    const fn new(content: Content, length: LengthKind, len_max: u16, name: &'static str) -> Self {
        FieldDef {
            content,
            length,
            len_max,
            name,
        }
    }
}

impl fmt::Display for FieldDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.length {
            LengthKind::Fixed => "",
            LengthKind::LlVar | LengthKind::LllVar => "..",
        };
        write!(f, "{}{}{}", self.content, sep, self.len_max)?;
        match self.length {
            LengthKind::Fixed => Ok(()),
            LengthKind::LlVar => f.write_str(" LLVAR"),
            LengthKind::LllVar => f.write_str(" LLLVAR"),
        }
    }
}

/// How digits are written on the wire (MTI, numeric fields, length prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitEncoding {
    /// One ASCII character per digit.
    Ascii,
    /// Packed BCD, two digits per byte, an odd count padded with a leading 0
    /// nibble (right-justified).
    Bcd,
}

impl DigitEncoding {
    /// Bytes needed for `digits` digits.
    #[must_use]
    pub const fn bytes_for(self, digits: usize) -> usize {
        match self {
            DigitEncoding::Ascii => digits,
            DigitEncoding::Bcd => digits.div_ceil(2),
        }
    }
}

/// A wire dialect: encoding choices plus the table of field definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    /// Short name (`iso87`, `cup`).
    pub name: &'static str,
    /// Bytes of transport header (TPDU, message header) before the MTI.
    pub header_len: usize,
    /// Encoding of the 4-digit MTI.
    pub mti: DigitEncoding,
    /// Encoding of `n` and `z` fields.
    pub numeric: DigitEncoding,
    /// Encoding of LLVAR/LLLVAR length prefixes.
    pub length_prefix: DigitEncoding,
    /// Field definitions by number; index 0 is unused, DE 1 is the secondary
    /// bitmap. `None` means the field is not allowed in this dialect.
    pub fields: [Option<FieldDef>; 129],
}

impl Dialect {
    /// The definition of field `field`, if the dialect has it.
    #[must_use]
    pub fn field(&self, field: usize) -> Option<&FieldDef> {
        self.fields.get(field).and_then(Option::as_ref)
    }

    /// Bytes the MTI takes on the wire.
    #[must_use]
    pub const fn mti_len(&self) -> usize {
        self.mti.bytes_for(4)
    }

    /// Encoding of the value of a field with this content.
    #[must_use]
    pub const fn encoding_of(&self, content: Content) -> DigitEncoding {
        if content.is_packable() {
            self.numeric
        } else {
            DigitEncoding::Ascii
        }
    }

    /// Looks a dialect up by name (`iso87`, `cup`).
    #[must_use]
    pub fn by_name(name: &str) -> Option<&'static Dialect> {
        match name {
            "iso87" => Some(&ISO87),
            "cup" => Some(&CUP),
            _ => None,
        }
    }
}

use Content::{
    AlphaNumeric as AN, AlphaNumericSpecial as ANS, Binary as B, Numeric as N, SignedNumeric as XN,
    Track as Z,
};
use LengthKind::{Fixed as F, LlVar as LL, LllVar as LLL};

const fn d(
    content: Content,
    length: LengthKind,
    len_max: u16,
    name: &'static str,
) -> Option<FieldDef> {
    Some(FieldDef::new(content, length, len_max, name))
}

/// ISO 8583:1987 field table as used by the posbridge host interface
/// (spec section 3 overrides the private-use fields 55, 60, 62, 63).
pub const ISO87_FIELDS: [Option<FieldDef>; 129] = [
    None,
    d(B, F, 8, "Bitmap, secondary"),
    d(N, LL, 19, "Primary account number (PAN)"),
    d(N, F, 6, "Processing code"),
    d(N, F, 12, "Amount, transaction"),
    d(N, F, 12, "Amount, settlement"),
    d(N, F, 12, "Amount, cardholder billing"),
    d(N, F, 10, "Transmission date and time"),
    d(N, F, 8, "Amount, cardholder billing fee"),
    d(N, F, 8, "Conversion rate, settlement"),
    d(N, F, 8, "Conversion rate, cardholder billing"),
    d(N, F, 6, "System trace audit number (STAN)"),
    d(N, F, 6, "Time, local transaction"),
    d(N, F, 4, "Date, local transaction"),
    d(N, F, 4, "Date, expiration"),
    d(N, F, 4, "Date, settlement"),
    d(N, F, 4, "Date, conversion"),
    d(N, F, 4, "Date, capture"),
    d(N, F, 4, "Merchant type"),
    d(N, F, 3, "Acquiring institution country code"),
    d(N, F, 3, "PAN extended, country code"),
    d(N, F, 3, "Forwarding institution country code"),
    d(N, F, 3, "Point of service entry mode"),
    d(N, F, 3, "Card sequence number"),
    d(N, F, 3, "Network international identifier"),
    d(N, F, 2, "Point of service condition code"),
    d(N, F, 2, "Point of service PIN capture code"),
    d(N, F, 1, "Authorization identification response length"),
    d(XN, F, 9, "Amount, transaction fee"),
    d(XN, F, 9, "Amount, settlement fee"),
    d(XN, F, 9, "Amount, transaction processing fee"),
    d(XN, F, 9, "Amount, settlement processing fee"),
    d(N, LL, 11, "Acquiring institution identification code"),
    d(N, LL, 11, "Forwarding institution identification code"),
    d(ANS, LL, 28, "Primary account number, extended"),
    d(Z, LL, 37, "Track 2 data"),
    d(N, LLL, 104, "Track 3 data"),
    d(AN, F, 12, "Retrieval reference number"),
    d(AN, F, 6, "Authorization identification response"),
    d(AN, F, 2, "Response code"),
    d(AN, F, 3, "Service restriction code"),
    d(ANS, F, 8, "Card acceptor terminal identification"),
    d(ANS, F, 15, "Card acceptor identification code"),
    d(ANS, F, 40, "Card acceptor name/location"),
    d(AN, LL, 25, "Additional response data"),
    d(AN, LL, 76, "Track 1 data"),
    d(AN, LLL, 999, "Additional data, ISO"),
    d(AN, LLL, 999, "Additional data, national"),
    d(AN, LLL, 999, "Additional data, private"),
    d(N, F, 3, "Currency code, transaction"),
    d(N, F, 3, "Currency code, settlement"),
    d(N, F, 3, "Currency code, cardholder billing"),
    d(B, F, 8, "Personal identification number data"),
    d(N, F, 16, "Security related control information"),
    d(AN, LLL, 120, "Additional amounts"),
    d(B, LLL, 255, "ICC data (EMV)"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(N, LLL, 6, "Batch number (reserved, national)"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 20, "DUKPT key serial number (reserved, private)"),
    d(ANS, LLL, 999, "Benefits (reserved, private)"),
    d(B, F, 8, "Message authentication code (MAC)"),
    d(B, F, 8, "Bitmap, tertiary"),
    d(N, F, 1, "Settlement code"),
    d(N, F, 2, "Extended payment code"),
    d(N, F, 3, "Receiving institution country code"),
    d(N, F, 3, "Settlement institution country code"),
    d(N, F, 3, "Network management information code"),
    d(N, F, 4, "Message number"),
    d(N, F, 4, "Message number, last"),
    d(N, F, 6, "Date, action"),
    d(N, F, 10, "Credits, number"),
    d(N, F, 10, "Credits, reversal number"),
    d(N, F, 10, "Debits, number"),
    d(N, F, 10, "Debits, reversal number"),
    d(N, F, 10, "Transfer, number"),
    d(N, F, 10, "Transfer, reversal number"),
    d(N, F, 10, "Inquiries, number"),
    d(N, F, 10, "Authorizations, number"),
    d(N, F, 12, "Credits, processing fee amount"),
    d(N, F, 12, "Credits, transaction fee amount"),
    d(N, F, 12, "Debits, processing fee amount"),
    d(N, F, 12, "Debits, transaction fee amount"),
    d(N, F, 16, "Credits, amount"),
    d(N, F, 16, "Credits, reversal amount"),
    d(N, F, 16, "Debits, amount"),
    d(N, F, 16, "Debits, reversal amount"),
    d(N, F, 42, "Original data elements"),
    d(AN, F, 1, "File update code"),
    d(AN, F, 2, "File security code"),
    d(AN, F, 5, "Response indicator"),
    d(AN, F, 7, "Service indicator"),
    d(AN, F, 42, "Replacement amounts"),
    d(B, F, 8, "Message security code"),
    d(XN, F, 17, "Amount, net settlement"),
    d(ANS, F, 25, "Payee"),
    d(N, LL, 11, "Settlement institution identification code"),
    d(N, LL, 11, "Receiving institution identification code"),
    d(ANS, LL, 17, "File name"),
    d(ANS, LL, 28, "Account identification 1"),
    d(ANS, LL, 28, "Account identification 2"),
    d(ANS, LLL, 100, "Transaction description"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, ISO"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, national"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(ANS, LLL, 999, "Reserved, private"),
    d(B, F, 8, "Message authentication code (MAC)"),
];

/// `iso87`: ASCII MTI and fields, binary bitmaps, ASCII LL/LLL lengths, no
/// header (spec section 2).
pub const ISO87: Dialect = Dialect {
    name: "iso87",
    header_len: 0,
    mti: DigitEncoding::Ascii,
    numeric: DigitEncoding::Ascii,
    length_prefix: DigitEncoding::Ascii,
    fields: ISO87_FIELDS,
};

/// China UnionPay POS field table: the 1987 table with the CUP private-use
/// definitions of DE 60 (n..13), DE 62 (b..512) and DE 63 (ans..163).
pub const CUP_FIELDS: [Option<FieldDef>; 129] = {
    let mut fields = ISO87_FIELDS;
    fields[60] = d(
        N,
        LLL,
        13,
        "Reserved, national (CUP: type, batch, network code)",
    );
    fields[62] = d(
        B,
        LLL,
        512,
        "Reserved, private (CUP: terminal keys and data)",
    );
    fields[63] = d(
        ANS,
        LLL,
        163,
        "Reserved, private (CUP: operator, issuer data)",
    );
    fields
};

/// `cup`: 5-byte TPDU + 6-byte header, BCD MTI, BCD `n`/`z` fields, BCD
/// lengths, binary bitmaps, ASCII `an`/`ans`.
pub const CUP: Dialect = Dialect {
    name: "cup",
    header_len: 11,
    mti: DigitEncoding::Bcd,
    numeric: DigitEncoding::Bcd,
    length_prefix: DigitEncoding::Bcd,
    fields: CUP_FIELDS,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_1987_field_is_defined() {
        for field in 1..=FIELD_NUMBER_MAX {
            assert!(ISO87.field(field).is_some(), "DE {field}");
            assert!(CUP.field(field).is_some(), "DE {field}");
        }
        assert!(ISO87.field(0).is_none());
        assert!(ISO87.field(129).is_none());
    }

    #[test]
    fn host_fields_match_the_spec() {
        let check = |field: usize, expected: &str| {
            let def = ISO87.field(field).expect("defined");
            assert_eq!(def.to_string(), expected, "DE {field}");
        };
        check(2, "n..19 LLVAR");
        check(35, "z..37 LLVAR");
        check(52, "b8");
        check(54, "an..120 LLLVAR");
        check(55, "b..255 LLLVAR");
        check(60, "n..6 LLLVAR");
        check(62, "ans..20 LLLVAR");
        check(63, "ans..999 LLLVAR");
        check(64, "b8");
        check(90, "n42");
        check(41, "ans8");
        check(42, "ans15");
    }
}
