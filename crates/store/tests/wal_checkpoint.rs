//! SQLite under a writer: the sync thread checkpoints the WAL into the
//! database between syncs, long before the writer's own automatic
//! checkpoint would (an engine-specific behaviour: PostgreSQL has no WAL
//! file of ours to copy).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig};

const CNY: LedgerId = LedgerId(156);

fn transfer(id: u128) -> NewTransfer {
    NewTransfer::new(TransferId(id), AccountId(1), AccountId(2), 1, CNY, 1)
}

/// A writer over a fresh SQLite file with accounts 1 and 2; the database
/// (kept alive by the caller) and its path.
fn writer_with_accounts(name: &str) -> (TestDatabase, String, Writer) {
    let database = TestDatabase::sqlite(name);
    let path = database.url().strip_prefix("sqlite:").unwrap().to_owned();
    let writer = Writer::start(
        Store::open(database.url()).unwrap(),
        WriterConfig::default(),
    )
    .unwrap();
    let accounts = vec![
        NewAccount::new(AccountId(1), CNY, 1),
        NewAccount::new(AccountId(2), CNY, 1),
    ];
    writer
        .handle()
        .write(vec![WriteOp::CreateAccounts(accounts)])
        .unwrap();
    (database, path, writer)
}

#[test]
fn the_sync_thread_copies_the_wal_into_the_database() {
    let (_database, path, writer) = writer_with_accounts("wal_checkpoint");
    let handle = writer.handle();
    let transfers: Vec<NewTransfer> = (1..=2_000).map(transfer).collect();
    handle
        .write(vec![WriteOp::CreateTransfers(transfers)])
        .unwrap();
    let database_len = || std::fs::metadata(&path).unwrap().len();
    let before = database_len();
    // Far fewer pages than the automatic checkpoint's 16,384: without the
    // sync thread's checkpoint they would stay in the WAL.
    std::thread::sleep(Duration::from_millis(300));
    let outcome = handle
        .write(vec![WriteOp::CreateTransfers(vec![transfer(5_000)])])
        .unwrap();
    assert_eq!(
        outcome,
        vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while database_len() <= before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        database_len() > before,
        "the database file stayed at {before} bytes: the WAL was not checkpointed"
    );
    drop(handle);
    let mut store = writer.stop().unwrap();
    assert!(store.transfer(TransferId(2_000)).unwrap().is_some());
    let report = store.verify_ledger().unwrap();
    assert_eq!(report.violations, vec![], "{report:?}");
    assert_eq!(report.transfers, 2_001);
}

/// The WAL header's checkpoint sequence number (bytes 12..16, big-endian):
/// SQLite adds one each time a write transaction starts the WAL over.
fn wal_restarts(path: &str) -> u32 {
    let bytes = std::fs::read(format!("{path}-wal")).unwrap();
    u32::from_be_bytes(bytes[12..16].try_into().unwrap())
}

#[test]
fn under_continuous_commits_the_wal_starts_over() {
    const CALLERS: u128 = 4;
    let (_database, path, writer) = writer_with_accounts("wal_restart");
    let handle = writer.handle();
    let before = wal_restarts(&path);
    // Callers that always have the next request waiting: every checkpoint
    // of the checkpoint thread runs while the writer commits, and cannot
    // copy what is committed meanwhile. Only the writer's own catch-up lets
    // the WAL start over before the automatic checkpoint (16,384 pages).
    let until = Instant::now() + Duration::from_millis(3_000);
    let wal_len = || std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
    let mut longest = 0;
    std::thread::scope(|scope| {
        let longest = &mut longest;
        scope.spawn(move || {
            while Instant::now() < until {
                *longest = (*longest).max(wal_len());
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        for caller in 0..CALLERS {
            let handle = handle.clone();
            scope.spawn(move || {
                let mut id = (caller + 1) << 32;
                while Instant::now() < until {
                    let transfers: Vec<NewTransfer> = (id..id + 64).map(transfer).collect();
                    id += 64;
                    let outcome = handle
                        .write(vec![WriteOp::CreateTransfers(transfers)])
                        .unwrap();
                    assert_eq!(
                        outcome,
                        vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok; 64])]
                    );
                }
            });
        }
    });
    let restarts = wal_restarts(&path).wrapping_sub(before);
    drop(handle);
    let mut store = writer.stop().unwrap();
    let report = store.verify_ledger().unwrap();
    assert_eq!(report.violations, vec![], "{report:?}");
    // A WAL frame is a 24-byte header and a 4 KiB page.
    let frames = longest.saturating_sub(32) / (24 + 4_096);
    eprintln!("the WAL started over {restarts} times, at most {frames} pages long");
    assert!(restarts >= 1, "the WAL never started over");
    assert!(
        frames < 14_000,
        "the WAL grew to {frames} pages: it started over only at the automatic checkpoint"
    );
}
