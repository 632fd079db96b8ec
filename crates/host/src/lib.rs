//! The imperative shell of posbridge: the ISO 8583 host, and later the HTTP
//! API, jobs and network connectors. Business rules live in `domain`; this
//! crate translates between the wire and the domain, in one place each.
#![deny(missing_docs)]

pub mod api;
pub mod wire;
