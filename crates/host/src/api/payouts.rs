//! `GET /v1/payouts`, `POST /v1/payouts/{id}/{send,confirm,return}`: payout
//! instructions created by settlement runs, and their lifecycle
//! (`domain::payouts::transition`). Approval (`awaiting_approval` →
//! `approved`) is done by the approvals endpoints on the payout resource.
//!
//! `POST /v1/payouts/{id}/release` (operator) releases a payout a risk hold
//! kept `held`: it becomes what a payout of its amount would have been at
//! its run (`domain::payouts::initial_status` of a credit under the
//! account's policy as it is now): `approved`, or `awaiting_approval` with
//! an `approval` resource (`AP-` + the payout id, the operator as maker, so
//! the owners decide) when the amount passes the account's threshold. Its
//! money was posted to the account's payout clearing account by the run,
//! so nothing moves in the ledger. The payout keeps `kind` `held` (why it
//! exists) and gains `released_at`. Every other status answers 409. The
//! merchant's risk hold itself is not lifted: a later run holds again.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::money::AmountMinor;
use domain::payouts::{LegKind, PayoutAction, PayoutStatus, initial_status, transition};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceQuery, ResourceRow};

use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::{Action, Answer, ApiError, ApiState, Caller, PostRequest, Role, authorize};

/// Longest return reason.
pub const REASON_LEN_MAX: usize = 200;
/// Most accounts an owner's payout list reads.
const OWNED_ACCOUNTS_MAX: u64 = 500;

/// Query of `GET /v1/payouts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayoutsQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    status: Option<String>,
    account: Option<String>,
}

/// The accounts an owner party owns.
async fn owned_accounts(state: &ApiState, party: String) -> Result<Vec<String>, ApiError> {
    let query = ResourceQuery {
        kind: "account".into(),
        limit: OWNED_ACCOUNTS_MAX,
        ..ResourceQuery::default()
    };
    let rows = state.read(move |store| store.resources(&query)).await?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            let document: Value = serde_json::from_str(&row.document).unwrap_or(Value::Null);
            document["owners"]
                .as_array()
                .is_some_and(|owners| owners.iter().any(|o| o["party"] == party.as_str()))
        })
        .map(|row| row.id)
        .collect())
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PayoutsQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadPayouts)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    if let Some(status) = &query.status {
        if PayoutStatus::parse(status).is_none() {
            return Err(ApiError::field("status", "a payout status"));
        }
    }
    let scopes: Vec<Option<String>> = match caller.role {
        Role::Owner => {
            let owned = owned_accounts(&state, caller.scope.clone()).await?;
            match &query.account {
                Some(account) if !owned.contains(account) => return Err(ApiError::NotFound),
                Some(account) => vec![Some(account.clone())],
                None => owned.into_iter().map(Some).collect(),
            }
        }
        _ => vec![query.account.clone()],
    };
    let mut rows: Vec<ResourceRow> = Vec::new();
    for scope in scopes {
        let ask = ResourceQuery {
            kind: "payout".into(),
            scope,
            status: query.status.clone(),
            after_id: page.after.clone(),
            limit: u64::from(page.limit) + 1,
        };
        rows.extend(state.read(move |store| store.resources(&ask)).await?);
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_cursor(&r.id)))
        .flatten();
    let items = rows
        .iter()
        .map(document_of)
        .collect::<Result<Vec<_>, _>>()?;
    let columns = [
        "id",
        "business_date",
        "cycle",
        "account",
        "kind",
        "amount.amount_minor",
        "status",
        "run_id",
        "approval_id",
        "return_reason",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

/// A payout's document with its stored status (approvals change only the
/// resource status).
fn document_of(row: &ResourceRow) -> Result<Value, ApiError> {
    let mut document: Value = serde_json::from_str(&row.document).map_err(ApiError::internal)?;
    document["status"] = json!(row.status);
    Ok(document)
}

/// Body of send and confirm: an empty object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// Body of return.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    reason: String,
}

pub(crate) async fn send(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (_, pending) = request
        .begin::<EmptyBody>(&state, caller, Action::ChangePayout)
        .await?;
    change(state, pending, id, PayoutAction::Send, None).await
}

pub(crate) async fn confirm(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (_, pending) = request
        .begin::<EmptyBody>(&state, caller, Action::ChangePayout)
        .await?;
    change(state, pending, id, PayoutAction::Confirm, None).await
}

pub(crate) async fn return_payout(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<ReturnBody>(&state, caller, Action::ChangePayout)
        .await?;
    let mut errors = Vec::new();
    super::wire::validate_text("reason", &body.reason, REASON_LEN_MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    change(state, pending, id, PayoutAction::Return, Some(body.reason)).await
}

async fn change(
    state: ApiState,
    pending: super::PendingWrite,
    id: String,
    action: PayoutAction,
    reason: Option<String>,
) -> Result<Response, ApiError> {
    let lookup = id.clone();
    let row = state
        .read(move |store| store.resource("payout", &lookup))
        .await?
        .ok_or(ApiError::NotFound)?;
    let from = PayoutStatus::parse(&row.status)
        .ok_or_else(|| ApiError::internal(format!("payout {id}: status {}", row.status)))?;
    let to = transition(from, action).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let now = state.now_ns();
    let mut document = document_of(&row)?;
    document["status"] = json!(to.as_str());
    let mut event = json!({"status": to.as_str(), "at": super::wire::rfc3339(now)});
    if let Some(reason) = &reason {
        document["return_reason"] = json!(reason);
        event["reason"] = json!(reason);
    }
    if let Some(history) = document["history"].as_array_mut() {
        history.push(event);
    }
    let replaced = ResourceRow {
        status: to.as_str().to_owned(),
        document: document.to_string(),
        updated_at_ns: now,
        ..row.clone()
    };
    let details = json!({"from": from.as_str(), "to": to.as_str(), "reason": reason});
    let audit = pending.audit(
        &state,
        &format!("payout.{}", action.as_str()),
        &format!("payouts/{id}"),
        &details,
    );
    let answer = Answer {
        status: StatusCode::OK,
        body: &document,
        stored_body: None,
    };
    let change = ApiChange::PutResources(vec![ResourcePut::replace(replaced, row.version)]);
    pending.commit(&state, change, audit, answer).await
}

pub(crate) async fn release(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (_, pending) = request
        .begin::<EmptyBody>(&state, caller, Action::ChangePayout)
        .await?;
    let lookup = id.clone();
    let row = state
        .read(move |store| store.resource("payout", &lookup))
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.status != PayoutStatus::Held.as_str() {
        return Err(ApiError::Conflict(format!(
            "payout {id} is {}: only a held payout can be released",
            row.status
        )));
    }
    let account = row.scope.clone();
    let account_row = state
        .read(move |store| store.resource("account", &account))
        .await?;
    let policy: Value = account_row
        .map(|r| serde_json::from_str(&r.document).map_err(ApiError::internal))
        .transpose()?
        .map_or(Value::Null, |document: Value| document["policy"].clone());
    let threshold = policy["payout_threshold"]["amount_minor"]
        .as_i64()
        .map(AmountMinor);
    let now = state.now_ns();
    let mut document = document_of(&row)?;
    let amount = document["amount"]["amount_minor"]
        .as_i64()
        .ok_or_else(|| ApiError::internal(format!("payout {id}: no amount")))?;
    let to = initial_status(LegKind::Credit, AmountMinor(amount), threshold);
    let at = super::wire::rfc3339(now);
    let mut puts = Vec::with_capacity(2);
    let approval = (to == PayoutStatus::AwaitingApproval)
        .then(|| crate::settlement::documents::approval_id(&id));
    if let Some(approval) = &approval {
        let requested = super::accounts::docs::Requester::of(pending.caller());
        let required = policy["payout_approvals_required"].as_u64().unwrap_or(1);
        let approval_document = json!({
            "id": approval,
            "subject_kind": "payout",
            "subject_id": id,
            "account": row.scope,
            "required": required.max(1),
            "approvals": [],
            "rejections": [],
            "requested_by": requested,
            "status": "pending",
            "amount": document["amount"],
            "expires_at": super::wire::rfc3339(
                now.saturating_add(crate::settlement::documents::APPROVAL_TTL_NS)),
            "created_at": at,
        });
        let approval_row = super::accounts::docs::row(
            "approval",
            approval,
            &row.scope,
            "pending",
            &approval_document,
            now,
            now,
        )?;
        puts.push(ResourcePut::create(approval_row));
    }
    document["status"] = json!(to.as_str());
    document["approval_id"] = json!(approval);
    document["released_at"] = json!(at);
    if let Some(history) = document["history"].as_array_mut() {
        history.push(json!({"status": to.as_str(), "at": at, "released": true}));
    }
    let replaced = ResourceRow {
        status: to.as_str().to_owned(),
        document: document.to_string(),
        updated_at_ns: now,
        ..row.clone()
    };
    puts.insert(0, ResourcePut::replace(replaced, row.version));
    let details = json!({"from": row.status, "to": to.as_str(), "approval_id": approval});
    let audit = pending.audit(&state, "payout.release", &format!("payouts/{id}"), &details);
    let answer = Answer {
        status: StatusCode::OK,
        body: &document,
        stored_body: None,
    };
    pending
        .commit(&state, ApiChange::PutResources(puts), audit, answer)
        .await
}

/// JSON schema of a payout.
pub fn payout_schema() -> Value {
    let statuses: Vec<&str> = PayoutStatus::ALL.iter().map(|s| s.as_str()).collect();
    json!({"type": "object", "required": ["id", "account", "kind", "amount", "status"],
        "properties": {
            "id": {"type": "string"}, "run_id": {"type": "string"}, "pass": {"type": "integer"},
            "business_date": {"type": "string", "format": "date"}, "cycle": {"type": "string"},
            "account": {"type": "string"}, "kind": {"type": "string", "enum": ["credit", "debit", "held"]},
            "amount": super::wire::Money::schema(), "merchants": {"type": "integer"},
            "status": {"type": "string", "enum": statuses},
            "approval_id": {"type": ["string", "null"]}, "return_reason": {"type": ["string", "null"]},
            "released_at": {"type": "string", "format": "date-time"},
            "history": {"type": "array", "items": {"type": "object"}},
            "created_at": {"type": "string", "format": "date-time"}}})
}

/// JSON schema of the return body.
pub fn return_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": REASON_LEN_MAX}}})
}

/// JSON schema of the send and confirm bodies.
pub fn empty_schema() -> Value {
    json!({"type": "object", "additionalProperties": false})
}

/// Query parameters of the payout list.
pub fn filter_parameters() -> Vec<Value> {
    ["status", "account"]
        .iter()
        .map(|name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}))
        .collect()
}
