//! The benchmark's baseline: plain rows of a transfer's width, written by the
//! same engine with the same durability and batch size, with no ledger logic.

use ledger::{AccountId, LedgerId, NewTransfer, Transfer, TransferId};

use crate::{Result, Store};

/// Plain row number `n` (ids from 1).
pub(crate) fn plain_row(n: u64) -> Transfer {
    let id = u128::from(n) + 1;
    let body = NewTransfer::new(
        TransferId(id),
        AccountId(id % 10_000 + 1),
        AccountId(id % 9_999 + 2),
        100,
        LedgerId(978),
        1,
    );
    Transfer {
        body,
        timestamp: n + 1,
    }
}

/// Inserts `rows` plain rows into the `bench_plain_rows` table (which must be
/// empty), `batch` rows per commit; returns each commit's latency in µs.
///
/// # Errors
/// Database errors.
pub fn insert_plain_rows(store: &mut Store, rows: u64, batch: u64) -> Result<Vec<u64>> {
    store.engine_mut().insert_plain_rows(rows, batch.max(1))
}
