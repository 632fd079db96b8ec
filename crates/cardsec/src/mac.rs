//! Message authentication codes: ISO 9797-1 MAC algorithms 1 and 3 (the ANSI
//! X9.19 retail MAC) with padding methods 1 and 2, and CMAC (AES per RFC
//! 4493; TDES as used by TR-31).

use cmac::{Cmac, KeyInit, Mac};
use des::{TdesEde2, TdesEde3};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::prim::{Tdes, des_encrypt, fixed};
use crate::secret::{AesKey, TdesKey};

/// ISO 9797-1 padding methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Method 1: zeros up to a whole, non-zero number of blocks (an empty
    /// message becomes one block of zeros).
    Method1,
    /// Method 2: a single `80` byte, then zeros up to a whole block.
    Method2,
}

/// Pads `data` to a multiple of `block_len` bytes.
pub fn pad(data: &[u8], padding: Padding, block_len: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    if padding == Padding::Method2 {
        out.push(0x80);
    }
    if out.is_empty() {
        out.resize(block_len, 0);
    }
    let rem = out.len() % block_len;
    if rem != 0 {
        out.resize(out.len() + block_len - rem, 0);
    }
    out
}

/// ISO 9797-1 MAC algorithm 1: CBC-MAC with TDES over the padded message,
/// zero IV; the whole last block is returned.
pub fn mac_algorithm1(key: &TdesKey, data: &[u8], padding: Padding) -> [u8; 8] {
    let cipher = Tdes::new(key);
    let mut chain = [0u8; 8];
    for chunk in pad(data, padding, 8).chunks_exact(8) {
        for (c, x) in chain.iter_mut().zip(chunk) {
            *c ^= x;
        }
        cipher.encrypt(&mut chain);
    }
    chain
}

/// ISO 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC) with a double-length
/// key K‖K′: single-DES CBC under K, then the last block decrypted under K′
/// and encrypted under K.
///
/// # Errors
/// [`Error::Length`] for a triple-length key: the algorithm takes two keys.
pub fn retail_mac(key: &TdesKey, data: &[u8], padding: Padding) -> Result<[u8; 8]> {
    if key.len() != 16 {
        return Err(Error::Length {
            what: "retail MAC key",
            expected: "16 bytes (32 hex digits)",
            actual: key.len(),
        });
    }
    let left = fixed::<8>(&key.expose_bytes()[..8]);
    let padded = pad(data, padding, 8);
    let (init, last) = padded.split_at(padded.len() - 8);
    let mut chain = [0u8; 8];
    for chunk in init.chunks_exact(8) {
        for (c, x) in chain.iter_mut().zip(chunk) {
            *c ^= x;
        }
        des_encrypt(&left, &mut chain);
    }
    for (c, x) in chain.iter_mut().zip(last) {
        *c ^= x;
    }
    // E_K(D_K'(E_K(x))) is exactly two-key TDES of the last chained block.
    Tdes::new(key).encrypt(&mut chain);
    Ok(chain)
}

/// Verifies a retail MAC in constant time. `expected` may be truncated to
/// its leftmost 4 to 8 bytes (DE 64 carries 8; some schemes send 4).
///
/// # Errors
/// As [`retail_mac`], and [`Error::Length`] for a MAC shorter than 4 or
/// longer than 8 bytes.
pub fn verify_retail_mac(
    key: &TdesKey,
    data: &[u8],
    padding: Padding,
    expected: &[u8],
) -> Result<bool> {
    if !(4..=8).contains(&expected.len()) {
        return Err(Error::Length {
            what: "MAC",
            expected: "4 to 8 bytes",
            actual: expected.len(),
        });
    }
    let mac = retail_mac(key, data, padding)?;
    Ok(mac[..expected.len()].ct_eq(expected).into())
}

/// AES-CMAC (NIST SP 800-38B, RFC 4493) with a 128-, 192- or 256-bit key.
pub fn aes_cmac(key: &AesKey, data: &[u8]) -> [u8; 16] {
    let bytes = key.expose_bytes();
    let tag = match bytes.len() {
        32 => cmac_of::<Cmac<aes::Aes256>>(bytes, data),
        24 => cmac_of::<Cmac<aes::Aes192>>(bytes, data),
        _ => cmac_of::<Cmac<aes::Aes128>>(bytes, data),
    };
    *fixed::<16>(&tag)
}

/// Verifies an AES-CMAC in constant time; `expected` may be truncated to
/// its leftmost 4 to 16 bytes.
pub fn verify_aes_cmac(key: &AesKey, data: &[u8], expected: &[u8]) -> bool {
    if !(4..=16).contains(&expected.len()) {
        return false;
    }
    let tag = aes_cmac(key, data);
    tag[..expected.len()].ct_eq(expected).into()
}

/// TDES-CMAC (NIST SP 800-38B with a 64-bit block), as TR-31 version B uses.
pub fn tdes_cmac(key: &TdesKey, data: &[u8]) -> [u8; 8] {
    let bytes = key.expose_bytes();
    let tag = if bytes.len() == 24 {
        cmac_of::<Cmac<TdesEde3>>(bytes, data)
    } else {
        cmac_of::<Cmac<TdesEde2>>(bytes, data)
    };
    *fixed::<8>(&tag)
}

fn cmac_of<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // The key types guarantee a length the cipher accepts.
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}
