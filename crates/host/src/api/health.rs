//! `GET /v1/health`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::ApiState;

pub(crate) async fn health(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({"status": "ok", "storage": state.storage()}))
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["status", "storage"],
        "properties": {"status": {"type": "string", "enum": ["ok"]},
            "storage": {"type": "string", "enum": ["sqlite", "postgres"]}}})
}
