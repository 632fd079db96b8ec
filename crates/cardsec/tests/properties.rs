//! Property tests of the inverse pairs: encode/decode, encrypt/decrypt,
//! wrap/unwrap, tokenise/encrypt/re-encrypt; and a few laws (Luhn, hex).
#![allow(clippy::unwrap_used)]

use cardsec::tr31::{self, Header, OptionalBlock, Version};
use cardsec::vault::{Vault, VaultKey};
use cardsec::{
    AesKey, Ksn, Pan, Pin, PinBlockFormat, Secret, TdesKey, dukpt, hex, mac, pin, pinverify,
};
use proptest::prelude::*;

/// A deterministic RNG for tests (SplitMix64), implementing rand_core 0.10.
struct TestRng(u64);

impl rand_core::TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for TestRng {}

fn pin_digits() -> impl Strategy<Value = String> {
    "[0-9]{4,12}"
}

fn pan_digits() -> impl Strategy<Value = String> {
    "[0-9]{8,19}"
}

fn tdes_key_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 24)
    ]
}

fn aes_key_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 24),
        proptest::collection::vec(any::<u8>(), 32)
    ]
}

proptest! {
    #[test]
    fn pin_blocks_decode_what_they_encode(pin_text in pin_digits(), pan_text in pan_digits(), fill in any::<[u8; 8]>()) {
        let pin = Pin::new(&pin_text).unwrap();
        let pan = Pan::new(&pan_text).unwrap();
        for (format, block) in [
            (PinBlockFormat::Iso0, pin::encode_iso0(&pin, &pan)),
            (PinBlockFormat::Iso1, pin::encode_iso1(&pin, &fill)),
            (PinBlockFormat::Iso3, pin::encode_iso3(&pin, &pan, &fill)),
            (PinBlockFormat::Iso4, pin::encode_iso4(&pin, &fill)),
        ] {
            let back = pin::decode(format, &block, Some(&pan)).unwrap();
            prop_assert_eq!(back.expose_digits(), pin_text.as_str());
        }
    }

    #[test]
    fn tdes_pin_blocks_decrypt_what_they_encrypt(pin_text in pin_digits(), pan_text in pan_digits(), key in tdes_key_bytes()) {
        let key = TdesKey::new(&key).unwrap();
        let pin = Pin::new(&pin_text).unwrap();
        let pan = Pan::new(&pan_text).unwrap();
        let encrypted = pin::encrypt_tdes(&key, &pin::encode_iso0(&pin, &pan)).unwrap();
        let back = pin::decrypt_pin_tdes(&key, &encrypted, PinBlockFormat::Iso0, Some(&pan)).unwrap();
        prop_assert_eq!(back.expose_digits(), pin_text.as_str());
    }

    #[test]
    fn iso4_decrypts_what_it_encrypts(pin_text in pin_digits(), pan_text in pan_digits(), key in aes_key_bytes(), random in any::<[u8; 8]>()) {
        let key = AesKey::new(&key).unwrap();
        let pin = Pin::new(&pin_text).unwrap();
        let pan = Pan::new(&pan_text).unwrap();
        let encrypted = pin::encrypt_pin_iso4(&key, &pin, &pan, &random);
        let back = pin::decrypt_pin_iso4(&key, &encrypted, &pan).unwrap();
        prop_assert_eq!(back.expose_digits(), pin_text.as_str());
    }

    #[test]
    fn translation_keeps_the_pin(pin_text in pin_digits(), pan_text in pan_digits(), from in tdes_key_bytes(), to in tdes_key_bytes()) {
        let (from, to) = (TdesKey::new(&from).unwrap(), TdesKey::new(&to).unwrap());
        let pin = Pin::new(&pin_text).unwrap();
        let pan = Pan::new(&pan_text).unwrap();
        let encrypted = pin::encrypt_tdes(&from, &pin::encode_iso0(&pin, &pan)).unwrap();
        let translated = pin::translate_iso0(&encrypted, &pan, &from, &to).unwrap();
        let back = pin::decrypt_pin_tdes(&to, &translated, PinBlockFormat::Iso0, Some(&pan)).unwrap();
        prop_assert_eq!(back.expose_digits(), pin_text.as_str());
    }

    #[test]
    fn tr31_unwraps_what_it_wraps(
        d in any::<bool>(),
        tdes_kbpk in tdes_key_bytes(),
        aes_kbpk in aes_key_bytes(),
        key in proptest::collection::vec(any::<u8>(), 1..=32),
        optional in proptest::option::of("[A-Z0-9]{1,20}"),
        seed in any::<u64>(),
    ) {
        let (version, kbpk) = if d { (Version::D, aes_kbpk) } else { (Version::B, tdes_kbpk) };
        let header = Header {
            version,
            key_usage: "P0".into(),
            algorithm: 'T',
            mode_of_use: 'E',
            key_version: "00".into(),
            exportability: 'E',
            optional_blocks: optional.map(|data| vec![OptionalBlock { id: "KS".into(), data }]).unwrap_or_default(),
        };
        let kbpk = Secret::from_slice(&kbpk);
        let block = tr31::wrap(&kbpk, &header, &Secret::from_slice(&key), &mut TestRng(seed)).unwrap();
        let unwrapped = tr31::unwrap(&kbpk, &block).unwrap();
        prop_assert_eq!(unwrapped.key.expose(), key.as_slice());
        prop_assert_eq!(&unwrapped.header.optional_blocks[..header.optional_blocks.len()], &header.optional_blocks[..]);
        // Any change to the block is caught by the MAC (or the parser).
        let mut altered = block.into_bytes();
        let i = (seed as usize) % altered.len();
        altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        prop_assert!(tr31::unwrap(&kbpk, &altered).is_err());
    }

    #[test]
    fn vault_round_trips_and_reencrypts(pan_text in pan_digits(), seed in any::<u64>()) {
        let mut rng = TestRng(seed);
        let mut vault = Vault::new(VaultKey::generate(1, &mut rng));
        let pan = Pan::new(&pan_text).unwrap();
        let token = vault.token(&pan);
        prop_assert_eq!(&token, &vault.token(&pan));
        let record = vault.encrypt(&pan, &mut rng).unwrap();
        let parsed: cardsec::vault::EncryptedPan = record.to_string().parse().unwrap();
        prop_assert_eq!(vault.decrypt(&parsed).unwrap(), pan.clone());
        vault.rotate(VaultKey::generate(2, &mut rng)).unwrap();
        let moved = vault.reencrypt(&record, &mut rng).unwrap();
        prop_assert_eq!(moved.key_version, 2);
        vault.retire(1).unwrap();
        prop_assert_eq!(vault.decrypt(&moved).unwrap(), pan.clone());
        prop_assert!(vault.decrypt(&record).is_err());
        prop_assert_ne!(vault.token(&pan), token);
    }

    #[test]
    fn hex_decodes_what_it_encodes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let text = hex::encode(&bytes);
        prop_assert_eq!(text.to_uppercase(), text.clone());
        prop_assert_eq!(hex::decode(&text, "t").unwrap().to_vec(), bytes);
    }

    #[test]
    fn luhn_check_digit_makes_a_valid_number(body in "[0-9]{1,18}") {
        let digit = cardsec::pan::luhn_check_digit(&body).unwrap();
        let full = format!("{body}{digit}");
        prop_assert!(cardsec::luhn_valid(&full));
        let wrong = format!("{body}{}", (digit + 1) % 10);
        prop_assert!(!cardsec::luhn_valid(&wrong));
    }

    #[test]
    fn dukpt_from_ipek_matches_from_bdk(bdk in proptest::collection::vec(any::<u8>(), 16), ksn in any::<[u8; 10]>(), counter in 1u32..(1 << 21)) {
        prop_assume!(counter.count_ones() <= 10);
        let bdk = TdesKey::new(&bdk).unwrap();
        let ksn = Ksn::new(ksn).with_counter(counter).unwrap();
        prop_assert_eq!(ksn.counter(), counter);
        let ipek = dukpt::ipek(&bdk, &ksn).unwrap();
        prop_assert_eq!(dukpt::transaction_key(&bdk, &ksn).unwrap(), dukpt::transaction_key_from_ipek(&ipek, &ksn).unwrap());
    }

    #[test]
    fn retail_mac_verifies_its_own_mac(key in proptest::collection::vec(any::<u8>(), 16), data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let key = TdesKey::new(&key).unwrap();
        for padding in [mac::Padding::Method1, mac::Padding::Method2] {
            let tag = mac::retail_mac(&key, &data, padding).unwrap();
            prop_assert!(mac::verify_retail_mac(&key, &data, padding, &tag).unwrap());
            prop_assert!(mac::verify_retail_mac(&key, &data, padding, &tag[..4]).unwrap());
        }
    }

    #[test]
    fn pin_verification_accepts_the_right_pin_only(pin_text in "[0-9]{4,6}", pan_text in "[0-9]{13,19}", pvki in 0u8..10, keys in any::<[u8; 32]>()) {
        let pin_key = TdesKey::new(&keys[..16]).unwrap();
        let pvk = TdesKey::new(&keys[16..]).unwrap();
        let pin = Pin::new(&pin_text).unwrap();
        let pan = Pan::new(&pan_text).unwrap();
        let encrypted = pin::encrypt_tdes(&pin_key, &pin::encode_iso0(&pin, &pan)).unwrap();
        let value = pinverify::pvv(&pvk, &pan, pvki, &pin).unwrap();
        prop_assert_eq!(value.len(), 4);
        prop_assert!(pinverify::verify_pin_pvv(&encrypted, PinBlockFormat::Iso0, &pan, &pin_key, &pvk, pvki, &value).unwrap());
        let table = pinverify::DecimalizationTable::default();
        let validation = format!("{:F<16}", &pan_text[..12]);
        let offset = pinverify::ibm3624_offset(&pvk, &validation, &table, &pin).unwrap();
        prop_assert!(pinverify::verify_pin_ibm3624(&encrypted, PinBlockFormat::Iso0, &pan, &pin_key, &pvk, &validation, &table, &offset).unwrap());
        let wrong: String = pin_text.bytes().map(|c| char::from(b'0' + (c - b'0' + 1) % 10)).collect();
        let wrong_block = pin::encrypt_tdes(&pin_key, &pin::encode_iso0(&Pin::new(&wrong).unwrap(), &pan)).unwrap();
        prop_assert!(!pinverify::verify_pin_ibm3624(&wrong_block, PinBlockFormat::Iso0, &pan, &pin_key, &pvk, &validation, &table, &offset).unwrap());
    }
}

proptest! {
    #[test]
    fn key_cache_agrees_with_full_derivation(bdk in proptest::collection::vec(any::<u8>(), 16), ksn in any::<[u8; 10]>(), counters in proptest::collection::vec(1u32..(1 << 21), 1..20)) {
        let bdk = TdesKey::new(&bdk).unwrap();
        let base = Ksn::new(ksn);
        let mut cache = dukpt::TransactionKeyCache::new(&bdk, &base).unwrap();
        for counter in counters.into_iter().filter(|c| c.count_ones() <= 10) {
            let ksn = base.with_counter(counter).unwrap();
            prop_assert_eq!(cache.transaction_key(&ksn).unwrap(), dukpt::transaction_key(&bdk, &ksn).unwrap());
        }
        let mut other = ksn;
        other[0] ^= 1;
        prop_assert!(cache.transaction_key(&Ksn::new(other).with_counter(1).unwrap()).is_err());
    }
}

#[test]
fn key_cache_follows_a_device_counter_sequence() {
    let bdk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let base = Ksn::from_hex("FFFF9876543210E00000").unwrap();
    let mut cache = dukpt::TransactionKeyCache::new(&bdk, &base).unwrap();
    for counter in (1u32..3000).filter(|c| c.count_ones() <= 10) {
        let ksn = base.with_counter(counter).unwrap();
        assert_eq!(
            cache.transaction_key(&ksn).unwrap(),
            dukpt::transaction_key(&bdk, &ksn).unwrap()
        );
    }
}

proptest! {
    /// Regression: an altered block whose optional block claims an extended
    /// length of many hex digits overflowed `usize` and panicked.
    #[test]
    fn tr31_unwrap_never_panics_on_printable_input(
        body in "[0-9A-F]{0,120}",
        count in 0_u8..4,
        seed in any::<u64>(),
    ) {
        let kbpk = Secret::from_slice(&[0x11; 16]);
        let head = format!("P0TE00E{count:02}00");
        let len = 5 + head.len() + body.len();
        let block = format!("B{len:04}{head}{body}");
        let _ = tr31::unwrap(&kbpk, &block);
        let mut bytes = block.into_bytes();
        let i = (seed as usize) % bytes.len();
        bytes[i] = b'0';
        let _ = tr31::unwrap(&kbpk, &String::from_utf8(bytes).unwrap());
    }
}

#[test]
fn tr31_extended_optional_length_with_too_many_digits_is_an_error() {
    let kbpk = Secret::from_slice(&[0x11; 16]);
    // One optional block "KS" with extended length "00", a count of 0x20 hex
    // digits, and 32 digits of F: far beyond any usize.
    let optional = format!("KS0020{}", "F".repeat(32));
    let head = "P0TE00E0100";
    let len = 5 + head.len() + optional.len() + 16;
    let block = format!("B{len:04}{head}{optional}{}", "0".repeat(16));
    assert!(tr31::unwrap(&kbpk, &block).is_err());
}
