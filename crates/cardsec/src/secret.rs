//! Secret material: zeroized on drop, redacted in `Debug`, compared in
//! constant time. Keys are newtypes over [`Secret`].

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::hex;

/// Bytes that must never be printed: keys, PINs, clear PIN blocks.
///
/// The memory is wiped when the value is dropped; `Debug` prints only the
/// length; equality takes the same time whatever the contents.
#[derive(Clone, Default)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes.into_boxed_slice())
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// Decodes hexadecimal; the intermediate buffer is wiped too.
    ///
    /// # Errors
    /// [`Error::NotHex`] or [`Error::Length`] (odd number of digits).
    pub fn from_hex(text: &str, what: &'static str) -> Result<Self> {
        let bytes = hex::decode(text, what)?;
        Ok(Self::from_slice(&bytes))
    }

    /// The clear bytes. Every call site is a place where the secret is used.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([REDACTED; {} bytes])", self.0.len())
    }
}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are not secret; `ct_eq` on slices of different lengths is 0.
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Secret {}

/// Odd parity of every byte (the DES convention: the low bit of each byte
/// makes the count of one-bits odd).
pub(crate) fn has_odd_parity(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.count_ones() % 2 == 1)
}

/// Sets the low bit of each byte so that each byte has odd parity.
pub(crate) fn set_odd_parity(bytes: &mut [u8]) {
    for b in bytes {
        let high = *b & 0xFE;
        *b = if high.count_ones() % 2 == 0 {
            high | 1
        } else {
            high
        };
    }
}

/// A double- or triple-length TDES key (16 or 24 bytes).
///
/// Parity is not checked on construction (derived DUKPT keys and many test
/// keys do not have it); use [`TdesKey::new_odd_parity`] where it matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TdesKey(pub(crate) Secret);

impl TdesKey {
    /// A key from 16 or 24 bytes.
    ///
    /// # Errors
    /// [`Error::Length`] for any other length.
    pub fn new(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            16 | 24 => Ok(Self(Secret::from_slice(bytes))),
            actual => Err(Error::Length {
                what: "TDES key",
                expected: "16 or 24 bytes (32 or 48 hex digits)",
                actual,
            }),
        }
    }

    /// A key from 16 or 24 bytes that must have odd parity.
    ///
    /// # Errors
    /// [`Error::Length`], or [`Error::Parity`].
    pub fn new_odd_parity(bytes: &[u8]) -> Result<Self> {
        let key = Self::new(bytes)?;
        if key.has_odd_parity() {
            Ok(key)
        } else {
            Err(Error::Parity)
        }
    }

    /// A key from 32 or 48 hex digits.
    ///
    /// # Errors
    /// [`Error::NotHex`] or [`Error::Length`].
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text, "TDES key")?;
        Self::new(&bytes)
    }

    /// The clear key bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    /// 16 or 24.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a key has 16 or 24 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether every byte has odd parity.
    pub fn has_odd_parity(&self) -> bool {
        has_odd_parity(self.0.expose())
    }

    /// The same key with each byte's low bit set for odd parity.
    pub fn with_odd_parity(&self) -> Self {
        let mut bytes = zeroize::Zeroizing::new(self.0.expose().to_vec());
        set_odd_parity(&mut bytes);
        Self(Secret::from_slice(&bytes))
    }

    /// Key check value: the first 3 bytes of the key's encryption of zeros.
    pub fn kcv(&self) -> [u8; 3] {
        crate::kcv::tdes_kcv(self)
    }
}

/// An AES key of 16, 24 or 32 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AesKey(pub(crate) Secret);

impl AesKey {
    /// A key from 16, 24 or 32 bytes.
    ///
    /// # Errors
    /// [`Error::Length`] for any other length.
    pub fn new(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            16 | 24 | 32 => Ok(Self(Secret::from_slice(bytes))),
            actual => Err(Error::Length {
                what: "AES key",
                expected: "16, 24 or 32 bytes (32, 48 or 64 hex digits)",
                actual,
            }),
        }
    }

    /// A key from 32, 48 or 64 hex digits.
    ///
    /// # Errors
    /// [`Error::NotHex`] or [`Error::Length`].
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text, "AES key")?;
        Self::new(&bytes)
    }

    /// The clear key bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    /// 16, 24 or 32.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a key has at least 16 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Key check value by AES-CMAC (X9.24-3 / TR-31 convention): the first
    /// 5 bytes of the CMAC of 16 zero bytes.
    pub fn kcv_cmac(&self) -> [u8; 5] {
        crate::kcv::aes_kcv_cmac(self)
    }

    /// Legacy key check value: the first 3 bytes of the encryption of a block
    /// of zeros.
    pub fn kcv_encrypt_zeros(&self) -> [u8; 3] {
        crate::kcv::aes_kcv_zeros(self)
    }
}
