//! posbridge business rules, free of I/O: money, card routing, on-us issuing
//! decisions, the network simulator's rules, what may be done to an earlier
//! transaction, and terminal batch totals.
//!
//! A decline is a value ([`ResponseCode`]), never an error. The clock and all
//! facts checked by cryptography come in as parameters.
//!
//! ```
//! use domain::{issuing, AmountMinor, ResponseCode, YearMonth};
//! use domain::routing::CardProduct;
//!
//! let card = issuing::IssuedCard {
//!     product: CardProduct::Debit,
//!     status: issuing::CardStatus::Active,
//!     expiry: YearMonth::parse_yymm("3012").unwrap(),
//!     available: AmountMinor(1_000),
//!     pin_failures: 0,
//! };
//! let request = issuing::OnUsRequest {
//!     kind: issuing::AuthKind::Purchase,
//!     amount: AmountMinor(1_001),
//!     expiry: card.expiry,
//!     today: YearMonth::parse_yymm("2611").unwrap(),
//!     pin: issuing::PinCheck::Correct,
//!     cryptogram: issuing::CryptogramCheck::NotPresent,
//! };
//! assert_eq!(issuing::decide(&card, &request).code, ResponseCode::InsufficientFunds);
//! ```
#![deny(missing_docs)]

pub mod approvals;
pub mod batch;
pub mod benefits;
pub mod date;
pub mod fees;
pub mod issuing;
pub mod lifecycle;
pub mod money;
pub mod network;
pub mod onboarding;
pub mod payouts;
pub mod reconciliation;
pub mod response;
pub mod routing;
pub mod sandbox;
pub mod settlement;
pub mod wallet;

pub use date::{BusinessDate, YearMonth};
pub use money::{AmountMinor, Currency};
pub use response::ResponseCode;
