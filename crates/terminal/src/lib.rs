//! A POS terminal simulator built from the host interface specification, as
//! a terminal vendor would build one: it keeps its STAN, DUKPT counter,
//! batch number, batch totals and store-and-forward reversal queue in a
//! small state file, and prints receipts.
//!
//! It depends on nothing of posbridge but the codec and the card security
//! crate, so it cannot lean on the host's internals.
#![deny(missing_docs)]

pub mod receipt;
pub mod state;
