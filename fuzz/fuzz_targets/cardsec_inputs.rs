//! Every parser of card-security input that an operator or a terminal can
//! reach: hex, KSNs, PANs, PINs, clear PIN blocks of every format, TR-31 key
//! blocks and stored vault records. None may panic.
#![no_main]

use cardsec::pin::{self, PinBlockFormat};
use cardsec::vault::{EncryptedPan, Vault, VaultKey};
use cardsec::{ClearPinBlock, Ksn, Pan, Pin, Secret, hex, tr31};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = hex::decode(&text, "fuzz");
    let _ = Ksn::from_hex(&text);
    let pan = Pan::new(&text).ok();
    let _ = Pan::new_luhn(&text);
    let _ = Pin::new(&text);
    if let Ok(block) = ClearPinBlock::new(data) {
        for format in [PinBlockFormat::Iso0, PinBlockFormat::Iso1, PinBlockFormat::Iso3, PinBlockFormat::Iso4] {
            let _ = pin::decode(format, &block, pan.as_ref());
        }
    }
    let kbpk = Secret::from_slice(&[0x11; 16]);
    let _ = tr31::unwrap(&kbpk, &text);
    if let Ok(record) = text.parse::<EncryptedPan>() {
        if let Ok(key) = VaultKey::new(1, &[0x22; 32], &[0x33; 32]) {
            let _ = Vault::new(key).decrypt(&record);
        }
    }
});
