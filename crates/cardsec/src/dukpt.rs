//! TDES DUKPT, host side (ANSI X9.24-1:2009): the initial PIN encryption
//! key (IPEK) from the base derivation key (BDK) and the key serial number
//! (KSN), the transaction key of a KSN, and its PIN, MAC and data variants.
//!
//! The host derives every key from BDK + KSN; the device-side future-key
//! registers are not needed and not offered.

use core::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hex;
use crate::pan::Pan;
use crate::pin::{self, PinBlockFormat};
use crate::prim::{Tdes, des_encrypt, fixed, xor};
use crate::secret::{Secret, TdesKey};
use crate::{Pin, mac};

/// Bits of the KSN that count transactions.
pub const COUNTER_BITS: u32 = 21;
/// Most one-bits a valid counter has.
pub const COUNTER_ONE_BITS_MAX: u32 = 10;
const COUNTER_MASK: u32 = (1 << COUNTER_BITS) - 1;

const KEY_MASK: [u8; 16] = [
    0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
];

/// A 10-byte key serial number: key set id, device id and a 21-bit
/// transaction counter. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ksn([u8; 10]);

impl Ksn {
    /// A KSN from its 10 bytes.
    pub fn new(bytes: [u8; 10]) -> Self {
        Self(bytes)
    }

    /// A KSN from 20 hex digits.
    ///
    /// # Errors
    /// [`Error::NotHex`] or [`Error::Length`].
    pub fn from_hex(text: &str) -> Result<Self> {
        hex::decode_array::<10>(text, "KSN").map(Self)
    }

    /// The 10 bytes.
    pub fn bytes(&self) -> [u8; 10] {
        self.0
    }

    /// The transaction counter (low 21 bits).
    pub fn counter(&self) -> u32 {
        let tail = u32::from_be_bytes([0, self.0[7], self.0[8], self.0[9]]);
        tail & COUNTER_MASK
    }

    /// The same KSN with the counter replaced.
    ///
    /// # Errors
    /// [`Error::KsnCounter`] when `counter` does not fit 21 bits.
    pub fn with_counter(&self, counter: u32) -> Result<Self> {
        if counter > COUNTER_MASK {
            return Err(Error::KsnCounter("counter exceeds 21 bits"));
        }
        let mut bytes = self.0;
        let tail = u32::from_be_bytes([0, bytes[7], bytes[8], bytes[9]]) & !COUNTER_MASK | counter;
        let tail = tail.to_be_bytes();
        bytes[7..].copy_from_slice(&tail[1..]);
        Ok(Self(bytes))
    }

    /// The initial KSN (counter zero), which identifies the IPEK.
    pub fn initial(&self) -> Self {
        let mut bytes = self.0;
        bytes[7] &= 0xE0;
        bytes[8] = 0;
        bytes[9] = 0;
        Self(bytes)
    }

    /// Checks that a device could have sent this KSN: the counter is not
    /// zero and has at most 10 one-bits.
    ///
    /// # Errors
    /// [`Error::KsnCounter`].
    pub fn validate_counter(&self) -> Result<()> {
        let counter = self.counter();
        if counter == 0 {
            return Err(Error::KsnCounter("counter is zero"));
        }
        if counter.count_ones() > COUNTER_ONE_BITS_MAX {
            return Err(Error::KsnCounter("counter has more than 10 one-bits"));
        }
        Ok(())
    }
}

impl fmt::Debug for Ksn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ksn({})", hex::encode(&self.0))
    }
}

impl fmt::Display for Ksn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

/// The variants of a transaction key (X9.24-1:2009, A.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyVariant {
    /// PIN encryption.
    Pin,
    /// MAC of requests (terminal to host).
    MacRequest,
    /// MAC of responses (host to terminal).
    MacResponse,
    /// Data encryption of requests (variant, then the one-way step).
    DataRequest,
    /// Data encryption of responses (variant, then the one-way step).
    DataResponse,
}

impl KeyVariant {
    /// The mask XORed into the transaction key.
    pub fn mask(self) -> [u8; 16] {
        let byte = match self {
            Self::Pin => 7,
            Self::MacRequest => 6,
            Self::DataRequest => 5,
            Self::MacResponse => 4,
            Self::DataResponse => 3,
        };
        let mut mask = [0u8; 16];
        mask[byte] = 0xFF;
        mask[byte + 8] = 0xFF;
        mask
    }
}

fn require_double(bdk: &TdesKey) -> Result<()> {
    if bdk.len() == 16 {
        Ok(())
    } else {
        Err(Error::Length {
            what: "TDES DUKPT BDK",
            expected: "16 bytes (32 hex digits)",
            actual: bdk.len(),
        })
    }
}

/// The IPEK of the device whose KSN is `ksn` (its counter is ignored).
///
/// # Errors
/// [`Error::Length`] for a BDK that is not double-length.
pub fn ipek(bdk: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    require_double(bdk)?;
    let initial = ksn.initial().bytes();
    let data = *fixed::<8>(&initial[..8]);
    let mut out = Zeroizing::new([0u8; 16]);
    let mut left = data;
    Tdes::new(bdk).encrypt(&mut left);
    let masked = Zeroizing::new(xor(&fixed::<16>(bdk.expose_bytes()), &KEY_MASK));
    let mut right = data;
    Tdes::from_bytes(&*masked).encrypt(&mut right);
    out[..8].copy_from_slice(&left);
    out[8..].copy_from_slice(&right);
    TdesKey::new(&*out)
}

/// The non-reversible key generation process: one step of the key tree.
fn one_way(key: &mut [u8; 16], ksn_register: &[u8; 8]) {
    let right = half_step(key, ksn_register);
    for (k, m) in key.iter_mut().zip(KEY_MASK) {
        *k ^= m;
    }
    let left = half_step(key, ksn_register);
    key[..8].copy_from_slice(&left);
    key[8..].copy_from_slice(&right);
}

fn half_step(key: &[u8; 16], data: &[u8; 8]) -> [u8; 8] {
    let key_left = fixed::<8>(&key[..8]);
    let key_right = fixed::<8>(&key[8..]);
    let mut block = xor(data, &key_right);
    des_encrypt(&key_left, &mut block);
    xor(&block, &key_right)
}

/// The transaction key of `ksn` from the device's IPEK.
///
/// # Errors
/// [`Error::KsnCounter`] for a counter no device uses; [`Error::Length`] for
/// a triple-length IPEK.
pub fn transaction_key_from_ipek(ipek: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    require_double(ipek)?;
    ksn.validate_counter()?;
    let counter = ksn.counter();
    let bytes = ksn.bytes();
    let mut register = *fixed::<8>(&bytes[2..]);
    register[5] &= 0xE0;
    register[6] = 0;
    register[7] = 0;
    let mut key = fixed::<16>(ipek.expose_bytes());
    let mut bit = 1u32 << (COUNTER_BITS - 1);
    while bit != 0 {
        if counter & bit != 0 {
            let mask = bit.to_be_bytes();
            register[5] |= mask[1];
            register[6] |= mask[2];
            register[7] |= mask[3];
            one_way(&mut key, &register);
        }
        bit >>= 1;
    }
    TdesKey::new(&*key)
}

/// Most one-way steps on a key path (one per counter bit).
const PATH_STEPS_MAX: usize = COUNTER_BITS as usize;

/// A terminal's IPEK and its last key path, so that the next transaction
/// key reuses the steps it shares with the previous one.
///
/// Counters only grow, so consecutive KSNs share their high bits: the
/// typical derivation then costs one or two one-way steps instead of up to
/// ten plus the IPEK. Keys in the cache are wiped on drop.
pub struct TransactionKeyCache {
    initial_ksn: Ksn,
    ipek: TdesKey,
    /// (counter bits applied so far, key after that step), top bit first.
    path: Vec<(u32, Zeroizing<[u8; 16]>)>,
}

impl fmt::Debug for TransactionKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TransactionKeyCache({}, [REDACTED; {} steps])",
            self.initial_ksn,
            self.path.len()
        )
    }
}

impl TransactionKeyCache {
    /// Derives the IPEK of the device that `ksn` belongs to.
    ///
    /// # Errors
    /// As [`ipek`].
    pub fn new(bdk: &TdesKey, ksn: &Ksn) -> Result<Self> {
        Ok(Self::from_ipek(ipek(bdk, ksn)?, ksn))
    }

    /// From a stored IPEK.
    pub fn from_ipek(ipek: TdesKey, ksn: &Ksn) -> Self {
        Self {
            initial_ksn: ksn.initial(),
            ipek,
            path: Vec::with_capacity(PATH_STEPS_MAX),
        }
    }

    /// The transaction key of `ksn`, which must belong to the same device.
    ///
    /// # Errors
    /// [`Error::KsnCounter`] for a counter no device uses; [`Error::Invalid`]
    /// for a KSN of another device; [`Error::Length`] for a triple-length
    /// IPEK.
    pub fn transaction_key(&mut self, ksn: &Ksn) -> Result<TdesKey> {
        require_double(&self.ipek)?;
        ksn.validate_counter()?;
        if ksn.initial() != self.initial_ksn {
            return Err(Error::Invalid("KSN belongs to another device"));
        }
        let counter = ksn.counter();
        let bytes = ksn.bytes();
        let mut register = *fixed::<8>(&bytes[2..]);
        register[5] &= 0xE0;
        register[6] = 0;
        register[7] = 0;
        let mut key = fixed::<16>(self.ipek.expose_bytes());
        let mut applied = 0u32;
        let mut step = 0usize;
        let mut bit = 1u32 << (COUNTER_BITS - 1);
        while bit != 0 {
            if counter & bit != 0 {
                applied |= bit;
                match self.path.get(step) {
                    Some((bits, cached)) if *bits == applied => key = cached.clone(),
                    _ => {
                        self.path.truncate(step);
                        let tail = (register_tail(&register) | applied).to_be_bytes();
                        register[5..].copy_from_slice(&tail[1..]);
                        one_way(&mut key, &register);
                        self.path.push((applied, key.clone()));
                    }
                }
                step += 1;
            }
            bit >>= 1;
        }
        TdesKey::new(&*key)
    }
}

fn register_tail(register: &[u8; 8]) -> u32 {
    u32::from_be_bytes([0, register[5], register[6], register[7]])
}

/// The transaction key of `ksn` from the BDK: what the host calls.
///
/// # Errors
/// [`Error::KsnCounter`] for a counter no device uses (zero, or more than 10
/// one-bits); [`Error::Length`] for a BDK that is not double-length.
pub fn transaction_key(bdk: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    ksn.validate_counter()?;
    transaction_key_from_ipek(&ipek(bdk, ksn)?, ksn)
}

/// A working key from a transaction key: the variant mask, plus for the
/// data keys the one-way step (each half encrypted under the variant key).
pub fn variant_key(transaction_key: &TdesKey, variant: KeyVariant) -> TdesKey {
    let key = Zeroizing::new(xor(
        &fixed::<16>(transaction_key.expose_bytes()),
        &variant.mask(),
    ));
    let out = match variant {
        KeyVariant::DataRequest | KeyVariant::DataResponse => {
            let cipher = Tdes::from_bytes(&*key);
            let mut out = Zeroizing::new(*key);
            let mut left = *fixed::<8>(&key[..8]);
            let mut right = *fixed::<8>(&key[8..]);
            cipher.encrypt(&mut left);
            cipher.encrypt(&mut right);
            out[..8].copy_from_slice(&left);
            out[8..].copy_from_slice(&right);
            out
        }
        _ => key,
    };
    TdesKey(Secret::from_slice(&*out))
}

/// The working key of `variant` for `ksn` from the BDK.
///
/// # Errors
/// As [`transaction_key`].
pub fn working_key(bdk: &TdesKey, ksn: &Ksn, variant: KeyVariant) -> Result<TdesKey> {
    Ok(variant_key(&transaction_key(bdk, ksn)?, variant))
}

/// The PIN encryption key of `ksn`.
///
/// # Errors
/// As [`transaction_key`].
pub fn pin_key(bdk: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    working_key(bdk, ksn, KeyVariant::Pin)
}

/// The request MAC key of `ksn`.
///
/// # Errors
/// As [`transaction_key`].
pub fn mac_request_key(bdk: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    working_key(bdk, ksn, KeyVariant::MacRequest)
}

/// The response MAC key of `ksn`.
///
/// # Errors
/// As [`transaction_key`].
pub fn mac_response_key(bdk: &TdesKey, ksn: &Ksn) -> Result<TdesKey> {
    working_key(bdk, ksn, KeyVariant::MacResponse)
}

/// Decrypts a terminal's format 0 PIN block under the DUKPT PIN key of
/// `ksn` and returns the PIN.
///
/// # Errors
/// As [`transaction_key`]; [`Error::PinBlock`] when the block does not
/// decode (wrong key, wrong PAN, or tampering).
pub fn decrypt_pin_iso0(bdk: &TdesKey, ksn: &Ksn, encrypted: &[u8; 8], pan: &Pan) -> Result<Pin> {
    let key = pin_key(bdk, ksn)?;
    pin::decrypt_pin_tdes(&key, encrypted, PinBlockFormat::Iso0, Some(pan))
}

/// Computes the DE 64 retail MAC of a request (padding method 1) under the
/// DUKPT request MAC key of `ksn`.
///
/// # Errors
/// As [`transaction_key`].
pub fn request_mac(bdk: &TdesKey, ksn: &Ksn, message: &[u8]) -> Result<[u8; 8]> {
    mac::retail_mac(&mac_request_key(bdk, ksn)?, message, mac::Padding::Method1)
}

/// Verifies a request's retail MAC (constant time).
///
/// # Errors
/// As [`transaction_key`]; [`Error::Length`] for a MAC not 4 to 8 bytes.
pub fn verify_request_mac(bdk: &TdesKey, ksn: &Ksn, message: &[u8], mac: &[u8]) -> Result<bool> {
    mac::verify_retail_mac(
        &mac_request_key(bdk, ksn)?,
        message,
        mac::Padding::Method1,
        mac,
    )
}

/// Computes the DE 64 retail MAC of a response under the DUKPT response MAC
/// key of `ksn`.
///
/// # Errors
/// As [`transaction_key`].
pub fn response_mac(bdk: &TdesKey, ksn: &Ksn, message: &[u8]) -> Result<[u8; 8]> {
    mac::retail_mac(&mac_response_key(bdk, ksn)?, message, mac::Padding::Method1)
}

/// Encrypts `data` with TDES-CBC (zero IV, zero padding to whole blocks)
/// under the DUKPT data key of `direction` for `ksn`.
///
/// # Errors
/// As [`transaction_key`]; [`Error::Invalid`] for a variant that is not a
/// data key.
pub fn encrypt_data(
    bdk: &TdesKey,
    ksn: &Ksn,
    direction: KeyVariant,
    data: &[u8],
) -> Result<Vec<u8>> {
    let key = data_key(bdk, ksn, direction)?;
    let mut out = data.to_vec();
    out.resize(data.len().div_ceil(8).max(1) * 8, 0);
    Tdes::new(&key).cbc_encrypt(&[0u8; 8], &mut out);
    Ok(out)
}

/// Decrypts TDES-CBC data (zero IV) under the DUKPT data key of
/// `direction` for `ksn`; padding is left in place.
///
/// # Errors
/// As [`encrypt_data`]; [`Error::Length`] when `data` is not whole blocks.
pub fn decrypt_data(
    bdk: &TdesKey,
    ksn: &Ksn,
    direction: KeyVariant,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if data.is_empty() || data.len() % 8 != 0 {
        return Err(Error::Length {
            what: "encrypted data",
            expected: "a whole number of 8-byte blocks",
            actual: data.len(),
        });
    }
    let key = data_key(bdk, ksn, direction)?;
    let mut out = Zeroizing::new(data.to_vec());
    Tdes::new(&key).cbc_decrypt(&[0u8; 8], &mut out);
    Ok(out)
}

fn data_key(bdk: &TdesKey, ksn: &Ksn, direction: KeyVariant) -> Result<TdesKey> {
    if !matches!(
        direction,
        KeyVariant::DataRequest | KeyVariant::DataResponse
    ) {
        return Err(Error::Invalid("data encryption needs a data key variant"));
    }
    working_key(bdk, ksn, direction)
}
