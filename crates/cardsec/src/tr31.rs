//! TR-31 (ANSI X9.143) key blocks: unwrap versions A, B, C and D; wrap
//! versions B (TDES key derivation) and D (AES key derivation).
//!
//! A key block is printable ASCII: a 16-character header, optional blocks,
//! the encrypted key data in hex and the MAC in hex.

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hex;
use crate::mac::{Padding, aes_cmac, mac_algorithm1, tdes_cmac};
use crate::prim::{Aes, Tdes, fixed};
use crate::secret::{AesKey, Secret, TdesKey};

/// Longest key block accepted (the length field has 4 digits).
pub const KEY_BLOCK_CHARS_MAX: usize = 9999;
const HEADER_CHARS: usize = 16;
/// Most optional blocks (the count field has 2 digits).
pub const OPTIONAL_BLOCKS_MAX: usize = 99;

/// The key block versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `A`: TDES key variant binding (read only).
    A,
    /// `B`: TDES key derivation binding.
    B,
    /// `C`: TDES key variant binding, as A (read only).
    C,
    /// `D`: AES key derivation binding.
    D,
}

impl Version {
    fn from_char(c: u8) -> Result<Self> {
        match c {
            b'A' => Ok(Self::A),
            b'B' => Ok(Self::B),
            b'C' => Ok(Self::C),
            b'D' => Ok(Self::D),
            _ => Err(Error::KeyBlock("version must be A, B, C or D")),
        }
    }

    fn as_char(self) -> char {
        match self {
            Self::A => 'A',
            Self::B => 'B',
            Self::C => 'C',
            Self::D => 'D',
        }
    }

    fn block_len(self) -> usize {
        if self == Self::D { 16 } else { 8 }
    }

    fn mac_len(self) -> usize {
        match self {
            Self::A | Self::C => 4,
            Self::B => 8,
            Self::D => 16,
        }
    }
}

/// An optional block: a 2-character id and its printable data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalBlock {
    /// Two printable characters, e.g. `KS`, `PB`.
    pub id: String,
    /// Printable ASCII data.
    pub data: String,
}

/// The header of a key block (everything but the length, which is computed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Key block version.
    pub version: Version,
    /// Key usage, e.g. `P0` (PIN encryption), `B0` (BDK), `K0` (KEK).
    pub key_usage: String,
    /// Algorithm: `T` (TDES), `A` (AES), …
    pub algorithm: char,
    /// Mode of use: `E`, `D`, `B`, `N`, …
    pub mode_of_use: char,
    /// Key version number (2 characters, `00` for none).
    pub key_version: String,
    /// Exportability: `E`, `N` or `S`.
    pub exportability: char,
    /// Optional blocks, in order.
    pub optional_blocks: Vec<OptionalBlock>,
}

/// A key taken out of a key block. The key is secret; the header is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwrappedKey {
    /// The header as read.
    pub header: Header,
    /// The clear key.
    pub key: Secret,
}

fn printable(text: &str) -> bool {
    text.bytes().all(|c| (0x20..0x7F).contains(&c))
}

fn digits_value(field: &[u8], what: &'static str) -> Result<usize> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(Error::KeyBlock(what));
    }
    field.iter().try_fold(0usize, |acc, d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(usize::from(d - b'0')))
            .ok_or(Error::KeyBlock(what))
    })
}

/// A hex number; an error (never an overflow) when it has too many digits,
/// as an extended optional-block length of an altered block can.
fn hex_value(field: &[u8], what: &'static str) -> Result<usize> {
    field.iter().try_fold(0usize, |acc, c| {
        let n = hex::nibble(*c).ok_or(Error::KeyBlock(what))?;
        acc.checked_mul(16)
            .and_then(|v| v.checked_add(usize::from(n)))
            .ok_or(Error::KeyBlock(what))
    })
}

fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// Parses the header and optional blocks; returns them and the header's
/// length in characters.
fn parse_header(block: &[u8]) -> Result<(Header, usize)> {
    if block.len() < HEADER_CHARS {
        return Err(Error::KeyBlock("shorter than a header"));
    }
    let version = Version::from_char(block[0])?;
    let declared = digits_value(&block[1..5], "length field is not 4 digits")?;
    if declared != block.len() {
        return Err(Error::KeyBlock("length field does not match the block"));
    }
    let count = digits_value(&block[12..14], "optional block count is not 2 digits")?;
    let mut at = HEADER_CHARS;
    let mut optional_blocks = Vec::with_capacity(count);
    for _ in 0..count {
        let (optional, len) = parse_optional(block.get(at..).unwrap_or_default())?;
        optional_blocks.push(optional);
        at += len;
    }
    let header = Header {
        version,
        key_usage: text(&block[5..7]),
        algorithm: char::from(block[7]),
        mode_of_use: char::from(block[8]),
        key_version: text(&block[9..11]),
        exportability: char::from(block[11]),
        optional_blocks,
    };
    Ok((header, at))
}

fn parse_optional(rest: &[u8]) -> Result<(OptionalBlock, usize)> {
    let short = rest
        .get(..4)
        .ok_or(Error::KeyBlock("optional block truncated"))?;
    let mut len = hex_value(&short[2..4], "optional block length is not hex")?;
    let mut data_start = 4;
    if len == 0 {
        // Extended length: "00", 2 hex digits giving the count of length
        // digits, then the length itself in hex.
        let count_field = rest
            .get(4..6)
            .ok_or(Error::KeyBlock("optional block truncated"))?;
        let count = hex_value(count_field, "optional block length is not hex")?;
        let field = rest
            .get(6..6 + count)
            .ok_or(Error::KeyBlock("optional block truncated"))?;
        len = hex_value(field, "optional block length is not hex")?;
        data_start = 6 + count;
    }
    if len < data_start || len > rest.len() {
        return Err(Error::KeyBlock("optional block length out of range"));
    }
    let optional = OptionalBlock {
        id: text(&short[..2]),
        data: text(&rest[data_start..len]),
    };
    Ok((optional, len))
}

/// Key block protection key material for a version.
enum Bound {
    Tdes {
        encryption: TdesKey,
        authentication: TdesKey,
    },
    Aes {
        encryption: AesKey,
        authentication: AesKey,
    },
}

fn variant_keys(kbpk: &TdesKey) -> Result<Bound> {
    let xor_all = |m: u8| -> Result<TdesKey> {
        let bytes: Zeroizing<Vec<u8>> =
            Zeroizing::new(kbpk.expose_bytes().iter().map(|b| b ^ m).collect());
        TdesKey::new(&bytes)
    };
    Ok(Bound::Tdes {
        encryption: xor_all(0x45)?,
        authentication: xor_all(0x4D)?,
    })
}

/// SP 800-108 counter-mode KDF with CMAC, as TR-31 B and D use it.
fn derivation_data(counter: u8, usage: u8, algorithm: u8, bits: u16) -> [u8; 8] {
    let bits = bits.to_be_bytes();
    [counter, 0, usage, 0, 0, algorithm, bits[0], bits[1]]
}

fn derive_b(kbpk: &TdesKey) -> Result<Bound> {
    let (algorithm, bits, blocks) = if kbpk.len() == 24 {
        (1, 192, 3)
    } else {
        (0, 128, 2)
    };
    let derive = |usage: u8| -> Result<TdesKey> {
        let mut out = Zeroizing::new(Vec::with_capacity(24));
        for counter in 1..=blocks {
            out.extend_from_slice(&tdes_cmac(
                kbpk,
                &derivation_data(counter, usage, algorithm, bits),
            ));
        }
        TdesKey::new(&out)
    };
    Ok(Bound::Tdes {
        encryption: derive(0)?,
        authentication: derive(1)?,
    })
}

fn derive_d(kbpk: &AesKey) -> Result<Bound> {
    let (algorithm, bits) = match kbpk.len() {
        32 => (4, 256),
        24 => (3, 192),
        _ => (2, 128),
    };
    let derive = |usage: u8| -> Result<AesKey> {
        let mut out = Zeroizing::new(Vec::with_capacity(32));
        for counter in 1..=u8::try_from(kbpk.len().div_ceil(16)).unwrap_or(2) {
            out.extend_from_slice(&aes_cmac(
                kbpk,
                &derivation_data(counter, usage, algorithm, bits),
            ));
        }
        out.truncate(kbpk.len());
        AesKey::new(&out)
    };
    Ok(Bound::Aes {
        encryption: derive(0)?,
        authentication: derive(1)?,
    })
}

fn bound_keys(version: Version, kbpk: &Secret) -> Result<Bound> {
    match version {
        Version::A | Version::C => variant_keys(&TdesKey::new(kbpk.expose())?),
        Version::B => derive_b(&TdesKey::new(kbpk.expose())?),
        Version::D => derive_d(&AesKey::new(kbpk.expose())?),
    }
}

/// Unwraps a key block with the key block protection key `kbpk` (TDES for
/// A, B and C; AES for D): checks the MAC, decrypts, returns header and key.
///
/// # Errors
/// [`Error::KeyBlock`] for a malformed block or a MAC that does not verify
/// (wrong KBPK or tampering); [`Error::Length`] for a KBPK of the wrong size.
pub fn unwrap(kbpk: &Secret, key_block: &str) -> Result<UnwrappedKey> {
    let block = key_block.as_bytes();
    if block.len() > KEY_BLOCK_CHARS_MAX || !printable(key_block) {
        return Err(Error::KeyBlock(
            "not a printable key block of at most 9999 characters",
        ));
    }
    let (header, header_len) = parse_header(block)?;
    let version = header.version;
    let mac_chars = version.mac_len() * 2;
    if header_len % version.block_len() != 0 || block.len() < header_len + mac_chars {
        return Err(Error::KeyBlock("header or block length is not aligned"));
    }
    let key_data_hex = &key_block[header_len..block.len() - mac_chars];
    let mut data = hex::decode(key_data_hex, "key block key data")
        .map_err(|_| Error::KeyBlock("key data is not hex"))?;
    let mac = hex::decode(&key_block[block.len() - mac_chars..], "key block MAC")
        .map_err(|_| Error::KeyBlock("MAC is not hex"))?;
    if data.is_empty() || data.len() % version.block_len() != 0 {
        return Err(Error::KeyBlock(
            "key data is not a whole number of cipher blocks",
        ));
    }
    let header_bytes = &block[..header_len];
    let verified: bool = match bound_keys(version, kbpk)? {
        Bound::Tdes {
            encryption,
            authentication,
        } if matches!(version, Version::A | Version::C) => {
            let mut input = header_bytes.to_vec();
            input.extend_from_slice(&data);
            let computed = mac_algorithm1(&authentication, &input, Padding::Method1);
            Tdes::new(&encryption).cbc_decrypt(&fixed::<8>(header_bytes), &mut data);
            computed[..4].ct_eq(&mac).into()
        }
        Bound::Tdes {
            encryption,
            authentication,
        } => {
            Tdes::new(&encryption).cbc_decrypt(&fixed::<8>(&mac), &mut data);
            let mut input = Zeroizing::new(header_bytes.to_vec());
            input.extend_from_slice(&data);
            tdes_cmac(&authentication, &input).ct_eq(&mac[..]).into()
        }
        Bound::Aes {
            encryption,
            authentication,
        } => {
            Aes::new(&encryption).cbc_decrypt(&fixed::<16>(&mac), &mut data);
            let mut input = Zeroizing::new(header_bytes.to_vec());
            input.extend_from_slice(&data);
            aes_cmac(&authentication, &input).ct_eq(&mac[..]).into()
        }
    };
    if !verified {
        return Err(Error::KeyBlock(
            "MAC does not verify (wrong KBPK or altered block)",
        ));
    }
    let bits = usize::from(u16::from_be_bytes([data[0], data[1]]));
    if bits % 8 != 0 || 2 + bits / 8 > data.len() {
        return Err(Error::KeyBlock("key length field is out of range"));
    }
    let key = Secret::from_slice(&data[2..2 + bits / 8]);
    Ok(UnwrappedKey { header, key })
}

fn serialize_header(header: &Header, total_len: usize) -> Result<String> {
    let fields_ok = header.key_usage.len() == 2
        && header.key_version.len() == 2
        && printable(&header.key_usage)
        && printable(&header.key_version)
        && [header.algorithm, header.mode_of_use, header.exportability]
            .iter()
            .all(|c| c.is_ascii_graphic());
    if !fields_ok || header.optional_blocks.len() > OPTIONAL_BLOCKS_MAX {
        return Err(Error::KeyBlock(
            "header fields must be printable and of fixed size",
        ));
    }
    let mut out = format!(
        "{}{:04}{}{}{}{}{}{:02}00",
        header.version.as_char(),
        total_len,
        header.key_usage,
        header.algorithm,
        header.mode_of_use,
        header.key_version,
        header.exportability,
        header.optional_blocks.len(),
    );
    for optional in &header.optional_blocks {
        let len = 4 + optional.data.len();
        if optional.id.len() != 2
            || !printable(&optional.id)
            || !printable(&optional.data)
            || len > 0xFF
        {
            return Err(Error::KeyBlock(
                "optional blocks need a 2-character id and short printable data",
            ));
        }
        out.push_str(&format!("{}{:02X}{}", optional.id, len, optional.data));
    }
    Ok(out)
}

/// Adds a `PB` padding block when the optional blocks leave the header
/// misaligned.
fn aligned(header: &Header) -> Header {
    let mut header = header.clone();
    let block_len = header.version.block_len();
    let len: usize = HEADER_CHARS
        + header
            .optional_blocks
            .iter()
            .map(|b| 4 + b.data.len())
            .sum::<usize>();
    if !header.optional_blocks.is_empty() && len % block_len != 0 {
        let pad = (block_len - (len + 4) % block_len) % block_len;
        header.optional_blocks.push(OptionalBlock {
            id: "PB".to_owned(),
            data: "0".repeat(pad),
        });
    }
    header
}

/// Wraps `key` under `kbpk` in a version B (TDES KBPK) or D (AES KBPK) key
/// block. The padding after the key comes from `rng`; a `PB` optional block
/// is added when the header needs aligning.
///
/// # Errors
/// [`Error::KeyBlock`] for version A or C (read only), header fields of the
/// wrong shape or an empty key; [`Error::Length`] for a KBPK of the wrong
/// size.
pub fn wrap<R: CryptoRng + ?Sized>(
    kbpk: &Secret,
    header: &Header,
    key: &Secret,
    rng: &mut R,
) -> Result<String> {
    let mut padding = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut *padding);
    wrap_with_padding(kbpk, header, key, &*padding)
}

/// As [`wrap`], with the padding bytes given by the caller (they should be
/// random; only as many as needed are used, zeros if too few are given).
///
/// # Errors
/// As [`wrap`].
pub fn wrap_with_padding(
    kbpk: &Secret,
    header: &Header,
    key: &Secret,
    padding: &[u8],
) -> Result<String> {
    let version = header.version;
    if matches!(version, Version::A | Version::C) {
        return Err(Error::KeyBlock(
            "versions A and C are read only; wrap with B or D",
        ));
    }
    if key.is_empty() || key.len() > 64 {
        return Err(Error::KeyBlock("key must be 1 to 64 bytes"));
    }
    let header = aligned(header);
    let block_len = version.block_len();
    let payload_len = (2 + key.len()).div_ceil(block_len) * block_len;
    let header_len = serialize_header(&header, 0)?.len();
    let total_len = header_len + 2 * payload_len + 2 * version.mac_len();
    if total_len > KEY_BLOCK_CHARS_MAX {
        return Err(Error::KeyBlock("key block would exceed 9999 characters"));
    }
    let header_text = serialize_header(&header, total_len)?;
    let mut payload = Zeroizing::new(Vec::with_capacity(payload_len));
    let bits = u16::try_from(key.len() * 8).unwrap_or(0);
    payload.extend_from_slice(&bits.to_be_bytes());
    payload.extend_from_slice(key.expose());
    let pad_len = payload_len - payload.len();
    payload.extend(
        padding
            .iter()
            .copied()
            .chain(core::iter::repeat(0))
            .take(pad_len),
    );
    let mut input = Zeroizing::new(header_text.as_bytes().to_vec());
    input.extend_from_slice(&payload);
    let mut data = payload.to_vec();
    let mac = match bound_keys(version, kbpk)? {
        Bound::Tdes {
            encryption,
            authentication,
        } => {
            let mac = tdes_cmac(&authentication, &input);
            Tdes::new(&encryption).cbc_encrypt(&mac, &mut data);
            mac.to_vec()
        }
        Bound::Aes {
            encryption,
            authentication,
        } => {
            let mac = aes_cmac(&authentication, &input);
            Aes::new(&encryption).cbc_encrypt(&mac, &mut data);
            mac.to_vec()
        }
    };
    Ok(format!(
        "{header_text}{}{}",
        hex::encode(&data),
        hex::encode(&mac)
    ))
}
