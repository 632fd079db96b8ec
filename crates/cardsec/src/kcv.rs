//! Key check values.
//!
//! TDES: the first 3 bytes of the key's encryption of a zero block (the
//! universal convention; EMV tools often print only 2 of them).
//! AES: two methods are offered because both are in use. [`aes_kcv_cmac`] is
//! the X9.24-3 / TR-31 method (AES-CMAC of 16 zero bytes, first 5 bytes) and
//! the calculator's default; [`aes_kcv_zeros`] is the legacy "encrypt zeros,
//! first 3 bytes" still printed by many HSMs.

use crate::mac::aes_cmac;
use crate::prim::{Aes, tdes_encrypt};
use crate::secret::{AesKey, TdesKey};

/// TDES KCV: first 3 bytes of E_K(0000000000000000).
pub fn tdes_kcv(key: &TdesKey) -> [u8; 3] {
    let block = tdes_encrypt(key, &[0u8; 8]);
    [block[0], block[1], block[2]]
}

/// AES KCV by CMAC: first 5 bytes of AES-CMAC_K(16 zero bytes).
pub fn aes_kcv_cmac(key: &AesKey) -> [u8; 5] {
    let tag = aes_cmac(key, &[0u8; 16]);
    [tag[0], tag[1], tag[2], tag[3], tag[4]]
}

/// AES KCV by encrypting zeros: first 3 bytes of E_K(0…0).
pub fn aes_kcv_zeros(key: &AesKey) -> [u8; 3] {
    let mut block = [0u8; 16];
    Aes::new(key).encrypt(&mut block);
    [block[0], block[1], block[2]]
}
