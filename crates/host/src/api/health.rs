//! `GET /v1/health`: 200 while the terminal host decides; 503 with a
//! problem document once it has stopped after a failed commit (fail-stop,
//! see `crate::service`), so that a load balancer takes it out and an
//! operator restarts it. The host reaches the handler as an
//! [`axum::Extension`] that the server adds; an API served without a host
//! (in-process tests) reports only its storage.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiState;
use super::error::problem_type;
use crate::service::Host;

pub(crate) async fn health(
    State(state): State<ApiState>,
    host: Option<axum::Extension<Arc<Host>>>,
) -> Response {
    let healthy = host.is_none_or(|axum::Extension(host)| host.healthy());
    if healthy {
        return Json(json!({"status": "ok", "storage": state.storage()})).into_response();
    }
    let problem = json!({
        "type": problem_type("host-stopped"),
        "title": "Service Unavailable",
        "status": 503,
        "detail": "a commit failed: the terminal host has stopped deciding and answers 96 \
                   until it is restarted",
        "storage": state.storage(),
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, problem.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["status", "storage"],
        "properties": {"status": {"type": "string", "enum": ["ok"]},
            "storage": {"type": "string", "enum": ["sqlite", "postgres"]}}})
}
