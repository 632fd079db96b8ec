//! A POS terminal simulator built from the host interface specification, as
//! a terminal vendor would build one: it keeps its STAN, DUKPT counter,
//! batch number, batch totals and store-and-forward reversal queue in a
//! small state file, and prints receipts.
//!
//! - [`Terminal`] builds the messages of host-interface.md section 4
//!   (sign-on, echo, sale, pre-authorization, completion, void, refund,
//!   balance, settlement, reversals), sends them over one blocking TCP
//!   connection ([`transport::Link`]) and matches answers by DE 11 + DE 41.
//! - [`card::Card`] is the simulated card: track 2, and for chip reads DE 55
//!   with a CVN 18 ARQC the card computes from its issuer master key.
//! - PIN blocks (ISO 9564 format 0) and MACs use the DUKPT keys the terminal
//!   derives from its IPEK ([`keys`]); the state file never holds a key, a
//!   clear PAN, track data or a PIN.
//! - Time comes from a [`clock::Clock`] the caller passes in.
//! - [`testing::ScriptedHost`] answers per a script, for tests.
//!
//! It depends on nothing of posbridge but the codec and the card security
//! crate, so it cannot lean on the host's internals.
#![deny(missing_docs)]

pub mod amount;
pub mod card;
pub mod clock;
pub mod keys;
pub mod receipt;
pub mod response;
pub mod state;
mod terminal;
pub mod testing;
pub mod transport;

pub use terminal::{
    BATCH_ENTRIES_MAX, CardRead, Outcome, RESPONSE_TIMEOUT_DEFAULT, ReversalReport, Terminal,
    TerminalConfig, TransactionKind, UTC_OFFSET_S_DEFAULT,
};

/// Why a terminal operation failed. A decline is not an error: it is an
/// [`Outcome`] with its response code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The state file or the reversal queue.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// The host cannot be reached: the request was not sent.
    #[error("cannot reach the host at {address}")]
    Connect {
        /// Address tried.
        address: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A card the terminal cannot use.
    #[error("card: {0}")]
    Card(&'static str),
    /// An operation the terminal refuses (e.g. a void of an unknown sale).
    #[error("{0}")]
    Input(String),
    /// A value that does not fit its field.
    #[error("message: {0}")]
    Message(#[from] iso8583::Error),
    /// Key handling (never shows a key).
    #[error("key: {0}")]
    Key(#[from] cardsec::Error),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}
