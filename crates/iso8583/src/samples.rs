//! Realistic sample messages of the host interface, for tests, benchmarks
//! and the terminal simulator. All values are test data (test PAN, zero
//! keys).

use crate::de;
use crate::dialect::Dialect;
use crate::encode::MessageBuilder;
use crate::error::Error;
use crate::mti::Mti;
use crate::tlv::{Tag, TlvWriter};

fn mti(text: &str) -> Mti {
    // Callers pass literal four-digit MTIs.
    Mti::parse(text).unwrap_or(Mti::PLACEHOLDER)
}

fn tag(value: u32) -> Result<Tag, Error> {
    Tag::from_u32(value).ok_or(Error::InvalidTlv {
        part: crate::error::Part::TlvTag,
        offset: 0,
        problem: "not a tag",
    })
}

/// DE 55 of a contact chip sale: the tags of spec section 8 and a few more,
/// 125 bytes.
///
/// # Errors
///
/// None in practice (the buffer is large enough).
pub fn icc_request(buffer: &mut [u8; 255]) -> Result<usize, Error> {
    let mut writer = TlvWriter::new(buffer);
    writer
        .put(
            tag(0x9F26)?,
            &[0x8A, 0x31, 0x5C, 0x0D, 0x4E, 0x27, 0x9B, 0x12],
        )?
        .put(tag(0x9F27)?, &[0x80])?
        .put(
            tag(0x9F10)?,
            &[
                0x06, 0x01, 0x12, 0x03, 0xA0, 0x00, 0x00, 0x0F, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x00,
            ],
        )?
        .put(tag(0x9F37)?, &[0x3C, 0x7A, 0x91, 0x05])?
        .put(tag(0x9F36)?, &[0x00, 0x2A])?
        .put(tag(0x95)?, &[0x00, 0x00, 0x00, 0x80, 0x00])?
        .put(tag(0x9A)?, &[0x26, 0x11, 0x24])?
        .put(tag(0x9C)?, &[0x00])?
        .put(tag(0x9F02)?, &[0x00, 0x00, 0x00, 0x01, 0x23, 0x45])?
        .put(tag(0x5F2A)?, &[0x01, 0x56])?
        .put(tag(0x82)?, &[0x3C, 0x00])?
        .put(tag(0x9F1A)?, &[0x01, 0x56])?
        .put(tag(0x9F03)?, &[0x00; 6])?
        .put(tag(0x9F33)?, &[0xE0, 0xF8, 0xC8])?
        .put(tag(0x9F34)?, &[0x42, 0x03, 0x00])?
        .put(tag(0x9F35)?, &[0x22])?
        .put(tag(0x84)?, &[0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10])?
        .put(tag(0x9F09)?, &[0x00, 0x8C])?;
    Ok(writer.len())
}

/// A 0200 contact chip sale with PIN and MAC, about 285 bytes in `iso87`.
///
/// # Errors
///
/// None in practice: every value fits its field.
pub fn sale_request(dialect: &'static Dialect) -> Result<MessageBuilder, Error> {
    let mut icc = [0u8; 255];
    let icc_len = icc_request(&mut icc)?;
    let mut message = MessageBuilder::new(dialect, mti("0200"));
    message
        .set_text(de::PAN, "4761739001010119")?
        .set_text(de::PROCESSING_CODE, "000000")?
        .set_number(de::AMOUNT, 12345)?
        .set_text(de::TRANSMISSION_DATE_TIME, "1124201530")?
        .set_number(de::STAN, 123)?
        .set_text(de::LOCAL_TIME, "201530")?
        .set_text(de::LOCAL_DATE, "1124")?
        .set_text(de::EXPIRATION_DATE, "2812")?
        .set_text(de::POS_ENTRY_MODE, "051")?
        .set_text(de::POS_CONDITION_CODE, "00")?
        .set_text(de::TERMINAL_ID, "TERM0001")?
        .set_text(de::MERCHANT_ID, "MERCHANT0000001")?
        .set_number(de::CURRENCY_CODE, 156)?
        .set(
            de::PIN_BLOCK,
            &[0x3F, 0x1B, 0x9A, 0x04, 0x77, 0xC2, 0x5E, 0x81],
        )?
        .set(de::ICC_DATA, icc.get(..icc_len).unwrap_or_default())?
        .set_text(de::BATCH_NUMBER, "000001")?
        .set_text(de::KSN, "FFFF9876543210E00001")?
        .set(de::MAC, &[0x5A, 0x0C, 0x33, 0x91, 0xE4, 0x10, 0x7B, 0x26])?;
    Ok(message)
}

/// The approved 0210 answer to [`sale_request`], with an ARPC in DE 55 and
/// benefits in DE 63.
///
/// # Errors
///
/// None in practice: every value fits its field.
pub fn sale_response(dialect: &'static Dialect) -> Result<MessageBuilder, Error> {
    let mut message = MessageBuilder::new(dialect, mti("0210"));
    message
        .set_text(de::PROCESSING_CODE, "000000")?
        .set_number(de::AMOUNT, 12345)?
        .set_text(de::TRANSMISSION_DATE_TIME, "1124201530")?
        .set_number(de::STAN, 123)?
        .set_text(de::LOCAL_TIME, "201530")?
        .set_text(de::LOCAL_DATE, "1124")?
        .set_text(de::POS_CONDITION_CODE, "00")?
        .set_text(de::RRN, "633012000123")?
        .set_text(de::AUTHORIZATION_CODE, "A1B2C3")?
        .set_text(de::RESPONSE_CODE, "00")?
        .set_text(de::TERMINAL_ID, "TERM0001")?
        .set_text(de::MERCHANT_ID, "MERCHANT0000001")?
        .set_number(de::CURRENCY_CODE, 156)?
        .set(
            de::ICC_DATA,
            &[
                0x91, 0x0A, 0x7D, 0x22, 0x5C, 0x81, 0x0A, 0x13, 0x00, 0x00, 0x00, 0x00,
            ],
        )?
        .set_text(de::BATCH_NUMBER, "000001")?
        .set_text(de::KSN, "FFFF9876543210E00001")?
        .set_text(
            de::BENEFITS,
            "PROG=CB01;DISC=000000000500;PAID=000000011845",
        )?
        .set(de::MAC, &[0x91, 0x4D, 0x02, 0xAA, 0x6E, 0x37, 0xC0, 0x58])?;
    Ok(message)
}

/// A 0800 echo test (DE 70 = 301), which needs the secondary bitmap.
///
/// # Errors
///
/// None in practice: every value fits its field.
pub fn echo_request(dialect: &'static Dialect) -> Result<MessageBuilder, Error> {
    let mut message = MessageBuilder::new(dialect, mti("0800"));
    message
        .set_text(de::TRANSMISSION_DATE_TIME, "1124201530")?
        .set_number(de::STAN, 42)?
        .set_text(de::TERMINAL_ID, "TERM0001")?
        .set_number(de::NETWORK_MANAGEMENT_CODE, 301)?;
    Ok(message)
}

/// A 0500 batch settlement with totals in DE 74, 76, 86, 88.
///
/// # Errors
///
/// None in practice: every value fits its field.
pub fn settlement_request(dialect: &'static Dialect) -> Result<MessageBuilder, Error> {
    let mut message = MessageBuilder::new(dialect, mti("0500"));
    message
        .set_text(de::PROCESSING_CODE, "920000")?
        .set_text(de::TRANSMISSION_DATE_TIME, "1124235900")?
        .set_number(de::STAN, 124)?
        .set_text(de::TERMINAL_ID, "TERM0001")?
        .set_text(de::MERCHANT_ID, "MERCHANT0000001")?
        .set_text(de::BATCH_NUMBER, "000001")?
        .set_number(de::CREDITS_NUMBER, 2)?
        .set_number(de::DEBITS_NUMBER, 57)?
        .set_number(de::CREDITS_AMOUNT, 4500)?
        .set_number(de::DEBITS_AMOUNT, 1_234_567)?;
    Ok(message)
}

/// A 0400 reversal of [`sale_request`], naming it in DE 90.
///
/// # Errors
///
/// None in practice: every value fits its field.
pub fn reversal_request(dialect: &'static Dialect) -> Result<MessageBuilder, Error> {
    let mut message = MessageBuilder::new(dialect, mti("0400"));
    message
        .set_text(de::PAN, "4761739001010119")?
        .set_text(de::PROCESSING_CODE, "000000")?
        .set_number(de::AMOUNT, 12345)?
        .set_text(de::TRANSMISSION_DATE_TIME, "1124201600")?
        .set_number(de::STAN, 125)?
        .set_text(de::TERMINAL_ID, "TERM0001")?
        .set_text(de::MERCHANT_ID, "MERCHANT0000001")?
        .set_number(de::CURRENCY_CODE, 156)?
        .set_text(
            de::ORIGINAL_DATA,
            "020000012311242015300000000000000000000000",
        )?;
    Ok(message)
}
