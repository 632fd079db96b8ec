//! Account creation.

use crate::{Account, AccountFlags, CreateAccountResult, LedgerState, NewAccount};

/// Creates accounts, one result per request. Each event is independent.
/// Timestamps are `now + index`.
pub fn create_accounts(
    state: &mut impl LedgerState,
    accounts: &[NewAccount],
    now: u64,
) -> Vec<CreateAccountResult> {
    let mut results = Vec::with_capacity(accounts.len());
    for (index, request) in accounts.iter().enumerate() {
        let result = create_account(state, request, now.saturating_add(index as u64));
        results.push(result);
    }
    results
}

fn create_account(
    state: &mut impl LedgerState,
    request: &NewAccount,
    timestamp: u64,
) -> CreateAccountResult {
    use CreateAccountResult as R;
    if request.id.0 == 0 {
        return R::IdMustNotBeZero;
    }
    if request.id.0 == u128::MAX {
        return R::IdMustNotBeIntMax;
    }
    if request.flags.0 & !AccountFlags::ALL.0 != 0 {
        return R::ReservedFlag;
    }
    let both =
        AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS | AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS;
    if request.flags.contains(both) {
        return R::FlagsAreMutuallyExclusive;
    }
    if request.ledger.0 == 0 {
        return R::LedgerMustNotBeZero;
    }
    if request.code == 0 {
        return R::CodeMustNotBeZero;
    }
    if let Some(existing) = state.account(request.id) {
        return compare_existing(&existing, request);
    }
    state.put_account(Account {
        id: request.id,
        ledger: request.ledger,
        code: request.code,
        flags: request.flags,
        user_data: request.user_data,
        debits_pending: 0,
        debits_posted: 0,
        credits_pending: 0,
        credits_posted: 0,
        timestamp,
    });
    R::Ok
}

fn compare_existing(existing: &Account, request: &NewAccount) -> CreateAccountResult {
    use CreateAccountResult as R;
    if existing.flags != request.flags {
        return R::ExistsWithDifferentFlags;
    }
    if existing.user_data != request.user_data {
        return R::ExistsWithDifferentUserData;
    }
    if existing.ledger != request.ledger {
        return R::ExistsWithDifferentLedger;
    }
    if existing.code != request.code {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}
