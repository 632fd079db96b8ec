//! The working set of one batch: the cached accounts plus what was prefetched,
//! with the batch's changes kept apart until the commit succeeds.

use ledger::{Account, AccountId, LedgerState, Pending, PendingStatus, Transfer, TransferId};

use crate::engine::Staged;
use crate::hash::{IdMap, IdSet};

/// A [`LedgerState`] over the account cache and the prefetched rows.
pub(crate) struct WorkingSet<'a> {
    cache: &'a IdMap<AccountId, Account>,
    /// Accounts changed or created in this batch (`None`: rolled back).
    accounts: IdMap<AccountId, Option<Account>>,
    transfers: IdMap<TransferId, Transfer>,
    stored_transfers: IdSet<TransferId>,
    new_transfers: Vec<TransferId>,
    pendings: IdMap<TransferId, Pending>,
    stored_pendings: IdSet<TransferId>,
    changed_pendings: Vec<TransferId>,
    due: Vec<Pending>,
}

impl<'a> WorkingSet<'a> {
    /// A working set over `cache` with prefetched rows.
    pub fn new(
        cache: &'a IdMap<AccountId, Account>,
        transfers: Vec<Transfer>,
        pendings: Vec<Pending>,
        due: Vec<Pending>,
        events: usize,
    ) -> Self {
        let mut set = Self {
            cache,
            accounts: IdMap::with_capacity_and_hasher(events.saturating_mul(2), Default::default()),
            transfers: IdMap::with_capacity_and_hasher(
                events + transfers.len(),
                Default::default(),
            ),
            stored_transfers: IdSet::default(),
            new_transfers: Vec::with_capacity(events),
            pendings: IdMap::default(),
            stored_pendings: IdSet::default(),
            changed_pendings: Vec::new(),
            due: Vec::new(),
        };
        for transfer in transfers {
            set.stored_transfers.insert(transfer.body.id);
            set.transfers.insert(transfer.body.id, transfer);
        }
        for pending in pendings.into_iter().chain(due.iter().copied()) {
            set.stored_pendings.insert(pending.id);
            set.pendings.insert(pending.id, pending);
        }
        set.due = due;
        set
    }

    /// The rows to write, and the accounts to put into the cache after commit.
    pub fn stage(self, history: Vec<ledger::BalanceSnapshot>) -> (Staged, Vec<Account>) {
        let mut staged = Staged {
            history,
            ..Staged::default()
        };
        let mut touched = Vec::with_capacity(self.accounts.len());
        for account in self.accounts.values().flatten() {
            touched.push(*account);
            if self.cache.contains_key(&account.id) {
                staged.accounts_changed.push(*account);
            } else {
                staged.accounts_new.push(*account);
            }
        }
        // Ids are unique in `transfers`; a rolled-back id may be listed twice.
        let mut seen = IdSet::default();
        for id in &self.new_transfers {
            if let Some(transfer) = self.transfers.get(id) {
                if !self.stored_transfers.contains(id) && seen.insert(*id) {
                    staged.transfers.push(*transfer);
                }
            }
        }
        let mut seen = IdSet::default();
        for id in &self.changed_pendings {
            let Some(pending) = self.pendings.get(id) else {
                continue;
            };
            if !seen.insert(*id) {
                continue;
            }
            if self.stored_pendings.contains(id) {
                staged.pendings_changed.push(*pending);
            } else {
                staged.pendings_new.push(*pending);
            }
        }
        (staged, touched)
    }
}

impl LedgerState for WorkingSet<'_> {
    fn account(&self, id: AccountId) -> Option<Account> {
        match self.accounts.get(&id) {
            Some(changed) => *changed,
            None => self.cache.get(&id).copied(),
        }
    }
    fn put_account(&mut self, account: Account) {
        self.accounts.insert(account.id, Some(account));
    }
    fn remove_account(&mut self, id: AccountId) {
        self.accounts.insert(id, None);
    }
    fn transfer(&self, id: TransferId) -> Option<Transfer> {
        self.transfers.get(&id).copied()
    }
    fn insert_transfer(&mut self, transfer: Transfer) {
        self.new_transfers.push(transfer.body.id);
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
            Some(pending) => {
                self.changed_pendings.push(id);
                self.pendings.insert(id, pending);
            }
            None => {
                self.pendings.remove(&id);
            }
        }
    }
    fn pending_due(&self, now: u64, limit: usize) -> Vec<TransferId> {
        self.due
            .iter()
            .filter(|due| {
                self.pendings.get(&due.id).is_some_and(|p| {
                    p.status == PendingStatus::Pending && p.expires_at != 0 && p.expires_at <= now
                })
            })
            .take(limit)
            .map(|due| due.id)
            .collect()
    }
}
