//! Pure double-entry ledger core in the style of TigerBeetle's account and
//! transfer model. No I/O; the clock is passed in.
//!
//! - A [`LedgerId`] partitions accounts by currency (by convention the ISO 4217
//!   numeric code); transfers move money only between accounts of one ledger.
//! - [`Account`]s carry four balances (debits/credits, pending/posted) in minor
//!   units; each must fit an `i64` so that every engine can store it.
//! - [`Transfer`]s are immutable. Their caller-chosen 128-bit id is also the
//!   idempotency key: the same id with the same body answers
//!   [`CreateTransferResult::Exists`]; the same id with a different body answers
//!   an `ExistsWithDifferent…` code naming the first field that differs.
//! - Two-phase transfers: a pending transfer reserves an amount; a later
//!   transfer posts (all or part of) it or voids it; [`expire_pending`]
//!   releases those whose timeout has passed.
//! - Linked chains: events flagged [`TransferFlags::LINKED`] succeed or fail
//!   together with the event that follows them.
//!
//! The core works against the [`LedgerState`] trait, so the same code validates
//! inside the store's writer (over a working set prefetched for the batch) and
//! in property tests (over [`MemoryState`]).
//!
//! ```
//! use ledger::*;
//! let mut state = MemoryState::default();
//! let eur = LedgerId(978);
//! let accounts = [NewAccount::new(AccountId(1), eur, 1), NewAccount::new(AccountId(2), eur, 1)];
//! assert!(create_accounts(&mut state, &accounts, 1_000).iter().all(|r| r.is_success()));
//! let transfer = NewTransfer::new(TransferId(10), AccountId(1), AccountId(2), 250, eur, 1);
//! let results = create_transfers(&mut state, &[transfer], 2_000).results;
//! assert_eq!(results, vec![CreateTransferResult::Ok]);
//! assert_eq!(state.account(AccountId(2)).unwrap().credits_posted, 250);
//! ```
#![deny(missing_docs)]

mod account;
mod result;
mod state;
mod transfer;
mod types;
pub mod verify;

pub use account::create_accounts;
pub use result::{CreateAccountResult, CreateTransferResult};
pub use state::{LedgerState, MemoryState};
pub use transfer::{BatchOutput, create_transfers, expire_pending};
pub use types::*;
