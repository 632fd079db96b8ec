//! Transfer creation: validation, idempotency, two-phase, linked chains, expiry.

use crate::{
    Account, AccountFlags, BALANCE_MAX, BalanceSnapshot, CreateTransferResult as R, LedgerState,
    NS_PER_S, NewTransfer, Pending, PendingStatus, Transfer, TransferFlags, TransferId,
};

/// What a batch of transfers produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutput {
    /// One result per requested transfer, in order.
    pub results: Vec<R>,
    /// Balance snapshots for accounts with [`AccountFlags::HISTORY`], in order.
    pub history: Vec<BalanceSnapshot>,
}

/// How to undo one change, for rolling back a failed linked chain.
enum Undo {
    Account(Account),
    Transfer(TransferId),
    Pending(TransferId, Option<Pending>),
}

/// Creates transfers, one result per request. Timestamps are `now + index`;
/// the caller passes a `now` greater than any earlier batch's last timestamp.
/// Events flagged [`TransferFlags::LINKED`] form a chain with the event after
/// them: all of the chain succeeds, or none of it changes anything.
/// [`R::Exists`] counts as success (an idempotent replay).
pub fn create_transfers(
    state: &mut impl LedgerState,
    transfers: &[NewTransfer],
    now: u64,
) -> BatchOutput {
    let mut output = BatchOutput {
        results: Vec::with_capacity(transfers.len()),
        history: Vec::new(),
    };
    let mut undo = Vec::new();
    let mut start = 0;
    while start < transfers.len() {
        let end = chain_end(transfers, start);
        let open = transfers[end].flags.contains(TransferFlags::LINKED);
        run_chain(
            state,
            transfers,
            start..=end,
            open,
            now,
            &mut undo,
            &mut output,
        );
        start = end + 1;
    }
    assert_eq!(output.results.len(), transfers.len());
    output
}

/// The index of the last event of the chain starting at `start`.
fn chain_end(transfers: &[NewTransfer], start: usize) -> usize {
    let mut end = start;
    while end + 1 < transfers.len() && transfers[end].flags.contains(TransferFlags::LINKED) {
        end += 1;
    }
    end
}

fn run_chain(
    state: &mut impl LedgerState,
    transfers: &[NewTransfer],
    range: std::ops::RangeInclusive<usize>,
    open: bool,
    now: u64,
    undo: &mut Vec<Undo>,
    output: &mut BatchOutput,
) {
    undo.clear();
    let history_mark = output.history.len();
    let results_mark = output.results.len();
    let (start, end) = (*range.start(), *range.end());
    let mut failure = None;
    for index in range {
        if open && index == end {
            failure = Some((index, R::LinkedEventChainOpen));
            break;
        }
        let timestamp = now.saturating_add(index as u64);
        let result = create_transfer(
            state,
            &transfers[index],
            timestamp,
            undo,
            &mut output.history,
        );
        if !result.is_success() {
            failure = Some((index, result));
            break;
        }
        output.results.push(result);
    }
    let Some((failed, code)) = failure else {
        return;
    };
    while let Some(entry) = undo.pop() {
        match entry {
            Undo::Account(account) => state.put_account(account),
            Undo::Transfer(id) => state.remove_transfer(id),
            Undo::Pending(id, pending) => state.put_pending(id, pending),
        }
    }
    output.history.truncate(history_mark);
    output.results.truncate(results_mark);
    for index in start..=end {
        output.results.push(if index == failed {
            code
        } else {
            R::LinkedEventFailed
        });
    }
}

fn create_transfer(
    state: &mut impl LedgerState,
    request: &NewTransfer,
    timestamp: u64,
    undo: &mut Vec<Undo>,
    history: &mut Vec<BalanceSnapshot>,
) -> R {
    if let Err(code) = validate(request) {
        return code;
    }
    if let Some(existing) = state.transfer(request.id) {
        return compare_existing(&existing.body, request);
    }
    let applied = if request.flags.resolves_pending() {
        resolve_pending(state, request, timestamp)
    } else {
        single_phase(state, request, timestamp)
    };
    match applied {
        Ok(change) => {
            commit(state, change, undo, history);
            R::Ok
        }
        Err(code) => code,
    }
}

/// Checks that need no state.
fn validate(t: &NewTransfer) -> Result<(), R> {
    let fail = |condition: bool, code: R| if condition { Err(code) } else { Ok(()) };
    fail(t.id.0 == 0, R::IdMustNotBeZero)?;
    fail(t.id.0 == u128::MAX, R::IdMustNotBeIntMax)?;
    fail(t.flags.0 & !TransferFlags::ALL.0 != 0, R::ReservedFlag)?;
    let phases = [
        TransferFlags::PENDING,
        TransferFlags::POST_PENDING,
        TransferFlags::VOID_PENDING,
    ];
    let phase_count = phases.iter().filter(|f| t.flags.contains(**f)).count();
    fail(phase_count > 1, R::FlagsAreMutuallyExclusive)?;
    let resolves = t.flags.resolves_pending();
    fail(!resolves && t.pending_id.0 != 0, R::PendingIdMustBeZero)?;
    fail(resolves && t.pending_id.0 == 0, R::PendingIdMustNotBeZero)?;
    fail(
        resolves && t.pending_id == t.id,
        R::PendingIdMustBeDifferent,
    )?;
    fail(
        !t.flags.contains(TransferFlags::PENDING) && t.timeout_s != 0,
        R::TimeoutReservedForPendingTransfer,
    )?;
    if resolves {
        // Zero account ids, ledger and code are taken from the pending transfer.
        return fail(
            t.debit_account_id == t.credit_account_id && t.debit_account_id.0 != 0,
            R::AccountsMustBeDifferent,
        );
    }
    let reserved = |id: u128| id == 0 || id == u128::MAX;
    fail(
        reserved(t.debit_account_id.0),
        R::DebitAccountIdMustNotBeZero,
    )?;
    fail(
        reserved(t.credit_account_id.0),
        R::CreditAccountIdMustNotBeZero,
    )?;
    fail(
        t.debit_account_id == t.credit_account_id,
        R::AccountsMustBeDifferent,
    )?;
    fail(t.amount == 0, R::AmountMustNotBeZero)?;
    fail(t.ledger.0 == 0, R::LedgerMustNotBeZero)?;
    fail(t.code == 0, R::CodeMustNotBeZero)
}

/// Same id seen before: `Exists` when the body matches, else the first field
/// that differs. For a post or void, zero fields mean "as the pending one".
fn compare_existing(existing: &NewTransfer, request: &NewTransfer) -> R {
    let lenient = request.flags.resolves_pending();
    let differs = |stored: u128, asked: u128| stored != asked && !(lenient && asked == 0);
    if existing.flags != request.flags {
        return R::ExistsWithDifferentFlags;
    }
    if existing.pending_id != request.pending_id {
        return R::ExistsWithDifferentPendingId;
    }
    if existing.timeout_s != request.timeout_s {
        return R::ExistsWithDifferentTimeout;
    }
    if differs(existing.debit_account_id.0, request.debit_account_id.0) {
        return R::ExistsWithDifferentDebitAccountId;
    }
    if differs(existing.credit_account_id.0, request.credit_account_id.0) {
        return R::ExistsWithDifferentCreditAccountId;
    }
    if differs(existing.amount.into(), request.amount.into()) {
        return R::ExistsWithDifferentAmount;
    }
    if existing.user_data != request.user_data {
        return R::ExistsWithDifferentUserData;
    }
    if differs(existing.ledger.0.into(), request.ledger.0.into()) {
        return R::ExistsWithDifferentLedger;
    }
    if differs(existing.code.into(), request.code.into()) {
        return R::ExistsWithDifferentCode;
    }
    R::Exists
}

/// A validated change, applied by [`commit`].
struct Change {
    debit_before: Account,
    credit_before: Account,
    debit: Account,
    credit: Account,
    transfer: Transfer,
    pending: Option<(TransferId, Pending)>,
}

fn add(value: u64, amount: u64, code: R) -> Result<u64, R> {
    match value.checked_add(amount) {
        Some(sum) if sum <= BALANCE_MAX => Ok(sum),
        _ => Err(code),
    }
}

fn accounts_of(state: &impl LedgerState, t: &NewTransfer) -> Result<(Account, Account), R> {
    let debit = state
        .account(t.debit_account_id)
        .ok_or(R::DebitAccountNotFound)?;
    let credit = state
        .account(t.credit_account_id)
        .ok_or(R::CreditAccountNotFound)?;
    if debit.ledger != credit.ledger {
        return Err(R::AccountsMustHaveTheSameLedger);
    }
    if t.ledger != debit.ledger {
        return Err(R::TransferMustHaveTheSameLedgerAsAccounts);
    }
    Ok((debit, credit))
}

/// A plain transfer or a new pending one.
fn single_phase(state: &impl LedgerState, t: &NewTransfer, timestamp: u64) -> Result<Change, R> {
    let (debit_before, credit_before) = accounts_of(state, t)?;
    let (mut debit, mut credit) = (debit_before, credit_before);
    let pending = t.flags.contains(TransferFlags::PENDING);
    if pending {
        debit.debits_pending = add(debit.debits_pending, t.amount, R::OverflowsDebitsPending)?;
        credit.credits_pending = add(credit.credits_pending, t.amount, R::OverflowsCreditsPending)?;
    } else {
        debit.debits_posted = add(debit.debits_posted, t.amount, R::OverflowsDebitsPosted)?;
        credit.credits_posted = add(credit.credits_posted, t.amount, R::OverflowsCreditsPosted)?;
    }
    let debits = add(
        debit.debits_pending,
        debit.debits_posted,
        R::OverflowsDebits,
    )?;
    let credits = add(
        credit.credits_pending,
        credit.credits_posted,
        R::OverflowsCredits,
    )?;
    let expires_at = match t.timeout_s {
        0 => 0,
        timeout_s => timestamp
            .checked_add(u64::from(timeout_s) * NS_PER_S)
            .ok_or(R::OverflowsTimeout)?,
    };
    if debit
        .flags
        .contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
        && debits > debit.credits_posted
    {
        return Err(R::ExceedsCredits);
    }
    if credit
        .flags
        .contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
        && credits > credit.debits_posted
    {
        return Err(R::ExceedsDebits);
    }
    let record = Pending {
        id: t.id,
        status: PendingStatus::Pending,
        expires_at,
    };
    Ok(Change {
        debit_before,
        credit_before,
        debit,
        credit,
        transfer: Transfer {
            body: *t,
            timestamp,
        },
        pending: pending.then_some((t.id, record)),
    })
}

/// A post or void of an open pending transfer.
fn resolve_pending(state: &impl LedgerState, t: &NewTransfer, timestamp: u64) -> Result<Change, R> {
    let original = state
        .transfer(t.pending_id)
        .ok_or(R::PendingTransferNotFound)?
        .body;
    if !original.flags.contains(TransferFlags::PENDING) {
        return Err(R::PendingTransferNotPending);
    }
    check_matches_pending(&original, t)?;
    let record = state
        .pending(t.pending_id)
        .ok_or(R::PendingTransferNotFound)?;
    match record.status {
        PendingStatus::Pending if record.expires_at != 0 && record.expires_at <= timestamp => {
            return Err(R::PendingTransferExpired);
        }
        PendingStatus::Pending => {}
        PendingStatus::Posted => return Err(R::PendingTransferAlreadyPosted),
        PendingStatus::Voided => return Err(R::PendingTransferAlreadyVoided),
        PendingStatus::Expired => return Err(R::PendingTransferExpired),
    }
    let post = t.flags.contains(TransferFlags::POST_PENDING);
    let amount = if t.amount == 0 {
        original.amount
    } else {
        t.amount
    };
    if post && amount > original.amount {
        return Err(R::ExceedsPendingTransferAmount);
    }
    if !post && amount != original.amount {
        return Err(R::PendingTransferHasDifferentAmount);
    }
    let (debit_before, credit_before) = accounts_of(state, &original)?;
    let (mut debit, mut credit) = release(debit_before, credit_before, original.amount);
    if post {
        debit.debits_posted = add(debit.debits_posted, amount, R::OverflowsDebitsPosted)?;
        credit.credits_posted = add(credit.credits_posted, amount, R::OverflowsCreditsPosted)?;
    }
    let status = if post {
        PendingStatus::Posted
    } else {
        PendingStatus::Voided
    };
    let body = NewTransfer {
        amount,
        ..fill_from_pending(t, &original)
    };
    Ok(Change {
        debit_before,
        credit_before,
        debit,
        credit,
        transfer: Transfer { body, timestamp },
        pending: Some((t.pending_id, Pending { status, ..record })),
    })
}

fn check_matches_pending(original: &NewTransfer, t: &NewTransfer) -> Result<(), R> {
    let differs = |stored: u128, asked: u128| asked != 0 && asked != stored;
    if differs(original.debit_account_id.0, t.debit_account_id.0) {
        return Err(R::PendingTransferHasDifferentDebitAccountId);
    }
    if differs(original.credit_account_id.0, t.credit_account_id.0) {
        return Err(R::PendingTransferHasDifferentCreditAccountId);
    }
    if differs(original.ledger.0.into(), t.ledger.0.into()) {
        return Err(R::PendingTransferHasDifferentLedger);
    }
    if differs(original.code.into(), t.code.into()) {
        return Err(R::PendingTransferHasDifferentCode);
    }
    Ok(())
}

fn fill_from_pending(t: &NewTransfer, original: &NewTransfer) -> NewTransfer {
    let pick = |asked: u128, stored: u128| if asked == 0 { stored } else { asked };
    NewTransfer {
        debit_account_id: crate::AccountId(pick(t.debit_account_id.0, original.debit_account_id.0)),
        credit_account_id: crate::AccountId(pick(
            t.credit_account_id.0,
            original.credit_account_id.0,
        )),
        ledger: if t.ledger.0 == 0 {
            original.ledger
        } else {
            t.ledger
        },
        code: if t.code == 0 { original.code } else { t.code },
        ..*t
    }
}

/// Releases a pending amount from both accounts.
fn release(mut debit: Account, mut credit: Account, amount: u64) -> (Account, Account) {
    assert!(
        debit.debits_pending >= amount,
        "pending debits below an open pending amount"
    );
    assert!(
        credit.credits_pending >= amount,
        "pending credits below an open pending amount"
    );
    debit.debits_pending -= amount;
    credit.credits_pending -= amount;
    (debit, credit)
}

fn commit(
    state: &mut impl LedgerState,
    change: Change,
    undo: &mut Vec<Undo>,
    history: &mut Vec<BalanceSnapshot>,
) {
    // Money is conserved: the pair's net debits are unchanged, so the sum over
    // all accounts stays zero.
    let before = change.debit_before.net_debits() + change.credit_before.net_debits();
    assert_eq!(
        before,
        change.debit.net_debits() + change.credit.net_debits()
    );
    let id = change.transfer.body.id;
    undo.push(Undo::Account(change.debit_before));
    undo.push(Undo::Account(change.credit_before));
    undo.push(Undo::Transfer(id));
    state.put_account(change.debit);
    state.put_account(change.credit);
    state.insert_transfer(change.transfer);
    if let Some((pending_id, record)) = change.pending {
        undo.push(Undo::Pending(pending_id, state.pending(pending_id)));
        state.put_pending(pending_id, Some(record));
    }
    for account in [change.debit, change.credit] {
        if account.flags.contains(AccountFlags::HISTORY) {
            history.push(snapshot(&account, id, change.transfer.timestamp));
        }
    }
}

fn snapshot(account: &Account, transfer_id: TransferId, timestamp: u64) -> BalanceSnapshot {
    BalanceSnapshot {
        account_id: account.id,
        transfer_id,
        timestamp,
        debits_pending: account.debits_pending,
        debits_posted: account.debits_posted,
        credits_pending: account.credits_pending,
        credits_posted: account.credits_posted,
    }
}

/// Expires open pending transfers whose timeout is at or before `now`: their
/// amounts are released and their state becomes [`PendingStatus::Expired`].
/// Looks at most `limit` of them (from [`LedgerState::pending_due`]) and
/// returns the ids it expired.
pub fn expire_pending(state: &mut impl LedgerState, now: u64, limit: usize) -> Vec<TransferId> {
    let mut expired = Vec::new();
    for id in state.pending_due(now, limit) {
        let Some(record) = state.pending(id) else {
            continue;
        };
        let Some(transfer) = state.transfer(id) else {
            continue;
        };
        if record.status != PendingStatus::Pending
            || record.expires_at == 0
            || record.expires_at > now
        {
            continue;
        }
        let body = transfer.body;
        let (Some(debit_before), Some(credit_before)) = (
            state.account(body.debit_account_id),
            state.account(body.credit_account_id),
        ) else {
            continue;
        };
        let (debit, credit) = release(debit_before, credit_before, body.amount);
        let before = debit_before.net_debits() + credit_before.net_debits();
        assert_eq!(before, debit.net_debits() + credit.net_debits());
        state.put_account(debit);
        state.put_account(credit);
        state.put_pending(
            id,
            Some(Pending {
                status: PendingStatus::Expired,
                ..record
            }),
        );
        expired.push(id);
    }
    expired
}
