//! Everything a load terminal computes before the timed window: the sale
//! template (encoded once, with the offsets of the fields each request
//! changes) and, per request, the KSN and the encrypted PIN block (and the
//! MAC keys when the terminal MACs).

use cardsec::dukpt::{KeyVariant, TransactionKeyCache, variant_key};
use cardsec::{Ksn, Pin, TdesKey, pin};
use iso8583::{FRAME_HEADER_LEN, ISO87, MESSAGE_LEN_MAX, Message, MessageBuilder, Mti, de};

use crate::Error;
use crate::card::{Card, EntryMode};
use crate::state::{KSN_COUNTER_MAX, KSN_COUNTER_ONE_BITS_MAX};

/// One request's secrets, derived ahead of its send.
pub(crate) struct Step {
    /// DE 62: the KSN in hex.
    pub ksn_hex: [u8; 20],
    /// DE 52: the ISO 9564 format-0 block under the PIN key.
    pub pin_block: [u8; 8],
    /// Request and response MAC keys, when the terminal MACs.
    pub mac: Option<(TdesKey, TdesKey)>,
}

/// The next KSN counter after `counter` with at most ten one-bits.
pub(crate) fn next_counter(counter: u32) -> Result<u32, Error> {
    let mut next = counter;
    loop {
        next = next
            .checked_add(1)
            .filter(|c| *c <= KSN_COUNTER_MAX)
            .ok_or(Error::State(crate::state::StateError::KeyExhausted))?;
        if next.count_ones() <= KSN_COUNTER_ONE_BITS_MAX {
            return Ok(next);
        }
    }
}

/// Derives one step: the transaction key of `counter` and what it protects.
pub(crate) fn derive(
    keys: &mut TransactionKeyCache,
    initial: &Ksn,
    counter: u32,
    clear_block: &pin::ClearPinBlock,
    mac: bool,
) -> Result<Step, Error> {
    let ksn = initial.with_counter(counter)?;
    let key = keys.transaction_key(&ksn)?;
    let pin_block = pin::encrypt_tdes(&variant_key(&key, KeyVariant::Pin), clear_block)?;
    let mut ksn_hex = [0u8; 20];
    let text = ksn.to_string();
    ksn_hex.copy_from_slice(text.as_bytes().get(..20).unwrap_or(&[b'0'; 20]));
    let mac = mac.then(|| {
        (
            variant_key(&key, KeyVariant::MacRequest),
            variant_key(&key, KeyVariant::MacResponse),
        )
    });
    Ok(Step {
        ksn_hex,
        pin_block,
        mac,
    })
}

/// Where the fields a request changes sit in the encoded template body.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Offsets {
    pub transmission: usize,
    pub stan: usize,
    pub local_time: usize,
    pub local_date: usize,
    pub pin_block: usize,
    pub batch: usize,
    pub ksn: usize,
    /// DE 64, when the terminal MACs.
    pub mac: Option<usize>,
}

/// A framed swipe sale with PIN, encoded once.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    /// Length header and body.
    pub wire: Vec<u8>,
    pub offsets: Offsets,
}

/// What the template is built from.
pub(crate) struct SaleShape<'a> {
    pub tid: &'a str,
    pub mid: &'a str,
    pub card: &'a Card,
    pub amount_minor: u64,
    pub currency: u16,
    pub mac: bool,
}

/// Builds the sale exactly as [`crate::Terminal::sale`] does for a swipe
/// with PIN, with placeholder values in the fields that change.
pub(crate) fn template(shape: &SaleShape<'_>) -> Result<Template, Error> {
    let mti = Mti::parse("0200").ok_or_else(|| Error::Input("MTI 0200".into()))?;
    let mut message = MessageBuilder::new(&ISO87, mti);
    message
        .set_text(de::PROCESSING_CODE, "000000")?
        .set_number(de::AMOUNT, shape.amount_minor)?
        .set_text(de::TRANSMISSION_DATE_TIME, "0101000000")?
        .set_text(de::STAN, "000001")?
        .set_text(de::LOCAL_TIME, "000000")?
        .set_text(de::LOCAL_DATE, "0101")?
        .set_text(de::POS_ENTRY_MODE, &EntryMode::Swipe.pos_entry_mode(true))?
        .set_text(de::POS_CONDITION_CODE, "00")?
        .set_text(de::TRACK2, &shape.card.track2())?
        .set_text(de::TERMINAL_ID, shape.tid)?
        .set_text(de::MERCHANT_ID, shape.mid)?
        .set_number(de::CURRENCY_CODE, u64::from(shape.currency))?
        .set(de::PIN_BLOCK, &[0u8; 8])?
        .set_text(de::BATCH_NUMBER, "000001")?
        .set_text(de::KSN, &"0".repeat(20))?;
    if shape.mac {
        message.set(de::MAC, &[0u8; 8])?;
    }
    let mut wire = vec![0u8; MESSAGE_LEN_MAX + FRAME_HEADER_LEN];
    let len = message.encode_framed(&mut wire)?;
    wire.truncate(len);
    let body = wire.get(FRAME_HEADER_LEN..).unwrap_or_default();
    let decoded = Message::decode(&ISO87, body)?;
    let base = body.as_ptr() as usize;
    let at = |field: usize| -> Result<usize, Error> {
        let value = decoded
            .field(field)
            .ok_or_else(|| Error::Input(format!("template lacks DE {field}")))?;
        Ok(FRAME_HEADER_LEN + (value.as_bytes().as_ptr() as usize - base))
    };
    let offsets = Offsets {
        transmission: at(de::TRANSMISSION_DATE_TIME)?,
        stan: at(de::STAN)?,
        local_time: at(de::LOCAL_TIME)?,
        local_date: at(de::LOCAL_DATE)?,
        pin_block: at(de::PIN_BLOCK)?,
        batch: at(de::BATCH_NUMBER)?,
        ksn: at(de::KSN)?,
        mac: if shape.mac { Some(at(de::MAC)?) } else { None },
    };
    Ok(Template { wire, offsets })
}

/// The clear PIN block of the load's card and PIN (the same for every
/// request; only its encryption changes).
pub(crate) fn clear_block(pin_value: &Pin, card: &Card) -> pin::ClearPinBlock {
    pin::encode_iso0(pin_value, card.pan())
}

/// Writes `value` as `out.len()` decimal digits (the low ones).
pub(crate) fn put_digits(out: &mut [u8], mut value: u64) {
    for byte in out.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}
