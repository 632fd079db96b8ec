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
