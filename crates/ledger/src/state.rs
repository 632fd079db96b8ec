//! The state the core reads and writes, and an in-memory implementation.

use std::collections::{BTreeMap, HashMap};

use crate::{Account, AccountId, Pending, PendingStatus, Transfer, TransferId};

/// What the core needs from its surroundings. The store implements it over a
/// working set prefetched for one batch; tests use [`MemoryState`].
///
/// `remove_transfer` and `put_pending(.., None)` are only used to roll back a
/// failed linked chain within the batch that created the entry.
pub trait LedgerState {
    /// The account with this id.
    fn account(&self, id: AccountId) -> Option<Account>;
    /// Inserts or replaces an account.
    fn put_account(&mut self, account: Account);
    /// Removes an account created earlier in the same batch (rollback).
    fn remove_account(&mut self, id: AccountId);
    /// The transfer with this id.
    fn transfer(&self, id: TransferId) -> Option<Transfer>;
    /// Inserts a new transfer.
    fn insert_transfer(&mut self, transfer: Transfer);
    /// Removes a transfer inserted earlier in the same batch (rollback).
    fn remove_transfer(&mut self, id: TransferId);
    /// The bookkeeping of a pending transfer.
    fn pending(&self, id: TransferId) -> Option<Pending>;
    /// Inserts, replaces or (with `None`, for rollback) removes it.
    fn put_pending(&mut self, id: TransferId, pending: Option<Pending>);
    /// Open pending transfers with `0 < expires_at <= now`, oldest first, at
    /// most `limit` of them (as far as this state knows them).
    fn pending_due(&self, now: u64, limit: usize) -> Vec<TransferId>;
}

/// A complete ledger in memory: the reference state for tests and the demo.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryState {
    /// Accounts by id.
    pub accounts: HashMap<AccountId, Account>,
    /// Transfers by id.
    pub transfers: HashMap<TransferId, Transfer>,
    /// Pending transfers' bookkeeping by id (ordered for `pending_due`).
    pub pendings: BTreeMap<TransferId, Pending>,
}

impl MemoryState {
    /// Total debits and total credits (pending + posted) over all accounts.
    pub fn totals(&self) -> (u128, u128) {
        self.accounts.values().fold((0, 0), |(debits, credits), a| {
            (
                debits + u128::from(a.debits_pending) + u128::from(a.debits_posted),
                credits + u128::from(a.credits_pending) + u128::from(a.credits_posted),
            )
        })
    }
}

impl LedgerState for MemoryState {
    fn account(&self, id: AccountId) -> Option<Account> {
        self.accounts.get(&id).copied()
    }
    fn put_account(&mut self, account: Account) {
        self.accounts.insert(account.id, account);
    }
    fn remove_account(&mut self, id: AccountId) {
        self.accounts.remove(&id);
    }
    fn transfer(&self, id: TransferId) -> Option<Transfer> {
        self.transfers.get(&id).copied()
    }
    fn insert_transfer(&mut self, transfer: Transfer) {
        self.transfers.insert(transfer.body.id, transfer);
    }
    fn remove_transfer(&mut self, id: TransferId) {
        self.transfers.remove(&id);
    }
    fn pending(&self, id: TransferId) -> Option<Pending> {
        self.pendings.get(&id).copied()
    }
    fn put_pending(&mut self, id: TransferId, pending: Option<Pending>) {
        match pending {
            Some(pending) => self.pendings.insert(id, pending),
            None => self.pendings.remove(&id),
        };
    }
    fn pending_due(&self, now: u64, limit: usize) -> Vec<TransferId> {
        let mut due: Vec<Pending> = self
            .pendings
            .values()
            .filter(|p| p.status == PendingStatus::Pending && p.expires_at != 0)
            .filter(|p| p.expires_at <= now)
            .copied()
            .collect();
        due.sort_by_key(|p| (p.expires_at, p.id));
        due.into_iter().take(limit).map(|p| p.id).collect()
    }
}
