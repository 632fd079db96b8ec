//! `POST /v1/merchants/{mid}/bindings` (request a binding),
//! `GET /v1/merchants/{mid}/bindings` (the merchant's binding history) and
//! `GET /v1/merchants/{mid}/bindings/in-force?date=` (which accounts the
//! settlement of a business date goes to), and [`in_force`], the same
//! answer for the settlement runs.
//!
//! A binding is `pending_approval` until every bound account's binding
//! policy is met (one `approval` resource per account that needs one; a
//! binding into accounts needing none is approved at once). Approved, it
//! takes effect from the merchant's next business date and supersedes the
//! merchant's approved binding for the same terminals. Which binding is in
//! force on a date is decided by `domain::settlement::bindings::in_force`.
//!
//! Who may ask: operators; a merchant for itself; an account owner only to
//! change the binding of a merchant already bound to an account it owns,
//! and only into accounts it owns (a co-owner as maker: the maker never
//! counts toward the approvals, so the other owners decide).

pub mod lifecycle;
pub mod request;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::BusinessDate;
use domain::approvals::{ApprovalRequest, Policy, REQUEST_TTL_S};
use domain::settlement::bindings::ApprovedBinding;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceQuery, ResourceRow};
use store::{Store, StoreError};

use self::lifecycle::{approve, bindings_of, merchant_info, supersede};
use self::request::{BindingBody, Referenced, is_merchant_id, read_referenced, validate_shape};
use super::accounts::docs::{
    self, ACCOUNT, APPROVAL, AccountDoc, ApprovalDoc, BINDING, BindingDoc, Requester,
};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::wire::{Money, rfc3339};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, authorize};

/// Binding statuses.
pub const STATUSES: [&str; 5] = [
    "pending_approval",
    "approved",
    "rejected",
    "expired",
    "superseded",
];

/// The binding in force for merchant `mid` (and terminal `tid`) on
/// business `date`, from the stored bindings: what settlement of that date
/// pays into. `None` when no binding covers the date.
///
/// # Errors
/// Database errors; [`StoreError::Corrupt`] for an unreadable binding.
pub fn in_force(
    store: &mut Store,
    mid: &str,
    tid: Option<&str>,
    date: BusinessDate,
) -> store::Result<Option<BindingDoc>> {
    let mut rows = bindings_of(store, mid, "approved")?;
    rows.extend(bindings_of(store, mid, "superseded")?);
    let mut documents = Vec::with_capacity(rows.len());
    for row in &rows {
        let document: BindingDoc = serde_json::from_str(&row.document)
            .map_err(|e| StoreError::Corrupt(format!("binding {}: {e}", row.id)))?;
        documents.push(document);
    }
    let mut candidates = Vec::with_capacity(documents.len());
    let mut indexes = Vec::with_capacity(documents.len());
    for (index, document) in documents.iter().enumerate() {
        let Some(from) = document
            .effective_from
            .as_deref()
            .and_then(BusinessDate::parse)
        else {
            continue;
        };
        candidates.push(ApprovedBinding {
            terminals: &document.terminals,
            effective_from: from,
            approved_order: document.approved_at_ns.unwrap_or(0),
        });
        indexes.push(index);
    }
    let chosen = domain::settlement::bindings::in_force(&candidates, tid, date);
    Ok(chosen
        .and_then(|i| indexes.get(i))
        .and_then(|&index| documents.get(index))
        .cloned())
}

/// The accounts the merchant's approved bindings pay into.
fn bound_accounts(store: &mut Store, approved: &[ResourceRow]) -> store::Result<Vec<AccountDoc>> {
    let mut accounts = Vec::new();
    for row in approved {
        let Ok(binding) = serde_json::from_str::<BindingDoc>(&row.document) else {
            continue;
        };
        for split in &binding.splits {
            if let Some(account) = store.resource(ACCOUNT, &split.account)? {
                let document = serde_json::from_str(&account.document)
                    .map_err(|e| StoreError::Corrupt(format!("account {}: {e}", account.id)))?;
                accounts.push(document);
            }
        }
    }
    Ok(accounts)
}

/// An owner may change the binding of a merchant bound to one of its
/// accounts (404 otherwise: it is another party's merchant), into
/// accounts it owns only.
fn owner_may_request(
    caller: &Caller,
    refs: &Referenced,
    bound: &[AccountDoc],
) -> Result<(), ApiError> {
    if !bound.iter().any(|a| a.owned_by(&caller.scope)) {
        return Err(ApiError::NotFound);
    }
    if refs
        .accounts
        .values()
        .any(|(_, a)| !a.owned_by(&caller.scope))
    {
        return Err(ApiError::Forbidden(
            "an owner may bind only into accounts it owns".to_owned(),
        ));
    }
    Ok(())
}

/// One approval request per account whose policy asks for one.
fn approval_puts(
    body: &BindingBody,
    refs: &Referenced,
    binding_id: &str,
    requester: &Requester,
    now: u64,
) -> Result<(Vec<ResourcePut>, Vec<String>), ApiError> {
    let expires_ns = now.saturating_add(REQUEST_TTL_S.unsigned_abs() * 1_000_000_000);
    let expires_s = i64::try_from(expires_ns / 1_000_000_000).map_err(ApiError::internal)?;
    let (mut puts, mut ids) = (Vec::new(), Vec::new());
    for (i, split) in body.splits.iter().enumerate() {
        let Some((_, account)) = refs.accounts.get(&split.account) else {
            continue;
        };
        let required = account.policy.binding_approvals_required;
        if required == 0 {
            continue;
        }
        let policy = Policy::new(account.owner_set(), required).map_err(ApiError::internal)?;
        ApprovalRequest::open(&policy, &requester.maker(), expires_s)
            .map_err(|e| ApiError::field(format!("splits[{i}].account"), e.to_string()))?;
        let id = docs::new_id("APR", now)?;
        let document = ApprovalDoc {
            id: id.clone(),
            subject_kind: BINDING.to_owned(),
            subject_id: binding_id.to_owned(),
            account: account.id.clone(),
            required,
            approvals: Vec::new(),
            rejections: Vec::new(),
            requested_by: requester.clone(),
            status: "pending".to_owned(),
            expires_at: rfc3339(expires_ns),
            created_at: rfc3339(now),
            decided_at: None,
        };
        let row = docs::row(APPROVAL, &id, &account.id, "pending", &document, now, now)?;
        puts.push(ResourcePut::create(row));
        ids.push(id);
    }
    Ok((puts, ids))
}

/// Reads what a request refers to and the merchant's approved bindings,
/// and checks an owner's right to ask.
async fn read_context(
    state: &ApiState,
    caller: &Caller,
    mid: &str,
    body: &BindingBody,
) -> Result<(Referenced, Vec<ResourceRow>), ApiError> {
    let (key, terminals, splits) = (mid.to_owned(), body.terminals.clone(), body.splits.clone());
    let owner = caller.role == Role::Owner;
    let (refs, approved, bound) = state
        .read(move |store| {
            let refs = read_referenced(store, &key, &terminals, &splits)?;
            let approved = bindings_of(store, &key, "approved")?;
            let bound = if owner {
                bound_accounts(store, &approved)?
            } else {
                Vec::new()
            };
            Ok((refs, approved, bound))
        })
        .await?;
    let refs = refs
        .map_err(ApiError::Validation)?
        .ok_or(ApiError::NotFound)?;
    if owner {
        owner_may_request(caller, &refs, &bound)?;
    }
    Ok((refs, approved))
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<BindingBody>(&state, caller, Action::RequestBinding)
        .await?;
    let caller = pending.caller().clone();
    if !is_merchant_id(&mid) || (caller.role == Role::Merchant && caller.scope != mid) {
        return Err(ApiError::NotFound);
    }
    validate_shape(&body)?;
    let (refs, approved) = read_context(&state, &caller, &mid, &body).await?;
    let now = state.now_ns();
    let id = docs::new_id("BND", now)?;
    let requester = Requester::of(&caller);
    let (mut puts, approvals) = approval_puts(&body, &refs, &id, &requester, now)?;
    let mut binding = BindingDoc {
        id: id.clone(),
        mid: mid.clone(),
        terminals: body.terminals,
        splits: body.splits,
        status: "pending_approval".to_owned(),
        effective_from: None,
        approvals,
        requested_by: requester,
        created_at: rfc3339(now),
        approved_at: None,
        approved_at_ns: None,
        closed_at: None,
        superseded_by: None,
    };
    if binding.approvals.is_empty() {
        approve(&mut binding, now, refs.merchant)?;
        puts.extend(supersede(&binding, &approved, now)?);
    }
    let row = docs::row(BINDING, &id, &mid, &binding.status, &binding, now, now)?;
    puts.insert(0, ResourcePut::create(row));
    let answer = docs::value(&binding)?;
    let resource = format!("merchants/{mid}/bindings/{id}");
    let audit = pending.audit(&state, "binding.request", &resource, &answer);
    pending
        .commit(
            &state,
            ApiChange::PutResources(puts),
            audit,
            Answer::created(&answer),
        )
        .await
}

/// Checks the caller may read the bindings of `mid` and that it exists.
async fn readable_merchant(state: &ApiState, caller: &Caller, mid: &str) -> Result<(), ApiError> {
    authorize(caller, Action::ReadBindings)?;
    if !is_merchant_id(mid) || (caller.role == Role::Merchant && caller.scope != mid) {
        return Err(ApiError::NotFound);
    }
    let key = mid.to_owned();
    let merchant = state.read(move |store| merchant_info(store, &key)).await?;
    merchant.map(|_| ()).ok_or(ApiError::NotFound)
}

/// Query of the binding history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(mid): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    readable_merchant(&state, &caller, &mid).await?;
    if query
        .status
        .as_deref()
        .is_some_and(|s| !STATUSES.contains(&s))
    {
        return Err(ApiError::field("status", STATUSES.join(", ")));
    }
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let resource_query = ResourceQuery {
        kind: BINDING.to_owned(),
        scope: Some(mid),
        status: query.status,
        after_id: page.after.clone(),
        limit: u64::from(page.limit) + 1,
    };
    let mut rows = state
        .read(move |store| store.resources(&resource_query))
        .await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_cursor(&r.id)))
        .flatten();
    let items = rows
        .iter()
        .map(docs::parse::<Value>)
        .collect::<Result<Vec<_>, _>>()?;
    let columns = [
        "id",
        "status",
        "effective_from",
        "created_at",
        "approved_at",
        "superseded_by",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

/// Query of the in-force question.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InForceQuery {
    date: String,
    terminal: Option<String>,
}

pub(crate) async fn get_in_force(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    ApiQuery(query): ApiQuery<InForceQuery>,
) -> Result<Response, ApiError> {
    readable_merchant(&state, &caller, &mid).await?;
    let mut errors = Vec::new();
    let date = BusinessDate::parse(&query.date);
    if date.is_none() {
        errors.push(FieldError::new("date", "a date YYYY-MM-DD"));
    }
    if query
        .terminal
        .as_deref()
        .is_some_and(|t| !is_merchant_id(t))
    {
        errors.push(FieldError::new("terminal", "not a TID"));
    }
    let Some(date) = date.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let (key, terminal) = (mid.clone(), query.terminal.clone());
    let binding = state
        .read(move |store| in_force(store, &key, terminal.as_deref(), date))
        .await?;
    let accounts: Vec<&str> = binding
        .iter()
        .flat_map(|b| b.splits.iter().map(|s| s.account.as_str()))
        .collect();
    Ok(axum::Json(json!({
        "mid": mid,
        "terminal": query.terminal,
        "date": date.to_string(),
        "accounts": accounts,
        "binding": binding,
    }))
    .into_response())
}

fn split_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["account"],
        "properties": {"account": {"type": "string"},
            "share_bps": {"type": "integer", "minimum": 0, "maximum": 10000},
            "fixed": Money::schema()}})
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["splits"],
        "properties": {
            "terminals": {"type": "array", "maxItems": request::TERMINALS_MAX, "items": {"type": "string"}},
            "splits": {"type": "array", "minItems": 1,
                "maxItems": domain::settlement::SPLIT_ACCOUNTS_MAX, "items": split_schema()}}})
}

/// JSON schema of a binding as answered.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["id", "mid", "terminals", "splits", "status", "effective_from", "approvals", "requested_by", "created_at"],
        "properties": {
            "id": {"type": "string"}, "mid": {"type": "string"},
            "terminals": {"type": "array", "items": {"type": "string"}},
            "splits": {"type": "array", "items": split_schema()},
            "status": {"type": "string", "enum": STATUSES},
            "effective_from": {"type": ["string", "null"], "format": "date"},
            "approvals": {"type": "array", "items": {"type": "string"}},
            "requested_by": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"}}})
}

/// JSON schema of the in-force answer.
pub fn in_force_schema() -> Value {
    json!({"type": "object", "required": ["mid", "date", "accounts", "binding"],
        "properties": {"mid": {"type": "string"}, "terminal": {"type": ["string", "null"]},
            "date": {"type": "string", "format": "date"},
            "accounts": {"type": "array", "items": {"type": "string"}},
            "binding": {"oneOf": [response_schema(), {"type": "null"}]}}})
}

/// Query parameters of the history and in-force reads.
pub fn list_parameters() -> Vec<Value> {
    vec![json!({"name": "status", "in": "query", "required": false,
        "schema": {"type": "string", "enum": STATUSES}})]
}

/// Query parameters of the in-force read.
pub fn in_force_parameters() -> Vec<Value> {
    vec![
        json!({"name": "date", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}}),
        json!({"name": "terminal", "in": "query", "required": false, "schema": {"type": "string"}}),
    ]
}
