//! ISO 9564-1 PIN blocks: formats 0, 1 and 3 (8 bytes, TDES) and format 4
//! (16 bytes, AES).

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pan::Pan;
use crate::prim::{Aes, Tdes, fixed, xor};
use crate::secret::{AesKey, Secret, TdesKey};

/// Fewest PIN digits (ISO 9564-1).
pub const PIN_DIGITS_MIN: usize = 4;
/// Most PIN digits (ISO 9564-1).
pub const PIN_DIGITS_MAX: usize = 12;

/// A clear PIN: 4 to 12 decimal digits. Redacted in `Debug`, wiped on drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin(Secret);

impl Pin {
    /// A PIN from its digits.
    ///
    /// # Errors
    /// [`Error::NotDigits`] or [`Error::Length`].
    pub fn new(digits: &str) -> Result<Self> {
        if !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::NotDigits("PIN"));
        }
        if !(PIN_DIGITS_MIN..=PIN_DIGITS_MAX).contains(&digits.len()) {
            return Err(Error::Length {
                what: "PIN",
                expected: "4 to 12 digits",
                actual: digits.len(),
            });
        }
        Ok(Self(Secret::from_slice(digits.as_bytes())))
    }

    /// The clear digits.
    pub fn expose_digits(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(self.0.expose()).unwrap_or("")
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a PIN has at least 4 digits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Digit values 0–9.
    pub(crate) fn digit_values(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.expose().iter().map(|c| c - b'0')
    }
}

/// The ISO 9564-1 PIN block formats supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PinBlockFormat {
    /// Format 0 (ANSI X9.8): PIN field XOR PAN field, fill `F`.
    Iso0,
    /// Format 1: PIN and a transaction-unique fill, no PAN.
    Iso1,
    /// Format 3: as format 0 with random fill nibbles `A`–`F`.
    Iso3,
    /// Format 4: AES, 16 bytes, PIN field and PAN field enciphered twice.
    Iso4,
}

impl PinBlockFormat {
    /// The format from its ISO number (0, 1, 3 or 4).
    ///
    /// # Errors
    /// [`Error::Invalid`] for another number.
    pub fn from_number(number: u8) -> Result<Self> {
        match number {
            0 => Ok(Self::Iso0),
            1 => Ok(Self::Iso1),
            3 => Ok(Self::Iso3),
            4 => Ok(Self::Iso4),
            _ => Err(Error::Invalid("PIN block format must be 0, 1, 3 or 4")),
        }
    }

    /// Whether the format binds the PAN.
    pub fn needs_pan(self) -> bool {
        !matches!(self, Self::Iso1)
    }
}

/// A clear PIN block (8 bytes for formats 0, 1, 3; the 16-byte plaintext PIN
/// field for format 4). It reveals the PIN, so it is a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearPinBlock(Secret);

impl ClearPinBlock {
    /// Wraps clear bytes (8 or 16).
    ///
    /// # Errors
    /// [`Error::Length`].
    pub fn new(bytes: &[u8]) -> Result<Self> {
        match bytes.len() {
            8 | 16 => Ok(Self(Secret::from_slice(bytes))),
            actual => Err(Error::Length {
                what: "PIN block",
                expected: "8 or 16 bytes (16 or 32 hex digits)",
                actual,
            }),
        }
    }

    /// The clear bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    fn block8(&self) -> Result<Zeroizing<[u8; 8]>> {
        if self.0.len() != 8 {
            return Err(Error::Length {
                what: "PIN block",
                expected: "8 bytes (16 hex digits)",
                actual: self.0.len(),
            });
        }
        Ok(fixed::<8>(self.0.expose()))
    }
}

/// Writes control nibble, length and PIN digits into nibbles; the caller's
/// `fill` gives each remaining nibble up to `nibbles_len`.
fn pin_field<const N: usize>(
    control: u8,
    pin: &Pin,
    nibbles_len: usize,
    fill: impl Fn(usize) -> u8,
) -> Zeroizing<[u8; N]> {
    let mut nibbles = Zeroizing::new([0u8; 32]);
    nibbles[0] = control;
    // PIN length is 4..=12 by construction, so it fits a nibble.
    nibbles[1] = u8::try_from(pin.len()).unwrap_or(0x0F);
    for (slot, digit) in nibbles[2..].iter_mut().zip(pin.digit_values()) {
        *slot = digit;
    }
    for (i, slot) in nibbles
        .iter_mut()
        .enumerate()
        .take(nibbles_len)
        .skip(2 + pin.len())
    {
        *slot = fill(i) & 0x0F;
    }
    let mut out = Zeroizing::new([0u8; N]);
    for (o, pair) in out.iter_mut().zip(nibbles.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    out
}

/// PAN field of formats 0 and 3: `0000` then the 12 rightmost PAN digits
/// excluding the check digit.
pub fn pan_field_iso0(pan: &Pan) -> [u8; 8] {
    let digits = pan.rightmost12_excluding_check();
    let mut out = [0u8; 8];
    for (o, pair) in out[2..].iter_mut().zip(digits.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    out
}

/// PAN field of format 4: the length indicator (PAN length − 12, or 0 for
/// shorter PANs left-padded with zeros to 12 digits), the PAN, zeros.
pub fn pan_field_iso4(pan: &Pan) -> [u8; 16] {
    let mut nibbles = [0u8; 32];
    let len = pan.len();
    let pad = 12usize.saturating_sub(len);
    nibbles[0] = u8::try_from(len.saturating_sub(12)).unwrap_or(0);
    for (slot, digit) in nibbles[1 + pad..].iter_mut().zip(pan.digit_values()) {
        *slot = digit;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(nibbles.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    out
}

/// Encodes a format 0 clear PIN block.
pub fn encode_iso0(pin: &Pin, pan: &Pan) -> ClearPinBlock {
    let field = pin_field::<8>(0, pin, 16, |_| 0x0F);
    let block = Zeroizing::new(xor(&field, &pan_field_iso0(pan)));
    ClearPinBlock(Secret::from_slice(&*block))
}

/// Encodes a format 1 clear PIN block; the fill nibbles come from `fill`
/// (a transaction-unique or random value chosen by the caller).
pub fn encode_iso1(pin: &Pin, fill: &[u8; 8]) -> ClearPinBlock {
    let field = pin_field::<8>(1, pin, 16, |i| nibble_at(fill, i));
    ClearPinBlock(Secret::from_slice(&*field))
}

/// Encodes a format 3 clear PIN block; fill nibbles are `A`–`F`, picked from
/// the caller's random bytes `fill` (each nibble taken modulo 6).
pub fn encode_iso3(pin: &Pin, pan: &Pan, fill: &[u8; 8]) -> ClearPinBlock {
    let field = pin_field::<8>(3, pin, 16, |i| 0x0A + nibble_at(fill, i) % 6);
    let block = Zeroizing::new(xor(&field, &pan_field_iso0(pan)));
    ClearPinBlock(Secret::from_slice(&*block))
}

/// The format 4 plaintext PIN field: `4`, length, PIN, fill `A` to 16
/// nibbles, then the caller's 8 random bytes.
pub fn encode_iso4(pin: &Pin, random: &[u8; 8]) -> ClearPinBlock {
    let mut field = pin_field::<16>(4, pin, 16, |_| 0x0A);
    field[8..].copy_from_slice(random);
    ClearPinBlock(Secret::from_slice(&*field))
}

/// Encodes a clear PIN block of any format, drawing fill from `rng`.
///
/// # Errors
/// [`Error::Invalid`] when the format needs a PAN and none is given.
pub fn encode<R: CryptoRng + ?Sized>(
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&Pan>,
    rng: &mut R,
) -> Result<ClearPinBlock> {
    let mut fill = Zeroizing::new([0u8; 8]);
    rng.fill_bytes(&mut *fill);
    match (format, pan) {
        (PinBlockFormat::Iso0, Some(pan)) => Ok(encode_iso0(pin, pan)),
        (PinBlockFormat::Iso1, _) => Ok(encode_iso1(pin, &fill)),
        (PinBlockFormat::Iso3, Some(pan)) => Ok(encode_iso3(pin, pan, &fill)),
        (PinBlockFormat::Iso4, _) => Ok(encode_iso4(pin, &fill)),
        (_, None) => Err(Error::Invalid("this PIN block format needs the PAN")),
    }
}

fn nibble_at(bytes: &[u8], i: usize) -> u8 {
    let byte = bytes.get(i / 2).copied().unwrap_or(0);
    if i % 2 == 0 { byte >> 4 } else { byte & 0x0F }
}

/// Reads control, length and digits of a PIN field; checks every fill
/// nibble up to `fill_end` with `fill_ok`.
fn read_pin_field(
    field: &[u8],
    control: u8,
    fill_end: usize,
    fill_ok: impl Fn(u8) -> bool,
) -> Result<Pin> {
    if nibble_at(field, 0) != control {
        return Err(Error::PinBlock("control field does not match the format"));
    }
    let len = usize::from(nibble_at(field, 1));
    if !(PIN_DIGITS_MIN..=PIN_DIGITS_MAX).contains(&len) {
        return Err(Error::PinBlock("PIN length must be 4 to 12"));
    }
    let mut digits = Zeroizing::new(String::with_capacity(len));
    for i in 2..2 + len {
        let d = nibble_at(field, i);
        if d > 9 {
            return Err(Error::PinBlock("PIN digit is not decimal"));
        }
        digits.push(char::from(b'0' + d));
    }
    if !(2 + len..fill_end).all(|i| fill_ok(nibble_at(field, i))) {
        return Err(Error::PinBlock("fill digits do not match the format"));
    }
    Pin::new(&digits)
}

/// Decodes a clear PIN block of `format` and returns the PIN.
///
/// # Errors
/// [`Error::PinBlock`] for a block that breaks its format's rules,
/// [`Error::Length`] for the wrong size, [`Error::Invalid`] when a PAN is
/// needed and missing.
pub fn decode(format: PinBlockFormat, block: &ClearPinBlock, pan: Option<&Pan>) -> Result<Pin> {
    if format == PinBlockFormat::Iso4 {
        let bytes = block.expose_bytes();
        if bytes.len() != 16 {
            return Err(Error::Length {
                what: "format 4 PIN field",
                expected: "16 bytes (32 hex digits)",
                actual: bytes.len(),
            });
        }
        return read_pin_field(bytes, 4, 16, |n| n == 0x0A);
    }
    let bytes = block.block8()?;
    let field = match (format, pan) {
        (PinBlockFormat::Iso1, _) => bytes,
        (_, Some(pan)) => Zeroizing::new(xor(&bytes, &pan_field_iso0(pan))),
        (_, None) => return Err(Error::Invalid("this PIN block format needs the PAN")),
    };
    match format {
        PinBlockFormat::Iso0 => read_pin_field(&*field, 0, 16, |n| n == 0x0F),
        PinBlockFormat::Iso3 => read_pin_field(&*field, 3, 16, |n| n >= 0x0A),
        _ => read_pin_field(&*field, 1, 16, |_| true),
    }
}

/// Encrypts an 8-byte clear PIN block (formats 0, 1, 3) with TDES-ECB.
///
/// # Errors
/// [`Error::Length`] for a 16-byte (format 4) block.
pub fn encrypt_tdes(key: &TdesKey, block: &ClearPinBlock) -> Result<[u8; 8]> {
    let mut out = *block.block8()?;
    Tdes::new(key).encrypt(&mut out);
    Ok(out)
}

/// Decrypts an 8-byte PIN block with TDES-ECB.
pub fn decrypt_tdes(key: &TdesKey, encrypted: &[u8; 8]) -> ClearPinBlock {
    let mut out = Zeroizing::new(*encrypted);
    Tdes::new(key).decrypt(&mut out);
    ClearPinBlock(Secret::from_slice(&*out))
}

/// Decrypts a TDES PIN block of format 0, 1 or 3 and extracts the PIN.
///
/// # Errors
/// As [`decode`].
pub fn decrypt_pin_tdes(
    key: &TdesKey,
    encrypted: &[u8; 8],
    format: PinBlockFormat,
    pan: Option<&Pan>,
) -> Result<Pin> {
    decode(format, &decrypt_tdes(key, encrypted), pan)
}

/// Format 4 encipherment: E_K(E_K(PIN field) XOR PAN field).
///
/// # Errors
/// [`Error::Length`] when `field` is not a 16-byte format 4 PIN field.
pub fn encrypt_iso4(key: &AesKey, field: &ClearPinBlock, pan: &Pan) -> Result<[u8; 16]> {
    let bytes = field.expose_bytes();
    if bytes.len() != 16 {
        return Err(Error::Length {
            what: "format 4 PIN field",
            expected: "16 bytes (32 hex digits)",
            actual: bytes.len(),
        });
    }
    let cipher = Aes::new(key);
    let mut block = *fixed::<16>(bytes);
    cipher.encrypt(&mut block);
    let mut block = xor(&block, &pan_field_iso4(pan));
    cipher.encrypt(&mut block);
    Ok(block)
}

/// Format 4 decipherment: the plaintext PIN field.
pub fn decrypt_iso4(key: &AesKey, encrypted: &[u8; 16], pan: &Pan) -> ClearPinBlock {
    let cipher = Aes::new(key);
    let mut block = Zeroizing::new(*encrypted);
    cipher.decrypt(&mut block);
    let mut block = Zeroizing::new(xor(&block, &pan_field_iso4(pan)));
    cipher.decrypt(&mut block);
    ClearPinBlock(Secret::from_slice(&*block))
}

/// Builds and encrypts a format 4 PIN block in one call.
pub fn encrypt_pin_iso4(key: &AesKey, pin: &Pin, pan: &Pan, random: &[u8; 8]) -> [u8; 16] {
    let field = encode_iso4(pin, random);
    // The field built just above is 16 bytes.
    encrypt_iso4(key, &field, pan).unwrap_or([0u8; 16])
}

/// Decrypts a format 4 PIN block and extracts the PIN.
///
/// # Errors
/// [`Error::PinBlock`] when the deciphered field is not a format 4 field
/// (wrong key or PAN).
pub fn decrypt_pin_iso4(key: &AesKey, encrypted: &[u8; 16], pan: &Pan) -> Result<Pin> {
    decode(
        PinBlockFormat::Iso4,
        &decrypt_iso4(key, encrypted, pan),
        Some(pan),
    )
}

/// Translates a format 0 PIN block from one TDES key to another (as a host
/// does from a terminal's DUKPT PIN key to a network zone key). The block is
/// checked to be a well-formed format 0 block for `pan` first.
///
/// # Errors
/// [`Error::PinBlock`] when the block does not decode under `from`.
pub fn translate_iso0(
    encrypted: &[u8; 8],
    pan: &Pan,
    from: &TdesKey,
    to: &TdesKey,
) -> Result<[u8; 8]> {
    let clear = decrypt_tdes(from, encrypted);
    decode(PinBlockFormat::Iso0, &clear, Some(pan))?;
    encrypt_tdes(to, &clear)
}
