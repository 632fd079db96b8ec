//! The card security checks of a request: MAC verification under the
//! terminal's DUKPT keys, the PIN checked against the card's PVV, and the
//! chip cryptogram (ARQC verified, ARPC answered in tag 91). Keys and clear
//! PINs stay inside `cardsec`; these functions see only verdicts.

use std::collections::HashMap;

use cardsec::dukpt::{KeyVariant, TransactionKeyCache, variant_key};
use cardsec::emv::{CardData, TransactionData, authorize_cvn18};
use cardsec::mac::{Padding, verify_retail_mac};
use cardsec::{Ksn, Pan, TdesKey, pinverify};
use domain::issuing::{CryptogramCheck, PinCheck};
use iso8583::tlv::{Tag, TlvIter, TlvWriter};
use iso8583::{Message, de};

use super::Host;
use crate::authorize::{CardFacts, Decision};
use crate::records::TerminalRecord;
use crate::request::Request;
use crate::seed::PVKI;
use crate::state::answer_key;

impl Host {
    pub(super) fn working_key(
        &self,
        terminal: &TerminalRecord,
        ksn: &Ksn,
        variant: KeyVariant,
    ) -> Option<TdesKey> {
        let mut caches = self.key_caches.lock().ok()?;
        // Looked up by reference first: the TID is copied only once per
        // terminal, not on every request.
        if !caches.contains_key(terminal.tid.as_str()) {
            let initial = Ksn::from_hex(&terminal.initial_ksn).ok()?;
            let cache = TransactionKeyCache::new(&self.config.keys.bdk, &initial).ok()?;
            caches.insert(terminal.tid.clone(), cache);
        }
        let key = caches
            .get_mut(terminal.tid.as_str())?
            .transaction_key(ksn)
            .ok()?;
        Some(variant_key(&key, variant))
    }

    pub(super) fn mac_verifies(
        &self,
        message: &Message<'_>,
        terminal: &TerminalRecord,
        ksn: Option<&Ksn>,
    ) -> bool {
        let (Some(ksn), Some(input), Some(mac)) =
            (ksn, message.mac_input(), message.field(de::MAC))
        else {
            return false;
        };
        let Some(key) = self.working_key(terminal, ksn, KeyVariant::MacRequest) else {
            return false;
        };
        verify_retail_mac(&key, input, Padding::Method1, mac.as_bytes()).unwrap_or(false)
    }

    pub(super) fn issuer_checks(
        &self,
        request: &Request,
        terminal: &TerminalRecord,
        ksn: Option<&Ksn>,
        pan: &Pan,
        card: &CheckedCard,
        facts: &mut CardFacts,
    ) -> Option<()> {
        if let (Some(block), Some(ksn)) = (&request.pin_block, ksn) {
            let verified = self
                .working_key(terminal, ksn, KeyVariant::Pin)
                .and_then(|key| {
                    pinverify::verify_pin_pvv_iso0(
                        block,
                        pan,
                        &key,
                        &self.config.keys.pvk,
                        PVKI,
                        &card.pvv,
                    )
                    .ok()
                })
                .unwrap_or(false);
            facts.pin = if verified {
                PinCheck::Correct
            } else {
                PinCheck::Incorrect
            };
        }
        let chip = request.entry.is_some_and(|e| e.requires_icc());
        if chip && card.chip {
            facts.cryptogram = match request.icc.as_deref().and_then(|icc| self.arqc(icc, pan)) {
                Some(true) => CryptogramCheck::Valid,
                _ => CryptogramCheck::Invalid,
            };
        }
        Some(())
    }

    /// The CVN 18 check of the ARQC in `icc` with the issuer's key: `None`
    /// when the ICC data lacks a tag.
    fn cvn18(&self, icc: &[u8], pan: &Pan) -> Option<cardsec::emv::Cvn18Outcome> {
        let (data, arqc, atc) = transaction_data(icc)?;
        let input = data
            .cryptogram_input(cardsec::emv::CryptogramVersion::Cvn18)
            .ok()?;
        let card = CardData { pan, psn: 0, atc };
        authorize_cvn18(&self.config.keys.imk, &card, &input, &arqc, [0; 4]).ok()
    }

    /// Verifies the CVN 18 ARQC; `None` when the ICC data lacks a tag.
    fn arqc(&self, icc: &[u8], pan: &Pan) -> Option<bool> {
        Some(self.cvn18(icc, pan)?.arqc_valid)
    }

    /// Tag 91 (ARPC ‖ CSU) for a chip response, as hex.
    fn issuer_authentication(&self, icc: &[u8], pan: &Pan) -> Option<String> {
        let mut value = self.cvn18(icc, pan)?.arpc.to_vec();
        value.extend_from_slice(&[0; 4]);
        let mut buffer = [0u8; 32];
        let mut writer = TlvWriter::new(&mut buffer);
        writer.put(Tag::from_u32(0x91)?, &value).ok()?;
        Some(hex(writer.as_bytes()))
    }

    /// Tag 91 of an approved chip request whose ARQC was valid, in the
    /// answer and in the stored answer record.
    pub(super) fn add_issuer_authentication(
        &self,
        request: &Request,
        facts: Option<&CardFacts>,
        decision: &mut Decision,
    ) {
        let (Some(icc), Some(pan), Some(f)) = (&request.icc, &request.pan, facts) else {
            return;
        };
        if f.cryptogram != CryptogramCheck::Valid {
            return;
        }
        decision.answer.icc_hex = self.issuer_authentication(icc, pan).unwrap_or_default();
        decision
            .records
            .retain(|r| !matches!(r, crate::records::Record::Answer(..)));
        let key = answer_key(&request.tid, request.stan, request.transmission);
        decision
            .records
            .push(crate::records::Record::Answer(key, decision.answer.clone()));
    }
}

/// What the PIN and cryptogram checks read of an on-us card (copied out of
/// the state under its lock, rather than the whole record).
pub(super) struct CheckedCard {
    /// PIN verification value.
    pub(super) pvv: String,
    /// Chip card of the program.
    pub(super) chip: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads the CVN 18 inputs from DE 55: the data, the ARQC (9F26), the ATC.
fn transaction_data(icc: &[u8]) -> Option<(TransactionData, [u8; 8], [u8; 2])> {
    let mut tags: HashMap<Vec<u8>, &[u8]> = HashMap::new();
    for tlv in TlvIter::new(icc) {
        let tlv = tlv.ok()?;
        tags.insert(tlv.tag.as_bytes().to_vec(), tlv.value);
    }
    fn get<const N: usize>(tags: &HashMap<Vec<u8>, &[u8]>, tag: &[u8]) -> Option<[u8; N]> {
        tags.get(tag)?.get(..N)?.try_into().ok()
    }
    let atc = get::<2>(&tags, &[0x9F, 0x36])?;
    let data = TransactionData {
        amount: get(&tags, &[0x9F, 0x02])?,
        amount_other: get(&tags, &[0x9F, 0x03])?,
        terminal_country: get(&tags, &[0x9F, 0x1A])?,
        tvr: get(&tags, &[0x95])?,
        currency: get(&tags, &[0x5F, 0x2A])?,
        date: get(&tags, &[0x9A])?,
        transaction_type: get::<1>(&tags, &[0x9C])?[0],
        unpredictable_number: get(&tags, &[0x9F, 0x37])?,
        aip: get(&tags, &[0x82])?,
        atc,
        iad: tags.get([0x9F, 0x10].as_slice())?.to_vec(),
    };
    Some((data, get(&tags, &[0x9F, 0x26])?, atc))
}
