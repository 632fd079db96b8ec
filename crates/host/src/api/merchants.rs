//! `POST /v1/merchants`, `GET /v1/merchants`, `GET /v1/merchants/{mid}`,
//! `PUT /v1/merchants/{mid}/contract`.
//!
//! A merchant is a versioned `merchant` resource (id and scope = MID,
//! status = onboarding stage) AND the terminal host's `MerchantRecord`
//! (stage, fee plan, cycle, cut-off, MCC, program participation). Every
//! change writes both in ONE store request through `crate::admin` (see
//! [`commit`]), serialized by the API's admin lock and re-read under it, so
//! the resource's version check cannot fail and the two never disagree.
//! A new merchant gets its ledger account in the same request.

mod document;
pub(crate) mod link;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceQuery, ResourceRow};

use crate::admin::AdminChange;

pub(crate) use document::{Actor, Contract, Merchant, Step, is_mid};

use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::wire::rfc3339;
use super::{
    Action, Answer, ApiError, ApiState, Caller, FieldError, PendingWrite, PostRequest, Role,
    authorize,
};

/// The resource kind of merchants.
pub const KIND: &str = "merchant";

/// Whether `caller` may see merchant `mid` (operators and banks: every
/// merchant; a merchant: itself).
pub(crate) fn visible(caller: &Caller, mid: &str) -> bool {
    match caller.role {
        Role::Operator | Role::Bank => true,
        Role::Merchant => caller.scope == mid,
        Role::Brand | Role::Owner => false,
    }
}

/// The stored merchant `mid` and its row, if `caller` may see it.
///
/// # Errors
/// 404 for an unknown or invisible merchant; 500 for storage failures.
pub(crate) async fn load(
    state: &ApiState,
    caller: &Caller,
    mid: &str,
) -> Result<(Merchant, ResourceRow), ApiError> {
    if !is_mid(mid) || !visible(caller, mid) {
        return Err(ApiError::NotFound);
    }
    let row = link::resource(state, KIND, mid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let merchant = serde_json::from_str(&row.document).map_err(ApiError::internal)?;
    Ok((merchant, row))
}

/// The co-brand program whose participants the host serves with benefits.
fn host_program(state: &ApiState) -> Option<String> {
    match state.host() {
        Some(host) => host.program_code(),
        // `server::start` runs every host with the sandbox's program.
        None => Some(domain::sandbox::program().code),
    }
}

/// What a merchant change writes and answers.
pub(crate) struct Change<'a> {
    /// The new document.
    pub merchant: &'a Merchant,
    /// The row read (`None`: create).
    pub previous: Option<&'a ResourceRow>,
    /// Audit action, e.g. `merchant.create`.
    pub action: &'a str,
    /// Audit details.
    pub details: Value,
    /// Success status.
    pub status: StatusCode,
}

/// Writes a merchant change: the resource (created, or replacing the
/// version read), its audit event and idempotency record, and the host's
/// merchant record, in one request. Call under [`ApiState::admin_lock`].
///
/// # Errors
/// 409 when the resource changed or exists; the replay of a concurrent
/// repeat; 500 for storage failures.
pub(crate) async fn commit(
    state: &ApiState,
    pending: PendingWrite,
    change: Change<'_>,
) -> Result<Response, ApiError> {
    let merchant = change.merchant;
    let now = state.now_ns();
    let row = ResourceRow {
        kind: KIND.to_owned(),
        id: merchant.mid.clone(),
        scope: merchant.mid.clone(),
        status: merchant.stage.clone(),
        version: 0,
        document: serde_json::to_string(merchant).map_err(ApiError::internal)?,
        created_at_ns: change.previous.map_or(now, |p| p.created_at_ns),
        updated_at_ns: now,
    };
    let (put, version) = match change.previous {
        None => (ResourcePut::create(row), 1),
        Some(previous) => (
            ResourcePut::replace(row, previous.version),
            previous.version + 1,
        ),
    };
    let body = merchant.answer(version);
    let answer = Answer {
        status: change.status,
        body: &body,
        stored_body: None,
    };
    let resource = format!("merchants/{}", merchant.mid);
    let audit = pending.audit(state, change.action, &resource, &change.details);
    let (op, text) = pending.write_op(state, ApiChange::PutResources(vec![put]), audit, &answer);
    let record = merchant.host_record(host_program(state).as_deref());
    let outcome = link::submit(state, |host_state| {
        Ok(AdminChange::merchant(host_state, record, Some(op)))
    })
    .await?;
    pending
        .finish(state, outcome.api(), change.status, text)
        .await
}

fn validation(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<document::CreateBody>(&state, caller, Action::CreateMerchant)
        .await?;
    validation(body.validate())?;
    let now = rfc3339(state.now_ns());
    let merchant = Merchant::new(body, Actor::of(pending.caller()), &now);
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    if link::resource(&state, KIND, &merchant.mid).await?.is_some() {
        return Err(ApiError::Conflict(
            "a merchant with this MID exists already".to_owned(),
        ));
    }
    let details = serde_json::to_value(&merchant).map_err(ApiError::internal)?;
    let change = Change {
        merchant: &merchant,
        previous: None,
        action: "merchant.create",
        details,
        status: StatusCode::CREATED,
    };
    commit(&state, pending, change).await
}

/// Query of `GET /v1/merchants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    stage: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadMerchants)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    if let Some(stage) = &query.stage {
        if domain::onboarding::Stage::parse(stage).is_none() {
            return Err(ApiError::field("stage", "an onboarding stage"));
        }
    }
    let resources = ResourceQuery {
        kind: KIND.to_owned(),
        // A merchant key lists itself only.
        scope: (caller.role == Role::Merchant).then(|| caller.scope.clone()),
        status: query.stage,
        after_id: page.after.clone(),
        limit: u64::from(page.limit) + 1,
    };
    let mut rows = state.read(move |store| store.resources(&resources)).await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_cursor(&r.id)))
        .flatten();
    let items = rows
        .iter()
        .map(|row| {
            let merchant: Merchant =
                serde_json::from_str(&row.document).map_err(ApiError::internal)?;
            Ok(merchant.answer(row.version))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let columns = [
        "mid",
        "name",
        "mcc",
        "stage",
        "contract.fee_plan",
        "contract.settlement_cycle",
        "contract.cut_off",
        "legal_entity.name",
        "address.city",
        "created_at",
        "version",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadMerchants)?;
    let (merchant, row) = load(&state, &caller, &mid).await?;
    Ok(axum::Json(merchant.answer(row.version)).into_response())
}

/// Checks that the contract's fee plan and programs exist.
async fn references(state: &ApiState, contract: &Contract) -> Result<(), ApiError> {
    let plan = contract.fee_plan.clone();
    let programs = contract.programs.clone();
    let (plan_exists, missing) = state
        .read(move |store| {
            let plan_exists = store.fee_plan(&plan)?.is_some();
            let mut missing = Vec::new();
            for (i, code) in programs.iter().enumerate() {
                if store.program(code)?.is_none() {
                    missing.push(i);
                }
            }
            Ok((plan_exists, missing))
        })
        .await?;
    let mut errors = Vec::new();
    if !plan_exists {
        errors.push(FieldError::new("fee_plan", "no such fee plan"));
    }
    for i in missing {
        errors.push(FieldError::new(format!("programs[{i}]"), "no such program"));
    }
    validation(errors)
}

pub(crate) async fn put_contract(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    if !is_mid(&mid) {
        return Err(ApiError::NotFound);
    }
    let (contract, pending) = request
        .begin::<Contract>(&state, caller, Action::UpdateContract)
        .await?;
    validation(contract.validate())?;
    references(&state, &contract).await?;
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (mut merchant, row) = load(&state, pending.caller(), &mid).await?;
    if merchant.history.len() >= domain::onboarding::HISTORY_STEPS_MAX {
        return Err(ApiError::Conflict(
            "the merchant's history is full; no further step is taken".to_owned(),
        ));
    }
    let now = rfc3339(state.now_ns());
    merchant.history.push(Step {
        action: "contract".to_owned(),
        from: Some(merchant.stage.clone()),
        to: merchant.stage.clone(),
        by: Actor::of(pending.caller()),
        at: now.clone(),
        reason: None,
    });
    merchant.contract = Some(contract.clone());
    merchant.updated_at = now;
    let details = json!({"contract": contract, "version_replaced": row.version});
    let change = Change {
        merchant: &merchant,
        previous: Some(&row),
        action: "merchant.contract",
        details,
        status: StatusCode::OK,
    };
    commit(&state, pending, change).await
}

/// JSON schema of the `POST /v1/merchants` body.
pub fn request_schema() -> Value {
    document::create_schema()
}

/// JSON schema of the contract body.
pub fn contract_schema() -> Value {
    document::contract_schema()
}

/// JSON schema of a merchant as answered.
pub fn response_schema() -> Value {
    document::response_schema()
}

/// Filter parameters of the list.
pub fn filter_parameters() -> Vec<Value> {
    let stages: Vec<&str> = domain::onboarding::Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    vec![json!({"name": "stage", "in": "query", "required": false,
        "schema": {"type": "string", "enum": stages}})]
}

/// The capability names, for schemas.
pub fn capability_names() -> Vec<&'static str> {
    document::capability_names()
}
