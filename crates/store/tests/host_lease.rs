//! The host lease's fence and takeover on both engines, and several writer
//! processes on one PostgreSQL database (each `Store` its own connection
//! and cache, as two hosts are).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger::*;
use store::testing::TestDatabase;
use store::{HostRow, HostTable, Store, WriteOp, WriteOutcome};

const CNY: LedgerId = LedgerId(156);
const NOW: u64 = 1_700_000_000_000_000_000;

store::on_both_engines!(
    a_stale_epoch_is_refused_whole,
    a_takeover_fences_the_old_epoch_within_a_batch,
);

fn open_with_accounts(url: &str) -> Store {
    let mut store = Store::open(url).unwrap();
    let accounts = vec![
        NewAccount {
            flags: AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            ..NewAccount::new(AccountId(1), CNY, 1)
        },
        NewAccount::new(AccountId(2), CNY, 1),
    ];
    store
        .write(vec![WriteOp::CreateAccounts(accounts)], NOW)
        .unwrap();
    let funding = NewTransfer::new(TransferId(1), AccountId(2), AccountId(1), 100, CNY, 1);
    store
        .write(vec![WriteOp::CreateTransfers(vec![funding])], NOW)
        .unwrap();
    store
}

fn spend(id: u128, amount: u64) -> NewTransfer {
    NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), amount, CNY, 1)
}

fn record(key: &str) -> WriteOp {
    WriteOp::HostRows(vec![HostRow {
        table: HostTable::Transactions,
        key: key.to_owned(),
        body: "amount=10".to_owned(),
    }])
}

fn take(store: &mut Store, holder: &str) -> u64 {
    let outcomes = store
        .write(
            vec![WriteOp::TakeLease {
                holder: holder.to_owned(),
            }],
            NOW,
        )
        .unwrap();
    match outcomes.as_slice() {
        [WriteOutcome::Lease { epoch }] => *epoch,
        other => panic!("unexpected {other:?}"),
    }
}

fn a_stale_epoch_is_refused_whole(url: &str) {
    let mut store = open_with_accounts(url);
    assert_eq!(take(&mut store, "a"), 1);
    assert_eq!(take(&mut store, "b"), 2);
    let stale = store
        .write(
            vec![
                WriteOp::Fence { epoch: 1 },
                WriteOp::CreateTransfers(vec![spend(10, 10)]),
                record("000000000010"),
            ],
            NOW,
        )
        .unwrap();
    assert_eq!(
        stale,
        vec![
            WriteOutcome::Fence(false),
            WriteOutcome::Fenced,
            WriteOutcome::Fenced
        ]
    );
    assert!(WriteOutcome::fenced(&stale));
    assert_eq!(store.transfer(TransferId(10)).unwrap(), None);
    assert!(store.host_rows(HostTable::Transactions).unwrap().is_empty());
    let current = store
        .write(
            vec![
                WriteOp::Fence { epoch: 2 },
                WriteOp::CreateTransfers(vec![spend(11, 10)]),
                record("000000000011"),
            ],
            NOW,
        )
        .unwrap();
    assert_eq!(current.first(), Some(&WriteOutcome::Fence(true)));
    assert_eq!(current.last(), Some(&WriteOutcome::HostRows(true)));
    assert!(store.transfer(TransferId(11)).unwrap().is_some());
    assert_eq!(
        store.account(AccountId(1)).unwrap().unwrap().debits_posted,
        10
    );
    assert!(store.verify_ledger().unwrap().violations.is_empty());
}

fn a_takeover_fences_the_old_epoch_within_a_batch(url: &str) {
    let mut store = open_with_accounts(url);
    assert_eq!(take(&mut store, "a"), 1);
    // In one batch: a request of epoch 1, the takeover, another of epoch 1.
    let outcomes = store
        .execute(
            vec![
                vec![
                    WriteOp::Fence { epoch: 1 },
                    WriteOp::CreateTransfers(vec![spend(20, 10)]),
                ],
                vec![WriteOp::TakeLease {
                    holder: "b".to_owned(),
                }],
                vec![
                    WriteOp::Fence { epoch: 1 },
                    WriteOp::CreateTransfers(vec![spend(21, 10)]),
                ],
                vec![
                    WriteOp::Fence { epoch: 2 },
                    WriteOp::CreateTransfers(vec![spend(22, 10)]),
                ],
            ],
            NOW,
        )
        .unwrap();
    assert!(!WriteOutcome::fenced(&outcomes[0]));
    assert_eq!(outcomes[1], vec![WriteOutcome::Lease { epoch: 2 }]);
    assert!(WriteOutcome::fenced(&outcomes[2]));
    assert!(!WriteOutcome::fenced(&outcomes[3]));
    assert!(store.transfer(TransferId(20)).unwrap().is_some());
    assert_eq!(store.transfer(TransferId(21)).unwrap(), None);
    assert!(store.transfer(TransferId(22)).unwrap().is_some());
    // The lease taken in the batch is stored.
    assert_eq!(take(&mut store, "a"), 3);
}

/// Two stores (two processes' writers) alternating on one PostgreSQL
/// database: each sees the other's balances and transfers, so limits hold
/// and the ledger verifies.
#[test]
fn two_writers_on_one_postgres_see_each_other() {
    let Some(database) = TestDatabase::postgres("two_writers") else {
        return;
    };
    let mut a = open_with_accounts(database.url());
    let mut b = Store::open(database.url()).unwrap();
    let created = |outcomes: Vec<WriteOutcome>| match outcomes.as_slice() {
        [WriteOutcome::Transfers(results)] => results.clone(),
        other => panic!("unexpected {other:?}"),
    };
    for id in 0..4u128 {
        let (writer, other) = if id % 2 == 0 {
            (&mut a, "b")
        } else {
            (&mut b, "a")
        };
        let results = created(
            writer
                .write(
                    vec![WriteOp::CreateTransfers(vec![spend(100 + id, 20)])],
                    NOW,
                )
                .unwrap(),
        );
        assert_eq!(
            results,
            vec![CreateTransferResult::Ok],
            "transfer {id}, {other} wrote before"
        );
    }
    // 100 funded, 80 spent: A's cached balance would allow 30 more.
    let results = created(
        a.write(vec![WriteOp::CreateTransfers(vec![spend(200, 30)])], NOW)
            .unwrap(),
    );
    assert_eq!(results, vec![CreateTransferResult::ExceedsCredits]);
    // B's transfer 101 exists for A: created again, it is a duplicate.
    let results = created(
        a.write(vec![WriteOp::CreateTransfers(vec![spend(101, 20)])], NOW)
            .unwrap(),
    );
    assert_eq!(results, vec![CreateTransferResult::Exists]);
    let results = created(
        b.write(vec![WriteOp::CreateTransfers(vec![spend(201, 20)])], NOW)
            .unwrap(),
    );
    assert_eq!(results, vec![CreateTransferResult::Ok]);
    let card = a.account(AccountId(1)).unwrap().unwrap();
    assert_eq!((card.credits_posted, card.debits_posted), (100, 100));
    let report = b.verify_ledger().unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.transfers, 6);
    drop((a, b));
    drop(database);
}
