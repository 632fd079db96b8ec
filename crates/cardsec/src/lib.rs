//! Card security for posbridge: DUKPT, PIN blocks, MACs, EMV cryptograms,
//! key blocks, PVV, Luhn, PAN masking and the PAN vault.
//!
//! Built on the RustCrypto primitives (`des`, `aes`, `cmac`, `hmac`, `sha2`,
//! `aes-gcm`); no block cipher is written here. The crate is pure: no I/O,
//! no clock, and randomness only through a caller's `rand_core` RNG or
//! caller-supplied bytes.
//!
//! Secrets (keys, PINs, clear PIN blocks, PANs) live in types that are wiped
//! on drop and never show their value in `Debug`, `Display` or an error.
//!
//! # What the host calls
//!
//! | need | call |
//! |---|---|
//! | DUKPT transaction / PIN / MAC keys from BDK + KSN | [`dukpt::transaction_key`], [`dukpt::pin_key`], [`dukpt::mac_request_key`], [`dukpt::mac_response_key`]; per terminal [`dukpt::TransactionKeyCache`] |
//! | DE 64 retail MAC | [`dukpt::verify_request_mac`], [`dukpt::response_mac`] |
//! | PIN check without exposing the PIN | [`pinverify::verify_pin_pvv_iso0`], [`pinverify::verify_pin_ibm3624`] |
//! | PIN translation to a zone key | [`pin::translate_iso0`] |
//! | on-us chip: ARQC + ARPC (CVN 18) | [`emv::authorize_cvn18`] with [`emv::TransactionData::cryptogram_input`] |
//! | PAN storage and look-up | [`vault::Vault::token`], [`vault::Vault::encrypt`], [`vault::Vault::reencrypt`] |
//! | Luhn, masking | [`luhn_valid`], [`Pan`] (`Display` is masked), [`mask_pan`] |
//! | key exchange | [`tr31::unwrap`], [`tr31::wrap`] |
//!
//! ```
//! use cardsec::{Ksn, Pan, TdesKey, dukpt, pin};
//!
//! let bdk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
//! let ksn = Ksn::from_hex("FFFF9876543210E00001")?;
//! let pan = Pan::new("4012345678909")?;
//! let block = [0x1B, 0x9C, 0x18, 0x45, 0xEB, 0x99, 0x3A, 0x7A];
//! let pin = dukpt::decrypt_pin_iso0(&bdk, &ksn, &block, &pan)?;
//! assert_eq!(pin.expose_digits(), "1234");
//! assert_eq!(pan.to_string(), "401234***8909");
//! # Ok::<(), cardsec::Error>(())
//! ```
#![deny(missing_docs)]

pub mod aes_dukpt;
pub mod dukpt;
pub mod emv;
mod error;
pub mod hex;
pub mod kcv;
pub mod mac;
pub mod pan;
pub mod pin;
pub mod pinverify;
mod prim;
mod secret;
pub mod tr31;
pub mod vault;

pub use aes_dukpt::AesKsn;
pub use dukpt::Ksn;
pub use error::{Error, Result};
pub use pan::{Pan, luhn_valid, mask_pan};
pub use pin::{ClearPinBlock, Pin, PinBlockFormat};
pub use secret::{AesKey, Secret, TdesKey};
