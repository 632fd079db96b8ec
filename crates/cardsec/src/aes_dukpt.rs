//! AES DUKPT, host side (ANSI X9.24-3-2017): the initial key from the BDK
//! and the initial key ID, the intermediate derivation keys of a
//! transaction counter, and the working keys (PIN encryption, MAC
//! generation and verification, data encryption).

use core::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hex;
use crate::prim::Aes;
use crate::secret::{AesKey, Secret, TdesKey};

/// Most one-bits a valid 32-bit transaction counter has.
pub const COUNTER_ONE_BITS_MAX: u32 = 16;

/// A 12-byte AES DUKPT key serial number: the 8-byte initial key ID (BDK
/// ID ‖ derivation ID) and a 32-bit transaction counter. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AesKsn([u8; 12]);

impl AesKsn {
    /// From initial key ID and counter.
    pub fn new(initial_key_id: [u8; 8], counter: u32) -> Self {
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&initial_key_id);
        bytes[8..].copy_from_slice(&counter.to_be_bytes());
        Self(bytes)
    }

    /// From 24 hex digits.
    ///
    /// # Errors
    /// [`Error::NotHex`] or [`Error::Length`].
    pub fn from_hex(text: &str) -> Result<Self> {
        hex::decode_array::<12>(text, "AES DUKPT KSN").map(Self)
    }

    /// The 12 bytes.
    pub fn bytes(&self) -> [u8; 12] {
        self.0
    }

    /// The initial key ID.
    pub fn initial_key_id(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.0[..8]);
        out
    }

    /// The transaction counter.
    pub fn counter(&self) -> u32 {
        u32::from_be_bytes([self.0[8], self.0[9], self.0[10], self.0[11]])
    }

    /// Checks that a device could have used this counter: not zero, at most
    /// 16 one-bits.
    ///
    /// # Errors
    /// [`Error::KsnCounter`].
    pub fn validate_counter(&self) -> Result<()> {
        let counter = self.counter();
        if counter == 0 {
            return Err(Error::KsnCounter("counter is zero"));
        }
        if counter.count_ones() > COUNTER_ONE_BITS_MAX {
            return Err(Error::KsnCounter("counter has more than 16 one-bits"));
        }
        Ok(())
    }
}

impl fmt::Debug for AesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesKsn({})", hex::encode(&self.0))
    }
}

impl fmt::Display for AesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

/// Key types of X9.24-3 (algorithm indicator and length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Double-length TDES.
    Tdes2,
    /// Triple-length TDES.
    Tdes3,
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

impl KeyType {
    fn indicator(self) -> u16 {
        match self {
            Self::Tdes2 => 0,
            Self::Tdes3 => 1,
            Self::Aes128 => 2,
            Self::Aes192 => 3,
            Self::Aes256 => 4,
        }
    }

    /// Key length in bytes.
    pub fn len_bytes(self) -> usize {
        match self {
            Self::Tdes2 | Self::Aes128 => 16,
            Self::Tdes3 | Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    fn of_aes_key(key: &AesKey) -> Self {
        match key.len() {
            32 => Self::Aes256,
            24 => Self::Aes192,
            _ => Self::Aes128,
        }
    }
}

/// Working key usages of X9.24-3 (key usage indicator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyUsage {
    /// Key encryption key (0002).
    KeyEncryption,
    /// PIN encryption (1000).
    PinEncryption,
    /// MAC generation (2000).
    MacGeneration,
    /// MAC verification (2001).
    MacVerification,
    /// MAC both ways (2002).
    MacBoth,
    /// Data encryption, encrypt (3000).
    DataEncrypt,
    /// Data encryption, decrypt (3001).
    DataDecrypt,
    /// Data encryption, both ways (3002).
    DataBoth,
}

impl KeyUsage {
    fn indicator(self) -> u16 {
        match self {
            Self::KeyEncryption => 0x0002,
            Self::PinEncryption => 0x1000,
            Self::MacGeneration => 0x2000,
            Self::MacVerification => 0x2001,
            Self::MacBoth => 0x2002,
            Self::DataEncrypt => 0x3000,
            Self::DataDecrypt => 0x3001,
            Self::DataBoth => 0x3002,
        }
    }
}

const USAGE_DERIVATION: u16 = 0x8000;
const USAGE_INITIAL_KEY: u16 = 0x8001;

fn derivation_data(usage: u16, key_type: KeyType, tail: &[u8; 8]) -> [u8; 16] {
    let mut data = [0u8; 16];
    data[0] = 0x01; // version
    data[1] = 0x01; // key block counter, set per block
    data[2..4].copy_from_slice(&usage.to_be_bytes());
    data[4..6].copy_from_slice(&key_type.indicator().to_be_bytes());
    let bits = u16::try_from(key_type.len_bytes() * 8).unwrap_or(0);
    data[6..8].copy_from_slice(&bits.to_be_bytes());
    data[8..].copy_from_slice(tail);
    data
}

/// The key derivation function: AES-ECB of the derivation data with the
/// block counter 1, 2, … until the key length is reached.
fn derive(key: &Aes, data: &[u8; 16], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(32));
    let mut counter = 1u8;
    while out.len() < len {
        let mut block = *data;
        block[1] = counter;
        key.encrypt(&mut block);
        out.extend_from_slice(&block);
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// The initial key of a device from the BDK (AES-128, -192 or -256; the
/// initial key has the BDK's type).
pub fn initial_key(bdk: &AesKey, initial_key_id: &[u8; 8]) -> AesKey {
    let key_type = KeyType::of_aes_key(bdk);
    let data = derivation_data(USAGE_INITIAL_KEY, key_type, initial_key_id);
    let bytes = derive(&Aes::new(bdk), &data, key_type.len_bytes());
    AesKey(Secret::from_slice(&bytes))
}

fn tail(initial_key_id: &[u8; 8], counter: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&initial_key_id[4..]);
    out[4..].copy_from_slice(&counter.to_be_bytes());
    out
}

/// The intermediate derivation key of `ksn`, walking the counter's one-bits
/// from the most significant down.
///
/// # Errors
/// [`Error::KsnCounter`] for a counter no device uses.
pub fn derivation_key(initial_key: &AesKey, ksn: &AesKsn) -> Result<AesKey> {
    ksn.validate_counter()?;
    let key_type = KeyType::of_aes_key(initial_key);
    let id = ksn.initial_key_id();
    let counter = ksn.counter();
    let mut key = Zeroizing::new(initial_key.expose_bytes().to_vec());
    let mut working_counter = 0u32;
    let mut mask = 1u32 << 31;
    while mask != 0 {
        if counter & mask != 0 {
            working_counter |= mask;
            let data = derivation_data(USAGE_DERIVATION, key_type, &tail(&id, working_counter));
            key = derive(&Aes::from_bytes(&key), &data, key_type.len_bytes());
        }
        mask >>= 1;
    }
    AesKey::new(&key)
}

/// A working key of `usage` and `key_type` for `ksn`, from the BDK.
///
/// # Errors
/// [`Error::KsnCounter`] for a counter no device uses; [`Error::Invalid`]
/// when the working key would be stronger than the BDK.
pub fn working_key(
    bdk: &AesKey,
    ksn: &AesKsn,
    usage: KeyUsage,
    key_type: KeyType,
) -> Result<Secret> {
    if key_type.len_bytes() > bdk.len() && matches!(key_type, KeyType::Aes192 | KeyType::Aes256) {
        return Err(Error::Invalid(
            "working key cannot be stronger than the BDK",
        ));
    }
    let initial = initial_key(bdk, &ksn.initial_key_id());
    let derivation = derivation_key(&initial, ksn)?;
    let data = derivation_data(
        usage.indicator(),
        key_type,
        &tail(&ksn.initial_key_id(), ksn.counter()),
    );
    let bytes = derive(&Aes::new(&derivation), &data, key_type.len_bytes());
    Ok(Secret::from_slice(&bytes))
}

/// An AES working key of `usage`, as long as the BDK.
///
/// # Errors
/// As [`working_key`].
pub fn aes_working_key(bdk: &AesKey, ksn: &AesKsn, usage: KeyUsage) -> Result<AesKey> {
    let key = working_key(bdk, ksn, usage, KeyType::of_aes_key(bdk))?;
    AesKey::new(key.expose())
}

/// A double-length TDES working key of `usage` (for devices that still
/// encrypt with TDES under an AES BDK).
///
/// # Errors
/// As [`working_key`].
pub fn tdes_working_key(bdk: &AesKey, ksn: &AesKsn, usage: KeyUsage) -> Result<TdesKey> {
    let key = working_key(bdk, ksn, usage, KeyType::Tdes2)?;
    TdesKey::new(key.expose())
}

/// The PIN encryption key of `ksn` (AES, the BDK's length), for ISO 9564
/// format 4 PIN blocks.
///
/// # Errors
/// As [`working_key`].
pub fn pin_key(bdk: &AesKey, ksn: &AesKsn) -> Result<AesKey> {
    aes_working_key(bdk, ksn, KeyUsage::PinEncryption)
}
