//! What a decision on an approval request changes, as resource puts of ONE
//! change: the request itself and its subject (a binding, with its other
//! approval requests and the binding it supersedes; or a payout). The
//! subject is rewritten by every decision (its version moves), so two
//! decisions on the same subject never both apply on stale reads.

use domain::approvals::ApprovalState;
use serde_json::Value;
use store::Store;
use store::api::{ResourcePut, ResourceRow};

use crate::api::ApiError;
use crate::api::accounts::docs::{self, APPROVAL, ApprovalDoc, BINDING, BindingDoc, PAYOUT};
use crate::api::bindings::lifecycle::{MerchantInfo, approve, bindings_of, merchant_info};
use crate::api::wire::rfc3339;

/// The subject of an approval request as read before deciding.
#[derive(Debug)]
pub enum Subject {
    /// A binding, its approval requests and the merchant's approved bindings.
    Binding {
        /// The binding's row.
        row: ResourceRow,
        /// The other approval requests of the binding.
        siblings: Vec<ResourceRow>,
        /// The merchant (for the effective date).
        merchant: Option<MerchantInfo>,
        /// The merchant's approved bindings (to supersede).
        approved: Vec<ResourceRow>,
    },
    /// A payout.
    Payout(ResourceRow),
    /// The subject is gone or of a kind this API does not decide.
    Missing,
}

/// Reads the subject of `approval`.
///
/// # Errors
/// Database errors.
pub fn read_subject(store: &mut Store, approval: &ApprovalDoc) -> store::Result<Subject> {
    match approval.subject_kind.as_str() {
        BINDING => {
            let Some(row) = store.resource(BINDING, &approval.subject_id)? else {
                return Ok(Subject::Missing);
            };
            let binding: BindingDoc = serde_json::from_str(&row.document)
                .map_err(|e| store::StoreError::Corrupt(format!("binding {}: {e}", row.id)))?;
            let mut siblings = Vec::new();
            for id in binding.approvals.iter().filter(|id| **id != approval.id) {
                siblings.extend(store.resource(APPROVAL, id)?);
            }
            let merchant = merchant_info(store, &binding.mid)?;
            let approved = bindings_of(store, &binding.mid, "approved")?;
            Ok(Subject::Binding {
                row,
                siblings,
                merchant,
                approved,
            })
        }
        PAYOUT => Ok(store
            .resource(PAYOUT, &approval.subject_id)?
            .map_or(Subject::Missing, Subject::Payout)),
        _ => Ok(Subject::Missing),
    }
}

/// The stored status of an approval request in `state`.
pub fn status_name(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::Pending => "pending",
        ApprovalState::Approved => "approved",
        ApprovalState::Rejected => "rejected",
        ApprovalState::Expired => "expired",
    }
}

/// The puts that apply `state` (the request's new state) to its subject;
/// and the subject's new status.
///
/// # Errors
/// 500 for unreadable documents or a missing merchant.
pub fn subject_puts(
    subject: &Subject,
    state: ApprovalState,
    now_ns: u64,
) -> Result<(Vec<ResourcePut>, Option<String>), ApiError> {
    match subject {
        Subject::Missing => Ok((Vec::new(), None)),
        Subject::Payout(row) => payout_puts(row, state, now_ns),
        Subject::Binding {
            row,
            siblings,
            merchant,
            approved,
        } => binding_puts(row, siblings, *merchant, approved, state, now_ns),
    }
}

fn payout_puts(
    row: &ResourceRow,
    state: ApprovalState,
    now_ns: u64,
) -> Result<(Vec<ResourcePut>, Option<String>), ApiError> {
    let mut document: Value = docs::parse(row)?;
    let status = match state {
        ApprovalState::Approved => "approved",
        ApprovalState::Rejected => "rejected",
        // A payout's own lifecycle decides what an expired request means.
        ApprovalState::Pending | ApprovalState::Expired => row.status.as_str(),
    };
    if let Some(object) = document.as_object_mut() {
        object.insert("status".to_owned(), Value::from(status));
    }
    let put = docs::updated(row, status, &document, now_ns)?;
    Ok((
        vec![ResourcePut::replace(put, row.version)],
        Some(status.to_owned()),
    ))
}

/// Closes the binding's other pending requests with `status`.
fn close_siblings(
    siblings: &[ResourceRow],
    status: &str,
    now_ns: u64,
) -> Result<Vec<ResourcePut>, ApiError> {
    let mut puts = Vec::new();
    for row in siblings.iter().filter(|r| r.status == "pending") {
        let mut sibling: ApprovalDoc = docs::parse(row)?;
        sibling.status = status.to_owned();
        sibling.decided_at = Some(rfc3339(now_ns));
        let put = docs::updated(row, status, &sibling, now_ns)?;
        puts.push(ResourcePut::replace(put, row.version));
    }
    Ok(puts)
}

fn binding_puts(
    row: &ResourceRow,
    siblings: &[ResourceRow],
    merchant: Option<MerchantInfo>,
    approved: &[ResourceRow],
    state: ApprovalState,
    now_ns: u64,
) -> Result<(Vec<ResourcePut>, Option<String>), ApiError> {
    let mut binding: BindingDoc = docs::parse(row)?;
    let mut puts = Vec::new();
    if binding.status == "pending_approval" {
        match state {
            ApprovalState::Pending => {}
            ApprovalState::Approved => {
                if siblings.iter().all(|s| s.status == "approved") {
                    let merchant = merchant.ok_or_else(|| {
                        ApiError::Internal(format!("binding {} of no merchant", binding.id))
                    })?;
                    approve(&mut binding, now_ns, merchant)?;
                    puts.extend(crate::api::bindings::lifecycle::supersede(
                        &binding, approved, now_ns,
                    )?);
                }
            }
            ApprovalState::Rejected | ApprovalState::Expired => {
                let status = status_name(state);
                binding.status = status.to_owned();
                binding.closed_at = Some(rfc3339(now_ns));
                puts.extend(close_siblings(siblings, status, now_ns)?);
            }
        }
    }
    let put = docs::updated(row, &binding.status, &binding, now_ns)?;
    puts.insert(0, ResourcePut::replace(put, row.version));
    Ok((puts, Some(binding.status)))
}
