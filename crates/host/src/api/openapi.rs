//! The endpoint table: the router and the OpenAPI 3 document are both built
//! from [`endpoints`], so every route is documented and every documented
//! route exists.

use axum::Json;
use axum::routing::{MethodRouter, get, post, put};
use serde_json::{Map, Value, json};

use super::auth::roles_for;
use super::{
    Action, ApiState, api_keys, audit, extract, fee_plans, health, pagination, programs,
    reconciliation, reports,
};
use super::{accounts, approvals, bindings, ledger_balance, transactions};
use super::{adjustments, payouts, settlement_runs};
use super::{issuer_cards, qr};
use super::{merchants, onboarding, terminals};

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
        Endpoint {
            response: (200, reports::response_schema()),
            parameters: reports::parameters(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/reports/daily",
                "A business date's sales by merchant, terminal and channel; fees, fee share, points, discounts",
                Some(Action::ReadDailyReport),
                get(reports::daily),
            )
        },
        Endpoint {
            response: (200, list_of(reconciliation::exception_schema())),
            parameters: [
                pagination::parameters(),
                reconciliation::filter_parameters(),
            ]
            .concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/reconciliation/exceptions",
                "Batch and clearing mismatches",
                Some(Action::ReadReconciliation),
                get(reconciliation::list),
            )
        },
    ];
    list.extend(account_endpoints());
    list.extend(binding_endpoints());
    list.extend(merchant_endpoints());
    list.extend(settlement_endpoints());
    list.extend(qr_endpoints());
    list.sort_by_key(|e| (e.path, e.method));
    list
}

/// Merchants, their onboarding and their terminals.
fn merchant_endpoints() -> Vec<Endpoint> {
    let mid = || vec![path_parameter("mid")];
    let tid = || vec![path_parameter("tid")];
    vec![
        Endpoint {
            request: Some(merchants::request_schema()),
            response: (201, merchants::response_schema()),
            ..endpoint(
                "post",
                "/v1/merchants",
                "New merchant application (stage negotiation)",
                Some(Action::CreateMerchant),
                post(merchants::create),
            )
        },
        Endpoint {
            response: (200, list_of(merchants::response_schema())),
            parameters: [pagination::parameters(), merchants::filter_parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/merchants",
                "List merchants (a merchant key: itself)",
                Some(Action::ReadMerchants),
                get(merchants::list),
            )
        },
        Endpoint {
            response: (200, merchants::response_schema()),
            parameters: mid(),
            ..endpoint(
                "get",
                "/v1/merchants/{mid}",
                "One merchant (a merchant key: itself only)",
                Some(Action::ReadMerchants),
                get(merchants::get),
            )
        },
        Endpoint {
            request: Some(merchants::contract_schema()),
            response: (200, merchants::response_schema()),
            parameters: mid(),
            ..endpoint(
                "put",
                "/v1/merchants/{mid}/contract",
                "Set the merchant's contract (versioned update)",
                Some(Action::UpdateContract),
                put(merchants::put_contract),
            )
        },
        Endpoint {
            response: (200, onboarding::view_schema()),
            parameters: mid(),
            ..endpoint(
                "get",
                "/v1/merchants/{mid}/onboarding",
                "Onboarding stage, history, gate and certification progress",
                Some(Action::ReadOnboarding),
                get(onboarding::get),
            )
        },
        Endpoint {
            request: Some(onboarding::advance_schema()),
            response: (200, merchants::response_schema()),
            parameters: mid(),
            ..endpoint(
                "post",
                "/v1/merchants/{mid}/onboarding/advance",
                "Move to the next stage with this stage's artefacts (409 lists what is missing)",
                Some(Action::ChangeOnboarding),
                post(onboarding::advance),
            )
        },
        Endpoint {
            request: Some(onboarding::reject_schema()),
            response: (200, merchants::response_schema()),
            parameters: mid(),
            ..endpoint(
                "post",
                "/v1/merchants/{mid}/onboarding/reject",
                "Send back to an earlier stage with a reason",
                Some(Action::ChangeOnboarding),
                post(onboarding::reject),
            )
        },
        Endpoint {
            request: Some(terminals::request_schema()),
            response: (201, terminals::response_schema()),
            ..endpoint(
                "post",
                "/v1/terminals",
                "Register a terminal (served by the host at once)",
                Some(Action::RegisterTerminal),
                post(terminals::register),
            )
        },
        Endpoint {
            response: (200, terminals::response_schema()),
            parameters: tid(),
            ..endpoint(
                "get",
                "/v1/terminals/{tid}",
                "One terminal (a merchant key: its own)",
                Some(Action::ReadTerminal),
                get(terminals::get),
            )
        },
        Endpoint {
            request: Some(terminals::status_schema()),
            response: (200, terminals::response_schema()),
            parameters: tid(),
            ..endpoint(
                "post",
                "/v1/terminals/{tid}/activate",
                "Activate a terminal",
                Some(Action::ChangeTerminalStatus),
                post(terminals::activate),
            )
        },
        Endpoint {
            request: Some(terminals::status_schema()),
            response: (200, terminals::response_schema()),
            parameters: tid(),
            ..endpoint(
                "post",
                "/v1/terminals/{tid}/suspend",
                "Suspend a terminal (the host answers 58)",
                Some(Action::ChangeTerminalStatus),
                post(terminals::suspend),
            )
        },
    ]
}

/// Settlement accounts, approvals, transactions and ledger balances.
fn account_endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            request: Some(accounts::request_schema()),
            response: (201, accounts::response_schema()),
            ..endpoint(
                "post",
                "/v1/accounts",
                "Create a settlement account (single, joint or cobrand)",
                Some(Action::CreateAccount),
                post(accounts::create),
            )
        },
        Endpoint {
            response: (200, accounts::response_schema()),
            parameters: vec![path_parameter("id")],
            ..endpoint(
                "get",
                "/v1/accounts/{id}",
                "One settlement account (own bank, or owned accounts only)",
                Some(Action::ReadAccount),
                get(accounts::get),
            )
        },
        Endpoint {
            response: (200, list_of(approvals::response_schema())),
            parameters: [pagination::parameters(), approvals::list_parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/approvals",
                "Approval requests (an owner's inbox: its accounts' requests)",
                Some(Action::ReadApprovals),
                get(approvals::list),
            )
        },
        Endpoint {
            request: Some(approvals::request_schema()),
            response: (200, approvals::response_schema()),
            parameters: vec![path_parameter("id")],
            ..endpoint(
                "post",
                "/v1/approvals/{id}/approve",
                "Approve a request as an owner of its account",
                Some(Action::DecideApproval),
                post(approvals::approve),
            )
        },
        Endpoint {
            request: Some(approvals::request_schema()),
            response: (200, approvals::response_schema()),
            parameters: vec![path_parameter("id")],
            ..endpoint(
                "post",
                "/v1/approvals/{id}/reject",
                "Reject a request as an owner of its account (vetoes it)",
                Some(Action::DecideApproval),
                post(approvals::reject),
            )
        },
        Endpoint {
            response: (200, list_of(transactions::response_schema())),
            parameters: [pagination::parameters(), transactions::filter_parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/transactions",
                "Transactions (own merchant, own bank, own program's cards)",
                Some(Action::ReadTransactions),
                get(transactions::list),
            )
        },
        Endpoint {
            response: (200, transactions::response_schema()),
            parameters: vec![path_parameter("id")],
            ..endpoint(
                "get",
                "/v1/transactions/{id}",
                "One transaction by RRN",
                Some(Action::ReadTransactions),
                get(transactions::get),
            )
        },
        Endpoint {
            response: (200, ledger_balance::response_schema()),
            parameters: [vec![path_parameter("id")], pagination::parameters()].concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/ledger/accounts/{id}/balance",
                "Balances and balance history of a ledger account",
                Some(Action::ReadLedgerBalance),
                get(ledger_balance::get),
            )
        },
    ]
}

/// A merchant's bindings.
fn binding_endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            request: Some(bindings::request_schema()),
            response: (201, bindings::response_schema()),
            parameters: vec![path_parameter("mid")],
            ..endpoint(
                "post",
                "/v1/merchants/{mid}/bindings",
                "Request a binding of the merchant (or terminals) to accounts with split rules",
                Some(Action::RequestBinding),
                post(bindings::create),
            )
        },
        Endpoint {
            response: (200, list_of(bindings::response_schema())),
            parameters: [
                vec![path_parameter("mid")],
                pagination::parameters(),
                bindings::list_parameters(),
            ]
            .concat(),
            csv: true,
            ..endpoint(
                "get",
                "/v1/merchants/{mid}/bindings",
                "The merchant's binding history",
                Some(Action::ReadBindings),
                get(bindings::list),
            )
        },
        Endpoint {
            response: (200, bindings::in_force_schema()),
            parameters: [vec![path_parameter("mid")], bindings::in_force_parameters()].concat(),
            ..endpoint(
                "get",
                "/v1/merchants/{mid}/bindings/in-force",
                "The binding (accounts) settlement of a business date goes to",
                Some(Action::ReadBindings),
                get(bindings::get_in_force),
            )
        },
    ]
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
        payout_action(
            "/v1/payouts/{id}/release",
            "Release a held payout: approved, or awaiting approval above the account's threshold",
            post(payouts::release),
            payouts::empty_schema(),
        ),
        Endpoint {
            request: Some(adjustments::request_schema()),
            response: (201, adjustments::response_schema()),
            parameters: vec![path_parameter("mid")],
            ..endpoint(
                "post",
                "/v1/merchants/{mid}/adjustments",
                "Post a chargeback or an adjustment into the merchant's current settlement",
                Some(Action::AdjustSettlement),
                post(adjustments::create),
            )
        },
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

fn qr_endpoints() -> Vec<Endpoint> {
    let id = || vec![path_parameter("id")];
    vec![
        Endpoint {
            request: Some(qr::payment_request_schema()),
            response: (201, qr::payment_response_schema()),
            ..endpoint(
                "post",
                "/v1/qr/payments",
                "Consumer-presented QR: capture a scanned payment code (a decline is 201 with status declined)",
                Some(Action::CreateQrPayment),
                post(qr::pay),
            )
        },
        Endpoint {
            request: Some(qr::orders::request_schema()),
            response: (201, qr::orders::response_schema()),
            ..endpoint(
                "post",
                "/v1/qr/orders",
                "Merchant-presented dynamic QR for an amount",
                Some(Action::CreateQrOrder),
                post(qr::orders::create),
            )
        },
        Endpoint {
            response: (200, qr::orders::response_schema()),
            parameters: id(),
            ..endpoint(
                "get",
                "/v1/qr/orders/{id}",
                "One QR order (a merchant key: its own)",
                Some(Action::ReadQrOrder),
                get(qr::orders::get),
            )
        },
        Endpoint {
            request: Some(qr::orders::pay_schema()),
            response: (201, qr::payment_response_schema()),
            parameters: id(),
            ..endpoint(
                "post",
                "/v1/qr/orders/{id}/pay",
                "Sandbox: the wallet network's notification paying an order (once)",
                Some(Action::PayQrOrder),
                post(qr::orders::pay),
            )
        },
        Endpoint {
            request: Some(issuer_cards::request_schema()),
            response: (201, issuer_cards::response_schema()),
            ..endpoint(
                "post",
                "/v1/issuer/cards",
                "Sandbox: an on-us test card (answered masked, never the PAN or PIN)",
                Some(Action::CreateIssuerCard),
                post(issuer_cards::create),
            )
        },
    ]
}
