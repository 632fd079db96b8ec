//! Typed accessors for the data elements the host uses (spec section 3),
//! and their field numbers.

use crate::field::FieldValue;
use crate::message::Message;
use crate::mti::Mti;
use crate::tlv::TlvIter;

/// Field numbers of the data elements the host uses.
pub mod de {
    /// PAN, n..19 LLVAR.
    pub const PAN: usize = 2;
    /// Processing code, n6.
    pub const PROCESSING_CODE: usize = 3;
    /// Amount, transaction, n12 (minor units).
    pub const AMOUNT: usize = 4;
    /// Transmission date and time, n10 MMDDhhmmss.
    pub const TRANSMISSION_DATE_TIME: usize = 7;
    /// STAN, n6.
    pub const STAN: usize = 11;
    /// Local time, n6 hhmmss.
    pub const LOCAL_TIME: usize = 12;
    /// Local date, n4 MMDD.
    pub const LOCAL_DATE: usize = 13;
    /// Expiration date, n4 YYMM.
    pub const EXPIRATION_DATE: usize = 14;
    /// POS entry mode, n3.
    pub const POS_ENTRY_MODE: usize = 22;
    /// POS condition code, n2.
    pub const POS_CONDITION_CODE: usize = 25;
    /// Track 2, z..37 LLVAR.
    pub const TRACK2: usize = 35;
    /// Retrieval reference number, an12.
    pub const RRN: usize = 37;
    /// Authorization code, an6.
    pub const AUTHORIZATION_CODE: usize = 38;
    /// Response code, an2.
    pub const RESPONSE_CODE: usize = 39;
    /// Terminal id, ans8.
    pub const TERMINAL_ID: usize = 41;
    /// Merchant id, ans15.
    pub const MERCHANT_ID: usize = 42;
    /// Currency code, n3.
    pub const CURRENCY_CODE: usize = 49;
    /// PIN block, b8.
    pub const PIN_BLOCK: usize = 52;
    /// Additional amounts, an..120 LLLVAR.
    pub const ADDITIONAL_AMOUNTS: usize = 54;
    /// ICC data, b..255 LLLVAR.
    pub const ICC_DATA: usize = 55;
    /// Batch number, n..6 LLLVAR.
    pub const BATCH_NUMBER: usize = 60;
    /// DUKPT KSN, ans..20 LLLVAR.
    pub const KSN: usize = 62;
    /// Benefits, ans..999 LLLVAR.
    pub const BENEFITS: usize = 63;
    /// MAC, b8.
    pub const MAC: usize = 64;
    /// Network management code, n3.
    pub const NETWORK_MANAGEMENT_CODE: usize = 70;
    /// Credits, number, n10.
    pub const CREDITS_NUMBER: usize = 74;
    /// Debits, number, n10.
    pub const DEBITS_NUMBER: usize = 76;
    /// Credits, amount, n16.
    pub const CREDITS_AMOUNT: usize = 86;
    /// Debits, amount, n16.
    pub const DEBITS_AMOUNT: usize = 88;
    /// Original data elements, n42.
    pub const ORIGINAL_DATA: usize = 90;
}

/// DE 90 of a reversal: which request it reverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginalData {
    /// MTI of the original.
    pub mti: Mti,
    /// STAN of the original.
    pub stan: u32,
    /// DE 7 of the original, MMDDhhmmss as a number.
    pub transmission_date_time: u64,
}

impl<'a> Message<'a> {
    /// A numeric field (up to 19 digits) as a number.
    #[must_use]
    pub fn number(&self, field: usize) -> Option<u64> {
        self.field(field)?.to_u64()
    }

    /// A text field (`an`, `ans`, or any field of an ASCII dialect).
    #[must_use]
    pub fn text(&self, field: usize) -> Option<&'a str> {
        self.field(field)?.as_text()
    }

    fn number_u32(&self, field: usize) -> Option<u32> {
        u32::try_from(self.number(field)?).ok()
    }

    fn fixed_bytes<const N: usize>(&self, field: usize) -> Option<&'a [u8; N]> {
        self.field(field)?.as_bytes().try_into().ok()
    }

    /// DE 2, the PAN.
    #[must_use]
    pub fn pan(&self) -> Option<FieldValue<'a>> {
        self.field(de::PAN)
    }

    /// DE 3, processing code.
    #[must_use]
    pub fn processing_code(&self) -> Option<u32> {
        self.number_u32(de::PROCESSING_CODE)
    }

    /// DE 4, amount in minor units.
    #[must_use]
    pub fn amount_minor(&self) -> Option<u64> {
        self.number(de::AMOUNT)
    }

    /// DE 7, transmission date and time MMDDhhmmss as a number.
    #[must_use]
    pub fn transmission_date_time(&self) -> Option<u64> {
        self.number(de::TRANSMISSION_DATE_TIME)
    }

    /// DE 11, STAN.
    #[must_use]
    pub fn stan(&self) -> Option<u32> {
        self.number_u32(de::STAN)
    }

    /// DE 12, local time hhmmss as a number.
    #[must_use]
    pub fn local_time(&self) -> Option<u32> {
        self.number_u32(de::LOCAL_TIME)
    }

    /// DE 13, local date MMDD as a number.
    #[must_use]
    pub fn local_date(&self) -> Option<u32> {
        self.number_u32(de::LOCAL_DATE)
    }

    /// DE 14, expiration date YYMM as a number.
    #[must_use]
    pub fn expiration_date(&self) -> Option<u32> {
        self.number_u32(de::EXPIRATION_DATE)
    }

    /// DE 22, POS entry mode.
    #[must_use]
    pub fn pos_entry_mode(&self) -> Option<u32> {
        self.number_u32(de::POS_ENTRY_MODE)
    }

    /// DE 25, POS condition code.
    #[must_use]
    pub fn pos_condition_code(&self) -> Option<u32> {
        self.number_u32(de::POS_CONDITION_CODE)
    }

    /// DE 35, track 2.
    #[must_use]
    pub fn track2(&self) -> Option<FieldValue<'a>> {
        self.field(de::TRACK2)
    }

    /// DE 37, retrieval reference number.
    #[must_use]
    pub fn rrn(&self) -> Option<&'a str> {
        self.text(de::RRN)
    }

    /// DE 38, authorization code.
    #[must_use]
    pub fn authorization_code(&self) -> Option<&'a str> {
        self.text(de::AUTHORIZATION_CODE)
    }

    /// DE 39, response code.
    #[must_use]
    pub fn response_code(&self) -> Option<&'a str> {
        self.text(de::RESPONSE_CODE)
    }

    /// DE 41, terminal id.
    #[must_use]
    pub fn terminal_id(&self) -> Option<&'a str> {
        self.text(de::TERMINAL_ID)
    }

    /// DE 42, merchant id.
    #[must_use]
    pub fn merchant_id(&self) -> Option<&'a str> {
        self.text(de::MERCHANT_ID)
    }

    /// DE 49, currency code (ISO 4217 numeric).
    #[must_use]
    pub fn currency_code(&self) -> Option<u16> {
        u16::try_from(self.number(de::CURRENCY_CODE)?).ok()
    }

    /// DE 52, PIN block.
    #[must_use]
    pub fn pin_block(&self) -> Option<&'a [u8; 8]> {
        self.fixed_bytes(de::PIN_BLOCK)
    }

    /// DE 54, additional amounts.
    #[must_use]
    pub fn additional_amounts(&self) -> Option<&'a str> {
        self.text(de::ADDITIONAL_AMOUNTS)
    }

    /// DE 55, ICC data bytes.
    #[must_use]
    pub fn icc_data(&self) -> Option<&'a [u8]> {
        Some(self.field(de::ICC_DATA)?.as_bytes())
    }

    /// DE 55 as TLV objects.
    #[must_use]
    pub fn icc_tlv(&self) -> Option<TlvIter<'a>> {
        Some(TlvIter::new(self.icc_data()?))
    }

    /// DE 60, batch number.
    #[must_use]
    pub fn batch_number(&self) -> Option<u32> {
        self.number_u32(de::BATCH_NUMBER)
    }

    /// DE 62, DUKPT KSN (hex characters).
    #[must_use]
    pub fn ksn(&self) -> Option<&'a str> {
        self.text(de::KSN)
    }

    /// DE 63, benefits.
    #[must_use]
    pub fn benefits(&self) -> Option<&'a str> {
        self.text(de::BENEFITS)
    }

    /// DE 64, MAC.
    #[must_use]
    pub fn mac(&self) -> Option<&'a [u8; 8]> {
        self.fixed_bytes(de::MAC)
    }

    /// DE 70, network management code.
    #[must_use]
    pub fn network_management_code(&self) -> Option<u16> {
        u16::try_from(self.number(de::NETWORK_MANAGEMENT_CODE)?).ok()
    }

    /// DE 74, credits count.
    #[must_use]
    pub fn credits_number(&self) -> Option<u64> {
        self.number(de::CREDITS_NUMBER)
    }

    /// DE 76, debits count.
    #[must_use]
    pub fn debits_number(&self) -> Option<u64> {
        self.number(de::DEBITS_NUMBER)
    }

    /// DE 86, credits total in minor units.
    #[must_use]
    pub fn credits_amount(&self) -> Option<u64> {
        self.number(de::CREDITS_AMOUNT)
    }

    /// DE 88, debits total in minor units.
    #[must_use]
    pub fn debits_amount(&self) -> Option<u64> {
        self.number(de::DEBITS_AMOUNT)
    }

    /// DE 90, original data elements (MTI, STAN, DE 7; the 22 trailing
    /// digits are ignored).
    #[must_use]
    pub fn original_data(&self) -> Option<OriginalData> {
        let value = self.field(de::ORIGINAL_DATA)?;
        let mut digits = [0u8; 42];
        for (slot, char) in digits.iter_mut().zip(value.chars()) {
            *slot = char;
        }
        let mti = Mti::new(digits[..4].try_into().ok()?)?;
        let stan = crate::field::ascii_to_u64(&digits[4..10])?;
        let transmission_date_time = crate::field::ascii_to_u64(&digits[10..20])?;
        Some(OriginalData {
            mti,
            stan: u32::try_from(stan).ok()?,
            transmission_date_time,
        })
    }
}
