//! Card security for posbridge: DUKPT, PIN blocks, MACs, EMV cryptograms,
//! key blocks, PVV, Luhn, PAN masking and the PAN vault.
//!
//! No secret is ever logged or `Debug`-printed.
#![deny(missing_docs)]
