//! ISO 8583 message codec for the posbridge host interface.
//!
//! A pure codec: no I/O, no panics on any input, nothing allocated past the
//! 4096-byte frame limit. Dialects are data (tables of field definitions).
#![deny(missing_docs)]
