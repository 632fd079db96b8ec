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
//!
//! ```
//! use cardsec::{Pin, TdesKey};
//! use terminal::card::{Card, EntryMode};
//! use terminal::clock::FixedClock;
//! use terminal::keys::InitialKey;
//! use terminal::state::TerminalState;
//! use terminal::testing::{Reply, ScriptedHost};
//! use terminal::{CardRead, Terminal, TerminalConfig};
//!
//! let host = ScriptedHost::start(vec![Reply::approve("633012000001", "A1B2C3")], None)?;
//! let ksn = "FFFF9876543210E00000";
//! let state = TerminalState::new("T0000001", "100000000000001", ksn)?;
//! let bdk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
//! let ipek = InitialKey::Bdk(bdk).ipek(ksn)?;
//! let config = TerminalConfig::new(&host.address());
//! let mut terminal = Terminal::new(state, ipek, config, Box::new(FixedClock(1_795_534_245)))?;
//!
//! let card = Card::new("6217000000000014", "3012")?;
//! let pin = Pin::new("1234")?;
//! let read = CardRead { card: &card, entry: EntryMode::Swipe, pin: Some(&pin) };
//! let outcome = terminal.sale(read, 3_800)?;
//! assert!(outcome.approved);
//! assert_eq!(outcome.rrn.as_deref(), Some("633012000001"));
//! assert_eq!(terminal.state().totals.debit_amount_minor, 3_800);
//! println!("{}", outcome.receipt.expect("financial").render());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod amount;
pub mod card;
pub mod clock;
pub mod keys;
pub mod load;
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
