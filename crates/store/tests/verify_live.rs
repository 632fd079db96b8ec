//! Regression: `verify_ledger` against a database another connection is
//! writing to must read one snapshot. Reading accounts, pending records and
//! transfers in separate statements let a commit land in between and report
//! balances that disagree with their transfers (seen after a SIGKILL, when
//! the killed writer's last commit finished on the server during verify).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ledger::{AccountId, LedgerId, NewAccount, NewTransfer, TransferFlags, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp};

const ACCOUNTS: u128 = 8;
const VERIFY_ROUNDS: usize = 40;

fn verify_while_writing(url: &str) {
    let cny = LedgerId(156);
    let mut writer = Store::open(url).unwrap();
    let accounts = (1..=ACCOUNTS)
        .map(|id| NewAccount::new(AccountId(id), cny, 1))
        .collect();
    writer
        .write(vec![WriteOp::CreateAccounts(accounts)], 1)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_writing = Arc::clone(&stop);
    let writing = std::thread::spawn(move || {
        let mut next_id = 1_000_u128;
        let mut batches = 0_u64;
        while !stop_writing.load(Ordering::Relaxed) || batches < 5 {
            let mut transfers = Vec::new();
            for i in 0..20 {
                let debit = AccountId(1 + (next_id + i) % ACCOUNTS);
                let credit = AccountId(1 + (next_id + i + 1) % ACCOUNTS);
                let hold = NewTransfer::new(TransferId(next_id + i * 2), debit, credit, 7, cny, 1)
                    .with_flags(TransferFlags::PENDING);
                let post =
                    NewTransfer::new(TransferId(next_id + i * 2 + 1), debit, credit, 0, cny, 1)
                        .with_flags(TransferFlags::POST_PENDING)
                        .with_pending_id(TransferId(next_id + i * 2));
                transfers.push(hold);
                transfers.push(post);
            }
            next_id += 40;
            writer
                .write(vec![WriteOp::CreateTransfers(transfers)], 1)
                .unwrap();
            batches += 1;
        }
        batches
    });
    let mut reader = Store::open(url).unwrap();
    for round in 0..VERIFY_ROUNDS {
        let report = reader.verify_ledger().unwrap();
        assert!(
            report.violations.is_empty(),
            "round {round}: verify saw a torn read: {:?}",
            report.violations.first()
        );
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        writing.join().unwrap() >= 5,
        "the writer must have committed meanwhile"
    );
}

#[test]
fn sqlite_verify_reads_one_snapshot_while_writing() {
    let database = TestDatabase::sqlite("verify_live");
    verify_while_writing(database.url());
}

#[test]
fn postgres_verify_reads_one_snapshot_while_writing() {
    let Some(database) = TestDatabase::postgres("verify_live") else {
        return;
    };
    verify_while_writing(database.url());
}
