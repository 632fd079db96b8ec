//! The terminal's initial key: provisioning from an IPEK (what a real
//! terminal holds) or from a BDK (sandbox convenience: the IPEK is derived
//! once and the BDK forgotten), and the key file that stands in for the
//! terminal's tamper-resistant key storage. The state file never holds a key.

use std::path::{Path, PathBuf};

use cardsec::{Ksn, TdesKey, dukpt};

use crate::Error;

/// The key a terminal is provisioned with.
#[derive(Clone, Debug)]
pub enum InitialKey {
    /// The terminal's initial PIN encryption key.
    Ipek(TdesKey),
    /// The base derivation key: the IPEK is derived from it and the KSN.
    Bdk(TdesKey),
}

impl InitialKey {
    /// The IPEK of the terminal whose initial KSN is `initial_ksn`.
    ///
    /// # Errors
    /// [`Error::Key`] for a KSN that is not 20 hex digits or a key that is
    /// not double-length.
    pub fn ipek(&self, initial_ksn: &str) -> Result<TdesKey, Error> {
        let ksn = Ksn::from_hex(initial_ksn)?;
        match self {
            InitialKey::Ipek(ipek) if ipek.len() == 16 => Ok(ipek.clone()),
            InitialKey::Ipek(_) => Err(Error::Input("the IPEK must be 32 hex digits".into())),
            InitialKey::Bdk(bdk) => Ok(dukpt::ipek(bdk, &ksn)?),
        }
    }
}

/// Where the key of the state file `state_path` is kept: beside it, with
/// the extension `key`.
#[must_use]
pub fn key_file_path(state_path: &Path) -> PathBuf {
    state_path.with_extension("key")
}

/// Writes the IPEK to `path`, readable by the owner only.
///
/// # Errors
/// [`Error::Io`].
pub fn save_key_file(path: &Path, ipek: &TdesKey) -> Result<(), Error> {
    use std::io::Write as _;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    let hex = cardsec::hex::encode(ipek.expose_bytes());
    file.write_all(hex.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads the IPEK from `path`.
///
/// # Errors
/// [`Error::Io`], or [`Error::Key`] when the file does not hold 32 hex
/// digits.
pub fn load_key_file(path: &Path) -> Result<TdesKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(TdesKey::from_hex(text.trim())?)
}
