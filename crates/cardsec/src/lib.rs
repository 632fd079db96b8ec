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

pub use dukpt::Ksn;
pub use error::{Error, Result};
pub use pan::{Pan, luhn_valid, mask_pan};
pub use pin::{ClearPinBlock, Pin, PinBlockFormat};
pub use secret::{AesKey, Secret, TdesKey};
