//! The role matrix, generated from the endpoint table: every endpoint of
//! `host::api::openapi::endpoints()` × every role (operator, bank, brand,
//! merchant own/other, owner own/other). An endpoint without a row here
//! fails the test. For each: 401 without a key, 403 for a role its
//! `x-roles` do not list, and the row's answer — the endpoint's success
//! status or 404 for another party's resource — for the roles it lists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;
#[path = "accounts_support/mod.rs"]
mod accounts;

use accounts::*;
use host::records::Record;
use serde_json::{Value, json};
use support::*;

engines!(every_endpoint_for_every_role);

/// The endpoint's success status.
const OK: u16 = 0;
/// Another party's resource.
const NF: u16 = 404;
/// Not allowed to the role.
const NO: u16 = 403;

/// Column names, in the order of `Row::expect`.
const COLUMNS: [&str; 7] = [
    "operator",
    "bank",
    "brand",
    "merchant own",
    "merchant other",
    "owner own",
    "owner other",
];

/// One endpoint: its method and OpenAPI path, the concrete path to call
/// (`{a1}`, `{a2}` become pending approval ids), the body kind, and the
/// expected answer per column.
struct Row {
    method: &'static str,
    pattern: &'static str,
    path: &'static str,
    body: &'static str,
    expect: [u16; 7],
}

const fn row(
    method: &'static str,
    pattern: &'static str,
    path: &'static str,
    body: &'static str,
    expect: [u16; 7],
) -> Row {
    Row {
        method,
        pattern,
        path,
        body,
        expect,
    }
}

const ROWS: &[Row] = &[
    row("get", "/v1/health", "/v1/health", "", [OK; 7]),
    row("get", "/v1/openapi.json", "/v1/openapi.json", "", [OK; 7]),
    row(
        "post",
        "/v1/api-keys",
        "/v1/api-keys",
        "key",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/fee-plans",
        "/v1/fee-plans",
        "fee_plan",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/fee-plans",
        "/v1/fee-plans",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/fee-plans/{code}",
        "/v1/fee-plans/STANDARD",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/programs",
        "/v1/programs",
        "program",
        [OK, OK, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/programs/{code}",
        "/v1/programs/DBCOFFEE",
        "",
        [OK, OK, OK, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/audit",
        "/v1/audit",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/audit/verify",
        "/v1/audit/verify",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/accounts",
        "/v1/accounts",
        "account",
        [OK, OK, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/accounts/{id}",
        "/v1/accounts/ACC-JOINT-1",
        "",
        [OK, OK, NO, NO, NO, OK, NF],
    ),
    row(
        "post",
        "/v1/merchants/{mid}/bindings",
        "/v1/merchants/100000000000001/bindings",
        "binding",
        [OK, NO, NO, OK, NF, OK, NF],
    ),
    row(
        "get",
        "/v1/merchants/{mid}/bindings",
        "/v1/merchants/100000000000001/bindings",
        "",
        [OK, NO, NO, OK, NF, NO, NO],
    ),
    row(
        "get",
        "/v1/merchants/{mid}/bindings/in-force",
        "/v1/merchants/100000000000001/bindings/in-force?date=2026-01-01",
        "",
        [OK, NO, NO, OK, NF, NO, NO],
    ),
    row(
        "get",
        "/v1/approvals",
        "/v1/approvals",
        "",
        [OK, NO, NO, NO, NO, OK, OK],
    ),
    row(
        "post",
        "/v1/approvals/{id}/approve",
        "/v1/approvals/{a1}/approve",
        "decision",
        [NO, NO, NO, NO, NO, OK, NF],
    ),
    row(
        "post",
        "/v1/approvals/{id}/reject",
        "/v1/approvals/{a2}/reject",
        "decision",
        [NO, NO, NO, NO, NO, OK, NF],
    ),
    row(
        "get",
        "/v1/transactions",
        "/v1/transactions",
        "",
        [OK, OK, OK, OK, OK, NO, NO],
    ),
    row(
        "get",
        "/v1/transactions/{id}",
        "/v1/transactions/000000000001",
        "",
        [OK, OK, OK, OK, NF, NO, NO],
    ),
    row(
        "get",
        "/v1/ledger/accounts/{id}/balance",
        "/v1/ledger/accounts/2/balance",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/merchants",
        "/v1/merchants",
        "merchant",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/merchants",
        "/v1/merchants",
        "",
        [OK, OK, NO, OK, OK, NO, NO],
    ),
    row(
        "get",
        "/v1/merchants/{mid}",
        "/v1/merchants/100000000000001",
        "",
        [OK, OK, NO, OK, NF, NO, NO],
    ),
    row(
        "put",
        "/v1/merchants/{mid}/contract",
        "/v1/merchants/100000000000002/contract",
        "contract",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/merchants/{mid}/onboarding",
        "/v1/merchants/100000000000001/onboarding",
        "",
        [OK, NO, NO, OK, NF, NO, NO],
    ),
    // The sandbox merchant in certification has passed no test yet: the
    // operator gets past authorization to the gate's 409.
    row(
        "post",
        "/v1/merchants/{mid}/onboarding/advance",
        "/v1/merchants/100000000000003/onboarding/advance",
        "advance",
        [409, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/merchants/{mid}/onboarding/reject",
        "/v1/merchants/100000000000003/onboarding/reject",
        "reject",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/terminals",
        "/v1/terminals",
        "terminal",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/terminals/{tid}",
        "/v1/terminals/T0000001",
        "",
        [OK, NO, NO, OK, NF, NO, NO],
    ),
    row(
        "post",
        "/v1/terminals/{tid}/activate",
        "/v1/terminals/T0000001/activate",
        "status",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/terminals/{tid}/suspend",
        "/v1/terminals/T0000004/suspend",
        "status",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/reports/daily",
        "/v1/reports/daily?date=2026-11-24",
        "",
        [OK, OK, OK, OK, OK, NO, NO],
    ),
    row(
        "get",
        "/v1/reconciliation/exceptions",
        "/v1/reconciliation/exceptions",
        "",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/settlement-runs",
        "/v1/settlement-runs",
        "run",
        [OK, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "get",
        "/v1/settlement-runs/{id}",
        "/v1/settlement-runs/SR-20261124-T1",
        "",
        [OK, NO, NO, OK, OK, NO, NO],
    ),
    row(
        "get",
        "/v1/settlements",
        "/v1/settlements",
        "",
        [OK, NO, NO, OK, OK, NO, NO],
    ),
    row(
        "get",
        "/v1/payouts",
        "/v1/payouts",
        "",
        [OK, NO, NO, NO, NO, OK, OK],
    ),
    // No payout exists: the operator gets past authorization to the 404.
    row(
        "post",
        "/v1/payouts/{id}/send",
        "/v1/payouts/PO-NONE/send",
        "decision",
        [404, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/payouts/{id}/confirm",
        "/v1/payouts/PO-NONE/confirm",
        "decision",
        [404, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/payouts/{id}/return",
        "/v1/payouts/PO-NONE/return",
        "return",
        [404, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/payouts/{id}/release",
        "/v1/payouts/PO-NONE/release",
        "decision",
        [404, NO, NO, NO, NO, NO, NO],
    ),
    // The merchant's records have no ledger account here: the operator
    // gets past authorization and validation to the 409.
    row(
        "post",
        "/v1/merchants/{mid}/adjustments",
        "/v1/merchants/100000000000001/adjustments",
        "adjustment",
        [409, NO, NO, NO, NO, NO, NO],
    ),
    // QR payments and issuer cards need the terminal host, which this
    // in-process API runs without (409); another merchant's MID is 422.
    row(
        "post",
        "/v1/qr/payments",
        "/v1/qr/payments",
        "qr_payment",
        [409, NO, NO, 409, 422, NO, NO],
    ),
    row(
        "post",
        "/v1/qr/orders",
        "/v1/qr/orders",
        "qr_order",
        [OK, NO, NO, OK, 422, NO, NO],
    ),
    row(
        "get",
        "/v1/qr/orders/{id}",
        "/v1/qr/orders/{o1}",
        "",
        [OK, NO, NO, OK, NF, NO, NO],
    ),
    row(
        "post",
        "/v1/qr/orders/{id}/pay",
        "/v1/qr/orders/{o1}/pay",
        "status",
        [409, NO, NO, NO, NO, NO, NO],
    ),
    row(
        "post",
        "/v1/issuer/cards",
        "/v1/issuer/cards",
        "issuer_card",
        [409, NO, NO, NO, NO, NO, NO],
    ),
];

fn body(kind: &str, i: usize) -> String {
    match kind {
        "key" => r#"{"role":"merchant","scope":"100000000000001","label":"till"}"#.to_owned(),
        "fee_plan" => fee_plan(&format!("MATRIX{i}")),
        "program" => program(&format!("MATRIX{i}"), "DEMOBANK", "LUCKYCOFFEE"),
        "account" => json!({"id": format!("ACC-MATRIX-{i}"), "kind": "single", "name": "M",
            "bank": "DEMOBANK", "owners": [{"party": "M", "name": "M"}]})
        .to_string(),
        "binding" => whole("ACC-DUO").to_string(),
        "decision" => "{}".to_owned(),
        "merchant" => json!({"mid": format!("90000000000000{i}"), "name": "Matrix Tea",
            "mcc": "5814", "address": {"line1": "1 Test Road", "city": "Shanghai",
                "postal_code": "200000", "country": "CN"},
            "legal_entity": {"name": "Matrix Tea Ltd", "registration_number": "91310000"}})
        .to_string(),
        "contract" => json!({"fee_plan": "STANDARD", "settlement_cycle": "T0",
            "cut_off": "23:00", "liability_split": {"merchant_bps": 7000, "acquirer_bps": 3000},
            "programs": []})
        .to_string(),
        "advance" => "{}".to_owned(),
        "reject" => json!({"to": "system_integration", "reason": "matrix"}).to_string(),
        "terminal" => json!({"tid": format!("MATRIX0{i}"), "mid": MID_2, "model": "PAX A920",
            "capabilities": ["chip", "contactless", "swipe", "pin"],
            "key_set": host::admin::key_set_id(
                &cardsec::TdesKey::from_hex(domain::sandbox::BDK_HEX).unwrap()),
            "initial_ksn": format!("FFFF98765433{i:02}E00000"), "mac_required": false})
        .to_string(),
        "status" => "{}".to_owned(),
        "run" => json!({"business_date": "2026-11-24", "cycle": "T1"}).to_string(),
        "return" => json!({"reason": "account closed"}).to_string(),
        "adjustment" => json!({"kind": "adjustment",
            "amount": {"amount_minor": -100, "currency": "CNY"}, "reason": "terminal rental"})
        .to_string(),
        "qr_payment" => json!({"mid": MID_1, "amount": {"amount_minor": 1_000, "currency": "CNY"},
            "payment_code": "281234567890123456"})
        .to_string(),
        "qr_order" => {
            json!({"mid": MID_1, "amount": {"amount_minor": 1_000, "currency": "CNY"}}).to_string()
        }
        "issuer_card" => json!({"pan": "6217009999999995", "expiry": "3012", "pin": "1234",
            "balance": {"amount_minor": 1_000, "currency": "CNY"}})
        .to_string(),
        _ => String::new(),
    }
}

/// Resources of merchant 1 and Li Wei the "own" columns reach, and two
/// pending approval requests of ACC-JOINT-1.
async fn setup(h: &Harness) -> (String, String, String) {
    seed_merchants(h).await;
    let mut records = merchant_records();
    records.push(Record::Transaction(transaction(
        "000000000001",
        MID_1,
        "T0000001",
        "622588******0019",
        "0101000000",
        3_800,
    )));
    write_records(h, records).await;
    ledger_with_transfers(h, &[100]).await;
    new_account(h, &joint("ACC-DUO", &["Li Wei", "Zhang Min"], 1)).await;
    let other_owner = new_key(h, "owner", "Corner Grocery Ltd").await;
    let mut approvals = Vec::new();
    for _ in 0..2 {
        let reply = request_binding(h, MERCHANT_1, MID_1, &whole("ACC-JOINT-1")).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        approvals.push(reply.json()["approvals"][0].as_str().unwrap().to_owned());
    }
    (other_owner, approvals[0].clone(), approvals[1].clone())
}

async fn every_endpoint_for_every_role(h: Harness) {
    let (other_owner, a1, a2) = setup(&h).await;
    let order = h
        .send(call("POST", "/v1/qr/orders", Some(MERCHANT_1)).body(&body("qr_order", 0)))
        .await;
    assert_eq!(order.status, 201, "{}", order.text);
    let o1 = order.json()["id"].as_str().unwrap().to_owned();
    let keys = [
        ADMIN,
        BANK,
        BRAND,
        MERCHANT_1,
        MERCHANT_2,
        OWNER_LIWEI,
        &other_owner,
    ];
    let document = host::api::openapi::document();
    let mut failures = Vec::new();
    for endpoint in host::api::openapi::endpoints() {
        let Some(row) = ROWS
            .iter()
            .find(|r| r.method == endpoint.method && r.pattern == endpoint.path)
        else {
            failures.push(format!(
                "{} {}: no row in the matrix",
                endpoint.method, endpoint.path
            ));
            continue;
        };
        let roles: Vec<&str> = document["paths"][endpoint.path][endpoint.method]["x-roles"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let path = row
            .path
            .replace("{a1}", &a1)
            .replace("{a2}", &a2)
            .replace("{o1}", &o1);
        let method = row.method.to_uppercase();
        if endpoint.action.is_some() {
            let mut request = call(&method, &path, None);
            let text = body(row.body, 0);
            if !text.is_empty() {
                request = request.body(&text);
            }
            let reply = h.send(request).await;
            if reply.status != 401 {
                failures.push(format!("{method} {path} without a key: {}", reply.status));
            }
        }
        for (column, key) in keys.iter().enumerate() {
            let role = COLUMNS[column].split(' ').next().unwrap();
            let allowed = endpoint.action.is_none() || roles.contains(&role);
            let expected = match row.expect[column] {
                OK => endpoint.response.0,
                other => other,
            };
            if allowed == (row.expect[column] == NO) {
                failures.push(format!(
                    "{method} {}: the row says {} for {} but x-roles are {roles:?}",
                    row.pattern, row.expect[column], COLUMNS[column]
                ));
                continue;
            }
            let text = body(row.body, column);
            let mut request = call(&method, &path, Some(key));
            if !text.is_empty() {
                request = request.body(&text);
            }
            let reply = h.send(request).await;
            if reply.status.as_u16() != expected {
                failures.push(format!(
                    "{method} {path} as {}: {} (expected {expected}): {}",
                    COLUMNS[column], reply.status, reply.text
                ));
            } else if expected >= 400 {
                assert_problem(&reply, expected);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
