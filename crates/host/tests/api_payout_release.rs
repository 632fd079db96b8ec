//! Releasing a risk-held payout over HTTP on both engines: to `approved`
//! (then sendable), or to `awaiting_approval` with an approval request when
//! the account's threshold asks for one; idempotent with
//! `Idempotency-Key`; any other status answers 409.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;
#[path = "settlement_support.rs"]
mod day;

use serde_json::json;
use store::WriteOp;
use store::api::{ApiChange, ApiWrite, ResourcePut, ResourceRow};
use support::*;

engines!(held_payouts_are_released);

const RUN: &str = "/v1/settlement-runs";
const BODY: &str = r#"{"business_date":"2026-11-24","cycle":"T1"}"#;
const HELD_1: &str = "PO-20261124-T1-1-ACC-H3-H";
const HELD_2: &str = "PO-20261124-T1-2-ACC-H3-H";
const JOINT: &str = "PO-20261124-T1-1-ACC-JOINT-1";

fn release(id: &str) -> String {
    format!("/v1/payouts/{id}/release")
}

async fn read(h: &Harness, kind: &str, id: &str) -> Option<ResourceRow> {
    let (kind, id) = (kind.to_owned(), id.to_owned());
    h.state
        .read(move |store| store.resource(&kind, &id))
        .await
        .unwrap()
}

/// Puts `put` alone, replacing the stored version if there is one.
async fn put_one(h: &Harness, put: ResourcePut) {
    let put = match read(h, &put.row.kind, &put.row.id).await {
        Some(row) => ResourcePut::replace(put.row, row.version),
        None => put,
    };
    let write = ApiWrite {
        change: ApiChange::PutResources(vec![put]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    h.state
        .write(vec![WriteOp::Api(Box::new(write))])
        .await
        .unwrap();
}

/// The scripted day over the sandbox (M3 under a risk hold, into ACC-H3).
async fn prepare(h: &Harness) {
    for op in day::setup().into_iter().flatten() {
        match op {
            WriteOp::Api(write) => {
                let ApiChange::PutResources(puts) = write.change else {
                    panic!("the day writes resources only");
                };
                for put in puts {
                    put_one(h, put).await;
                }
            }
            op => {
                h.state.write(vec![op]).await.unwrap();
            }
        }
    }
}

async fn held_payouts_are_released(h: Harness) {
    prepare(&h).await;
    assert_eq!(h.post(RUN, ADMIN, BODY).await.status, 201);
    let held = h.get("/v1/payouts?status=held", ADMIN).await.json();
    assert_eq!(held["items"][0]["id"], HELD_1, "{held}");
    let amount = held["items"][0]["amount"].clone();
    assert_eq!(
        h.post(&format!("/v1/payouts/{HELD_1}/send"), ADMIN, "{}")
            .await
            .status,
        409
    );

    // Only the operator; unknown payouts are 404; a body must be empty.
    assert_eq!(
        h.post(&release(HELD_1), OWNER_LIWEI, "{}").await.status,
        403
    );
    assert_eq!(h.post(&release(HELD_1), MERCHANT_1, "{}").await.status, 403);
    assert_eq!(h.post(&release("PO-NONE"), ADMIN, "{}").await.status, 404);
    let odd = h.post(&release(HELD_1), ADMIN, r#"{"x":1}"#).await;
    assert_eq!(odd.status, 422, "{}", odd.text);

    // No threshold on ACC-H3: released to approved, once.
    let audits = h.audit_count().await;
    let first = h
        .send(
            call("POST", &release(HELD_1), Some(ADMIN))
                .header("idempotency-key", "release-h1")
                .body("{}"),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let released = first.json();
    assert_eq!(released["status"], "approved");
    assert_eq!(released["kind"], "held");
    assert_eq!(released["amount"], amount);
    assert!(released["approval_id"].is_null());
    let history: Vec<&str> = released["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["held", "approved"]);
    assert_eq!(h.audit_count().await, audits + 1);
    let replay = h
        .send(
            call("POST", &release(HELD_1), Some(ADMIN))
                .header("idempotency-key", "release-h1")
                .body("{}"),
        )
        .await;
    assert_eq!((replay.status.as_u16(), replay.json()), (200, released));
    assert_eq!(h.audit_count().await, audits + 1, "a replay audits nothing");
    let again = h.post(&release(HELD_1), ADMIN, "{}").await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_problem(&again, 409);
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap()
            .contains("approved")
    );
    // Awaiting approval is not held either.
    assert_eq!(h.post(&release(JOINT), ADMIN, "{}").await.status, 409);
    let sent = h
        .post(&format!("/v1/payouts/{HELD_1}/send"), ADMIN, "{}")
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.json()["status"], "sent");

    // ACC-H3 now wants 1 approval above 1.00; a late item of M3 is held in
    // a second pass; its release waits for an owner.
    let mut account = read(&h, "account", "ACC-H3").await.unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&account.document).unwrap();
    document["policy"]["payout_threshold"] = json!({"amount_minor": 100, "currency": "CNY"});
    document["policy"]["payout_approvals_required"] = json!(1);
    account.document = document.to_string();
    put_one(&h, ResourcePut::create(account)).await;
    let late = day::item(
        "000000000399/capture",
        day::M3,
        "T0000004",
        "capture",
        20_000,
        120,
    );
    h.state
        .write(vec![WriteOp::SettlementItems(vec![late])])
        .await
        .unwrap();
    let run = h.post(RUN, ADMIN, BODY).await;
    assert_eq!(run.json()["passes"], 2, "{}", run.text);
    let waiting = h.post(&release(HELD_2), ADMIN, "{}").await;
    assert_eq!(waiting.status, 200, "{}", waiting.text);
    let waiting = waiting.json();
    assert_eq!(waiting["status"], "awaiting_approval");
    assert_eq!(waiting["amount"]["amount_minor"], 20_000 - 120);
    let approval_id = format!("AP-{HELD_2}");
    assert_eq!(waiting["approval_id"], approval_id.as_str());
    let approval = read(&h, "approval", &approval_id).await.unwrap();
    assert_eq!(
        (approval.status.as_str(), approval.scope.as_str()),
        ("pending", "ACC-H3")
    );
    let approval: serde_json::Value = serde_json::from_str(&approval.document).unwrap();
    assert_eq!(approval["subject_id"], HELD_2);
    assert_eq!(approval["requested_by"]["role"], "operator");
    assert_eq!(
        h.post(&format!("/v1/payouts/{HELD_2}/send"), ADMIN, "{}")
            .await
            .status,
        409
    );
    let stored = read(&h, "payout", HELD_2).await.unwrap();
    assert_eq!(stored.status, "awaiting_approval");
    let verify = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(verify["ok"], true);
}
