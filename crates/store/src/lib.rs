//! Storage for posbridge: one interface, two engines (SQLite and PostgreSQL),
//! one set of migrations and one conformance suite.
//!
//! - [`Store`] is opened by URL (`sqlite:PATH`, a plain path, or
//!   `postgres://…`) and applies the shared migrations (`migrations/*.sql`,
//!   recorded in `schema_migrations`).
//! - Every change is a batch of [`WriteOp`]s executed by [`Store::execute`] in
//!   ONE database transaction: later business writes (authorizations,
//!   duplicate keys, settlements) become new `WriteOp` variants committed
//!   together with their ledger transfers.
//! - The ledger rules are the `ledger` crate's; the store prefetches what a
//!   batch needs into a working set, runs the core over it, and writes the
//!   result. Account balances are cached in memory: one `Store` writes a
//!   database at a time.
//! - [`Writer`] owns a `Store` on a dedicated thread and group-commits the
//!   requests of many callers (sync or async): one commit per batch.
//!
//! Ids (`u128`) are stored as 16-byte big-endian BLOB/BYTEA, so they sort as
//! numbers; balances and amounts as BIGINT; timestamps as BIGINT nanoseconds.
//!
//! ```
//! use ledger::*;
//! use store::{Store, WriteOp, WriteOutcome};
//! let dir = std::env::temp_dir().join(format!("store-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut store = Store::open(&format!("sqlite:{}", dir.join("doc.db").display())).unwrap();
//! let eur = LedgerId(978);
//! let accounts = vec![NewAccount::new(AccountId(1), eur, 1), NewAccount::new(AccountId(2), eur, 1)];
//! let transfer = NewTransfer::new(TransferId(7), AccountId(1), AccountId(2), 100, eur, 1);
//! let outcomes = store
//!     .write(vec![WriteOp::CreateAccounts(accounts), WriteOp::CreateTransfers(vec![transfer])], 1)
//!     .unwrap();
//! assert_eq!(outcomes[1], WriteOutcome::Transfers(vec![CreateTransferResult::Ok]));
//! assert_eq!(store.account(AccountId(2)).unwrap().unwrap().credits_posted, 100);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
#![deny(missing_docs)]

pub mod api;
mod baseline;
mod codec;
mod engine;
mod error;
mod hash;
mod host_rows;
mod migrate;
mod ops;
mod pg;
mod reports;
mod settlement_items;
mod settlement_presum;
mod settlement_runs;
mod settlement_writes;
mod sqlite;
mod sqlite_rows;
mod sqlite_wal;
mod store;
mod sync_behind;
pub mod testing;
mod working;
mod writer;

pub use baseline::insert_plain_rows;
pub use error::StoreError;
pub use host_rows::{HOST_BODY_LEN_MAX, HOST_KEY_LEN_MAX, HostRow, HostTable};
pub use ops::{WriteOp, WriteOutcome};
pub use reports::{DailyReport, REPORT_PROGRAMS_MAX, ReportLine, ReportScope};
pub use settlement_items::{SETTLEMENT_TEXT_LEN_MAX, SettlementItem};
pub use settlement_presum::{
    MERGE_ITEMS_MAX, PresumRange, PresumReport, RAW_BY_SEQ_MAX, STEP_ITEMS_MAX,
};
pub use settlement_runs::{
    ItemSums, MerchantAggregate, PayoutTotal, RunProgress, RunWrite, Settlement, SettlementLeg,
    SettlementQuery, SettlementRun,
};
pub use store::{EngineKind, Store};
pub use writer::{Slot, Ticket, Writer, WriterConfig, WriterHandle, WriterStats};

/// Results of this crate.
pub type Result<T> = std::result::Result<T, StoreError>;
