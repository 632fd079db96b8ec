//! `GET /v1/approvals` (an owner's inbox; all requests for operators) and
//! `POST /v1/approvals/{id}/approve`, `.../reject` (the account's owners).
//!
//! The rules are `domain::approvals`: each owner counts once, the maker of
//! a request never counts (an owner key that asked for a binding cannot
//! approve it: 403), one owner's rejection rejects, a request not decided
//! within `REQUEST_TTL_S` (72 h, by the API's clock) expires: deciding it
//! then answers 409 and records it `expired` (its binding too). Lists show
//! a stale pending request as `expired` even before anyone tried.
//!
//! A decision that completes a request changes, in the SAME change, the
//! request, its subject (binding: `approved` from the next business date,
//! the binding it replaces `superseded`; payout: `approved`) — see
//! [`decide`]. Every decision rewrites the request and its subject at the
//! versions read, so of two concurrent decisions one applies and the other
//! answers 409 (decide again: no vote is ever lost).

mod decide;

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use domain::approvals::{ApprovalError, ApprovalRequest, ApprovalState, Policy, REQUEST_TTL_S};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};

use self::decide::{Subject, read_subject, status_name, subject_puts};
use super::accounts::docs::{self, ACCOUNT, APPROVAL, AccountDoc, ApprovalDoc};
use super::accounts::{read_account, visible};
use super::bindings::lifecycle::{RESOURCES_READ_MAX, all_resources};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::wire::{is_code, rfc3339, validate_text};
use super::{
    Action, Answer, ApiError, ApiState, Caller, PendingWrite, PostRequest, Role, authorize,
};

/// Approval statuses (and `all` in filters).
pub const STATUSES: [&str; 4] = ["pending", "approved", "rejected", "expired"];
/// Longest comment on a decision.
pub const COMMENT_LEN_MAX: usize = 500;
/// Most accounts (and approvals per account) an owner's inbox reads.
const INBOX_ROWS_MAX: usize = 10_000;

/// When a request expires, ns (its `expires_at`, else creation + TTL).
fn expires_ns(row: &ResourceRow, approval: &ApprovalDoc) -> u64 {
    docs::parse_rfc3339(&approval.expires_at).unwrap_or_else(|| {
        row.created_at_ns
            .saturating_add(REQUEST_TTL_S.unsigned_abs() * 1_000_000_000)
    })
}

/// The status to show: a stale pending request is expired.
fn effective_status(row: &ResourceRow, approval: &ApprovalDoc, now_ns: u64) -> String {
    if row.status == "pending" && now_ns >= expires_ns(row, approval) {
        "expired".to_owned()
    } else {
        row.status.clone()
    }
}

/// Query of `GET /v1/approvals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The approval rows the caller may see, in id order: an owner's from the
/// accounts it owns; an operator's all.
fn visible_rows(store: &mut store::Store, caller: &Caller) -> store::Result<Vec<ResourceRow>> {
    if caller.role == Role::Operator {
        return all_resources(store, APPROVAL, None, None, RESOURCES_READ_MAX);
    }
    let accounts = all_resources(store, ACCOUNT, None, None, RESOURCES_READ_MAX)?;
    let mut rows = Vec::new();
    for account in accounts {
        let owned = serde_json::from_str::<AccountDoc>(&account.document)
            .is_ok_and(|a| a.owned_by(&caller.scope));
        if owned {
            rows.extend(all_resources(
                store,
                APPROVAL,
                Some(&account.id),
                None,
                INBOX_ROWS_MAX,
            )?);
        }
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadApprovals)?;
    let status = query.status.unwrap_or_else(|| "pending".to_owned());
    if status != "all" && !STATUSES.contains(&status.as_str()) {
        return Err(ApiError::field(
            "status",
            "pending, approved, rejected, expired or all",
        ));
    }
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let reader = caller.clone();
    let rows = state
        .read(move |store| visible_rows(store, &reader))
        .await?;
    let now = state.now_ns();
    let mut items = Vec::new();
    let mut more = false;
    for row in rows.iter().filter(|r| r.id > page.after) {
        let approval: ApprovalDoc = docs::parse(row)?;
        let shown = effective_status(row, &approval, now);
        if status != "all" && shown != status {
            continue;
        }
        if items.len() == page.limit as usize {
            more = true;
            break;
        }
        let mut item = docs::value(&approval)?;
        item["status"] = json!(shown);
        items.push(item);
    }
    let next = more
        .then(|| {
            items
                .last()
                .and_then(|i| i["id"].as_str())
                .map(encode_cursor)
        })
        .flatten();
    let columns = [
        "id",
        "status",
        "subject_kind",
        "subject_id",
        "account",
        "required",
        "expires_at",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

/// Body of a decision (may be `{}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    #[serde(default)]
    comment: Option<String>,
}

pub(crate) async fn approve(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    decide_request(state, caller, id, request, true).await
}

pub(crate) async fn reject(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    decide_request(state, caller, id, request, false).await
}

/// An approval request with what deciding it needs.
struct Loaded {
    row: ResourceRow,
    approval: ApprovalDoc,
    policy: Policy,
    request: ApprovalRequest,
    subject: Subject,
}

async fn load(state: &ApiState, caller: &Caller, id: &str) -> Result<Loaded, ApiError> {
    if !is_code(id) {
        return Err(ApiError::NotFound);
    }
    let key = id.to_owned();
    let row = state
        .read(move |store| store.resource(APPROVAL, &key))
        .await?
        .ok_or(ApiError::NotFound)?;
    let approval: ApprovalDoc = docs::parse(&row)?;
    let (_, account) = read_account(state, &approval.account)
        .await?
        .filter(|(_, account)| visible(caller, account))
        .ok_or(ApiError::NotFound)?;
    let policy = Policy::new(account.owner_set(), approval.required).map_err(ApiError::internal)?;
    let expires_s =
        i64::try_from(expires_ns(&row, &approval) / 1_000_000_000).map_err(ApiError::internal)?;
    let request = ApprovalRequest {
        maker: approval.requested_by.maker(),
        approvals: approval.approvals.iter().cloned().collect::<BTreeSet<_>>(),
        rejected_by: approval.rejections.first().cloned(),
        expires_at_s: expires_s,
    };
    let for_subject = approval.clone();
    let subject = state
        .read(move |store| read_subject(store, &for_subject))
        .await?;
    Ok(Loaded {
        row,
        approval,
        policy,
        request,
        subject,
    })
}

fn refusal(error: &ApprovalError) -> ApiError {
    match error {
        ApprovalError::NotAnOwner => ApiError::NotFound,
        ApprovalError::MakerCannotApprove => ApiError::Forbidden(error.to_string()),
        ApprovalError::AlreadyDecided
        | ApprovalError::NotPending(_)
        | ApprovalError::BadPolicy { .. }
        | ApprovalError::Unsatisfiable => ApiError::Conflict(error.to_string()),
    }
}

/// The puts recording `loaded`'s request in `state` and its subject.
fn puts_for(
    loaded: &Loaded,
    state: ApprovalState,
    now: u64,
) -> Result<(Vec<ResourcePut>, Value), ApiError> {
    let mut approval = loaded.approval.clone();
    approval.approvals = loaded.request.approvals.iter().cloned().collect();
    approval.rejections = loaded.request.rejected_by.iter().cloned().collect();
    approval.status = status_name(state).to_owned();
    if state != ApprovalState::Pending {
        approval.decided_at = Some(rfc3339(now));
    }
    let (mut puts, subject_status) = subject_puts(&loaded.subject, state, now)?;
    let row = docs::updated(&loaded.row, &approval.status, &approval, now)?;
    puts.insert(0, ResourcePut::replace(row, loaded.row.version));
    let mut answer = docs::value(&approval)?;
    answer["subject_status"] = json!(subject_status);
    Ok((puts, answer))
}

/// Records an expired request (and its subject) and answers 409.
async fn expire(
    state: &ApiState,
    pending: &PendingWrite,
    loaded: Loaded,
    now: u64,
) -> Result<Response, ApiError> {
    let (puts, answer) = puts_for(&loaded, ApprovalState::Expired, now)?;
    let resource = format!("approvals/{}", loaded.approval.id);
    let write = ApiWrite {
        change: ApiChange::PutResources(puts),
        audit: Some(pending.audit(state, "approval.expire", &resource, &answer)),
        idempotency: None,
        only_after_success: false,
    };
    // Whether this or a concurrent request recorded it, it has expired.
    state
        .write(vec![store::WriteOp::Api(Box::new(write))])
        .await?;
    Err(ApiError::Conflict(format!(
        "the approval request expired at {}",
        loaded.approval.expires_at
    )))
}

async fn decide_request(
    state: ApiState,
    caller: Caller,
    id: String,
    request: PostRequest,
    approve: bool,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<DecisionBody>(&state, caller, Action::DecideApproval)
        .await?;
    let mut errors = Vec::new();
    if let Some(comment) = &body.comment {
        validate_text("comment", comment, COMMENT_LEN_MAX, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let caller = pending.caller().clone();
    let mut loaded = load(&state, &caller, &id).await?;
    if loaded.row.status != "pending" {
        return Err(ApiError::Conflict(format!(
            "the approval request is {}",
            loaded.row.status
        )));
    }
    let now = state.now_ns();
    let now_s = i64::try_from(now / 1_000_000_000).map_err(ApiError::internal)?;
    if loaded.request.state(&loaded.policy, now_s) == ApprovalState::Expired {
        return expire(&state, &pending, loaded, now).await;
    }
    let decided = loaded
        .request
        .decide(&loaded.policy, &caller.scope, approve, now_s)
        .map_err(|e| refusal(&e))?;
    let (puts, mut answer) = puts_for(&loaded, decided, now)?;
    if let Some(comment) = body.comment {
        answer["comment"] = json!(comment);
    }
    let action = if approve {
        "approval.approve"
    } else {
        "approval.reject"
    };
    let audit = pending.audit(&state, action, &format!("approvals/{id}"), &answer);
    let reply = Answer {
        status: axum::http::StatusCode::OK,
        body: &answer,
        stored_body: None,
    };
    pending
        .commit(&state, ApiChange::PutResources(puts), audit, reply)
        .await
}

/// JSON schema of an approval request as answered.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["id", "subject_kind", "subject_id", "account", "required", "approvals", "rejections", "requested_by", "status", "expires_at"],
        "properties": {"id": {"type": "string"},
            "subject_kind": {"type": "string", "enum": ["binding", "payout"]},
            "subject_id": {"type": "string"}, "account": {"type": "string"},
            "required": {"type": "integer", "minimum": 1},
            "approvals": {"type": "array", "items": {"type": "string"}},
            "rejections": {"type": "array", "items": {"type": "string"}},
            "requested_by": {"type": "object"},
            "status": {"type": "string", "enum": STATUSES},
            "expires_at": {"type": "string", "format": "date-time"},
            "subject_status": {"type": ["string", "null"]}}})
}

/// JSON schema of a decision body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": COMMENT_LEN_MAX}}})
}

/// Query parameters of the list.
pub fn list_parameters() -> Vec<Value> {
    vec![json!({"name": "status", "in": "query", "required": false,
        "schema": {"type": "string", "enum": ["pending", "approved", "rejected", "expired", "all"], "default": "pending"}})]
}
