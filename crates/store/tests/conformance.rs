//! The conformance suite: every test runs against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;

use ledger::*;
use store::testing::TestDatabase;
use store::{Store, WriteOp, WriteOutcome, Writer, WriterConfig};

use CreateTransferResult as R;

const EUR: LedgerId = LedgerId(978);
const USD: LedgerId = LedgerId(840);
const NOW: u64 = 1_700_000_000_000_000_000;

store::on_both_engines!(
    accounts_and_transfers_round_trip,
    bad_input_gets_a_precise_code_and_changes_nothing,
    two_phase_post_void_and_expiry,
    linked_chain_fails_as_one,
    replay_after_reopen_is_idempotent,
    writer_group_commits,
    history_is_kept,
    migrations_apply_once,
    verify_finds_a_corrupted_balance,
    random_batches_match_the_core,
);

fn account(id: u128, ledger: LedgerId, flags: AccountFlags) -> NewAccount {
    NewAccount {
        flags,
        user_data: id * 7,
        ..NewAccount::new(AccountId(id), ledger, 10)
    }
}

fn transfer(id: u128, debit: u128, credit: u128, amount: u64) -> NewTransfer {
    NewTransfer {
        user_data: 0xabcd,
        ..NewTransfer::new(
            TransferId(id),
            AccountId(debit),
            AccountId(credit),
            amount,
            EUR,
            1,
        )
    }
}

/// Accounts 1, 2, 3 (EUR), 4 (EUR, debits ≤ credits), 6 (USD).
fn open_with_accounts(url: &str) -> Store {
    let mut store = Store::open(url).unwrap();
    let accounts = vec![
        account(1, EUR, AccountFlags::default()),
        account(2, EUR, AccountFlags::default()),
        account(3, EUR, AccountFlags::default()),
        account(4, EUR, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        account(6, USD, AccountFlags::default()),
    ];
    let outcomes = store
        .write(vec![WriteOp::CreateAccounts(accounts)], NOW)
        .unwrap();
    assert_eq!(
        outcomes,
        vec![WriteOutcome::Accounts(vec![CreateAccountResult::Ok; 5])]
    );
    store
}

fn transfers(store: &mut Store, batch: Vec<NewTransfer>, now: u64) -> Vec<CreateTransferResult> {
    match store
        .write(vec![WriteOp::CreateTransfers(batch)], now)
        .unwrap()
        .pop()
    {
        Some(WriteOutcome::Transfers(results)) => results,
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn assert_sound(store: &mut Store) {
    let report = store.verify_ledger().unwrap();
    assert_eq!(report.violations, vec![], "{report:?}");
}

fn accounts_and_transfers_round_trip(url: &str) {
    let mut store = open_with_accounts(url);
    assert_eq!(
        transfers(
            &mut store,
            vec![transfer(u128::MAX - 1, 1, 2, 300)],
            NOW + 10
        ),
        [R::Ok]
    );
    let stored = store.transfer(TransferId(u128::MAX - 1)).unwrap().unwrap();
    assert_eq!(stored.body, transfer(u128::MAX - 1, 1, 2, 300));
    assert!(stored.timestamp >= NOW + 10);
    let debit = store.account(AccountId(1)).unwrap().unwrap();
    assert_eq!(
        (debit.debits_posted, debit.user_data, debit.code),
        (300, 7, 10)
    );
    assert_eq!(
        store.account(AccountId(2)).unwrap().unwrap().credits_posted,
        300
    );
    assert_eq!(store.accounts().unwrap().len(), 5);
    assert_eq!(store.transfer(TransferId(5)).unwrap(), None);
    // Ids below the largest stored one are looked up, new or not.
    assert_eq!(
        transfers(&mut store, vec![transfer(5, 1, 2, 1)], NOW + 20),
        [R::Ok]
    );
    assert_eq!(
        transfers(&mut store, vec![transfer(5, 1, 2, 1)], NOW + 30),
        [R::Exists]
    );
    assert_eq!(
        transfers(&mut store, vec![transfer(5, 1, 2, 2)], NOW + 40),
        [R::ExistsWithDifferentAmount]
    );
    assert_sound(&mut store);
}

fn bad_input_gets_a_precise_code_and_changes_nothing(url: &str) {
    let mut store = open_with_accounts(url);
    let hold = transfer(20, 1, 2, 50).with_flags(TransferFlags::PENDING);
    let setup = vec![transfer(10, 1, 2, 100), hold, void(21, 20)];
    assert_eq!(
        transfers(&mut store, setup, NOW + 10),
        [R::Ok, R::Ok, R::Ok]
    );
    let before = store.accounts().unwrap();
    let cases = [
        (transfer(30, 99, 2, 1), R::DebitAccountNotFound),
        (transfer(30, 1, 99, 1), R::CreditAccountNotFound),
        (transfer(30, 1, 6, 1), R::AccountsMustHaveTheSameLedger),
        (transfer(30, 1, 2, BALANCE_MAX), R::OverflowsDebitsPosted),
        (transfer(30, 4, 2, 1), R::ExceedsCredits),
        (post(30, 77), R::PendingTransferNotFound),
        (post(30, 20), R::PendingTransferAlreadyVoided),
        (transfer(10, 1, 2, 101), R::ExistsWithDifferentAmount),
        (
            transfer(10, 1, 3, 100),
            R::ExistsWithDifferentCreditAccountId,
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(
            transfers(&mut store, vec![request], NOW + 20),
            [expected],
            "{request:?}"
        );
    }
    assert_eq!(store.accounts().unwrap(), before);
    assert_eq!(store.transfer(TransferId(30)).unwrap(), None);
    assert_sound(&mut store);
}

fn post(id: u128, pending_id: u128) -> NewTransfer {
    let mut t = transfer(id, 0, 0, 0)
        .with_flags(TransferFlags::POST_PENDING)
        .with_pending_id(TransferId(pending_id));
    (t.ledger, t.code) = (LedgerId(0), 0);
    t
}

fn void(id: u128, pending_id: u128) -> NewTransfer {
    NewTransfer {
        flags: TransferFlags::VOID_PENDING,
        ..post(id, pending_id)
    }
}

fn two_phase_post_void_and_expiry(url: &str) {
    let mut store = open_with_accounts(url);
    let pending = |id, timeout_s| NewTransfer {
        timeout_s,
        ..transfer(id, 1, 2, 1_000).with_flags(TransferFlags::PENDING)
    };
    let batch = vec![pending(10, 0), pending(11, 0), pending(12, 5)];
    assert_eq!(transfers(&mut store, batch, NOW), [R::Ok; 3]);
    let partial = NewTransfer {
        amount: 400,
        ..post(20, 10)
    };
    assert_eq!(
        transfers(&mut store, vec![partial, void(21, 11)], NOW + 100),
        [R::Ok, R::Ok]
    );
    let debit = store.account(AccountId(1)).unwrap().unwrap();
    assert_eq!((debit.debits_pending, debit.debits_posted), (1_000, 400));
    assert_eq!(
        store.pending(TransferId(10)).unwrap().unwrap().status,
        PendingStatus::Posted
    );
    assert_eq!(
        store.pending(TransferId(11)).unwrap().unwrap().status,
        PendingStatus::Voided
    );
    let later = NOW + 6 * NS_PER_S;
    let outcomes = store
        .write(vec![WriteOp::ExpirePending { limit: 10 }], later)
        .unwrap();
    assert_eq!(outcomes, vec![WriteOutcome::Expired(vec![TransferId(12)])]);
    assert_eq!(
        store.pending(TransferId(12)).unwrap().unwrap().status,
        PendingStatus::Expired
    );
    assert_eq!(
        transfers(&mut store, vec![post(22, 12)], later + 1),
        [R::PendingTransferExpired]
    );
    assert_eq!(
        store.account(AccountId(1)).unwrap().unwrap().debits_pending,
        0
    );
    assert_sound(&mut store);
}

fn linked_chain_fails_as_one(url: &str) {
    let mut store = open_with_accounts(url);
    let linked = |t: NewTransfer| t.with_flags(TransferFlags::LINKED);
    let batch = vec![
        linked(transfer(10, 1, 2, 5)),
        transfer(11, 4, 2, 1),
        transfer(12, 1, 3, 7),
    ];
    let results = transfers(&mut store, batch, NOW);
    assert_eq!(results, [R::LinkedEventFailed, R::ExceedsCredits, R::Ok]);
    assert_eq!(store.transfer(TransferId(10)).unwrap(), None);
    assert_eq!(
        store.account(AccountId(2)).unwrap().unwrap().credits_posted,
        0
    );
    let pair = vec![linked(transfer(13, 1, 2, 5)), transfer(14, 2, 3, 1)];
    assert_eq!(transfers(&mut store, pair, NOW + 10), [R::Ok, R::Ok]);
    assert_sound(&mut store);
}

fn replay_after_reopen_is_idempotent(url: &str) {
    let batch = vec![
        transfer(10, 1, 2, 5),
        transfer(11, 2, 3, 6).with_flags(TransferFlags::PENDING),
        post(12, 11),
    ];
    {
        let mut store = open_with_accounts(url);
        assert_eq!(transfers(&mut store, batch.clone(), NOW), [R::Ok; 3]);
    }
    let mut store = Store::open(url).unwrap();
    let before = store.accounts().unwrap();
    assert_eq!(transfers(&mut store, batch, NOW), [R::Exists; 3]);
    assert_eq!(store.accounts().unwrap(), before);
    // Timestamps keep increasing across reopen.
    assert_eq!(
        transfers(&mut store, vec![transfer(13, 1, 2, 1)], 1),
        [R::Ok]
    );
    let old = store.transfer(TransferId(12)).unwrap().unwrap().timestamp;
    assert!(store.transfer(TransferId(13)).unwrap().unwrap().timestamp > old);
    assert_sound(&mut store);
}

fn writer_group_commits(url: &str) {
    const THREADS: u128 = 8;
    const REQUESTS: u128 = 40;
    let store = open_with_accounts(url);
    let commits_before = store.commits();
    let writer = Writer::start(
        store,
        WriterConfig {
            queue_depth_max: 16,
            batch_transfers_max: 64,
        },
    )
    .unwrap();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let handle = writer.handle();
            scope.spawn(move || {
                for request in 0..REQUESTS {
                    let id = 1_000 + thread * REQUESTS + request;
                    let outcomes = handle
                        .write(vec![WriteOp::CreateTransfers(vec![transfer(id, 1, 2, 1)])])
                        .unwrap();
                    assert_eq!(outcomes, vec![WriteOutcome::Transfers(vec![R::Ok])]);
                }
            });
        }
    });
    let too_large =
        writer.handle().submit(vec![WriteOp::CreateTransfers(vec![
            transfer(1, 1, 2, 1);
            65
        ])]);
    assert!(matches!(
        too_large,
        Err(store::StoreError::TooLarge {
            events: 65,
            max: 64
        })
    ));
    let (batches, commits, requests) = {
        let stats = writer.stats();
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        (
            load(&stats.batches),
            load(&stats.commits),
            load(&stats.requests),
        )
    };
    let mut store = writer.stop().unwrap();
    assert_eq!(requests, (THREADS * REQUESTS) as u64);
    // One commit per batch, or (SQLite: batches held while a sync runs)
    // one for several.
    assert!(
        commits >= 1 && commits <= batches,
        "{commits} commits, {batches} batches"
    );
    assert_eq!(store.commits() - commits_before, commits);
    assert!(batches <= requests);
    let credit = store.account(AccountId(2)).unwrap().unwrap();
    assert_eq!(credit.credits_posted, (THREADS * REQUESTS) as u64);
    assert_sound(&mut store);
}

fn history_is_kept(url: &str) {
    let mut store = open_with_accounts(url);
    let accounts = vec![account(7, EUR, AccountFlags::HISTORY)];
    store
        .write(vec![WriteOp::CreateAccounts(accounts)], NOW)
        .unwrap();
    assert_eq!(
        transfers(
            &mut store,
            vec![transfer(10, 1, 7, 5), transfer(11, 7, 2, 2)],
            NOW + 10
        ),
        [R::Ok; 2]
    );
    let history = store.history(AccountId(7)).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].credits_posted, history[1].debits_posted),
        (5, 2)
    );
    assert_eq!(history[1].transfer_id, TransferId(11));
}

fn migrations_apply_once(url: &str) {
    drop(open_with_accounts(url));
    let mut store = Store::open(url).unwrap();
    assert_eq!(store.accounts().unwrap().len(), 5);
}

fn verify_finds_a_corrupted_balance(url: &str) {
    let mut store = open_with_accounts(url);
    assert_eq!(
        transfers(&mut store, vec![transfer(10, 1, 2, 5)], NOW),
        [R::Ok]
    );
    assert_sound(&mut store);
    store.execute_sql("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE credits_posted = 5").unwrap();
    let report = store.verify_ledger().unwrap();
    assert_eq!(report.violations.len(), 2, "{report:?}");
    assert!(matches!(
        report.violations[0],
        ledger::verify::Violation::Unbalanced { .. }
    ));
}

#[test]
fn urls_are_checked() {
    assert!(matches!(
        Store::open("mysql://x"),
        Err(store::StoreError::Url(_))
    ));
    assert!(matches!(
        Store::open("sqlite:"),
        Err(store::StoreError::Url(_))
    ));
    let database = TestDatabase::sqlite("plain_path");
    let path = database.url().trim_start_matches("sqlite:").to_string();
    assert!(Store::open(&path).is_ok());
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn random_transfer(rng: &mut Rng) -> NewTransfer {
    let id = 1 + u128::from(rng.below(200));
    let debit = 1 + u128::from(rng.below(5));
    let credit = 1 + (debit + u128::from(rng.below(4))) % 5;
    let amount = [1, 50, 400, 7, 90, 3, 0, BALANCE_MAX][rng.below(8) as usize];
    let target = 1 + u128::from(rng.below(200));
    let mut t = match rng.below(10) {
        0..=3 => transfer(id, debit, credit, amount),
        4 | 5 => NewTransfer {
            timeout_s: rng.below(3) as u32,
            ..transfer(id, debit, credit, amount).with_flags(TransferFlags::PENDING)
        },
        6 | 7 => NewTransfer {
            amount: amount % 500,
            ..post(id, target)
        },
        8 => void(id, target),
        _ => transfer(id, debit, 6, amount),
    };
    if rng.below(8) == 0 {
        t = t.with_flags(TransferFlags::LINKED);
    }
    t
}

/// The store (prefetch, working set, engine, reopen) gives the same results
/// and balances as the core over a complete in-memory ledger.
fn random_batches_match_the_core(url: &str) {
    let mut store = open_with_accounts(url);
    let mut model = MemoryState::default();
    let accounts: Vec<NewAccount> = store
        .accounts()
        .unwrap()
        .iter()
        .map(|a| NewAccount {
            id: a.id,
            ledger: a.ledger,
            code: a.code,
            flags: a.flags,
            user_data: a.user_data,
        })
        .collect();
    create_accounts(&mut model, &accounts, NOW);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut now = NOW + NS_PER_S;
    for round in 0..200 {
        if round % 50 == 49 {
            store = Store::open(url).unwrap();
        }
        if rng.below(5) == 0 {
            let outcome = store
                .write(vec![WriteOp::ExpirePending { limit: 100 }], now)
                .unwrap();
            assert_eq!(
                outcome,
                vec![WriteOutcome::Expired(expire_pending(&mut model, now, 100))]
            );
        } else {
            let batch: Vec<NewTransfer> = (0..1 + rng.below(6))
                .map(|_| random_transfer(&mut rng))
                .collect();
            let expected = create_transfers(&mut model, &batch, now).results;
            assert_eq!(
                transfers(&mut store, batch.clone(), now),
                expected,
                "round {round}: {batch:?}"
            );
        }
        now += NS_PER_S;
    }
    let mut stored = store.accounts().unwrap();
    let mut modelled: Vec<Account> = model.accounts.values().copied().collect();
    stored
        .iter_mut()
        .chain(modelled.iter_mut())
        .for_each(|a| a.timestamp = 0);
    modelled.sort_by_key(|a| a.id);
    assert_eq!(stored, modelled);
    let expired = model
        .pendings
        .values()
        .filter(|p| p.status == PendingStatus::Expired)
        .count();
    assert!(
        model.transfers.len() > 15 && expired > 0,
        "too little: {} transfers, {} pending, {expired} expired",
        model.transfers.len(),
        model.pendings.len()
    );
    assert_sound(&mut store);
}
