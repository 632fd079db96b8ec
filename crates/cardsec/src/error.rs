//! The one error type of the crate.
//!
//! Messages name what was wrong (a length, a field, a rule), never a value:
//! an error may be logged, a key or a PIN must not be.

/// Everything that can go wrong in `cardsec`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input has the wrong length.
    #[error("{what} must be {expected}, got {actual}")]
    Length {
        /// What was measured.
        what: &'static str,
        /// The lengths allowed, in words.
        expected: &'static str,
        /// The length given.
        actual: usize,
    },
    /// An input that must be hexadecimal is not.
    #[error("{0} is not hexadecimal")]
    NotHex(&'static str),
    /// An input that must be decimal digits is not.
    #[error("{0} must be decimal digits only")]
    NotDigits(&'static str),
    /// A DUKPT key serial number counter that a device never uses.
    #[error("invalid KSN counter: {0}")]
    KsnCounter(&'static str),
    /// A PIN block that does not follow its format.
    #[error("malformed PIN block: {0}")]
    PinBlock(&'static str),
    /// A key whose parity must be odd is not.
    #[error("key does not have odd parity")]
    Parity,
    /// A TR-31 key block that cannot be read or does not verify.
    #[error("key block: {0}")]
    KeyBlock(&'static str),
    /// A PAN vault record that cannot be read or does not authenticate.
    #[error("vault: {0}")]
    Vault(&'static str),
    /// A value outside what the function accepts.
    #[error("{0}")]
    Invalid(&'static str),
}

/// Result with the crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
