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
//! - [`capture`]: fees, fee share, points and settlement items at capture.
//! - [`reconcile`]: the network's clearing file matched against the host's
//!   off-us captures; exceptions as resources.
//! - [`records`] / [`state`]: the host's records and their text form in the
//!   store's host tables; [`seed`]: keys and the sandbox seeding.
//! - [`qr`]: QR payments authorized by the wallet network and captured like
//!   card sales, with the API's resource in one request.
//! - [`admin`]: operator changes of merchants and terminals, written with
//!   the API's resource in one request and applied to the running host.
//! - `lease`: several hosts on one PostgreSQL database, one active at a
//!   time (takeover on demand, fenced writes, reload).
//! - [`http_server::router`]: `GET /metrics` merged with the HTTP API ([`api`]).
#![deny(missing_docs)]

pub mod admin;
pub mod api;
pub mod authorize;
pub mod capture;
pub mod chargebacks;
pub mod expiry;
mod follow;
pub mod http_server;
mod lease;
pub mod metrics;
pub mod plans;
pub mod qr;
pub mod reconcile;
pub mod records;
pub mod request;
pub mod seed;
pub mod server;
pub mod service;
pub mod settlement;
pub mod state;
pub mod wire;
