//! Block-cipher plumbing over RustCrypto: TDES and AES with key lengths
//! chosen at run time, ECB on single blocks and CBC on whole blocks.

use aes::{Aes128, Aes192, Aes256};
use des::cipher::consts::{U8, U16};
use des::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use des::{Des, TdesEde2, TdesEde3};
use zeroize::Zeroizing;

use crate::secret::{AesKey, TdesKey};

/// Copies the first `N` bytes of `bytes` (zero-filled when shorter; callers
/// pass slices whose length the key types guarantee).
pub(crate) fn fixed<const N: usize>(bytes: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b;
    }
    out
}

/// Single DES with an 8-byte key (DUKPT's one-way function uses it).
pub(crate) fn des_encrypt(key: &[u8; 8], block: &mut [u8; 8]) {
    let cipher = Des::new(&Array::from(*key));
    cipher.encrypt_block(block.into());
}

/// TDES (EDE) with a double- or triple-length key.
pub(crate) enum Tdes {
    Double(TdesEde2),
    Triple(TdesEde3),
}

impl Tdes {
    pub(crate) fn new(key: &TdesKey) -> Self {
        Self::from_bytes(key.expose_bytes())
    }

    /// 24 bytes make a triple-length key, anything else the first 16 bytes.
    pub(crate) fn from_bytes(key: &[u8]) -> Self {
        if key.len() == 24 {
            let bytes = fixed::<24>(key);
            Self::Triple(TdesEde3::new(&Array::from(*bytes)))
        } else {
            let bytes = fixed::<16>(key);
            Self::Double(TdesEde2::new(&Array::from(*bytes)))
        }
    }

    pub(crate) fn encrypt(&self, block: &mut [u8; 8]) {
        let block: &mut Array<u8, U8> = block.into();
        match self {
            Self::Double(c) => c.encrypt_block(block),
            Self::Triple(c) => c.encrypt_block(block),
        }
    }

    pub(crate) fn decrypt(&self, block: &mut [u8; 8]) {
        let block: &mut Array<u8, U8> = block.into();
        match self {
            Self::Double(c) => c.decrypt_block(block),
            Self::Triple(c) => c.decrypt_block(block),
        }
    }

    /// CBC encryption of whole 8-byte blocks in place (a trailing partial
    /// block is left alone; callers pad first).
    pub(crate) fn cbc_encrypt(&self, iv: &[u8; 8], data: &mut [u8]) {
        let mut chain = *iv;
        for chunk in data.chunks_exact_mut(8) {
            for (c, x) in chunk.iter_mut().zip(chain) {
                *c ^= x;
            }
            let mut block = *fixed::<8>(chunk);
            self.encrypt(&mut block);
            chunk.copy_from_slice(&block);
            chain = block;
        }
    }

    /// CBC decryption of whole 8-byte blocks in place.
    pub(crate) fn cbc_decrypt(&self, iv: &[u8; 8], data: &mut [u8]) {
        let mut chain = *iv;
        for chunk in data.chunks_exact_mut(8) {
            let cipher_block = *fixed::<8>(chunk);
            let mut block = cipher_block;
            self.decrypt(&mut block);
            for (b, x) in block.iter_mut().zip(chain) {
                *b ^= x;
            }
            chunk.copy_from_slice(&block);
            chain = cipher_block;
        }
    }
}

/// TDES-ECB of one block under `key`.
pub(crate) fn tdes_encrypt(key: &TdesKey, block: &[u8; 8]) -> [u8; 8] {
    let mut out = *block;
    Tdes::new(key).encrypt(&mut out);
    out
}

/// AES with a 128-, 192- or 256-bit key.
pub(crate) enum Aes {
    A128(Aes128),
    A192(Aes192),
    A256(Aes256),
}

impl Aes {
    pub(crate) fn new(key: &AesKey) -> Self {
        Self::from_bytes(key.expose_bytes())
    }

    /// 32 bytes make AES-256, 24 AES-192, anything else AES-128 of the first
    /// 16 bytes.
    pub(crate) fn from_bytes(key: &[u8]) -> Self {
        match key.len() {
            32 => Self::A256(Aes256::new(&Array::from(*fixed::<32>(key)))),
            24 => Self::A192(Aes192::new(&Array::from(*fixed::<24>(key)))),
            _ => Self::A128(Aes128::new(&Array::from(*fixed::<16>(key)))),
        }
    }

    pub(crate) fn encrypt(&self, block: &mut [u8; 16]) {
        let block: &mut Array<u8, U16> = block.into();
        match self {
            Self::A128(c) => c.encrypt_block(block),
            Self::A192(c) => c.encrypt_block(block),
            Self::A256(c) => c.encrypt_block(block),
        }
    }

    pub(crate) fn decrypt(&self, block: &mut [u8; 16]) {
        let block: &mut Array<u8, U16> = block.into();
        match self {
            Self::A128(c) => c.decrypt_block(block),
            Self::A192(c) => c.decrypt_block(block),
            Self::A256(c) => c.decrypt_block(block),
        }
    }

    /// CBC encryption of whole 16-byte blocks in place.
    pub(crate) fn cbc_encrypt(&self, iv: &[u8; 16], data: &mut [u8]) {
        let mut chain = *iv;
        for chunk in data.chunks_exact_mut(16) {
            for (c, x) in chunk.iter_mut().zip(chain) {
                *c ^= x;
            }
            let mut block = *fixed::<16>(chunk);
            self.encrypt(&mut block);
            chunk.copy_from_slice(&block);
            chain = block;
        }
    }

    /// CBC decryption of whole 16-byte blocks in place.
    pub(crate) fn cbc_decrypt(&self, iv: &[u8; 16], data: &mut [u8]) {
        let mut chain = *iv;
        for chunk in data.chunks_exact_mut(16) {
            let cipher_block = *fixed::<16>(chunk);
            let mut block = cipher_block;
            self.decrypt(&mut block);
            for (b, x) in block.iter_mut().zip(chain) {
                *b ^= x;
            }
            chunk.copy_from_slice(&block);
            chain = cipher_block;
        }
    }
}

/// XOR of two equal-size arrays.
pub(crate) fn xor<const N: usize>(a: &[u8; N], b: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ y;
    }
    out
}
