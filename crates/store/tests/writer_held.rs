//! The group-commit writer under concurrent callers: on SQLite it holds
//! the batches written during a sync in one transaction and commits once
//! per sync; on both engines every answer agrees with the database, also
//! when a write fails in the middle of the batches held with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use ledger::{AccountId, CreateTransferResult, LedgerId, NewAccount, NewTransfer, TransferId};
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig};

const EUR: LedgerId = LedgerId(978);
const CALLERS: u128 = 32;
const WRITES: u128 = 40;
/// The amount the database refuses (a trigger), which the ledger accepts.
const REFUSED: u64 = 13;
/// Refused writes: one in so many.
const REFUSED_EVERY: u128 = 64;

fn transfer(id: u128, amount: u64) -> WriteOp {
    WriteOp::CreateTransfers(vec![NewTransfer::new(
        TransferId(id),
        AccountId(1),
        AccountId(2),
        amount,
        EUR,
        1,
    )])
}

/// `CALLERS` threads each write `WRITES` transfers one after the other;
/// with `refuse`, every [`REFUSED_EVERY`]th write has the amount the
/// database refuses. Returns the writer's commits and syncs, and the sum of the
/// amounts answered as written.
fn run(url: &str, refuse: bool) -> (u64, u64, u64) {
    let mut store = Store::open(url).unwrap();
    store
        .write(
            vec![WriteOp::CreateAccounts(vec![
                NewAccount::new(AccountId(1), EUR, 1),
                NewAccount::new(AccountId(2), EUR, 1),
            ])],
            1,
        )
        .unwrap();
    let writer = Writer::start(store, WriterConfig::default()).unwrap();
    let answered: u64 = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..CALLERS)
            .map(|caller| {
                let handle = writer.handle();
                scope.spawn(move || {
                    let mut written = 0;
                    for write in 0..WRITES {
                        let id = 1_000 + caller * WRITES + write;
                        let amount = if refuse && id % REFUSED_EVERY == 0 {
                            REFUSED
                        } else {
                            3
                        };
                        match handle.write(vec![transfer(id, amount)]) {
                            Ok(outcome) => {
                                assert_eq!(
                                    outcome,
                                    vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
                                );
                                written += amount;
                            }
                            Err(_) => assert!(refuse, "no write fails"),
                        }
                    }
                    written
                })
            })
            .collect();
        callers.into_iter().map(|c| c.join().unwrap()).sum()
    });
    // After a failure the writer goes on, from what the database holds.
    let after = writer.handle().write(vec![transfer(1, 5)]).unwrap();
    assert_eq!(
        after,
        vec![WriteOutcome::Transfers(vec![CreateTransferResult::Ok])]
    );
    let commits = writer.stats().commits.load(Ordering::Relaxed);
    let syncs = writer.stats().syncs.load(Ordering::Relaxed);
    let mut store = writer.stop().unwrap();
    let credited = store.account(AccountId(2)).unwrap().unwrap().credits_posted;
    assert_eq!(credited, answered + 5, "every write answered is stored");
    drop(store);
    let mut reopened = Store::open(url).unwrap();
    let credited = reopened
        .account(AccountId(2))
        .unwrap()
        .unwrap()
        .credits_posted;
    assert_eq!(credited, answered + 5, "and nothing else");
    (commits, syncs, answered)
}

#[test]
fn sqlite_commits_once_per_sync() {
    let database = TestDatabase::sqlite("writer_held");
    let (commits, syncs, answered) = run(database.url(), false);
    assert_eq!(answered, 3 * u64::try_from(CALLERS * WRITES).unwrap());
    // Without holding, the batches committed while a sync runs wait for
    // the next one together: several commits per sync.
    assert!(syncs > 0);
    assert!(commits <= syncs + 2, "{commits} commits for {syncs} syncs");
    assert!(commits < u64::try_from(CALLERS * WRITES).unwrap() / 2);
}

fn refuse_in_the_database(url: &str, sql: &str) {
    let mut store = Store::open(url).unwrap();
    store.execute_sql(sql).unwrap();
}

#[test]
fn sqlite_a_failed_write_fails_what_is_held_with_it() {
    let database = TestDatabase::sqlite("writer_held_fail");
    refuse_in_the_database(
        database.url(),
        &format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON ledger_transfers WHEN NEW.amount = {REFUSED} \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ),
    );
    let (_, _, answered) = run(database.url(), true);
    assert!(answered < 3 * u64::try_from(CALLERS * WRITES).unwrap());
}

#[test]
fn postgres_a_failed_write_fails_what_is_held_with_it() {
    let Some(database) = TestDatabase::postgres("writer_held_fail") else {
        return;
    };
    refuse_in_the_database(
        database.url(),
        &format!(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
             IF NEW.amount = {REFUSED} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; \
             END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse BEFORE INSERT ON ledger_transfers FOR EACH ROW \
             EXECUTE FUNCTION refuse()"
        ),
    );
    let (_, _, answered) = run(database.url(), true);
    assert!(answered < 3 * u64::try_from(CALLERS * WRITES).unwrap());
}
