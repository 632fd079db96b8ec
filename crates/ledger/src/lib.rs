//! Pure double-entry ledger core in the style of TigerBeetle's account and
//! transfer model. No I/O; the clock is passed in.
#![deny(missing_docs)]
