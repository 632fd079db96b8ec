//! Operator changes of the running host's merchants and terminals (the
//! HTTP API's merchants, onboarding and terminals endpoints call these).
//!
//! A change is ONE store request: the new merchant's ledger account (if
//! any), the API's own `WriteOp::Api` (the `merchant` or `terminal`
//! resource, its audit event and idempotency record) and the host records.
//! So the API's resource and the host's record are committed together.
//!
//! Unlike an authorization, an admin change applies its records to the
//! in-memory state only once its commit is durable, and only when the API
//! write applied too: the state never runs ahead of the database (no
//! fail-stop). Authorizations go on meanwhile with the state before the
//! change, as if they had come first.
//!
//! The store writes a request's host records only if its API write applied
//! (and its transfers were created), so a refused API write (a version
//! conflict, an `Idempotency-Key` taken) leaves the host's records as they
//! were. The API also serializes its admin changes and re-reads the
//! resource before building one, so such refusals are rare.
//!
//! Ledger accounts of merchants created through the API:
//! [`ONBOARDED_MERCHANT_ACCOUNT_BASE`] + the MID's 15 digits, far above the
//! sandbox's ids (`seed.rs`: 1–3, 100 + i, 1 000 + i).

use cardsec::TdesKey;
use ledger::{AccountFlags, AccountId, NewAccount};
use store::{WriteOp, WriteOutcome, WriterHandle};

use crate::records::{MerchantRecord, Record, TerminalRecord};
use crate::seed::{LEDGER_CNY, LEDGER_CODE};
use crate::service::Host;
use crate::state::HostState;

/// First ledger account of merchants created through the API: the account
/// of MID `m` (15 digits) is this + `m`. 2^64 is above every id of
/// `seed.rs` and below any transfer-id space, which is separate anyway.
pub const ONBOARDED_MERCHANT_ACCOUNT_BASE: u128 = 1 << 64;

/// The ledger account of a merchant created through the API; `None` for a
/// MID that is not 15 digits.
#[must_use]
pub fn merchant_account(mid: &str) -> Option<u128> {
    if mid.len() != 15 || !mid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    mid.parse::<u128>()
        .ok()
        .map(|m| ONBOARDED_MERCHANT_ACCOUNT_BASE + m)
}

/// The id of a key set as terminals are registered with it: the key check
/// value of its BDK (six uppercase hex digits), which names the key
/// without revealing it.
#[must_use]
pub fn key_set_id(bdk: &TdesKey) -> String {
    bdk.kcv().iter().map(|b| format!("{b:02X}")).collect()
}

/// What the host lends to admin changes (see `Host::admin_parts`).
pub(crate) struct AdminParts<'a> {
    pub(crate) writer: &'a WriterHandle,
    pub(crate) bdk: &'a TdesKey,
    pub(crate) program: Option<&'a str>,
}

/// One admin change: written as one store request by [`AdminChange::ops`].
#[derive(Debug, Clone, Default)]
pub struct AdminChange {
    /// Ledger accounts to create (a new merchant's).
    pub accounts: Vec<NewAccount>,
    /// The API's write (resource, audit event, idempotency record).
    pub api: Option<WriteOp>,
    /// The host records to write and then apply to the state.
    pub records: Vec<Record>,
}

/// What the store did with an [`AdminChange`].
#[derive(Debug, Clone)]
pub struct AdminOutcome {
    /// The outcomes, in the order of [`AdminChange::ops`].
    pub outcomes: Vec<WriteOutcome>,
    /// The API write applied (or there was none).
    pub api_applied: bool,
    /// The host records were written.
    pub records_written: bool,
}

impl AdminOutcome {
    /// The API write's outcome, if there was one.
    #[must_use]
    pub fn api(&self) -> Option<&WriteOutcome> {
        self.outcomes
            .iter()
            .find(|o| matches!(o, WriteOutcome::Api(_)))
    }

    /// Whether everything applied.
    #[must_use]
    pub fn applied(&self) -> bool {
        self.api_applied && self.records_written
    }
}

/// Why an admin change failed (nothing was committed).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The writer failed or stopped.
    #[error("storage: {0}")]
    Store(String),
}

impl AdminChange {
    /// Creates or replaces a merchant. The record's `account` is set here:
    /// the one the state holds, or a new account ([`merchant_account`]).
    #[must_use]
    pub fn merchant(state: &HostState, mut record: MerchantRecord, api: Option<WriteOp>) -> Self {
        let mut accounts = Vec::new();
        match state.merchants.get(&record.mid) {
            Some(previous) => record.account = previous.account,
            None => {
                if let Some(id) = merchant_account(&record.mid) {
                    record.account = id;
                    accounts.push(NewAccount {
                        flags: AccountFlags::default(),
                        ..NewAccount::new(AccountId(id), LEDGER_CNY, LEDGER_CODE)
                    });
                }
            }
        }
        AdminChange {
            accounts,
            api,
            records: vec![Record::Merchant(record)],
        }
    }

    /// Creates or replaces a terminal.
    #[must_use]
    pub fn terminal(record: TerminalRecord, api: Option<WriteOp>) -> Self {
        AdminChange {
            accounts: Vec::new(),
            api,
            records: vec![Record::Terminal(record)],
        }
    }

    /// The store request: accounts, the API write, then the host records.
    #[must_use]
    pub fn ops(&self) -> Vec<WriteOp> {
        let mut ops = Vec::new();
        if !self.accounts.is_empty() {
            ops.push(WriteOp::CreateAccounts(self.accounts.clone()));
        }
        ops.extend(self.api.clone());
        ops.push(WriteOp::HostRows(
            self.records.iter().map(Record::row).collect(),
        ));
        ops
    }

    /// Reads the outcomes of [`AdminChange::ops`].
    #[must_use]
    pub fn outcome(&self, outcomes: Vec<WriteOutcome>) -> AdminOutcome {
        let api_applied = self.api.is_none()
            || outcomes
                .iter()
                .any(|o| matches!(o, WriteOutcome::Api(store::api::ApiOutcome::Applied { .. })));
        let records_written = outcomes.last() == Some(&WriteOutcome::HostRows(true));
        AdminOutcome {
            outcomes,
            api_applied,
            records_written,
        }
    }
}

/// Why a change was refused with nothing written: the host could not
/// take the lease over (see `crate::lease`).
pub(crate) const LEASE_NOT_TAKEN: &str = "the host could not take over the host lease";
/// Why a change was refused with nothing written: another host took the
/// lease while it was decided (see `crate::lease`).
pub(crate) const LEASE_MOVED: &str = "another host took over the host lease; nothing was written";

impl Host {
    /// Runs one admin change: under the state lock, `prepare` builds it
    /// from the current state and it is queued as one request; once
    /// durable, and only if the API write and the records both applied,
    /// the records are applied to the state under the lock again (the
    /// store writes neither when the API write is refused). Authorizations
    /// decided in between see the state before the change, as if they had
    /// come first; they never write merchant or terminal records.
    ///
    /// # Errors
    /// `prepare`'s error (nothing written); [`AdminError::Store`] when the
    /// commit failed (nothing written, the state unchanged).
    pub async fn admin_change<E, F>(&self, prepare: F) -> Result<AdminOutcome, E>
    where
        E: From<AdminError>,
        F: FnOnce(&HostState) -> Result<AdminChange, E>,
    {
        if !self.hold_lease().await {
            return Err(AdminError::Store(LEASE_NOT_TAKEN.into()).into());
        }
        let parts = self.admin_parts();
        let slot = parts
            .writer
            .reserve()
            .await
            .map_err(|e| AdminError::Store(e.to_string()))?;
        let (change, ticket, epoch) = {
            let state = self.state();
            let change = prepare(&state)?;
            let mut ops: Vec<WriteOp> = self.lease().fence().into_iter().collect();
            ops.extend(change.ops());
            let ticket = slot
                .submit(ops)
                .map_err(|e| AdminError::Store(e.to_string()))?;
            (change, ticket, self.lease().epoch())
        };
        let outcomes = ticket
            .recv()
            .await
            .map_err(|e| AdminError::Store(e.to_string()))?;
        if self.fenced_change(epoch, &outcomes) {
            return Err(AdminError::Store(LEASE_MOVED.into()).into());
        }
        let outcome = change.outcome(outcomes);
        if outcome.applied() {
            let mut state = self.state();
            for record in change.records {
                state.apply(record);
            }
        }
        Ok(outcome)
    }

    /// Creates or replaces a merchant record (with a new merchant's ledger
    /// account), written with `api` in one request.
    ///
    /// # Errors
    /// [`AdminError::Store`].
    pub async fn upsert_merchant(
        &self,
        record: MerchantRecord,
        api: Option<WriteOp>,
    ) -> Result<AdminOutcome, AdminError> {
        self.admin_change(|state| Ok(AdminChange::merchant(state, record, api)))
            .await
    }

    /// Creates or replaces a terminal record, written with `api` in one
    /// request. The terminal is served (or, inactive, refused with `58`)
    /// from the moment this returns.
    ///
    /// # Errors
    /// [`AdminError::Store`].
    pub async fn upsert_terminal(
        &self,
        record: TerminalRecord,
        api: Option<WriteOp>,
    ) -> Result<AdminOutcome, AdminError> {
        self.admin_change(|_| Ok(AdminChange::terminal(record, api)))
            .await
    }

    /// Runs `read` over the current state (under the state lock: keep it
    /// short).
    pub async fn inspect<T>(&self, read: impl FnOnce(&HostState) -> T) -> T {
        read(&self.state())
    }

    /// The id of the key set terminals are registered with ([`key_set_id`]
    /// of the host's BDK).
    pub fn key_set_id(&self) -> String {
        key_set_id(self.admin_parts().bdk)
    }

    /// The code of the co-brand program whose participating merchants get
    /// its benefits, if the host runs one.
    pub fn program_code(&self) -> Option<String> {
        self.admin_parts().program.map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_accounts_never_collide_with_the_seeded_ones() {
        let seeded_max = crate::seed::BENCH_CARD_ACCOUNT;
        let lowest = merchant_account("000000000000000").unwrap();
        assert!(lowest > seeded_max);
        assert_eq!(
            merchant_account("100000000000004"),
            Some(ONBOARDED_MERCHANT_ACCOUNT_BASE + 100_000_000_000_004)
        );
        for bad in ["", "12345678901234", "1000000000000041", "10000000000000A"] {
            assert_eq!(merchant_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_new_merchant_gets_its_ledger_account_and_an_existing_one_keeps_it() {
        let mut state = HostState::default();
        let merchant = MerchantRecord {
            mid: "100000000000009".into(),
            name: "N".into(),
            stage: "live".into(),
            account: 0,
            participant: false,
            mcc: 5812,
            fee_plan: String::new(),
            cycle: "T1".into(),
            cutoff_minute: 0,
        };
        let change = AdminChange::merchant(&state, merchant.clone(), None);
        assert_eq!(change.accounts.len(), 1);
        let account = merchant_account("100000000000009").unwrap();
        assert_eq!(
            change.records,
            vec![Record::Merchant(MerchantRecord {
                account,
                ..merchant.clone()
            })]
        );
        let ops = change.ops();
        assert!(matches!(ops.last(), Some(WriteOp::HostRows(_))));
        state.apply(change.records[0].clone());
        let again = AdminChange::merchant(&state, merchant, None);
        assert!(again.accounts.is_empty());
        let Record::Merchant(kept) = &again.records[0] else {
            panic!("a merchant");
        };
        assert_eq!(kept.account, account);
    }
}
