//! Commits synced behind their writer (`Store::sync_behind`), and a store
//! opened beside another, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome};

const EUR: LedgerId = LedgerId(978);

fn transfer(store: &mut Store, id: u128, amount: u64) {
    let transfer = NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), amount, EUR, 1);
    let outcome = store
        .write(
            vec![WriteOp::CreateTransfers(vec![transfer])],
            id as u64 + 10,
        )
        .unwrap();
    assert_eq!(
        outcome,
        vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
    );
}

fn commits_synced_behind_are_kept(database: &TestDatabase) {
    let mut store = Store::open(database.url()).unwrap();
    store
        .write(
            vec![WriteOp::CreateAccounts(vec![
                NewAccount::new(AccountId(1), EUR, 1),
                NewAccount::new(AccountId(2), EUR, 1),
            ])],
            1,
        )
        .unwrap();
    // Ending what was never started does nothing.
    store.end_sync_behind().unwrap();
    assert!(store.sync_behind().unwrap(), "{:?}", store.kind());
    assert!(store.sync_behind().unwrap(), "a second start is the same");
    let mut beside = store.open_beside().unwrap();
    for id in 1..=20 {
        transfer(&mut store, id, 5);
        // Committed is visible at once to another connection.
        let seen = beside.transfer(TransferId(id)).unwrap();
        assert_eq!(seen.map(|t| t.body.amount), Some(5), "transfer {id}");
    }
    store.end_sync_behind().unwrap();
    transfer(&mut store, 21, 7);
    drop(beside);
    drop(store);
    let mut reopened = Store::open(database.url()).unwrap();
    let credited = reopened.account(AccountId(2)).unwrap().unwrap();
    assert_eq!(credited.credits_posted, 20 * 5 + 7);
    assert!(reopened.verify_ledger().unwrap().violations.is_empty());
}

#[test]
fn sqlite_commits_synced_behind_are_kept() {
    commits_synced_behind_are_kept(&TestDatabase::sqlite("sync_behind"));
}

#[test]
fn postgres_commits_synced_behind_are_kept() {
    if let Some(database) = TestDatabase::postgres("sync_behind") {
        commits_synced_behind_are_kept(&database);
    }
}
