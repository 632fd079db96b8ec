//! The endpoint table: the router and the OpenAPI 3 document are both built
//! from [`endpoints`], so every route is documented and every documented
//! route exists.

use axum::Json;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Map, Value, json};

use super::auth::roles_for;
use super::{
    Action, ApiState, api_keys, audit, extract, fee_plans, health, pagination, payouts, programs,
    settlement_runs,
};

/// One endpoint: its documentation and its handler.
pub struct Endpoint {
    /// `get` or `post`.
    pub method: &'static str,
    /// Path in OpenAPI form (`/v1/fee-plans/{code}`).
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// The action authorized (`None`: no authentication).
    pub action: Option<Action>,
    /// JSON schema of the request body (POST).
    pub request: Option<Value>,
    /// Success status and JSON schema of its body.
    pub response: (u16, Value),
    /// Parameters besides the body.
    pub parameters: Vec<Value>,
    /// Whether the list can be answered as CSV.
    pub csv: bool,
    handler: MethodRouter<ApiState>,
}

fn endpoint(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    action: Option<Action>,
    handler: MethodRouter<ApiState>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        action,
        request: None,
        response: (200, json!({"type": "object"})),
        parameters: Vec::new(),
        csv: false,
        handler,
    }
}

fn list_of(item: Value) -> Value {
    json!({"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": item},
        "next_cursor": {"type": ["string", "null"]}}})
}

fn path_parameter(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
}

/// Every endpoint of the API.
pub fn endpoints() -> Vec<Endpoint> {
    let mut list = vec![
        Endpoint {
            response: (200, health::response_schema()),
            ..endpoint(
                "get",
                "/v1/health",
                "Liveness and storage engine",
                None,
                get(health::health),
            )
        },
        endpoint(
            "get",
            "/v1/openapi.json",
            "This document",
            None,
            get(document_handler),
        ),
        Endpoint {
            request: Some(api_keys::request_schema()),
            response: (201, api_keys::response_schema()),
            ..endpoint(
                "post",
                "/v1/api-keys",
                "Create an API key (shown once)",
                Some(Action::CreateApiKey),
                post(api_keys::create),
            )
        },
        Endpoint {
            request: Some(fee_plans::request_schema()),
            response: (201, fee_plans::response_schema()),
            ..endpoint(
                "post",
                "/v1/fee-plans",
                "Create a fee plan",
                Some(Action::CreateFeePlan),
                post(fee_plans::create),
            )
        },
        Endpoint {
            response: (200, list_of(fee_plans::response_schema())),
            parameters: pagination::parameters(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/fee-plans",
                "List fee plans",
                Some(Action::ReadFeePlans),
                get(fee_plans::list),
            )
        },
        Endpoint {
            response: (200, fee_plans::response_schema()),
            parameters: vec![path_parameter("code")],
            ..endpoint(
                "get",
                "/v1/fee-plans/{code}",
                "One fee plan",
                Some(Action::ReadFeePlans),
                get(fee_plans::get),
            )
        },
        Endpoint {
            request: Some(programs::request_schema()),
            response: (201, programs::response_schema()),
            ..endpoint(
                "post",
                "/v1/programs",
                "Create a co-brand program",
                Some(Action::CreateProgram),
                post(programs::create),
            )
        },
        Endpoint {
            response: (200, programs::response_schema()),
            parameters: vec![path_parameter("code")],
            ..endpoint(
                "get",
                "/v1/programs/{code}",
                "One co-brand program (own bank or brand partner only)",
                Some(Action::ReadProgram),
                get(programs::get),
            )
        },
        Endpoint {
            response: (200, list_of(audit::event_schema())),
            parameters: [pagination::parameters(), audit::filter_parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/audit",
                "Audit events",
                Some(Action::ReadAudit),
                get(audit::list),
            )
        },
        Endpoint {
            response: (200, audit::verify_schema()),
            ..endpoint(
                "get",
                "/v1/audit/verify",
                "Verify the audit hash chain",
                Some(Action::ReadAudit),
                get(audit::verify),
            )
        },
    ];
    list.extend(settlement_endpoints());
    list.sort_by_key(|e| (e.path, e.method));
    list
}

/// Settlement runs, settlements and payouts.
fn settlement_endpoints() -> Vec<Endpoint> {
    let payout_action = |path, summary, handler, request: Value| Endpoint {
        request: Some(request),
        response: (200, payouts::payout_schema()),
        parameters: vec![path_parameter("id")],
        ..endpoint("post", path, summary, Some(Action::ChangePayout), handler)
    };
    vec![
        Endpoint {
            request: Some(settlement_runs::request_schema()),
            response: (201, settlement_runs::run_schema()),
            ..endpoint(
                "post",
                "/v1/settlement-runs",
                "Run settlement for a business date and cycle (idempotent: 200 with the same run)",
                Some(Action::RunSettlement),
                post(settlement_runs::create),
            )
        },
        Endpoint {
            response: (200, settlement_runs::run_schema()),
            parameters: [
                vec![path_parameter("id")],
                pagination::parameters(),
                settlement_runs::filter_parameters(),
            ]
            .concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/settlement-runs/{id}",
                "A run with its settlements; its settlement file as CSV",
                Some(Action::ReadSettlements),
                get(settlement_runs::get),
            )
        },
        Endpoint {
            response: (200, list_of(settlement_runs::settlement_schema())),
            parameters: [
                pagination::parameters(),
                settlement_runs::filter_parameters(),
            ]
            .concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/settlements",
                "Per-merchant settlements: net, fees, legs, payouts",
                Some(Action::ReadSettlements),
                get(settlement_runs::list),
            )
        },
        Endpoint {
            response: (200, list_of(payouts::payout_schema())),
            parameters: [pagination::parameters(), payouts::filter_parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/payouts",
                "Payout instructions (an owner: of its own accounts)",
                Some(Action::ReadPayouts),
                get(payouts::list),
            )
        },
        payout_action(
            "/v1/payouts/{id}/send",
            "Send an approved payout to the bank",
            post(payouts::send),
            payouts::empty_schema(),
        ),
        payout_action(
            "/v1/payouts/{id}/confirm",
            "The bank paid a sent payout",
            post(payouts::confirm),
            payouts::empty_schema(),
        ),
        payout_action(
            "/v1/payouts/{id}/return",
            "The bank returned a sent payout (with a reason)",
            post(payouts::return_payout),
            payouts::return_schema(),
        ),
    ]
}

/// The router of every endpoint, with problem-document fallbacks.
pub(crate) fn build_router() -> axum::Router<ApiState> {
    let mut router = axum::Router::new();
    for endpoint in endpoints() {
        router = router.route(endpoint.path, endpoint.handler);
    }
    router
        .fallback(extract::not_found)
        .method_not_allowed_fallback(extract::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            super::REQUEST_BODY_BYTES_MAX,
        ))
}

fn problem_response() -> Value {
    json!({"description": "problem", "content": {"application/problem+json": {"schema": {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer"}, "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}}}})
}

fn operation(endpoint: &Endpoint) -> Value {
    let (status, schema) = &endpoint.response;
    let mut content = json!({"application/json": {"schema": schema}});
    if endpoint.csv {
        content["text/csv"] = json!({"schema": {"type": "string"}});
    }
    let mut responses = json!({status.to_string(): {"description": "success", "content": content}});
    let mut parameters = endpoint.parameters.clone();
    let mut op = json!({"summary": endpoint.summary});
    if let Some(action) = endpoint.action {
        let roles: Vec<&str> = roles_for(action).iter().map(|r| r.as_str()).collect();
        op["x-roles"] = json!(roles);
        op["security"] = json!([{"bearer": []}]);
        for code in ["401", "403", "404", "422"] {
            responses[code] = problem_response();
        }
    }
    if let Some(request) = &endpoint.request {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": request}}});
        parameters.push(
            json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "schema": {"type": "string", "maxLength": extract::IDEMPOTENCY_KEY_BYTES_MAX}}),
        );
        for code in ["400", "409", "413", "415"] {
            responses[code] = problem_response();
        }
    }
    op["parameters"] = json!(parameters);
    op["responses"] = responses;
    op
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in endpoints() {
        let item = paths
            .entry(endpoint.path.to_owned())
            .or_insert_with(|| json!({}));
        item[endpoint.method] = operation(&endpoint);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "posbridge API", "version": "1"},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    })
}

async fn document_handler() -> Json<Value> {
    Json(document())
}
