//! No secret in `Debug`, `Display` or error messages: every public type that
//! carries a secret is formatted and searched for the clear value.
#![allow(clippy::unwrap_used)]

use cardsec::tr31::{self, Header, Version};
use cardsec::vault::{Vault, VaultKey};
use cardsec::{AesKey, ClearPinBlock, Pan, Pin, Secret, TdesKey, hex};

const KEY_HEX: &str = "0123456789ABCDEFFEDCBA9876543210";
const AES256_HEX: &str = "00112233445566778899AABBCCDDEEFF0F1E2D3C4B5A69788796A5B4C3D2E1F0";
const PAN: &str = "4111111111111111";
const PIN: &str = "246813";

fn assert_hidden(formatted: &str, clear: &[&str]) {
    for secret in clear {
        for form in [secret.to_string(), secret.to_lowercase()] {
            assert!(!formatted.contains(&form), "{formatted:?} reveals {form}");
        }
    }
}

#[test]
fn debug_never_shows_secrets() {
    let key_bytes = hex::decode(KEY_HEX, "k").unwrap();
    let aes_bytes = hex::decode(AES256_HEX, "k").unwrap();
    let clear = [KEY_HEX, &AES256_HEX[..32], &AES256_HEX[32..], PAN, PIN];
    let tdes = TdesKey::new(&key_bytes).unwrap();
    let aes = AesKey::new(&aes_bytes).unwrap();
    let secret = Secret::from_slice(&key_bytes);
    let pin = Pin::new(PIN).unwrap();
    let pan = Pan::new(PAN).unwrap();
    let block = cardsec::pin::encode_iso0(&pin, &pan);
    let field = ClearPinBlock::new(&key_bytes).unwrap();
    let vault_key = VaultKey::new(1, &aes_bytes, &aes_bytes).unwrap();
    let vault = Vault::new(vault_key.clone());
    let token = vault.token(&pan);
    let header = Header {
        version: Version::B,
        key_usage: "P0".into(),
        algorithm: 'T',
        mode_of_use: 'E',
        key_version: "00".into(),
        exportability: 'E',
        optional_blocks: vec![],
    };
    let block_text = tr31::wrap_with_padding(&secret, &header, &secret, &[0; 8]).unwrap();
    let unwrapped = tr31::unwrap(&secret, &block_text).unwrap();
    let formatted = [
        format!("{tdes:?}"),
        format!("{aes:?}"),
        format!("{secret:?}"),
        format!("{pin:?}"),
        format!("{pan:?}"),
        format!("{pan}"),
        format!("{block:?}"),
        format!("{field:?}"),
        format!("{vault_key:?}"),
        format!("{vault:?}"),
        format!("{token:?}"),
        format!("{token}"),
        format!("{unwrapped:?}"),
        format!("{:?}", tdes.with_odd_parity()),
        format!("{:?}", {
            let ksn = cardsec::Ksn::from_hex("FFFF9876543210E00001").unwrap();
            let mut cache = cardsec::dukpt::TransactionKeyCache::new(&tdes, &ksn).unwrap();
            cache.transaction_key(&ksn).unwrap();
            cache
        }),
    ];
    for text in &formatted {
        assert_hidden(text, &clear);
        // The clear PIN block would reveal the PIN too.
        assert_hidden(text, &[&hex::encode(block.expose_bytes())]);
    }
    assert_eq!(format!("{pan}"), "411111******1111");
}

#[test]
fn errors_never_show_inputs() {
    let bad_key = "0123456789ABCDEFFEDCBA987654321";
    let messages = [
        TdesKey::from_hex(bad_key).unwrap_err().to_string(),
        TdesKey::from_hex("0123456789ABCDEFFEDCBA98765432ZZ")
            .unwrap_err()
            .to_string(),
        Pin::new("98765x").unwrap_err().to_string(),
        Pin::new("9876543210987").unwrap_err().to_string(),
        Pan::new("41111111111111112222").unwrap_err().to_string(),
        Pan::new_luhn("4111111111111112").unwrap_err().to_string(),
    ];
    for message in &messages {
        assert_hidden(message, &[bad_key, "98765", "4111111111111"]);
    }
    // A wrong PIN block under a key: the error names the rule, not the value.
    let key = TdesKey::from_hex(KEY_HEX).unwrap();
    let pan = Pan::new(PAN).unwrap();
    let error =
        cardsec::pin::decrypt_pin_tdes(&key, &[0x11; 8], cardsec::PinBlockFormat::Iso0, Some(&pan))
            .unwrap_err()
            .to_string();
    assert_hidden(&error, &[KEY_HEX, PAN]);
}
