//! Checking every ledger invariant over a whole ledger, given as streams of
//! accounts, pending records and transfers (read by the shell).
//!
//! Feed every account, then every pending record, then every transfer (in any
//! order), then call [`Verifier::finish`].

use std::collections::HashMap;
use std::fmt;

use crate::{
    Account, AccountFlags, AccountId, Pending, PendingStatus, Transfer, TransferFlags, TransferId,
};

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Total debits differ from total credits (pending + posted).
    Unbalanced {
        /// Sum of all debits.
        debits: u128,
        /// Sum of all credits.
        credits: u128,
    },
    /// An account's stored balance differs from the sum of its transfers.
    BalanceMismatch {
        /// The account.
        account: AccountId,
        /// Which balance.
        field: &'static str,
        /// What is stored.
        stored: u64,
        /// What its transfers add up to.
        computed: u128,
    },
    /// A transfer names an account that does not exist, or of another ledger.
    BadAccount {
        /// The transfer.
        transfer: TransferId,
        /// The account.
        account: AccountId,
    },
    /// A pending transfer without bookkeeping, or bookkeeping without one.
    PendingRecordMismatch {
        /// The pending transfer.
        pending: TransferId,
    },
    /// A pending transfer not in exactly one state (its record disagrees with
    /// the posts and voids that name it).
    PendingState {
        /// The pending transfer.
        pending: TransferId,
        /// Its recorded state.
        status: PendingStatus,
        /// Posts naming it.
        posts: u32,
        /// Voids naming it.
        voids: u32,
    },
    /// A post larger than its pending transfer.
    PostExceedsPending {
        /// The pending transfer.
        pending: TransferId,
        /// Amount posted.
        posted: u64,
        /// Amount reserved.
        reserved: u64,
    },
    /// A post or void naming a transfer that is not pending.
    ResolvesNonPending {
        /// The post or void.
        transfer: TransferId,
        /// What it names.
        pending: TransferId,
    },
    /// An account's balance limit flag is broken.
    LimitExceeded {
        /// The account.
        account: AccountId,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unbalanced { debits, credits } => {
                write!(f, "total debits {debits} != total credits {credits}")
            }
            Self::BalanceMismatch {
                account,
                field,
                stored,
                computed,
            } => write!(
                f,
                "account {:#x}: {field} stored {stored}, transfers add up to {computed}",
                account.0
            ),
            Self::BadAccount { transfer, account } => write!(
                f,
                "transfer {:#x}: account {:#x} missing or on another ledger",
                transfer.0, account.0
            ),
            Self::PendingRecordMismatch { pending } => {
                write!(
                    f,
                    "pending transfer {:#x}: transfer and state record disagree",
                    pending.0
                )
            }
            Self::PendingState {
                pending,
                status,
                posts,
                voids,
            } => write!(
                f,
                "pending transfer {:#x}: state {status:?} but {posts} post(s) and {voids} void(s)",
                pending.0
            ),
            Self::PostExceedsPending {
                pending,
                posted,
                reserved,
            } => write!(
                f,
                "pending transfer {:#x}: posted {posted} > reserved {reserved}",
                pending.0
            ),
            Self::ResolvesNonPending { transfer, pending } => write!(
                f,
                "transfer {:#x}: resolves {:#x}, which is not a pending transfer",
                transfer.0, pending.0
            ),
            Self::LimitExceeded { account } => {
                write!(f, "account {:#x}: balance limit flag broken", account.0)
            }
        }
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Accounts seen.
    pub accounts: u64,
    /// Transfers seen.
    pub transfers: u64,
    /// Pending transfers still open.
    pub pending_open: u64,
    /// Sum of all debits (pending + posted).
    pub debits_total: u128,
    /// Sum of all credits (pending + posted).
    pub credits_total: u128,
    /// Every broken invariant; empty when the ledger is sound.
    pub violations: Vec<Violation>,
}

#[derive(Default)]
struct Sums {
    debits_pending: u128,
    debits_posted: u128,
    credits_pending: u128,
    credits_posted: u128,
}

#[derive(Default)]
struct PendingSeen {
    record: Option<Pending>,
    amount: Option<u64>,
    posts: u32,
    voids: u32,
    posted: u64,
}

/// Accumulates a ledger and checks it.
#[derive(Default)]
pub struct Verifier {
    accounts: HashMap<AccountId, Account>,
    sums: HashMap<AccountId, Sums>,
    pendings: HashMap<TransferId, PendingSeen>,
    transfers: u64,
    violations: Vec<Violation>,
}

impl Verifier {
    /// Adds an account (before any transfer).
    pub fn account(&mut self, account: Account) {
        self.sums.insert(account.id, Sums::default());
        self.accounts.insert(account.id, account);
    }

    /// Adds a pending transfer's record (before any transfer).
    pub fn pending(&mut self, record: Pending) {
        self.pendings.entry(record.id).or_default().record = Some(record);
    }

    /// Adds a transfer.
    pub fn transfer(&mut self, transfer: &Transfer) {
        self.transfers += 1;
        let t = &transfer.body;
        let pending_id = t.pending_id;
        let flags = t.flags;
        if flags.resolves_pending() {
            let seen = self.pendings.entry(pending_id).or_default();
            if flags.contains(TransferFlags::POST_PENDING) {
                seen.posts += 1;
                seen.posted = t.amount;
            } else {
                seen.voids += 1;
            }
        }
        let open = if flags.contains(TransferFlags::PENDING) {
            let seen = self.pendings.entry(t.id).or_default();
            seen.amount = Some(t.amount);
            seen.record
                .is_some_and(|r| r.status == PendingStatus::Pending)
        } else {
            false
        };
        if flags.contains(TransferFlags::VOID_PENDING)
            || (flags.contains(TransferFlags::PENDING) && !open)
        {
            self.check_accounts(t.id, t.debit_account_id, t.credit_account_id, t.ledger);
            return;
        }
        let pending = flags.contains(TransferFlags::PENDING);
        self.add_to(t.id, t.debit_account_id, t.ledger, |s| {
            add_side(s, pending, true, t.amount)
        });
        self.add_to(t.id, t.credit_account_id, t.ledger, |s| {
            add_side(s, pending, false, t.amount)
        });
    }

    fn check_accounts(
        &mut self,
        transfer: TransferId,
        debit: AccountId,
        credit: AccountId,
        ledger: crate::LedgerId,
    ) {
        for account in [debit, credit] {
            if self
                .accounts
                .get(&account)
                .is_none_or(|a| a.ledger != ledger)
            {
                self.violations
                    .push(Violation::BadAccount { transfer, account });
            }
        }
    }

    fn add_to(
        &mut self,
        transfer: TransferId,
        account: AccountId,
        ledger: crate::LedgerId,
        f: impl FnOnce(&mut Sums),
    ) {
        let known = self
            .accounts
            .get(&account)
            .is_some_and(|a| a.ledger == ledger);
        match self.sums.get_mut(&account) {
            Some(sums) if known => f(sums),
            _ => self
                .violations
                .push(Violation::BadAccount { transfer, account }),
        }
    }

    /// Checks everything and returns the report.
    pub fn finish(mut self) -> Report {
        let mut report = Report {
            accounts: self.accounts.len() as u64,
            transfers: self.transfers,
            ..Report::default()
        };
        self.check_pendings(&mut report);
        let mut ids: Vec<AccountId> = self.accounts.keys().copied().collect();
        ids.sort();
        for id in ids {
            let account = self.accounts[&id];
            self.check_account(&account);
            report.debits_total +=
                u128::from(account.debits_pending) + u128::from(account.debits_posted);
            report.credits_total +=
                u128::from(account.credits_pending) + u128::from(account.credits_posted);
        }
        if report.debits_total != report.credits_total {
            let (debits, credits) = (report.debits_total, report.credits_total);
            self.violations
                .insert(0, Violation::Unbalanced { debits, credits });
        }
        report.violations = self.violations;
        report
    }

    fn check_account(&mut self, account: &Account) {
        let sums = &self.sums[&account.id];
        let fields = [
            (
                "debits_pending",
                account.debits_pending,
                sums.debits_pending,
            ),
            ("debits_posted", account.debits_posted, sums.debits_posted),
            (
                "credits_pending",
                account.credits_pending,
                sums.credits_pending,
            ),
            (
                "credits_posted",
                account.credits_posted,
                sums.credits_posted,
            ),
        ];
        for (field, stored, computed) in fields {
            if u128::from(stored) != computed {
                self.violations.push(Violation::BalanceMismatch {
                    account: account.id,
                    field,
                    stored,
                    computed,
                });
            }
        }
        let debits = u128::from(account.debits_pending) + u128::from(account.debits_posted);
        let credits = u128::from(account.credits_pending) + u128::from(account.credits_posted);
        let flags = account.flags;
        let broken = (flags.contains(AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS)
            && debits > u128::from(account.credits_posted))
            || (flags.contains(AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS)
                && credits > u128::from(account.debits_posted));
        if broken {
            self.violations.push(Violation::LimitExceeded {
                account: account.id,
            });
        }
    }

    fn check_pendings(&mut self, report: &mut Report) {
        let mut ids: Vec<TransferId> = self.pendings.keys().copied().collect();
        ids.sort();
        for pending in ids {
            let seen = &self.pendings[&pending];
            let (Some(record), Some(reserved)) = (seen.record, seen.amount) else {
                let violation = if seen.amount.is_none() && seen.record.is_none() {
                    Violation::ResolvesNonPending {
                        transfer: pending,
                        pending,
                    }
                } else {
                    Violation::PendingRecordMismatch { pending }
                };
                self.violations.push(violation);
                continue;
            };
            let (posts, voids) = (seen.posts, seen.voids);
            let consistent = match record.status {
                PendingStatus::Pending | PendingStatus::Expired => posts == 0 && voids == 0,
                PendingStatus::Posted => posts == 1 && voids == 0,
                PendingStatus::Voided => posts == 0 && voids == 1,
            };
            if !consistent {
                self.violations.push(Violation::PendingState {
                    pending,
                    status: record.status,
                    posts,
                    voids,
                });
            }
            if posts > 0 && seen.posted > reserved {
                let posted = seen.posted;
                self.violations.push(Violation::PostExceedsPending {
                    pending,
                    posted,
                    reserved,
                });
            }
            if record.status == PendingStatus::Pending {
                report.pending_open += 1;
            }
        }
    }
}

fn add_side(sums: &mut Sums, pending: bool, debit: bool, amount: u64) {
    let amount = u128::from(amount);
    match (pending, debit) {
        (true, true) => sums.debits_pending += amount,
        (true, false) => sums.credits_pending += amount,
        (false, true) => sums.debits_posted += amount,
        (false, false) => sums.credits_posted += amount,
    }
}
