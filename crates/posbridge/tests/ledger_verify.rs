//! `posbridge ledger verify` on sound, corrupted and missing databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use ledger::{AccountId, LedgerId, NewAccount, NewTransfer, TransferFlags, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp};

fn verify(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(["ledger", "verify", "--db", url])
        .output()
        .unwrap()
}

fn populate(url: &str) {
    let mut store = Store::open(url).unwrap();
    let eur = LedgerId(978);
    let accounts = (1..=3)
        .map(|id| NewAccount::new(AccountId(id), eur, 1))
        .collect();
    let hold = NewTransfer::new(TransferId(11), AccountId(2), AccountId(3), 40, eur, 1)
        .with_flags(TransferFlags::PENDING);
    let transfers = vec![
        NewTransfer::new(TransferId(10), AccountId(1), AccountId(2), 100, eur, 1),
        hold,
    ];
    store
        .write(
            vec![
                WriteOp::CreateAccounts(accounts),
                WriteOp::CreateTransfers(transfers),
            ],
            1,
        )
        .unwrap();
}

fn sound_then_corrupted(url: &str) {
    populate(url);
    let output = verify(url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ledger sound: 3 accounts, 2 transfers, 1 pending open"),
        "{stdout}"
    );
    let mut store = Store::open(url).unwrap();
    store
        .execute_sql("UPDATE ledger_accounts SET debits_posted = 7 WHERE debits_posted = 100")
        .unwrap();
    store
        .execute_sql("UPDATE ledger_pending SET status = 2")
        .unwrap();
    let output = verify(url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("total debits 47 != total credits 140"),
        "{stdout}"
    );
    assert!(
        stdout.contains("debits_posted stored 7, transfers add up to 100"),
        "{stdout}"
    );
    assert!(stdout.contains("state Posted but 0 post(s)"), "{stdout}");
}

#[test]
fn sqlite_sound_then_corrupted() {
    let database = TestDatabase::sqlite("verify");
    sound_then_corrupted(database.url());
}

#[test]
fn postgres_sound_then_corrupted() {
    let Some(database) = TestDatabase::postgres("verify") else {
        return;
    };
    sound_then_corrupted(database.url());
}

#[test]
fn missing_database_is_bad_input() {
    let output = verify("sqlite:/nonexistent/posbridge/ledger.db");
    assert_eq!(output.status.code(), Some(2));
    let output = verify("mysql://somewhere/db");
    assert_eq!(output.status.code(), Some(2));
}
