//! A SQLite store whose write finds the database's write lock taken by
//! another connection (a presum step, say) waits for it and then writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome};

#[test]
fn a_write_waits_for_another_connections_lock() {
    let database = TestDatabase::sqlite("busy_wait");
    let url = database.url().to_owned();
    let eur = LedgerId(978);
    let mut store = Store::open(&url).unwrap();
    store
        .write(
            vec![WriteOp::CreateAccounts(vec![
                NewAccount::new(AccountId(1), eur, 1),
                NewAccount::new(AccountId(2), eur, 1),
            ])],
            1,
        )
        .unwrap();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut other = Store::open(&url).unwrap();
        other.execute_sql("BEGIN IMMEDIATE").unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let released = Instant::now();
        other.execute_sql("COMMIT").unwrap();
        released
    });
    is_locked.recv().unwrap();
    let transfer = NewTransfer::new(TransferId(10), AccountId(1), AccountId(2), 7, eur, 1);
    let outcome = store
        .write(vec![WriteOp::CreateTransfers(vec![transfer])], 2)
        .unwrap();
    let written = Instant::now();
    let released = holder.join().unwrap();
    assert_eq!(
        outcome,
        vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
    );
    assert!(written >= released, "the write waited for the lock");
    assert_eq!(
        store.account(AccountId(2)).unwrap().unwrap().credits_posted,
        7
    );
}
