//! The imperative shell of posbridge: the ISO 8583 terminal host
//! (`posbridge serve`), its HTTP base routes, and later the HTTP API, jobs
//! and network connectors. Business rules live in `domain`; this crate
//! translates between the wire and the domain, in one place each.
//!
//! - [`server`]: the TCP listener (bounded accept back-off, a semaphore of
//!   `connections_max`), one handler per connection with pipelining, idle
//!   timeout and graceful shutdown.
//! - [`service::Host`]: one frame in, one response out — decode, MAC, PIN,
//!   ARQC, network, then [`authorize::decide`] under the state lock, and the
//!   answer only after the store committed the decision (records + ledger
//!   transfers in one transaction).
//! - [`records`] / [`state`]: the host's records and their text form in the
//!   store's host tables; [`seed`]: keys and the sandbox seeding.
//! - [`http_server::router`]: `GET /metrics` merged with the HTTP API ([`api`]).
#![deny(missing_docs)]

pub mod api;
pub mod authorize;
pub mod http_server;
pub mod metrics;
pub mod records;
pub mod request;
pub mod seed;
pub mod server;
pub mod service;
pub mod settlement;
pub mod state;
pub mod wire;
