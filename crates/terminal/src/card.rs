//! The simulated card: how it is read (entry mode, DE 22), its track 2
//! (DE 35) and, for chip and contactless reads, the ICC data (DE 55) with an
//! ARQC the card computes itself (Visa CVN 18 with the EMV common session
//! key).

use cardsec::emv::{self, CardData, CryptogramVersion, TransactionData};
use cardsec::{Pan, TdesKey};
use iso8583::tlv::{Tag, TlvWriter};

use crate::Error;

/// Longest DE 55 the terminal builds, bytes (the field's limit).
pub const ICC_DATA_LEN_MAX: usize = 255;
/// Issuer application data of CVN 18: length, key index, CVN 0x12, CVR.
const IAD_CVN18: [u8; 7] = [0x06, 0x01, 0x12, 0x03, 0xA0, 0xB8, 0x00];
/// Application interchange profile: SDA, cardholder verification, terminal
/// risk management, issuer authentication supported.
const AIP: [u8; 2] = [0x5C, 0x00];
/// Issuer key of chip cards whose issuer the simulator does not know: their
/// ARQC is well-formed but no host can verify it.
const UNKNOWN_ISSUER_IMK_HEX: &str = "00112233445566778899AABBCCDDEEFF";
/// Track 2 discretionary data of simulated cards.
const TRACK2_DISCRETIONARY: &str = "000000000";

/// How the card is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryMode {
    /// Magnetic stripe: DE 35, DE 22 `02x`.
    Swipe,
    /// Contact chip: DE 35 + DE 55, DE 22 `05x`.
    Chip,
    /// Contactless chip: DE 35 + DE 55, DE 22 `07x`.
    Contactless,
    /// Manual key entry: DE 2 + 14, DE 22 `01x`.
    Keyed,
}

impl EntryMode {
    /// Parses `swipe`, `chip`, `contactless` or `keyed`.
    #[must_use]
    pub fn parse(text: &str) -> Option<EntryMode> {
        match text {
            "swipe" => Some(EntryMode::Swipe),
            "chip" => Some(EntryMode::Chip),
            "contactless" => Some(EntryMode::Contactless),
            "keyed" => Some(EntryMode::Keyed),
            _ => None,
        }
    }

    /// DE 22: the PAN entry digits and the PIN capability digit.
    #[must_use]
    pub fn pos_entry_mode(self, pin_capable: bool) -> String {
        let pan_entry = match self {
            EntryMode::Keyed => "01",
            EntryMode::Swipe => "02",
            EntryMode::Chip => "05",
            EntryMode::Contactless => "07",
        };
        format!("{pan_entry}{}", if pin_capable { 1 } else { 2 })
    }

    /// Whether the read carries ICC data.
    #[must_use]
    pub fn is_chip(self) -> bool {
        matches!(self, EntryMode::Chip | EntryMode::Contactless)
    }

    /// As printed on a receipt.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            EntryMode::Swipe => "SWIPE",
            EntryMode::Chip => "CHIP",
            EntryMode::Contactless => "CONTACTLESS",
            EntryMode::Keyed => "MANUAL",
        }
    }
}

/// A card as the simulator holds it. `Debug` shows only the masked PAN.
#[derive(Clone)]
pub struct Card {
    pan: Pan,
    expiry: String,
    chip: bool,
    issuer_master_key: Option<TdesKey>,
    psn: u8,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("pan", &self.pan.masked())
            .field("chip", &self.chip)
            .finish_non_exhaustive()
    }
}

impl Card {
    /// A magnetic stripe card (service code 101).
    ///
    /// # Errors
    /// [`Error::Card`] unless the PAN has 12 to 19 digits and the expiry is
    /// `YYMM` with a month 01 to 12.
    pub fn new(pan: &str, expiry_yymm: &str) -> Result<Card, Error> {
        let digits = pan.len() >= 12 && pan.len() <= 19;
        let pan = Pan::new(pan)
            .ok()
            .filter(|_| digits)
            .ok_or(Error::Card("PAN must be 12 to 19 digits"))?;
        let month = expiry_yymm.get(2..4).and_then(|m| m.parse::<u8>().ok());
        let expiry_ok = expiry_yymm.len() == 4
            && expiry_yymm.bytes().all(|b| b.is_ascii_digit())
            && matches!(month, Some(1..=12));
        if !expiry_ok {
            return Err(Error::Card("expiry must be YYMM, e.g. 3012"));
        }
        Ok(Card {
            pan,
            expiry: expiry_yymm.to_owned(),
            chip: false,
            issuer_master_key: None,
            psn: 0,
        })
    }

    /// Makes it a chip card (service code 201) whose cryptograms derive from
    /// the issuer master key `imk` (option A, PAN sequence number `psn`);
    /// without one the cryptogram is well-formed but unverifiable.
    #[must_use]
    pub fn with_chip(mut self, imk: Option<TdesKey>, psn: u8) -> Card {
        self.chip = true;
        self.issuer_master_key = imk;
        self.psn = psn;
        self
    }

    /// The PAN.
    #[must_use]
    pub fn pan(&self) -> &Pan {
        &self.pan
    }

    /// Expiry, `YYMM`.
    #[must_use]
    pub fn expiry(&self) -> &str {
        &self.expiry
    }

    /// Whether it is a chip card.
    #[must_use]
    pub fn is_chip(&self) -> bool {
        self.chip
    }

    /// First six and last four digits.
    #[must_use]
    pub fn masked_pan(&self) -> String {
        cardsec::mask_pan(self.pan.expose_digits())
    }

    /// Track 2 equivalent data: `PAN=YYMM`, service code, discretionary.
    #[must_use]
    pub fn track2(&self) -> String {
        let service_code = if self.chip { "201" } else { "101" };
        format!(
            "{}={}{service_code}{TRACK2_DISCRETIONARY}",
            self.pan.expose_digits(),
            self.expiry
        )
    }

    /// DE 55 of a chip or contactless read of this card.
    ///
    /// # Errors
    /// [`Error::Card`] when the card's key cannot compute a cryptogram.
    pub fn icc_data(&self, transaction: &IccTransaction) -> Result<Vec<u8>, Error> {
        let data = transaction.cryptogram_data();
        let unknown;
        let imk = match &self.issuer_master_key {
            Some(key) => key,
            None => {
                unknown = TdesKey::from_hex(UNKNOWN_ISSUER_IMK_HEX)
                    .map_err(|_| Error::Card("issuer key"))?;
                &unknown
            }
        };
        let card = CardData {
            pan: &self.pan,
            psn: self.psn,
            atc: data.atc,
        };
        let input = data
            .cryptogram_input(CryptogramVersion::Cvn18)
            .map_err(|_| Error::Card("cryptogram data"))?;
        let arqc = emv::arqc(imk, CryptogramVersion::Cvn18, &card, &input)
            .map_err(|_| Error::Card("issuer key cannot compute an ARQC"))?;
        write_icc(&data, &arqc, self.psn)
    }
}

impl Card {
    /// Whether the card accepts the issuer's answer: tag 91 of the
    /// response (ARPC method 2 ‖ CSU) over the ARQC it sent with the ATC it
    /// used. `None` when the card cannot tell (no issuer key, malformed
    /// tag): it then goes by the host's response code.
    #[must_use]
    pub fn accepts_arpc(&self, atc: [u8; 2], arqc: &[u8; 8], tag_91: &[u8]) -> Option<bool> {
        let imk = self.issuer_master_key.as_ref()?;
        let (arpc, csu) = (tag_91.get(..4)?, tag_91.get(4..8)?);
        let csu: [u8; 4] = csu.try_into().ok()?;
        let card = CardData {
            pan: &self.pan,
            psn: self.psn,
            atc,
        };
        let expected = emv::arpc_cvn18(imk, &card, arqc, csu).ok()?;
        Some(expected.as_slice() == arpc)
    }
}

/// What the terminal hands the card for one cryptogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IccTransaction {
    /// Amount, minor units (9F02).
    pub amount_minor: u64,
    /// ISO 4217 / 3166 numeric code of currency and country (5F2A, 9F1A).
    pub currency: u16,
    /// Local date, BCD `YYMMDD` (9A).
    pub date: [u8; 3],
    /// Transaction type (9C): the first two digits of DE 3 as BCD.
    pub transaction_type: u8,
    /// Unpredictable number (9F37).
    pub unpredictable_number: [u8; 4],
    /// Application transaction counter (9F36).
    pub atc: u16,
}

impl IccTransaction {
    fn cryptogram_data(&self) -> TransactionData {
        let code = bcd2(self.currency);
        TransactionData {
            amount: bcd6(self.amount_minor),
            amount_other: [0; 6],
            terminal_country: code,
            tvr: [0x00, 0x00, 0x00, 0x80, 0x00],
            currency: code,
            date: self.date,
            transaction_type: self.transaction_type,
            unpredictable_number: self.unpredictable_number,
            aip: AIP,
            atc: self.atc.to_be_bytes(),
            iad: IAD_CVN18.to_vec(),
        }
    }
}

/// `n12` as six BCD bytes.
fn bcd6(value: u64) -> [u8; 6] {
    let digits = format!("{:012}", value % 1_000_000_000_000);
    let mut out = [0u8; 6];
    for (slot, pair) in out.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
        *slot = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    out
}

/// A three-digit code as two BCD bytes (`156` → `01 56`).
fn bcd2(value: u16) -> [u8; 2] {
    let bytes = bcd6(u64::from(value));
    [bytes[4], bytes[5]]
}

fn write_icc(data: &TransactionData, arqc: &[u8; 8], psn: u8) -> Result<Vec<u8>, Error> {
    let mut buffer = [0u8; ICC_DATA_LEN_MAX];
    let mut writer = TlvWriter::new(&mut buffer);
    let psn_bcd = [((psn / 10) << 4) | (psn % 10)];
    let objects: [(u32, &[u8]); 17] = [
        (0x9F26, arqc),
        (0x9F27, &[0x80]),
        (0x9F10, &data.iad),
        (0x9F37, &data.unpredictable_number),
        (0x9F36, &data.atc),
        (0x95, &data.tvr),
        (0x9A, &data.date),
        (0x9C, &[data.transaction_type]),
        (0x9F02, &data.amount),
        (0x5F2A, &data.currency),
        (0x82, &data.aip),
        (0x9F1A, &data.terminal_country),
        (0x9F03, &data.amount_other),
        (0x5F34, &psn_bcd),
        (0x9F33, &[0xE0, 0xF8, 0xC8]),
        (0x9F35, &[0x22]),
        (0x84, &[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x02]),
    ];
    for (number, value) in objects {
        let tag = Tag::from_u32(number).ok_or(Error::Card("EMV tag"))?;
        writer
            .put(tag, value)
            .map_err(|_| Error::Card("ICC data exceeds DE 55"))?;
    }
    Ok(writer.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track2_and_entry_modes() {
        let stripe = Card::new("6217000000000014", "3012").unwrap();
        assert_eq!(stripe.track2(), "6217000000000014=3012101000000000");
        let chip = Card::new("6225880000000019", "3012")
            .unwrap()
            .with_chip(None, 0);
        assert_eq!(chip.track2(), "6225880000000019=3012201000000000");
        assert_eq!(EntryMode::Swipe.pos_entry_mode(true), "021");
        assert_eq!(EntryMode::Chip.pos_entry_mode(true), "051");
        assert_eq!(EntryMode::Contactless.pos_entry_mode(false), "072");
        assert_eq!(EntryMode::Keyed.pos_entry_mode(true), "011");
        assert!(!format!("{chip:?}").contains("6225880000000019"));
    }

    #[test]
    fn refuses_bad_cards() {
        for (pan, expiry) in [
            ("62170000000", "3012"),
            ("62170000000000141234", "3012"),
            ("621700000000001X", "3012"),
            ("6217000000000014", "3013"),
            ("6217000000000014", "301"),
            ("6217000000000014", "3000"),
        ] {
            assert!(Card::new(pan, expiry).is_err(), "{pan} {expiry}");
        }
    }

    #[test]
    fn bcd_forms() {
        assert_eq!(bcd6(12_345), [0, 0, 0, 0x01, 0x23, 0x45]);
        assert_eq!(bcd2(156), [0x01, 0x56]);
    }
}
