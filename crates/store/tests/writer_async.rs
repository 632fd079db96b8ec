//! The group-commit writer answers async callers too (submit_async + recv),
//! from tasks of a runtime, without blocking the runtime's threads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_are_answered_after_commit() {
    const TASKS: u128 = 16;
    let database = TestDatabase::sqlite("writer_async");
    let eur = LedgerId(978);
    let store = Store::open(database.url()).unwrap();
    let writer = Writer::start(
        store,
        WriterConfig {
            queue_depth_max: 4,
            batch_transfers_max: 32,
        },
    )
    .unwrap();
    let accounts = vec![
        NewAccount::new(AccountId(1), eur, 1),
        NewAccount::new(AccountId(2), eur, 1),
    ];
    let ticket = writer
        .handle()
        .submit_async(vec![WriteOp::CreateAccounts(accounts)])
        .await
        .unwrap();
    ticket.recv().await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let handle = writer.handle();
        tasks.push(tokio::spawn(async move {
            let transfer = NewTransfer::new(
                TransferId(100 + task),
                AccountId(1),
                AccountId(2),
                3,
                eur,
                1,
            );
            let ticket = handle
                .submit_async(vec![WriteOp::CreateTransfers(vec![transfer])])
                .await
                .unwrap();
            ticket.recv().await.unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
        );
    }
    let mut store = tokio::task::spawn_blocking(move || writer.stop().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.account(AccountId(2)).unwrap().unwrap().credits_posted,
        3 * TASKS as u64
    );
}

/// Regression: the writer thread used to return the `Store`, so whoever
/// dropped the `Writer` could drop the store in its own context; for a
/// PostgreSQL store inside an async runtime that panicked, and a panic while
/// dropping a thread's result aborts the process (seen in CI). The store now
/// goes back only to `stop`; a dropped writer's thread drops it itself.
fn writers_dropped_inside_a_runtime(url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let eur = LedgerId(978);
    for round in 0..20_u128 {
        let store = Store::open(url).unwrap();
        let writer = Writer::start(store, WriterConfig::default()).unwrap();
        let handle = writer.handle();
        runtime.block_on(async move {
            let id = AccountId(1_000 + round);
            let ticket = handle
                .submit_async(vec![WriteOp::CreateAccounts(vec![NewAccount::new(
                    id, eur, 1,
                )])])
                .await
                .unwrap();
            ticket.recv().await.unwrap();
            drop(handle);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            // Dropped without `stop`, inside the runtime: before the fix this
            // aborted the test process in every run on PostgreSQL.
            drop(writer);
        });
    }
    let mut store = Store::open(url).unwrap();
    assert_eq!(store.accounts().unwrap().len(), 20, "every write committed");
}

#[test]
fn sqlite_writer_dropped_inside_a_runtime() {
    let database = TestDatabase::sqlite("writer_dropped");
    writers_dropped_inside_a_runtime(database.url());
}

#[test]
fn postgres_writer_dropped_inside_a_runtime() {
    let Some(database) = TestDatabase::postgres("writer_dropped") else {
        return;
    };
    writers_dropped_inside_a_runtime(database.url());
}
