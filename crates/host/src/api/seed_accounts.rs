//! Sandbox seeding of the settlement accounts of sandbox.md and the
//! merchants' bindings (approved, effective from 2000-01-01, so every
//! business date has a binding in force). Idempotent: what exists is left
//! alone. Owners are the party ids of the sandbox owner keys
//! (`domain::sandbox::api_keys`), so those keys see their accounts; every
//! sandbox account is held at the sandbox bank.
//!
//! Like the terminal host's sandbox records (merchants, terminals, cards),
//! these rows are seed data written without audit events: the audit log's
//! seed stays the API configuration (keys, fee plan, program), and every
//! change made through the API after seeding is audited.

use domain::sandbox::{self, AccountKind};
use store::api::{ApiChange, ApiOutcome, ApiWrite, ResourcePut, ResourceRow};

use super::accounts::docs::{
    self, ACCOUNT, AccountDoc, BINDING, BindingDoc, OwnerDoc, PolicyDoc, Requester, SplitDoc,
};
use super::wire::{Money, rfc3339};
use super::{ApiError, ApiState};

/// The first business date of the sandbox bindings.
pub const SANDBOX_BINDINGS_FROM: &str = "2000-01-01";

fn account_doc(account: &sandbox::Account, now: u64) -> AccountDoc {
    let joint = account.kind == AccountKind::Joint;
    AccountDoc {
        id: account.id.to_owned(),
        kind: match account.kind {
            AccountKind::Single => "single",
            AccountKind::Joint => "joint",
            AccountKind::Cobrand => "cobrand",
        }
        .to_owned(),
        name: if joint {
            account.owners.join(" & ")
        } else {
            account
                .owners
                .first()
                .map_or_else(String::new, |o| (*o).to_owned())
        },
        bank: sandbox::BANK.to_owned(),
        owners: account
            .owners
            .iter()
            .map(|o| OwnerDoc {
                party: (*o).to_owned(),
                name: (*o).to_owned(),
            })
            .collect(),
        policy: PolicyDoc {
            binding_approvals_required: account.binding_approvals,
            payout_threshold: account.payout_threshold.map(Money::cny),
            payout_approvals_required: account.payout_approvals,
        },
        program: None,
        created_at: rfc3339(now),
    }
}

fn binding_doc(merchant: &sandbox::Merchant, now: u64) -> BindingDoc {
    BindingDoc {
        id: format!("BND-SANDBOX-{}", merchant.mid),
        mid: merchant.mid.to_owned(),
        terminals: Vec::new(),
        splits: vec![SplitDoc {
            account: merchant.account.to_owned(),
            share_bps: Some(10_000),
            fixed: None,
        }],
        status: "approved".to_owned(),
        effective_from: Some(SANDBOX_BINDINGS_FROM.to_owned()),
        approvals: Vec::new(),
        requested_by: Requester {
            role: "system".to_owned(),
            scope: "sandbox".to_owned(),
            key_id: String::new(),
        },
        created_at: rfc3339(now),
        approved_at: Some(rfc3339(now)),
        approved_at_ns: Some(0),
        closed_at: None,
        superseded_by: None,
    }
}

/// Creates `row` unless it exists.
async fn seed_row(state: &ApiState, row: ResourceRow) -> Result<(), ApiError> {
    let write = ApiWrite {
        change: ApiChange::PutResources(vec![ResourcePut::create(row)]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    let outcomes = state
        .write(vec![store::WriteOp::Api(Box::new(write))])
        .await?;
    match outcomes.first() {
        Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. } | ApiOutcome::Exists)) => Ok(()),
        other => Err(ApiError::Internal(format!(
            "seeding: unexpected outcome {other:?}"
        ))),
    }
}

/// Seeds the sandbox accounts and bindings. Idempotent.
///
/// # Errors
/// Storage failures.
pub async fn seed_accounts(state: &ApiState) -> Result<(), ApiError> {
    let now = state.now_ns();
    for account in sandbox::accounts() {
        let document = account_doc(&account, now);
        let row = docs::row(ACCOUNT, account.id, account.id, "open", &document, now, now)?;
        seed_row(state, row).await?;
    }
    for merchant in sandbox::merchants() {
        let document = binding_doc(&merchant, now);
        let row = docs::row(
            BINDING,
            &document.id,
            merchant.mid,
            "approved",
            &document,
            now,
            now,
        )?;
        seed_row(state, row).await?;
    }
    Ok(())
}
