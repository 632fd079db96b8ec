//! PIN verification: Visa PVV and IBM 3624 offsets. The `verify_*`
//! functions take the encrypted PIN block, so the clear PIN never leaves the
//! crate.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hex;
use crate::pan::Pan;
use crate::pin::{Pin, PinBlockFormat, decrypt_pin_tdes};
use crate::prim::Tdes;
use crate::secret::TdesKey;

/// Visa PIN verification value: 4 digits from the PVK's encryption of the
/// transformed security parameter (11 rightmost PAN digits excluding the
/// check digit, the PVKI, the 4 leftmost PIN digits), decimalised.
///
/// # Errors
/// [`Error::Invalid`] for a PVKI above 9.
pub fn pvv(pvk: &TdesKey, pan: &Pan, pvki: u8, pin: &Pin) -> Result<String> {
    if pvki > 9 {
        return Err(Error::Invalid("PVKI must be a single digit 0 to 9"));
    }
    let pan12 = pan.rightmost12_excluding_check();
    let mut tsp = Zeroizing::new([0u8; 16]);
    tsp[..11].copy_from_slice(&pan12[1..]);
    tsp[11] = pvki;
    for (slot, d) in tsp[12..].iter_mut().zip(pin.digit_values()) {
        *slot = d;
    }
    let mut block = Zeroizing::new([0u8; 8]);
    for (o, pair) in block.iter_mut().zip(tsp.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    Tdes::new(pvk).encrypt(&mut block);
    let nibbles: Vec<u8> = block.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect();
    let digits = nibbles.iter().filter(|n| **n <= 9);
    let letters = nibbles.iter().filter(|n| **n > 9).map(|n| n - 10);
    Ok(digits
        .copied()
        .chain(letters)
        .take(4)
        .map(|d| char::from(b'0' + d))
        .collect())
}

/// Decrypts a TDES PIN block (format 0, 1 or 3) and checks its PIN against
/// the PVV on file, in constant time. The PIN stays inside.
///
/// # Errors
/// [`Error::PinBlock`] when the block does not decode; [`Error::Invalid`]
/// for a bad PVKI.
pub fn verify_pin_pvv(
    encrypted: &[u8; 8],
    format: PinBlockFormat,
    pan: &Pan,
    pin_key: &TdesKey,
    pvk: &TdesKey,
    pvki: u8,
    expected_pvv: &str,
) -> Result<bool> {
    let pin = decrypt_pin_tdes(pin_key, encrypted, format, Some(pan))?;
    let computed = pvv(pvk, pan, pvki, &pin)?;
    Ok(computed.as_bytes().ct_eq(expected_pvv.as_bytes()).into())
}

/// The host's PVV check for a terminal's format 0 PIN block: decrypts under
/// `pin_key` (e.g. [`crate::dukpt::pin_key`]), checks the PIN against the
/// PVV on file. The clear PIN never leaves the crate.
///
/// # Errors
/// As [`verify_pin_pvv`].
pub fn verify_pin_pvv_iso0(
    pin_block: &[u8; 8],
    pan: &Pan,
    pin_key: &TdesKey,
    pvk: &TdesKey,
    pvki: u8,
    expected_pvv: &str,
) -> Result<bool> {
    verify_pin_pvv(
        pin_block,
        PinBlockFormat::Iso0,
        pan,
        pin_key,
        pvk,
        pvki,
        expected_pvv,
    )
}

/// An IBM 3624 decimalization table: 16 decimal digits, one per hex digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalizationTable([u8; 16]);

impl Default for DecimalizationTable {
    /// `0123456789012345`.
    fn default() -> Self {
        Self([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5])
    }
}

impl DecimalizationTable {
    /// A table from 16 decimal digits.
    ///
    /// # Errors
    /// [`Error::NotDigits`] or [`Error::Length`].
    pub fn new(digits: &str) -> Result<Self> {
        let bytes = digits.as_bytes();
        if bytes.len() != 16 {
            return Err(Error::Length {
                what: "decimalization table",
                expected: "16 digits",
                actual: bytes.len(),
            });
        }
        let mut out = [0u8; 16];
        for (o, c) in out.iter_mut().zip(bytes) {
            if !c.is_ascii_digit() {
                return Err(Error::NotDigits("decimalization table"));
            }
            *o = c - b'0';
        }
        Ok(Self(out))
    }
}

/// The IBM 3624 natural PIN: the PVK's encryption of the validation data
/// (16 hex digits, usually PAN digits padded with `F`), decimalised,
/// leftmost `length` digits.
///
/// # Errors
/// [`Error::NotHex`] / [`Error::Length`] for the validation data;
/// [`Error::Invalid`] for a length outside 4 to 12 (16 at most).
pub fn ibm3624_natural_pin(
    pvk: &TdesKey,
    validation_data: &str,
    table: &DecimalizationTable,
    length: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    if !(4..=12).contains(&length) {
        return Err(Error::Invalid("PIN check length must be 4 to 12"));
    }
    let mut block = Zeroizing::new(hex::decode_array::<8>(validation_data, "validation data")?);
    Tdes::new(pvk).encrypt(&mut block);
    Ok(Zeroizing::new(
        block
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0F])
            .map(|n| table.0[usize::from(n)])
            .take(length)
            .collect(),
    ))
}

/// The IBM 3624 offset of `pin`: digit-wise (PIN − natural PIN) mod 10, as
/// long as the PIN.
///
/// # Errors
/// As [`ibm3624_natural_pin`].
pub fn ibm3624_offset(
    pvk: &TdesKey,
    validation_data: &str,
    table: &DecimalizationTable,
    pin: &Pin,
) -> Result<String> {
    let natural = ibm3624_natural_pin(pvk, validation_data, table, pin.len())?;
    Ok(pin
        .digit_values()
        .zip(natural.iter())
        .map(|(p, n)| char::from(b'0' + (p + 10 - n) % 10))
        .collect())
}

/// Decrypts a TDES PIN block and checks its PIN against an IBM 3624 offset
/// (the offset's length is the check length; the PIN must be at least that
/// long). Constant-time comparison; the PIN stays inside.
///
/// # Errors
/// [`Error::PinBlock`] when the block does not decode, [`Error::NotDigits`]
/// for a bad offset, and as [`ibm3624_natural_pin`].
#[allow(clippy::too_many_arguments)]
pub fn verify_pin_ibm3624(
    encrypted: &[u8; 8],
    format: PinBlockFormat,
    pan: &Pan,
    pin_key: &TdesKey,
    pvk: &TdesKey,
    validation_data: &str,
    table: &DecimalizationTable,
    offset: &str,
) -> Result<bool> {
    if !offset.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::NotDigits("PIN offset"));
    }
    let pin = decrypt_pin_tdes(pin_key, encrypted, format, Some(pan))?;
    if pin.len() < offset.len() {
        return Ok(false);
    }
    let natural = ibm3624_natural_pin(pvk, validation_data, table, offset.len())?;
    let expected: Zeroizing<Vec<u8>> = Zeroizing::new(
        natural
            .iter()
            .zip(offset.bytes())
            .map(|(n, o)| (n + o - b'0') % 10)
            .collect(),
    );
    let actual: Zeroizing<Vec<u8>> =
        Zeroizing::new(pin.digit_values().take(offset.len()).collect());
    Ok(actual.ct_eq(&expected).into())
}
