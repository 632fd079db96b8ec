//! `GET /v1/audit`, `GET /v1/audit/verify`: the hash-chained audit log.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{AuditEvent, AuditFilter};

use super::extract::ApiQuery;
use super::pagination::{LIMIT_DEFAULT, LIMIT_MAX, list_response};
use super::wire::{hex, rfc3339};
use super::{Action, ApiError, ApiState, Caller, authorize};

/// Longest filter value.
const FILTER_LEN_MAX: usize = 200;

/// Query of `GET /v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    action: Option<String>,
    resource: Option<String>,
    actor_role: Option<String>,
}

/// The API representation of an event.
pub fn event_json(event: &AuditEvent) -> Value {
    let e = &event.entry;
    let details: Value =
        serde_json::from_str(&e.details).unwrap_or(Value::String(e.details.clone()));
    json!({
        "seq": event.seq,
        "time": rfc3339(e.time_ns),
        "actor": {"role": e.actor_role, "scope": if e.actor_scope.is_empty() { Value::Null } else { json!(e.actor_scope) }},
        "action": e.action,
        "resource": e.resource,
        "details": details,
        "previous_hash": hex(&event.previous_hash),
        "hash": hex(&event.hash),
    })
}

fn cursor_seq(cursor: Option<&str>) -> Result<u64, ApiError> {
    let Some(cursor) = cursor else { return Ok(0) };
    let page = super::pagination::Page::new(Some(1), Some(cursor))?;
    page.after
        .parse()
        .map_err(|_| ApiError::field("cursor", "not a cursor issued by this server"))
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadAudit)?;
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if limit == 0 || limit > LIMIT_MAX {
        return Err(ApiError::field("limit", format!("1 to {LIMIT_MAX}")));
    }
    let mut errors = Vec::new();
    for (field, value) in [
        ("action", &query.action),
        ("resource", &query.resource),
        ("actor_role", &query.actor_role),
    ] {
        if let Some(value) = value {
            super::wire::validate_text(field, value, FILTER_LEN_MAX, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = AuditFilter {
        after_seq: cursor_seq(query.cursor.as_deref())?,
        limit: u64::from(limit) + 1,
        action: query.action,
        resource: query.resource,
        actor_role: query.actor_role,
    };
    let mut events = state.read(move |store| store.audit_events(&filter)).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next = more
        .then(|| {
            events
                .last()
                .map(|e| super::pagination::encode_cursor(&e.seq.to_string()))
        })
        .flatten();
    let items = events.iter().map(event_json).collect();
    let columns = [
        "seq",
        "time",
        "actor.role",
        "actor.scope",
        "action",
        "resource",
        "hash",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

pub(crate) async fn verify(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    authorize(&caller, Action::ReadAudit)?;
    let report = state.read(|store| store.verify_audit()).await?;
    Ok(Json(match report.broken {
        None => json!({"ok": true, "events": report.events, "head": hex(&report.head)}),
        Some(broken) => json!({"ok": false, "events": report.events,
            "broken": {"seq": broken.seq, "reason": broken.reason}}),
    }))
}

/// JSON schema of an event.
pub fn event_schema() -> Value {
    json!({"type": "object", "required": ["seq", "time", "actor", "action", "resource", "details", "hash"],
        "properties": {"seq": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
            "actor": {"type": "object", "properties": {"role": {"type": "string"}, "scope": {"type": ["string", "null"]}}},
            "action": {"type": "string"}, "resource": {"type": "string"}, "details": {},
            "previous_hash": {"type": "string"}, "hash": {"type": "string"}}})
}

/// JSON schema of the verification answer.
pub fn verify_schema() -> Value {
    json!({"type": "object", "required": ["ok", "events"],
        "properties": {"ok": {"type": "boolean"}, "events": {"type": "integer"}, "head": {"type": "string"},
            "broken": {"type": "object", "properties": {"seq": {"type": "integer"}, "reason": {"type": "string"}}}}})
}

/// The audit filters, for the OpenAPI document.
pub fn filter_parameters() -> Vec<Value> {
    ["action", "resource", "actor_role"]
        .into_iter()
        .map(|name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}))
        .collect()
}
