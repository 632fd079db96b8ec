//! `POST /v1/api-keys`: a new key, shown once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ApiKeyRow};

use super::auth::{generate_key, key_id};
use super::wire::validate_text;
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, hash_key};

/// Longest label and scope.
pub const LABEL_LEN_MAX: usize = 100;

/// `POST /v1/api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyBody {
    role: String,
    #[serde(default)]
    scope: Option<String>,
    label: String,
}

fn validate(body: &ApiKeyBody) -> Result<(Role, String), ApiError> {
    let mut errors = Vec::new();
    let role = Role::parse(&body.role);
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            "one of operator, bank, brand, merchant, owner",
        ));
    }
    let scope = body.scope.clone().unwrap_or_default();
    match role {
        Some(Role::Operator) if !scope.is_empty() => {
            errors.push(FieldError::new("scope", "operator keys have no scope"));
        }
        Some(role) if role != Role::Operator && scope.trim().is_empty() => {
            errors.push(FieldError::new("scope", "required for this role"));
        }
        _ => {}
    }
    if !scope.is_empty() {
        validate_text("scope", &scope, LABEL_LEN_MAX, &mut errors);
    }
    validate_text("label", &body.label, LABEL_LEN_MAX, &mut errors);
    match role {
        Some(role) if errors.is_empty() => Ok((role, scope)),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The row of a key.
pub(crate) fn key_row(
    pepper: &[u8],
    key: &str,
    role: Role,
    scope: &str,
    label: &str,
    now_ns: u64,
) -> ApiKeyRow {
    let key_hash = hash_key(pepper, key);
    ApiKeyRow {
        id: key_id(&key_hash),
        key_hash,
        role: role.as_str().to_owned(),
        scope: scope.to_owned(),
        label: label.to_owned(),
        created_at_ns: now_ns,
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<ApiKeyBody>(&state, caller, Action::CreateApiKey)
        .await?;
    let (role, scope) = validate(&body)?;
    let key = generate_key()?;
    let now = state.now_ns();
    let row = key_row(
        &state.config().key_pepper,
        &key,
        role,
        &scope,
        &body.label,
        now,
    );
    let mut shown = json!({
        "id": row.id,
        "role": row.role,
        "scope": if scope.is_empty() { Value::Null } else { json!(scope) },
        "label": row.label,
        "created_at": super::wire::rfc3339(now),
    });
    let audit = pending.audit(
        &state,
        "api_key.create",
        &format!("api-keys/{}", row.id),
        &shown,
    );
    // A repeat of the request shows the key's metadata but not the key.
    let stored = shown.clone();
    shown["key"] = json!(key);
    pending
        .commit(
            &state,
            ApiChange::CreateApiKey(row),
            audit,
            Answer {
                status: StatusCode::CREATED,
                body: &shown,
                stored_body: Some(&stored),
            },
        )
        .await
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["role", "label"],
        "properties": {
            "role": {"type": "string", "enum": ["operator", "bank", "brand", "merchant", "owner"]},
            "scope": {"type": "string", "maxLength": LABEL_LEN_MAX},
            "label": {"type": "string", "minLength": 1, "maxLength": LABEL_LEN_MAX}}})
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["id", "role", "label", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "key": {"type": "string", "description": "the key; shown only in the first response"},
            "role": {"type": "string"}, "scope": {"type": ["string", "null"]},
            "label": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}})
}
