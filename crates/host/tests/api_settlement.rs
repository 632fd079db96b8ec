//! Settlement over HTTP on both engines: running a run (idempotent), the
//! run and its settlement file, settlements by merchant, payouts by owner,
//! and the payout lifecycle with the approval of a joint payout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;
#[path = "settlement_support.rs"]
mod day;

use serde_json::{Value, json};
use store::WriteOp;
use store::api::{ApiChange, ApiWrite, ResourcePut};
use support::*;

engines!(runs_settlements_and_files, payout_lifecycle_with_approval);

const RUN: &str = "/v1/settlement-runs";
const BODY: &str = r#"{"business_date":"2026-11-24","cycle":"T1"}"#;
const JOINT: &str = "PO-20261124-T1-1-ACC-JOINT-1";

/// Writes the scripted day over the sandbox: each operation alone, and
/// each resource alone, replacing the sandbox's version where there is one.
async fn prepare(h: &Harness) {
    for op in day::setup().into_iter().flatten() {
        let WriteOp::Api(write) = op else {
            h.state.write(vec![op]).await.unwrap();
            continue;
        };
        let ApiChange::PutResources(puts) = write.change else {
            panic!("the day writes resources only");
        };
        for put in puts {
            let stored = {
                let (kind, id) = (put.row.kind.clone(), put.row.id.clone());
                h.state
                    .read(move |store| store.resource(&kind, &id))
                    .await
                    .unwrap()
            };
            // The day's version replaces a seeded one (e.g. a merchant
            // under a risk hold).
            let put = match stored {
                Some(row) => ResourcePut::replace(put.row, row.version),
                None => put,
            };
            let one = ApiWrite {
                change: ApiChange::PutResources(vec![put]),
                audit: None,
                idempotency: None,
                only_after_success: false,
            };
            h.state
                .write(vec![WriteOp::Api(Box::new(one))])
                .await
                .unwrap();
        }
    }
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn runs_settlements_and_files(h: Harness) {
    prepare(&h).await;
    let bad = h
        .post(RUN, ADMIN, r#"{"business_date":"2026-13-01","cycle":"T9"}"#)
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let problem = bad.json();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["business_date", "cycle"]);
    assert_eq!(h.post(RUN, MERCHANT_1, BODY).await.status, 403);
    let first = h.post(RUN, ADMIN, BODY).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let run = first.json();
    assert_eq!(
        (run["id"].as_str(), run["passes"].as_u64()),
        (Some("SR-20261124-T1"), Some(1))
    );
    assert_eq!(
        (run["status"].as_str(), run["settlements"].as_u64()),
        (Some("settled"), Some(5))
    );
    let again = h.post(RUN, ADMIN, BODY).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["passes"], 1);
    assert_eq!(again.json()["id"], run["id"]);

    let path = "/v1/settlement-runs/SR-20261124-T1";
    let whole = h.get(path, ADMIN).await.json();
    let mids: Vec<&str> = whole["settlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["mid"].as_str().unwrap())
        .collect();
    assert_eq!(mids, [day::M1, day::M2, day::M3, day::M4, day::M5]);
    assert_eq!(
        whole["settlements"][1]["net"],
        json!({"amount_minor": -43_060, "currency": "CNY"})
    );
    assert_eq!(whole["settlements"][1]["legs"][0]["kind"], "debit");
    let own = h.get(path, MERCHANT_1).await.json();
    assert_eq!(own["settlements"].as_array().unwrap().len(), 1);
    assert_eq!(own["settlements"][0]["mid"], day::M1);
    assert_eq!(own["settlements"][0]["legs"].as_array().unwrap().len(), 4);
    let file = h
        .send(call("GET", path, Some(ADMIN)).header("accept", "text/csv"))
        .await;
    assert_eq!(file.status, 200);
    assert!(file.content_type().starts_with("text/csv"));
    let lines: Vec<&str> = file.text.split("\r\n").collect();
    assert_eq!(lines.len(), 10, "{}", file.text);
    assert!(lines.contains(&"2026-11-24,T1,100000000000002,ACC-SINGLE-2,10000,50000,60,-43060,-43060,debit,PO-20261124-T1-1-ACC-SINGLE-2-D,approved"));
    for missing in [
        "/v1/settlement-runs/SR-20261125-T1",
        "/v1/settlement-runs/nothing",
    ] {
        assert_eq!(h.get(missing, ADMIN).await.status, 404, "{missing}");
    }

    // Lists: a merchant sees its own only; pages follow the cursor.
    let other = format!("/v1/settlements?merchant={}", day::M2);
    assert_eq!(h.get(&other, MERCHANT_1).await.status, 404);
    let mine = h
        .get("/v1/settlements?date=2026-11-24", MERCHANT_1)
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        h.get("/v1/settlements?date=24-11-2026", ADMIN).await.status,
        422
    );
    assert_eq!(h.get("/v1/settlements", OWNER_LIWEI).await.status, 403);
    let mut seen = Vec::new();
    let mut next = "/v1/settlements?limit=2".to_owned();
    loop {
        let page = h.get(&next, ADMIN).await.json();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["mid"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("/v1/settlements?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [day::M1, day::M2, day::M3, day::M4, day::M5]);
    let verify = h.get("/v1/audit/verify", ADMIN).await.json();
    assert!(verify["broken"].is_null(), "{verify}");
    let ledger = blocking(|| store::Store::open(&h.url).unwrap().verify_ledger().unwrap());
    assert!(ledger.violations.is_empty());
}

async fn payout_lifecycle_with_approval(h: Harness) {
    prepare(&h).await;
    assert_eq!(h.post(RUN, ADMIN, BODY).await.status, 201);
    // Owners see the payouts of their own accounts only.
    let liwei = h.get("/v1/payouts", OWNER_LIWEI).await.json();
    assert_eq!(ids(&liwei), ["PO-20261124-T1-1-ACC-A1", JOINT]);
    let zhang = h.get("/v1/payouts", OWNER_ZHANGMIN).await.json();
    assert_eq!(ids(&zhang), ["PO-20261124-T1-1-ACC-B1", JOINT]);
    assert_eq!(
        h.get("/v1/payouts?account=ACC-SINGLE-2", OWNER_LIWEI)
            .await
            .status,
        404
    );
    assert_eq!(h.get("/v1/payouts", MERCHANT_1).await.status, 403);
    let waiting = h
        .get("/v1/payouts?status=awaiting_approval", ADMIN)
        .await
        .json();
    assert_eq!(ids(&waiting), [JOINT]);
    let all = h.get("/v1/payouts?limit=500", ADMIN).await.json();
    assert_eq!(ids(&all).len(), 6);

    // Awaiting approval or held: cannot be sent.
    let send = |id: &str| format!("/v1/payouts/{id}/send");
    let refused = h.post(&send(JOINT), ADMIN, "{}").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("awaiting_approval")
    );
    assert_eq!(
        h.post(&send("PO-20261124-T1-1-ACC-H3-H"), ADMIN, "{}")
            .await
            .status,
        409
    );
    assert_eq!(h.post(&send("PO-nothing"), ADMIN, "{}").await.status, 404);
    assert_eq!(h.post(&send(JOINT), OWNER_LIWEI, "{}").await.status, 403);

    // The owner's approval moves the payout to approved (as the approvals
    // endpoint does); then it is sent and paid.
    approve(&h, JOINT).await;
    let sent = h.post(&send(JOINT), ADMIN, "{}").await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    assert_eq!(sent.json()["status"], "sent");
    let paid = h
        .post(&format!("/v1/payouts/{JOINT}/confirm"), ADMIN, "{}")
        .await
        .json();
    assert_eq!(paid["status"], "paid");
    let history: Vec<&str> = paid["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["awaiting_approval", "sent", "paid"]);
    let late = h
        .post(
            &format!("/v1/payouts/{JOINT}/return"),
            ADMIN,
            r#"{"reason":"x"}"#,
        )
        .await;
    assert_eq!(late.status, 409);

    // Returned by the bank, with a reason.
    let a1 = "PO-20261124-T1-1-ACC-A1";
    assert_eq!(h.post(&send(a1), ADMIN, "{}").await.status, 200);
    let path = format!("/v1/payouts/{a1}/return");
    assert_eq!(h.post(&path, ADMIN, "{}").await.status, 422);
    assert_eq!(h.post(&path, ADMIN, r#"{"reason":""}"#).await.status, 422);
    let returned = h
        .post(&path, ADMIN, r#"{"reason":"account closed"}"#)
        .await
        .json();
    assert_eq!(
        (
            returned["status"].as_str(),
            returned["return_reason"].as_str()
        ),
        (Some("returned"), Some("account closed"))
    );
    let listed = h.get("/v1/payouts?status=returned", ADMIN).await.json();
    assert_eq!(ids(&listed), [a1]);
    let csv = h
        .send(call("GET", "/v1/payouts?status=paid", Some(ADMIN)).header("accept", "text/csv"))
        .await;
    assert!(
        csv.text.contains(&format!(
            "{JOINT},2026-11-24,T1,ACC-JOINT-1,credit,5964000,paid"
        )),
        "{}",
        csv.text
    );
    // The settlement file shows the payouts' statuses now.
    let file = h
        .send(
            call(
                "GET",
                "/v1/settlements?merchant=100000000000001",
                Some(ADMIN),
            )
            .header("accept", "text/csv"),
        )
        .await;
    assert!(
        file.text
            .contains(",credit,PO-20261124-T1-1-ACC-A1,returned\r\n"),
        "{}",
        file.text
    );
}

async fn approve(h: &Harness, payout: &str) {
    let id = payout.to_owned();
    let url = h.url.clone();
    let mut row = blocking(move || {
        store::Store::open(&url)
            .unwrap()
            .resource("payout", &id)
            .unwrap()
            .unwrap()
    });
    assert_eq!(row.status, "awaiting_approval");
    let version = row.version;
    row.status = "approved".into();
    let change = ApiChange::PutResources(vec![ResourcePut::replace(row, version)]);
    let write = ApiWrite {
        change,
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    h.state
        .write(vec![WriteOp::Api(Box::new(write))])
        .await
        .unwrap();
}
