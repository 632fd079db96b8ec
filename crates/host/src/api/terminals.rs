//! `POST /v1/terminals`, `GET /v1/terminals/{tid}`,
//! `POST /v1/terminals/{tid}/activate`, `.../suspend`.
//!
//! A terminal is a versioned `terminal` resource (id = TID, scope = MID,
//! status `active` or `suspended`) AND the host's `TerminalRecord`, written
//! in one request through `crate::admin` like merchants: a registered
//! terminal is served by the running ISO 8583 host as soon as the answer is
//! sent, and a suspended one is answered `58`. The key set is named by the
//! key check value of the BDK the host derives the terminal's keys from
//! (no key travels through the API); the initial KSN (transaction counter
//! zero) selects the terminal's initial key under it and may not be shared
//! with another terminal.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cardsec::{Ksn, TdesKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceRow};

use crate::admin::{AdminChange, key_set_id};
use crate::records::TerminalRecord;

use super::extract::ApiPath;
use super::merchants::{self, Actor, is_mid, link};
use super::onboarding::capabilities;
use super::wire::{rfc3339, validate_text};
use super::{
    Action, Answer, ApiError, ApiState, Caller, FieldError, PendingWrite, PostRequest, Role,
    authorize,
};

/// The resource kind of terminals.
pub const KIND: &str = "terminal";
/// Longest model name.
pub const MODEL_LEN_MAX: usize = 64;
/// Most status changes kept in a terminal's history.
pub const HISTORY_MAX: usize = 256;

/// `POST /v1/terminals` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    tid: String,
    mid: String,
    model: String,
    capabilities: Vec<String>,
    key_set: String,
    initial_ksn: String,
    mac_required: bool,
}

/// `POST /v1/terminals/{tid}/activate|suspend` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    #[serde(default)]
    reason: Option<String>,
}

/// One status change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusStep {
    status: String,
    by: Actor,
    at: String,
    #[serde(default)]
    reason: Option<String>,
}

/// The stored and answered terminal document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Terminal {
    tid: String,
    mid: String,
    model: String,
    capabilities: Vec<String>,
    key_set: String,
    initial_ksn: String,
    mac_required: bool,
    status: String,
    history: Vec<StatusStep>,
    created_at: String,
    updated_at: String,
}

/// Whether `tid` is a TID: 8 characters of `A-Z 0-9`.
pub fn is_tid(tid: &str) -> bool {
    tid.len() == 8
        && tid
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The key set id terminals are registered with here: the running host's,
/// or without one in this process, the sandbox BDK's in a sandbox.
fn host_key_set(state: &ApiState) -> Option<String> {
    if let Some(host) = state.host() {
        return Some(host.key_set_id());
    }
    state
        .config()
        .sandbox
        .then(|| TdesKey::from_hex(domain::sandbox::BDK_HEX).ok())
        .flatten()
        .map(|bdk| key_set_id(&bdk))
}

impl RegisterBody {
    fn validate(&self, key_set: Option<&str>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_tid(&self.tid) {
            errors.push(FieldError::new("tid", "8 characters of A-Z and 0-9"));
        }
        if !is_mid(&self.mid) {
            errors.push(FieldError::new("mid", "15 digits"));
        }
        validate_text("model", &self.model, MODEL_LEN_MAX, &mut errors);
        capabilities("capabilities", &self.capabilities, &mut errors);
        match key_set {
            Some(known) if known == self.key_set => {}
            Some(known) => errors.push(FieldError::new(
                "key_set",
                format!("unknown key set (this host derives terminal keys from key set {known})"),
            )),
            None => errors.push(FieldError::new(
                "key_set",
                "no terminal host runs here to derive terminal keys",
            )),
        }
        let hex = self.initial_ksn.len() == 20
            && self
                .initial_ksn
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        match Ksn::from_hex(&self.initial_ksn) {
            Ok(ksn) if hex && ksn.counter() == 0 => {}
            Ok(_) if hex => errors.push(FieldError::new(
                "initial_ksn",
                "the transaction counter of an initial KSN is zero",
            )),
            _ => errors.push(FieldError::new("initial_ksn", "20 uppercase hex digits")),
        }
        errors
    }
}

/// The stored terminal `tid` and its row, if `caller` may see it.
async fn load(
    state: &ApiState,
    caller: &Caller,
    tid: &str,
) -> Result<(Terminal, ResourceRow), ApiError> {
    if !is_tid(tid) {
        return Err(ApiError::NotFound);
    }
    let row = link::resource(state, KIND, tid)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !merchants::visible(caller, &row.scope) || matches!(caller.role, Role::Bank) {
        return Err(ApiError::NotFound);
    }
    let terminal = serde_json::from_str(&row.document).map_err(ApiError::internal)?;
    Ok((terminal, row))
}

fn answer(terminal: &Terminal, version: u64) -> Value {
    let mut value = serde_json::to_value(terminal).unwrap_or(Value::Null);
    value["version"] = json!(version);
    value
}

impl Terminal {
    fn host_record(&self) -> TerminalRecord {
        TerminalRecord {
            tid: self.tid.clone(),
            mid: self.mid.clone(),
            initial_ksn: self.initial_ksn.clone(),
            mac_required: self.mac_required,
            active: self.status == "active",
        }
    }
}

/// Writes the terminal resource (created, or replacing `previous`) with
/// its audit event and the host's terminal record, in one request.
async fn commit(
    state: &ApiState,
    pending: PendingWrite,
    terminal: &Terminal,
    previous: Option<&ResourceRow>,
    action: &str,
) -> Result<Response, ApiError> {
    let now = state.now_ns();
    let row = ResourceRow {
        kind: KIND.to_owned(),
        id: terminal.tid.clone(),
        scope: terminal.mid.clone(),
        status: terminal.status.clone(),
        version: 0,
        document: serde_json::to_string(terminal).map_err(ApiError::internal)?,
        created_at_ns: previous.map_or(now, |p| p.created_at_ns),
        updated_at_ns: now,
    };
    let (put, version, status) = match previous {
        None => (ResourcePut::create(row), 1, StatusCode::CREATED),
        Some(p) => (
            ResourcePut::replace(row, p.version),
            p.version + 1,
            StatusCode::OK,
        ),
    };
    let body = answer(terminal, version);
    let answer = Answer {
        status,
        body: &body,
        stored_body: None,
    };
    let details = json!({"tid": terminal.tid, "mid": terminal.mid, "status": terminal.status,
        "model": terminal.model, "key_set": terminal.key_set, "mac_required": terminal.mac_required});
    let audit = pending.audit(
        state,
        action,
        &format!("terminals/{}", terminal.tid),
        &details,
    );
    let (op, text) = pending.write_op(state, ApiChange::PutResources(vec![put]), audit, &answer);
    let record = terminal.host_record();
    let creating = previous.is_none();
    let outcome = link::submit(state, move |host| {
        if creating {
            refuse_taken(host, &record)?;
        }
        Ok(AdminChange::terminal(record, Some(op)))
    })
    .await?;
    pending.finish(state, outcome.api(), status, text).await
}

/// A new terminal may not reuse a TID or an initial KSN the host knows.
fn refuse_taken(host: &crate::state::HostState, record: &TerminalRecord) -> Result<(), ApiError> {
    if host.terminals.contains_key(&record.tid) {
        return Err(ApiError::Conflict(
            "the host knows a terminal with this TID already".to_owned(),
        ));
    }
    if host
        .terminals
        .values()
        .any(|t| t.initial_ksn == record.initial_ksn)
    {
        return Err(ApiError::Conflict(
            "another terminal is registered with this initial KSN".to_owned(),
        ));
    }
    Ok(())
}

pub(crate) async fn register(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<RegisterBody>(&state, caller, Action::RegisterTerminal)
        .await?;
    let errors = body.validate(host_key_set(&state).as_deref());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    if link::resource(&state, merchants::KIND, &body.mid)
        .await?
        .is_none()
    {
        return Err(ApiError::field("mid", "no such merchant"));
    }
    if link::resource(&state, KIND, &body.tid).await?.is_some() {
        return Err(ApiError::Conflict(
            "a terminal with this TID exists already".to_owned(),
        ));
    }
    let now = rfc3339(state.now_ns());
    let terminal = Terminal {
        tid: body.tid,
        mid: body.mid,
        model: body.model,
        capabilities: body.capabilities,
        key_set: body.key_set,
        initial_ksn: body.initial_ksn,
        mac_required: body.mac_required,
        status: "active".to_owned(),
        history: vec![StatusStep {
            status: "active".to_owned(),
            by: Actor::of(pending.caller()),
            at: now.clone(),
            reason: None,
        }],
        created_at: now.clone(),
        updated_at: now,
    };
    commit(&state, pending, &terminal, None, "terminal.register").await
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(tid): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadTerminal)?;
    let (terminal, row) = load(&state, &caller, &tid).await?;
    Ok(axum::Json(answer(&terminal, row.version)).into_response())
}

async fn change_status(
    state: ApiState,
    caller: Caller,
    tid: String,
    request: PostRequest,
    status: &str,
) -> Result<Response, ApiError> {
    if !is_tid(&tid) {
        return Err(ApiError::NotFound);
    }
    let (body, pending) = request
        .begin::<StatusBody>(&state, caller, Action::ChangeTerminalStatus)
        .await?;
    let mut errors = Vec::new();
    if let Some(reason) = &body.reason {
        validate_text("reason", reason, 200, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (mut terminal, row) = load(&state, pending.caller(), &tid).await?;
    if terminal.status == status {
        // Already so: nothing changes, nothing is recorded.
        return Ok(axum::Json(answer(&terminal, row.version)).into_response());
    }
    if terminal.history.len() >= HISTORY_MAX {
        return Err(ApiError::Conflict(format!(
            "the terminal's history holds {HISTORY_MAX} changes"
        )));
    }
    let now = rfc3339(state.now_ns());
    terminal.status = status.to_owned();
    terminal.updated_at = now.clone();
    terminal.history.push(StatusStep {
        status: status.to_owned(),
        by: Actor::of(pending.caller()),
        at: now,
        reason: body.reason,
    });
    let action = if status == "active" {
        "terminal.activate"
    } else {
        "terminal.suspend"
    };
    commit(&state, pending, &terminal, Some(&row), action).await
}

pub(crate) async fn activate(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(tid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    change_status(state, caller, tid, request, "active").await
}

pub(crate) async fn suspend(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(tid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    change_status(state, caller, tid, request, "suspended").await
}

/// JSON schema of the register body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["tid", "mid", "model", "capabilities", "key_set", "initial_ksn", "mac_required"],
        "properties": {
            "tid": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
            "mid": {"type": "string", "pattern": "^[0-9]{15}$"},
            "model": {"type": "string", "minLength": 1, "maxLength": MODEL_LEN_MAX},
            "capabilities": {"type": "array", "items": {"type": "string",
                "enum": merchants::capability_names()}},
            "key_set": {"type": "string", "description": "key check value of the host's BDK"},
            "initial_ksn": {"type": "string", "pattern": "^[0-9A-F]{20}$"},
            "mac_required": {"type": "boolean"}}})
}

/// JSON schema of the activate / suspend body.
pub fn status_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200}}})
}

/// JSON schema of a terminal as answered.
pub fn response_schema() -> Value {
    let mut schema = request_schema();
    schema["additionalProperties"] = json!(true);
    schema["properties"]["status"] = json!({"type": "string", "enum": ["active", "suspended"]});
    schema["properties"]["history"] = json!({"type": "array", "items": {"type": "object"}});
    schema["properties"]["version"] = json!({"type": "integer", "minimum": 1});
    schema
}
