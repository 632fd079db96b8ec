//! The PAN vault: deterministic look-up tokens (keyed HMAC-SHA-256) and
//! authenticated storage (AES-256-GCM), both under versioned keys, with
//! re-encryption to the current key.
//!
//! Pure: nonces come from the caller's RNG (or are passed in), nothing is
//! stored here; the storage layer keeps [`EncryptedPan`] and [`Token`]
//! strings.

use core::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hex;
use crate::pan::Pan;
use crate::prim::fixed;
use crate::secret::{AesKey, Secret};

/// Bytes of an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes of a token key and of an encryption key.
pub const KEY_BYTES: usize = 32;
/// Most key versions a vault holds.
pub const KEY_VERSIONS_MAX: usize = 64;
const AAD_PREFIX: &[u8] = b"posbridge/pan-vault/v1/";

/// One generation of vault keys.
#[derive(Clone, Debug)]
pub struct VaultKey {
    version: u32,
    token_key: Secret,
    encryption_key: AesKey,
}

impl VaultKey {
    /// A key generation from a 32-byte HMAC key and a 32-byte AES-256 key.
    ///
    /// # Errors
    /// [`Error::Length`] when either key is not 32 bytes.
    pub fn new(version: u32, token_key: &[u8], encryption_key: &[u8]) -> Result<Self> {
        if token_key.len() != KEY_BYTES || encryption_key.len() != KEY_BYTES {
            return Err(Error::Length {
                what: "vault key",
                expected: "32 bytes (64 hex digits)",
                actual: if token_key.len() == KEY_BYTES {
                    encryption_key.len()
                } else {
                    token_key.len()
                },
            });
        }
        Ok(Self {
            version,
            token_key: Secret::from_slice(token_key),
            encryption_key: AesKey::new(encryption_key)?,
        })
    }

    /// Fresh random keys.
    pub fn generate<R: CryptoRng + ?Sized>(version: u32, rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new([0u8; 2 * KEY_BYTES]);
        rng.fill_bytes(&mut *bytes);
        Self {
            version,
            token_key: Secret::from_slice(&bytes[..KEY_BYTES]),
            encryption_key: AesKey(Secret::from_slice(&bytes[KEY_BYTES..])),
        }
    }

    /// The key version.
    pub fn version(&self) -> u32 {
        self.version
    }
}

/// A look-up token: `T<version>:<64 hex digits>`. Equal PANs give equal
/// tokens under the same key version; the PAN cannot be recovered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    /// Key version that made it.
    pub key_version: u32,
    /// HMAC-SHA-256 of the PAN digits.
    pub digest: [u8; 32],
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T{}:{}", self.key_version, hex::encode(&self.digest))
    }
}

/// A stored PAN: `E<version>:<nonce hex>:<ciphertext and tag hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedPan {
    /// Key version that encrypted it.
    pub key_version: u32,
    /// The GCM nonce.
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Display for EncryptedPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "E{}:{}:{}",
            self.key_version,
            hex::encode(&self.nonce),
            hex::encode(&self.ciphertext)
        )
    }
}

impl core::str::FromStr for EncryptedPan {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let mut parts = text.split(':');
        let (Some(version), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Vault(
                "record must be E<version>:<nonce>:<ciphertext>",
            ));
        };
        let key_version = version
            .strip_prefix('E')
            .and_then(|v| v.parse().ok())
            .ok_or(Error::Vault("record version is not E<number>"))?;
        Ok(Self {
            key_version,
            nonce: hex::decode_array(nonce, "vault nonce")?,
            ciphertext: hex::decode(ciphertext, "vault ciphertext")?.to_vec(),
        })
    }
}

/// The vault's key ring: every key version still needed for decryption and
/// the current one for new records and tokens.
#[derive(Clone, Debug)]
pub struct Vault {
    keys: Vec<VaultKey>,
    current: u32,
}

impl Vault {
    /// A vault whose current key is `key`.
    pub fn new(key: VaultKey) -> Self {
        let current = key.version;
        Self {
            keys: vec![key],
            current,
        }
    }

    /// Adds a key generation and makes it current (key rotation).
    ///
    /// # Errors
    /// [`Error::Vault`] when the version is already present or the ring is
    /// full.
    pub fn rotate(&mut self, key: VaultKey) -> Result<()> {
        if self.key(key.version).is_ok() {
            return Err(Error::Vault("key version already present"));
        }
        if self.keys.len() >= KEY_VERSIONS_MAX {
            return Err(Error::Vault("too many key versions"));
        }
        self.current = key.version;
        self.keys.push(key);
        Ok(())
    }

    /// Drops a retired key version (after every record was re-encrypted).
    ///
    /// # Errors
    /// [`Error::Vault`] for the current version or an unknown one.
    pub fn retire(&mut self, version: u32) -> Result<()> {
        if version == self.current {
            return Err(Error::Vault("cannot retire the current key"));
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.version != version);
        if self.keys.len() == before {
            return Err(Error::Vault("unknown key version"));
        }
        Ok(())
    }

    /// The current key version.
    pub fn current_version(&self) -> u32 {
        self.current
    }

    fn key(&self, version: u32) -> Result<&VaultKey> {
        self.keys
            .iter()
            .find(|k| k.version == version)
            .ok_or(Error::Vault("unknown key version"))
    }

    /// The look-up token of `pan` under the current key.
    pub fn token(&self, pan: &Pan) -> Token {
        // The current version is always in the ring.
        self.token_with(pan, self.current).unwrap_or(Token {
            key_version: self.current,
            digest: [0; 32],
        })
    }

    /// The look-up token of `pan` under key `version` (to search records
    /// tokenised before a rotation).
    ///
    /// # Errors
    /// [`Error::Vault`] for an unknown version.
    pub fn token_with(&self, pan: &Pan, version: u32) -> Result<Token> {
        let key = self.key(version)?;
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key.token_key.expose())
            .map_err(|_| Error::Vault("token key rejected"))?;
        mac.update(pan.expose_digits().as_bytes());
        let digest = mac.finalize().into_bytes();
        Ok(Token {
            key_version: version,
            digest: *fixed::<32>(&digest),
        })
    }

    /// Encrypts `pan` under the current key with a nonce from `rng`.
    ///
    /// # Errors
    /// [`Error::Vault`] if encryption fails.
    pub fn encrypt<R: CryptoRng + ?Sized>(&self, pan: &Pan, rng: &mut R) -> Result<EncryptedPan> {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        self.encrypt_with_nonce(pan, self.current, nonce)
    }

    /// Encrypts with an explicit key version and nonce. A nonce must never
    /// repeat under one key: use [`Vault::encrypt`] unless the caller
    /// guarantees that.
    ///
    /// # Errors
    /// [`Error::Vault`] for an unknown version.
    pub fn encrypt_with_nonce(
        &self,
        pan: &Pan,
        version: u32,
        nonce: [u8; NONCE_BYTES],
    ) -> Result<EncryptedPan> {
        let cipher = self.cipher(version)?;
        let aad = aad(version);
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: pan.expose_digits().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Vault("encryption failed"))?;
        Ok(EncryptedPan {
            key_version: version,
            nonce,
            ciphertext,
        })
    }

    /// Decrypts a stored PAN.
    ///
    /// # Errors
    /// [`Error::Vault`] for an unknown key version or a record that does not
    /// authenticate.
    pub fn decrypt(&self, record: &EncryptedPan) -> Result<Pan> {
        let cipher = self.cipher(record.key_version)?;
        let aad = aad(record.key_version);
        let clear = Zeroizing::new(
            cipher
                .decrypt(
                    &Nonce::from(record.nonce),
                    Payload {
                        msg: &record.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| Error::Vault("record does not authenticate"))?,
        );
        let digits =
            core::str::from_utf8(&clear).map_err(|_| Error::Vault("record is not a PAN"))?;
        Pan::new(digits).map_err(|_| Error::Vault("record is not a PAN"))
    }

    /// Re-encrypts a record under the current key (no-op copy if it already
    /// is), with a fresh nonce from `rng`.
    ///
    /// # Errors
    /// As [`Vault::decrypt`].
    pub fn reencrypt<R: CryptoRng + ?Sized>(
        &self,
        record: &EncryptedPan,
        rng: &mut R,
    ) -> Result<EncryptedPan> {
        if record.key_version == self.current {
            return Ok(record.clone());
        }
        let pan = self.decrypt(record)?;
        self.encrypt(&pan, rng)
    }

    fn cipher(&self, version: u32) -> Result<Aes256Gcm> {
        let key = self.key(version)?;
        Aes256Gcm::new_from_slice(key.encryption_key.expose_bytes())
            .map_err(|_| Error::Vault("encryption key rejected"))
    }
}

fn aad(version: u32) -> Vec<u8> {
    let mut out = AAD_PREFIX.to_vec();
    out.extend_from_slice(&version.to_be_bytes());
    out
}
