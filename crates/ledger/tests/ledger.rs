//! Tests of the ledger core: known cases through one `check` helper, and
//! property tests over random operation sequences.

use ledger::verify::Verifier;
use ledger::*;
use proptest::prelude::*;

const EUR: LedgerId = LedgerId(978);
const USD: LedgerId = LedgerId(840);
const NOW: u64 = 1_000_000;

fn account(id: u128, ledger: LedgerId, flags: AccountFlags) -> NewAccount {
    NewAccount {
        flags,
        ..NewAccount::new(AccountId(id), ledger, 1)
    }
}

fn transfer(id: u128, debit: u128, credit: u128, amount: u64) -> NewTransfer {
    NewTransfer::new(
        TransferId(id),
        AccountId(debit),
        AccountId(credit),
        amount,
        EUR,
        1,
    )
}

/// Accounts 1..=3 (EUR, no flags), 4 (EUR, debits ≤ credits), 5 (EUR, credits ≤
/// debits), 6 (USD).
fn fixture() -> MemoryState {
    let mut state = MemoryState::default();
    let accounts = [
        account(1, EUR, AccountFlags::default()),
        account(2, EUR, AccountFlags::default()),
        account(3, EUR, AccountFlags::HISTORY),
        account(4, EUR, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        account(5, EUR, AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        account(6, USD, AccountFlags::default()),
    ];
    let results = create_accounts(&mut state, &accounts, 1);
    assert!(results.iter().all(|r| *r == CreateAccountResult::Ok));
    state
}

fn assert_sound(state: &MemoryState) {
    let (debits, credits) = state.totals();
    assert_eq!(debits, credits);
    let mut verifier = Verifier::default();
    state.accounts.values().for_each(|a| verifier.account(*a));
    state.pendings.values().for_each(|p| verifier.pending(*p));
    state.transfers.values().for_each(|t| verifier.transfer(t));
    let report = verifier.finish();
    assert_eq!(report.violations, vec![], "{report:?}");
}

/// Applies `setup` (all must succeed), then `batch`, and compares the results.
/// When no result succeeds, the state must be unchanged.
fn check(
    setup: &[NewTransfer],
    batch: &[NewTransfer],
    expected: &[CreateTransferResult],
) -> MemoryState {
    let mut state = fixture();
    let results = create_transfers(&mut state, setup, NOW).results;
    assert!(
        results.iter().all(|r| *r == CreateTransferResult::Ok),
        "setup: {results:?}"
    );
    let before = state.clone();
    let results = create_transfers(&mut state, batch, NOW + 100).results;
    assert_eq!(results, expected);
    if !results.contains(&CreateTransferResult::Ok) {
        assert_eq!(state, before, "a failed batch changed the state");
    }
    assert_sound(&state);
    state
}

use CreateTransferResult as R;

#[test]
fn plain_transfer_moves_money() {
    let state = check(&[], &[transfer(10, 1, 2, 500)], &[R::Ok]);
    assert_eq!(state.accounts[&AccountId(1)].debits_posted, 500);
    assert_eq!(state.accounts[&AccountId(2)].credits_posted, 500);
    assert_eq!(state.transfers[&TransferId(10)].timestamp, NOW + 100);
}

#[test]
fn bad_input_gets_a_precise_code_and_changes_nothing() {
    let cases: Vec<(NewTransfer, R)> = vec![
        (transfer(0, 1, 2, 1), R::IdMustNotBeZero),
        (transfer(u128::MAX, 1, 2, 1), R::IdMustNotBeIntMax),
        (transfer(11, 1, 1, 1), R::AccountsMustBeDifferent),
        (transfer(11, 1, 2, 0), R::AmountMustNotBeZero),
        (transfer(11, 99, 2, 1), R::DebitAccountNotFound),
        (transfer(11, 1, 99, 1), R::CreditAccountNotFound),
        (transfer(11, 1, 6, 1), R::AccountsMustHaveTheSameLedger),
        (
            NewTransfer {
                ledger: USD,
                ..transfer(11, 1, 2, 1)
            },
            R::TransferMustHaveTheSameLedgerAsAccounts,
        ),
        (transfer(11, 1, 2, u64::MAX), R::OverflowsDebitsPosted),
        (transfer(11, 4, 2, 1), R::ExceedsCredits),
        (transfer(11, 1, 5, 1), R::ExceedsDebits),
        (
            transfer(11, 1, 2, 1).with_pending_id(TransferId(3)),
            R::PendingIdMustBeZero,
        ),
        (
            NewTransfer {
                timeout_s: 5,
                ..transfer(11, 1, 2, 1)
            },
            R::TimeoutReservedForPendingTransfer,
        ),
        (
            transfer(11, 1, 2, 1).with_flags(TransferFlags(64)),
            R::ReservedFlag,
        ),
        (
            transfer(11, 1, 2, 1).with_flags(TransferFlags::PENDING | TransferFlags::VOID_PENDING),
            R::FlagsAreMutuallyExclusive,
        ),
        (post(11, 77, 0), R::PendingTransferNotFound),
        (post(11, 10, 0), R::PendingTransferNotPending),
        (transfer(10, 1, 2, 501), R::ExistsWithDifferentAmount),
        (
            transfer(10, 1, 3, 500),
            R::ExistsWithDifferentCreditAccountId,
        ),
        (
            NewTransfer {
                user_data: 9,
                ..transfer(10, 1, 2, 500)
            },
            R::ExistsWithDifferentUserData,
        ),
        (
            NewTransfer {
                code: 2,
                ..transfer(10, 1, 2, 500)
            },
            R::ExistsWithDifferentCode,
        ),
    ];
    for (request, expected) in cases {
        check(&[transfer(10, 1, 2, 500)], &[request], &[expected]);
    }
    // Posted debits near the limit, then the sum of pending and posted overflows.
    let near = transfer(20, 1, 2, BALANCE_MAX);
    let pending = transfer(21, 1, 3, 1).with_flags(TransferFlags::PENDING);
    check(&[near], &[pending], &[R::OverflowsDebits]);
}

fn pending(id: u128, debit: u128, credit: u128, amount: u64, timeout_s: u32) -> NewTransfer {
    NewTransfer {
        timeout_s,
        ..transfer(id, debit, credit, amount).with_flags(TransferFlags::PENDING)
    }
}

fn post(id: u128, pending_id: u128, amount: u64) -> NewTransfer {
    let mut t = transfer(id, 0, 0, amount).with_flags(TransferFlags::POST_PENDING);
    t.pending_id = TransferId(pending_id);
    t.ledger = LedgerId(0);
    t.code = 0;
    t
}

fn void(id: u128, pending_id: u128) -> NewTransfer {
    NewTransfer {
        flags: TransferFlags::VOID_PENDING,
        ..post(id, pending_id, 0)
    }
}

#[test]
fn pending_then_partial_post() {
    let state = check(
        &[pending(10, 1, 2, 1000, 0)],
        &[post(11, 10, 600)],
        &[R::Ok],
    );
    let debit = state.accounts[&AccountId(1)];
    assert_eq!((debit.debits_pending, debit.debits_posted), (0, 600));
    assert_eq!(
        state.pendings[&TransferId(10)].status,
        PendingStatus::Posted
    );
    assert_eq!(
        state.transfers[&TransferId(11)].body.debit_account_id,
        AccountId(1)
    );
}

#[test]
fn pending_resolution_errors() {
    let hold = pending(10, 1, 2, 1000, 0);
    check(
        &[hold],
        &[post(11, 10, 1001)],
        &[R::ExceedsPendingTransferAmount],
    );
    check(
        &[hold, void(11, 10)],
        &[post(12, 10, 0)],
        &[R::PendingTransferAlreadyVoided],
    );
    check(
        &[hold, post(11, 10, 5)],
        &[void(12, 10)],
        &[R::PendingTransferAlreadyPosted],
    );
    check(
        &[hold],
        &[NewTransfer {
            amount: 3,
            ..void(11, 10)
        }],
        &[R::PendingTransferHasDifferentAmount],
    );
    check(
        &[hold],
        &[NewTransfer {
            debit_account_id: AccountId(3),
            ..post(11, 10, 0)
        }],
        &[R::PendingTransferHasDifferentDebitAccountId],
    );
    // A replay of the post with amount 0 is the same request.
    check(&[hold, post(11, 10, 0)], &[post(11, 10, 0)], &[R::Exists]);
}

#[test]
fn expiry_releases_and_blocks_post() {
    let mut state = fixture();
    let results = create_transfers(&mut state, &[pending(10, 1, 2, 1000, 2)], NOW).results;
    assert_eq!(results, [R::Ok]);
    let deadline = NOW + 2 * NS_PER_S;
    assert_eq!(expire_pending(&mut state, deadline - 1, 100), vec![]);
    let late = create_transfers(&mut state, &[post(11, 10, 0)], deadline).results;
    assert_eq!(late, [R::PendingTransferExpired]);
    assert_eq!(
        expire_pending(&mut state, deadline, 100),
        vec![TransferId(10)]
    );
    assert_eq!(state.accounts[&AccountId(1)].debits_pending, 0);
    let after = create_transfers(&mut state, &[void(12, 10)], deadline + 1).results;
    assert_eq!(after, [R::PendingTransferExpired]);
    assert_sound(&state);
}

#[test]
fn linked_chain_fails_as_one() {
    check(
        &[],
        &[
            linked(10, 1, 2, 5),
            transfer(11, 4, 2, 1),
            transfer(12, 1, 2, 7),
        ],
        &[R::LinkedEventFailed, R::ExceedsCredits, R::Ok],
    );
    check(
        &[],
        &[linked(10, 1, 2, 5), linked(11, 1, 3, 5)],
        &[R::LinkedEventFailed, R::LinkedEventChainOpen],
    );
    let state = check(
        &[],
        &[linked(10, 1, 2, 5), transfer(11, 2, 3, 5)],
        &[R::Ok, R::Ok],
    );
    // A chain replayed is idempotent.
    let mut replay = state.clone();
    let results = create_transfers(
        &mut replay,
        &[linked(10, 1, 2, 5), transfer(11, 2, 3, 5)],
        NOW + 500,
    )
    .results;
    assert_eq!(results, [R::Exists, R::Exists]);
    assert_eq!(replay, state);
}

fn linked(id: u128, debit: u128, credit: u128, amount: u64) -> NewTransfer {
    transfer(id, debit, credit, amount).with_flags(TransferFlags::LINKED)
}

#[test]
fn history_snapshots_for_flagged_accounts() {
    let mut state = fixture();
    let output = create_transfers(
        &mut state,
        &[transfer(10, 1, 3, 5), transfer(11, 1, 2, 5)],
        NOW,
    );
    assert_eq!(output.history.len(), 1);
    assert_eq!(output.history[0].credits_posted, 5);
}

#[test]
fn accounts_are_idempotent() {
    let mut state = fixture();
    let again = [
        account(1, EUR, AccountFlags::default()),
        account(2, USD, AccountFlags::default()),
    ];
    let results = create_accounts(&mut state, &again, 5);
    assert_eq!(
        results,
        [
            CreateAccountResult::Exists,
            CreateAccountResult::ExistsWithDifferentLedger
        ]
    );
    let both =
        AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
    let bad = [
        account(0, EUR, AccountFlags::default()),
        account(9, EUR, both),
        account(9, LedgerId(0), AccountFlags::default()),
    ];
    let results = create_accounts(&mut state, &bad, 6);
    use CreateAccountResult as A;
    assert_eq!(
        results,
        [
            A::IdMustNotBeZero,
            A::FlagsAreMutuallyExclusive,
            A::LedgerMustNotBeZero
        ]
    );
}

// ---- property tests ----

const ACCOUNTS: u128 = 8;

fn account_flags() -> impl Strategy<Value = AccountFlags> {
    prop_oneof![
        3 => Just(AccountFlags::default()),
        1 => Just(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS),
        1 => Just(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS),
        1 => Just(AccountFlags::HISTORY),
    ]
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..1_000, 1 => Just(BALANCE_MAX), 1 => Just(u64::MAX)]
}

fn new_transfer() -> impl Strategy<Value = NewTransfer> {
    let kind = 0u8..5;
    (
        1u128..40,
        0u128..=ACCOUNTS,
        0u128..=ACCOUNTS,
        amount(),
        kind,
        1u128..40,
        any::<bool>(),
        0u32..3,
    )
        .prop_map(
            |(id, debit, credit, amount, kind, pending_id, link, timeout_s)| {
                let mut t = transfer(id, debit, credit, amount);
                match kind {
                    0 | 1 => {}
                    2 => {
                        t = NewTransfer {
                            timeout_s,
                            ..t.with_flags(TransferFlags::PENDING)
                        }
                    }
                    3 => {
                        t = NewTransfer {
                            amount: amount % 1_500,
                            ..post(id, pending_id, 0)
                        }
                    }
                    _ => t = void(id, pending_id),
                }
                if link {
                    t = t.with_flags(TransferFlags::LINKED);
                }
                t
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    Transfers(Vec<NewTransfer>),
    Expire(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(new_transfer(), 1..6).prop_map(Op::Transfers),
        1 => (0u64..4).prop_map(Op::Expire),
    ]
}

fn accounts_strategy() -> impl Strategy<Value = Vec<NewAccount>> {
    prop::collection::vec((account_flags(), any::<bool>()), ACCOUNTS as usize).prop_map(|flags| {
        flags
            .into_iter()
            .enumerate()
            .map(|(i, (flags, usd))| {
                account(i as u128 + 1, if usd && i == 7 { USD } else { EUR }, flags)
            })
            .collect()
    })
}

/// The reference model of one plain transfer between flag-free accounts: the
/// expected code, judged without the core's code.
fn model_plain(state: &MemoryState, t: &NewTransfer) -> Option<R> {
    let plain = t.flags == TransferFlags::default() && t.id.0 != 0 && t.amount != 0;
    let debit = state.accounts.get(&t.debit_account_id)?;
    let credit = state.accounts.get(&t.credit_account_id)?;
    let simple = debit.flags == AccountFlags::default() && credit.flags == AccountFlags::default();
    if !plain
        || !simple
        || t.debit_account_id == t.credit_account_id
        || state.transfers.contains_key(&t.id)
    {
        return None;
    }
    if debit.ledger != credit.ledger {
        return Some(R::AccountsMustHaveTheSameLedger);
    }
    if debit.ledger != t.ledger {
        return Some(R::TransferMustHaveTheSameLedgerAsAccounts);
    }
    let fits = |a: u64, b: u64| u128::from(a) + u128::from(b) <= u128::from(BALANCE_MAX);
    if !fits(debit.debits_posted, t.amount) {
        return Some(R::OverflowsDebitsPosted);
    }
    if !fits(credit.credits_posted, t.amount) {
        return Some(R::OverflowsCreditsPosted);
    }
    if !fits(debit.debits_posted + t.amount, debit.debits_pending) {
        return Some(R::OverflowsDebits);
    }
    if !fits(credit.credits_posted + t.amount, credit.credits_pending) {
        return Some(R::OverflowsCredits);
    }
    Some(R::Ok)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sequences_keep_every_invariant(accounts in accounts_strategy(), ops in prop::collection::vec(op(), 1..25)) {
        let mut state = MemoryState::default();
        create_accounts(&mut state, &accounts, 1);
        let mut now = NOW;
        for op in ops {
            let before = state.clone();
            match op {
                Op::Transfers(batch) => {
                    let expected: Vec<Option<R>> = if batch.len() == 1 {
                        vec![model_plain(&state, &batch[0])]
                    } else {
                        vec![None; batch.len()]
                    };
                    let output = create_transfers(&mut state, &batch, now);
                    for (result, model) in output.results.iter().zip(expected) {
                        if let Some(model) = model {
                            prop_assert_eq!(*result, model);
                        }
                    }
                    if output.results.iter().all(|r| !r.is_success()) {
                        prop_assert_eq!(&state, &before);
                    }
                    // An idempotent replay changes nothing; what succeeded exists.
                    let snapshot = state.clone();
                    let replay = create_transfers(&mut state, &batch, now + 100).results;
                    for (first, again) in output.results.iter().zip(&replay) {
                        if *first == R::Ok {
                            prop_assert_eq!(*again, R::Exists);
                        }
                    }
                    if replay.iter().all(|r| *r == R::Exists || !r.is_success()) {
                        prop_assert_eq!(&state, &snapshot);
                    }
                    now += 200;
                }
                Op::Expire(seconds) => {
                    now += seconds * NS_PER_S;
                    expire_pending(&mut state, now, 1_000);
                }
            }
            assert_sound(&state);
            for account in state.accounts.values() {
                if account.flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS) {
                    prop_assert!(account.debits_pending + account.debits_posted <= account.credits_posted);
                }
                if account.flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS) {
                    prop_assert!(account.credits_pending + account.credits_posted <= account.debits_posted);
                }
            }
        }
    }
}
