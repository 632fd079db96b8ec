//! EMV application cryptograms (EMV 4.x Book 2, Annex A1): ICC master key
//! derivation option A, the common session key, ARQC verification and ARPC
//! generation for Visa cryptogram versions 10 (ARPC method 1) and 18 (ARPC
//! method 2).

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::mac::{Padding, retail_mac};
use crate::pan::Pan;
use crate::prim::{Tdes, xor};
use crate::secret::{Secret, TdesKey, set_odd_parity};

/// Cryptogram versions supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CryptogramVersion {
    /// CVN 10: the ICC master key is the AC key (no session key); MAC
    /// padding method 1; data ends with the 4-byte CVR; ARPC method 1.
    Cvn10,
    /// CVN 18: EMV common session key from the ATC; MAC padding method 2;
    /// data ends with the whole issuer application data; ARPC method 2.
    Cvn18,
}

impl CryptogramVersion {
    /// The version from its number (10 or 18).
    ///
    /// # Errors
    /// [`Error::Invalid`] for another number.
    pub fn from_number(number: u8) -> Result<Self> {
        match number {
            10 => Ok(Self::Cvn10),
            18 => Ok(Self::Cvn18),
            _ => Err(Error::Invalid("cryptogram version must be 10 or 18")),
        }
    }
}

/// The card-side inputs of a cryptogram.
#[derive(Clone, Debug)]
pub struct CardData<'a> {
    /// The card number (tag 5A).
    pub pan: &'a Pan,
    /// PAN sequence number (tag 5F34), 0 to 99.
    pub psn: u8,
    /// Application transaction counter (tag 9F36).
    pub atc: [u8; 2],
}

/// ICC master key by EMV option A: Y = the rightmost 16 digits of PAN ‖ PSN
/// (zero-padded on the left), MK = E_IMK(Y) ‖ E_IMK(Y ⊕ FF…FF), odd parity.
///
/// # Errors
/// [`Error::Invalid`] for a PSN above 99.
pub fn icc_master_key(imk: &TdesKey, pan: &Pan, psn: u8) -> Result<TdesKey> {
    if psn > 99 {
        return Err(Error::Invalid("PAN sequence number must be 0 to 99"));
    }
    let mut digits: Vec<u8> = pan.digit_values().collect();
    digits.push(psn / 10);
    digits.push(psn % 10);
    let start = digits.len().saturating_sub(16);
    let mut y_nibbles = [0u8; 16];
    let take = &digits[start..];
    for (slot, d) in y_nibbles[16 - take.len()..].iter_mut().zip(take) {
        *slot = *d;
    }
    let mut y = [0u8; 8];
    for (o, pair) in y.iter_mut().zip(y_nibbles.chunks_exact(2)) {
        *o = (pair[0] << 4) | pair[1];
    }
    let cipher = Tdes::new(imk);
    let mut left = y;
    cipher.encrypt(&mut left);
    let mut right = xor(&y, &[0xFF; 8]);
    cipher.encrypt(&mut right);
    let mut key = Zeroizing::new([0u8; 16]);
    key[..8].copy_from_slice(&left);
    key[8..].copy_from_slice(&right);
    set_odd_parity(&mut *key);
    TdesKey::new(&*key)
}

/// EMV common session key (Book 2, A1.3): SK = E_MK(ATC‖F0‖00…) ‖
/// E_MK(ATC‖0F‖00…).
pub fn common_session_key(master_key: &TdesKey, atc: [u8; 2]) -> TdesKey {
    let cipher = Tdes::new(master_key);
    let mut left = [atc[0], atc[1], 0xF0, 0, 0, 0, 0, 0];
    let mut right = [atc[0], atc[1], 0x0F, 0, 0, 0, 0, 0];
    cipher.encrypt(&mut left);
    cipher.encrypt(&mut right);
    let mut key = Zeroizing::new([0u8; 16]);
    key[..8].copy_from_slice(&left);
    key[8..].copy_from_slice(&right);
    TdesKey(Secret::from_slice(&*key))
}

/// The key that computes the ARQC of `card` for `version`.
///
/// # Errors
/// As [`icc_master_key`].
pub fn ac_key(imk: &TdesKey, version: CryptogramVersion, card: &CardData<'_>) -> Result<TdesKey> {
    let master_key = icc_master_key(imk, card.pan, card.psn)?;
    Ok(match version {
        CryptogramVersion::Cvn10 => master_key,
        CryptogramVersion::Cvn18 => common_session_key(&master_key, card.atc),
    })
}

fn padding(version: CryptogramVersion) -> Padding {
    match version {
        CryptogramVersion::Cvn10 => Padding::Method1,
        CryptogramVersion::Cvn18 => Padding::Method2,
    }
}

/// Computes the ARQC (or any application cryptogram) over `data`: the
/// concatenated transaction data (for CVN 10 ending with the CVR, for CVN 18
/// with the whole 9F10), ISO 9797-1 algorithm 3.
///
/// # Errors
/// As [`icc_master_key`].
pub fn arqc(
    imk: &TdesKey,
    version: CryptogramVersion,
    card: &CardData<'_>,
    data: &[u8],
) -> Result<[u8; 8]> {
    retail_mac(&ac_key(imk, version, card)?, data, padding(version))
}

/// Verifies an ARQC in constant time.
///
/// # Errors
/// As [`icc_master_key`].
pub fn verify_arqc(
    imk: &TdesKey,
    version: CryptogramVersion,
    card: &CardData<'_>,
    data: &[u8],
    arqc_received: &[u8; 8],
) -> Result<bool> {
    let computed = arqc(imk, version, card, data)?;
    Ok(computed.ct_eq(arqc_received).into())
}

/// ARPC method 1: E_K(ARQC ⊕ (ARC ‖ 00…00)) with the AC key.
pub fn arpc_method1(ac_key: &TdesKey, arqc: &[u8; 8], arc: [u8; 2]) -> [u8; 8] {
    let mut block = xor(arqc, &[arc[0], arc[1], 0, 0, 0, 0, 0, 0]);
    Tdes::new(ac_key).encrypt(&mut block);
    block
}

/// ARPC method 2: the leftmost 4 bytes of the algorithm 3 MAC (padding 2)
/// of ARQC ‖ CSU ‖ proprietary authentication data, under the session key.
pub fn arpc_method2(
    session_key: &TdesKey,
    arqc: &[u8; 8],
    csu: [u8; 4],
    proprietary: &[u8],
) -> [u8; 4] {
    let mut data = Vec::with_capacity(12 + proprietary.len());
    data.extend_from_slice(arqc);
    data.extend_from_slice(&csu);
    data.extend_from_slice(proprietary);
    // Session keys are double-length by construction.
    let mac = retail_mac(session_key, &data, Padding::Method2).unwrap_or([0u8; 8]);
    [mac[0], mac[1], mac[2], mac[3]]
}

/// The ARPC of CVN 10 (method 1 with the ARC) from the issuer master key.
///
/// # Errors
/// As [`icc_master_key`].
pub fn arpc_cvn10(
    imk: &TdesKey,
    card: &CardData<'_>,
    arqc: &[u8; 8],
    arc: [u8; 2],
) -> Result<[u8; 8]> {
    Ok(arpc_method1(
        &ac_key(imk, CryptogramVersion::Cvn10, card)?,
        arqc,
        arc,
    ))
}

/// The ARPC of CVN 18 (method 2 with the CSU, no proprietary data) from the
/// issuer master key.
///
/// # Errors
/// As [`icc_master_key`].
pub fn arpc_cvn18(
    imk: &TdesKey,
    card: &CardData<'_>,
    arqc: &[u8; 8],
    csu: [u8; 4],
) -> Result<[u8; 4]> {
    let key = ac_key(imk, CryptogramVersion::Cvn18, card)?;
    Ok(arpc_method2(&key, arqc, csu, &[]))
}

/// What the host answers a CVN 18 chip request with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cvn18Outcome {
    /// Whether the ARQC verified.
    pub arqc_valid: bool,
    /// ARPC method 2 over the ARQC received and the CSU (tag 91 is ARPC ‖ CSU).
    pub arpc: [u8; 4],
}

/// The host's on-us chip check in one call: verifies the CVN 18 ARQC and
/// computes the ARPC (method 2) for the CSU the host chose.
///
/// # Errors
/// As [`icc_master_key`].
pub fn authorize_cvn18(
    imk: &TdesKey,
    card: &CardData<'_>,
    data: &[u8],
    arqc_received: &[u8; 8],
    csu: [u8; 4],
) -> Result<Cvn18Outcome> {
    let key = ac_key(imk, CryptogramVersion::Cvn18, card)?;
    let computed = retail_mac(&key, data, Padding::Method2)?;
    Ok(Cvn18Outcome {
        arqc_valid: computed.ct_eq(arqc_received).into(),
        arpc: arpc_method2(&key, arqc_received, csu, &[]),
    })
}

/// The transaction data of Visa CVN 10 / 18 cryptograms, in the order the
/// cryptogram covers them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionData {
    /// 9F02 amount, authorised (n12).
    pub amount: [u8; 6],
    /// 9F03 amount, other (n12).
    pub amount_other: [u8; 6],
    /// 9F1A terminal country code.
    pub terminal_country: [u8; 2],
    /// 95 terminal verification results.
    pub tvr: [u8; 5],
    /// 5F2A transaction currency code.
    pub currency: [u8; 2],
    /// 9A transaction date (YYMMDD).
    pub date: [u8; 3],
    /// 9C transaction type.
    pub transaction_type: u8,
    /// 9F37 unpredictable number.
    pub unpredictable_number: [u8; 4],
    /// 82 application interchange profile.
    pub aip: [u8; 2],
    /// 9F36 application transaction counter.
    pub atc: [u8; 2],
    /// 9F10 issuer application data (Visa format: length, DKI, CVN, CVR…).
    pub iad: Vec<u8>,
}

impl TransactionData {
    fn common(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.amount);
        out.extend_from_slice(&self.amount_other);
        out.extend_from_slice(&self.terminal_country);
        out.extend_from_slice(&self.tvr);
        out.extend_from_slice(&self.currency);
        out.extend_from_slice(&self.date);
        out.push(self.transaction_type);
        out.extend_from_slice(&self.unpredictable_number);
        out.extend_from_slice(&self.aip);
        out.extend_from_slice(&self.atc);
        out
    }

    /// The bytes the cryptogram of `version` covers: the common fields,
    /// then the CVR (IAD bytes 4 to 7) for CVN 10 or the whole IAD for CVN 18.
    ///
    /// # Errors
    /// [`Error::Length`] when CVN 10 is asked for and the IAD has fewer than
    /// 7 bytes.
    pub fn cryptogram_input(&self, version: CryptogramVersion) -> Result<Vec<u8>> {
        let mut out = self.common();
        match version {
            CryptogramVersion::Cvn10 => {
                let cvr = self.iad.get(3..7).ok_or(Error::Length {
                    what: "issuer application data",
                    expected: "at least 7 bytes for CVN 10",
                    actual: self.iad.len(),
                })?;
                out.extend_from_slice(cvr);
            }
            CryptogramVersion::Cvn18 => out.extend_from_slice(&self.iad),
        }
        Ok(out)
    }
}
