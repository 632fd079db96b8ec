//! Settlement accounts, bindings and joint-owner approvals through the
//! HTTP API, in-process, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;
#[path = "accounts_support/mod.rs"]
mod accounts;

use accounts::*;
use serde_json::{Value, json};
use support::*;

engines!(
    joint_binding_needs_both_owners_and_takes_effect_next_cycle,
    an_approved_binding_answers_where_each_date_settles,
    the_maker_never_counts,
    one_rejection_vetoes,
    requests_expire_after_72_hours,
    concurrent_approvals_never_lose_a_vote,
    owners_of_other_accounts_see_nothing,
    invalid_bodies_are_422_with_field_errors_and_change_nothing,
    accounts_are_scoped_to_banks_and_owners,
    splits_terminal_bindings_and_single_accounts,
    a_large_payout_is_approved_by_one_owner,
    a_binding_into_two_joint_accounts_needs_both_policies,
);

/// Approval ids of a binding answer.
fn approvals_of(binding: &Value) -> Vec<String> {
    binding["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn audit_actions(h: &Harness) -> Vec<String> {
    let all = h.get("/v1/audit?limit=500", ADMIN).await.json();
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn assert_chain_verifies(h: &Harness) {
    let report = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(report["ok"], true, "{report}");
}

async fn joint_binding_needs_both_owners_and_takes_effect_next_cycle(h: Harness) {
    seed_merchants(&h).await;
    let reply = request_binding(&h, MERCHANT_1, MID_1, &whole("ACC-JOINT-1")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let binding = reply.json();
    assert_eq!(binding["status"], "pending_approval");
    assert_eq!(binding["effective_from"], Value::Null);
    let approvals = approvals_of(&binding);
    assert_eq!(approvals.len(), 1, "one request for the one joint account");
    let id = &approvals[0];
    // Both owners see it in their inbox.
    for key in [OWNER_LIWEI, OWNER_ZHANGMIN] {
        let inbox = h.get("/v1/approvals", key).await.json();
        let items = inbox["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{inbox}");
        assert_eq!(items[0]["id"], id.as_str());
        assert_eq!(items[0]["required"], 2);
        assert_eq!(items[0]["subject_id"], binding["id"]);
    }
    // One approval: still pending; the binding too.
    let first = decide(&h, OWNER_LIWEI, id, "approve").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json()["status"], "pending");
    assert_eq!(first.json()["approvals"], json!(["Li Wei"]));
    assert_eq!(first.json()["subject_status"], "pending_approval");
    // Each owner counts once.
    assert_problem(&decide(&h, OWNER_LIWEI, id, "approve").await, 409);
    assert_eq!(
        in_force(&h, MID_1, "2026-01-02", None).await["binding"]["id"],
        "BND-SANDBOX-100000000000001"
    );
    // The second owner: approved, effective from the next business date
    // (2026-01-01T00:00Z is 08:00 in Shanghai: business date 01-01).
    let second = decide(&h, OWNER_ZHANGMIN, id, "approve").await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json()["status"], "approved");
    assert_eq!(second.json()["subject_status"], "approved");
    let history = h
        .get(&format!("/v1/merchants/{MID_1}/bindings"), MERCHANT_1)
        .await
        .json();
    let items = history["items"].as_array().unwrap();
    let find = |id: &str| items.iter().find(|b| b["id"] == id).unwrap().clone();
    let new = find(binding["id"].as_str().unwrap());
    assert_eq!(new["status"], "approved");
    assert_eq!(new["effective_from"], "2026-01-02");
    let old = find("BND-SANDBOX-100000000000001");
    assert_eq!(old["status"], "superseded");
    assert_eq!(old["superseded_by"], binding["id"]);
    // Decided: out of the inbox; a late decision is 409.
    let inbox = h.get("/v1/approvals", OWNER_LIWEI).await.json();
    assert_eq!(inbox["items"], json!([]));
    assert_problem(&decide(&h, OWNER_ZHANGMIN, id, "reject").await, 409);
    let actions = audit_actions(&h).await;
    let tail: Vec<&str> = actions
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        ["binding.request", "approval.approve", "approval.approve"]
    );
    assert_chain_verifies(&h).await;
}

/// Merchant 1 moved to ACC-JOINT-1 by a new binding both owners approved.
async fn approved_joint_binding(h: &Harness) -> Value {
    seed_merchants(h).await;
    let binding = request_binding(h, MERCHANT_1, MID_1, &whole("ACC-JOINT-1"))
        .await
        .json();
    let id = &approvals_of(&binding)[0];
    for key in [OWNER_LIWEI, OWNER_ZHANGMIN] {
        assert_eq!(decide(h, key, id, "approve").await.status, 200);
    }
    binding
}

async fn an_approved_binding_answers_where_each_date_settles(h: Harness) {
    let binding = approved_joint_binding(&h).await;
    // Which account settlement of each date goes to.
    let today = in_force(&h, MID_1, "2026-01-01", None).await;
    assert_eq!(today["binding"]["id"], "BND-SANDBOX-100000000000001");
    let tomorrow = in_force(&h, MID_1, "2026-01-02", Some("T0000001")).await;
    assert_eq!(tomorrow["binding"]["id"], binding["id"]);
    assert_eq!(tomorrow["accounts"], json!(["ACC-JOINT-1"]));
    // The settlement code's helper answers the same.
    let url = h.url.clone();
    let from_store = blocking(move || {
        let mut store = store::Store::open(&url).unwrap();
        let date = domain::BusinessDate::parse("2026-01-02").unwrap();
        host::api::bindings::in_force(&mut store, MID_1, Some("T0000002"), date).unwrap()
    })
    .unwrap();
    assert_eq!(from_store.id, binding["id"].as_str().unwrap());
    assert_eq!(from_store.split_lines().len(), 1);
}

async fn the_maker_never_counts(h: Harness) {
    seed_merchants(&h).await;
    new_account(
        &h,
        &joint("ACC-TRIO", &["Li Wei", "Zhang Min", "Wang Fang"], 2),
    )
    .await;
    let wang = new_key(&h, "owner", "Wang Fang").await;
    // An owner of the joint account merchant 1 is bound to asks to move it
    // to another account it owns: the maker is Li Wei.
    let reply = request_binding(&h, OWNER_LIWEI, MID_1, &whole("ACC-TRIO")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let binding = reply.json();
    let id = &approvals_of(&binding)[0];
    let own = decide(&h, OWNER_LIWEI, id, "approve").await;
    assert_problem(&own, 403);
    assert!(own.json()["detail"].as_str().unwrap().contains("maker"));
    let zhang = decide(&h, OWNER_ZHANGMIN, id, "approve").await;
    assert_eq!(zhang.json()["status"], "pending", "{}", zhang.text);
    let wang_reply = decide(&h, &wang, id, "approve").await;
    assert_eq!(
        wang_reply.json()["status"],
        "approved",
        "{}",
        wang_reply.text
    );
    assert_eq!(
        wang_reply.json()["approvals"],
        json!(["Wang Fang", "Zhang Min"])
    );
    // 2 of 2 with the maker as one owner can never be approved: refused.
    let reply = request_binding(&h, OWNER_LIWEI, MID_1, &whole("ACC-JOINT-1")).await;
    assert_problem(&reply, 422);
    assert_eq!(reply.json()["errors"][0]["field"], "splits[0].account");
    // An owner may not move a merchant that is not bound to its accounts.
    assert_problem(
        &request_binding(&h, OWNER_LIWEI, MID_2, &whole("ACC-TRIO")).await,
        404,
    );
    // Nor into an account it does not own.
    assert_problem(
        &request_binding(&h, OWNER_LIWEI, MID_1, &whole("ACC-SINGLE-2")).await,
        403,
    );
    assert_chain_verifies(&h).await;
}

async fn one_rejection_vetoes(h: Harness) {
    seed_merchants(&h).await;
    let binding = request_binding(&h, ADMIN, MID_1, &whole("ACC-JOINT-1"))
        .await
        .json();
    let id = &approvals_of(&binding)[0];
    assert_eq!(decide(&h, OWNER_LIWEI, id, "approve").await.status, 200);
    let veto = decide(&h, OWNER_ZHANGMIN, id, "reject").await;
    assert_eq!(veto.status, 200, "{}", veto.text);
    assert_eq!(veto.json()["status"], "rejected");
    assert_eq!(veto.json()["rejections"], json!(["Zhang Min"]));
    assert_eq!(veto.json()["subject_status"], "rejected");
    assert_problem(&decide(&h, OWNER_LIWEI, id, "approve").await, 409);
    let bindings = h
        .get(
            &format!("/v1/merchants/{MID_1}/bindings?status=rejected"),
            ADMIN,
        )
        .await
        .json();
    assert_eq!(bindings["items"][0]["id"], binding["id"]);
    assert_eq!(
        in_force(&h, MID_1, "2026-06-01", None).await["binding"]["id"],
        "BND-SANDBOX-100000000000001"
    );
    let rejected = h.get("/v1/approvals?status=rejected", ADMIN).await.json();
    assert_eq!(rejected["items"][0]["id"], id.as_str());
    assert!(
        audit_actions(&h)
            .await
            .contains(&"approval.reject".to_owned())
    );
    assert_chain_verifies(&h).await;
}

async fn requests_expire_after_72_hours(h: Harness) {
    seed_merchants(&h).await;
    let binding = request_binding(&h, MERCHANT_1, MID_1, &whole("ACC-JOINT-1"))
        .await
        .json();
    let id = &approvals_of(&binding)[0];
    assert_eq!(decide(&h, OWNER_LIWEI, id, "approve").await.status, 200);
    h.clock.advance(72 * 3600 * 1_000_000_000 - 1);
    let pending = h.get("/v1/approvals", OWNER_ZHANGMIN).await.json();
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    h.clock.advance(1);
    // Stale: shown expired before anyone tries.
    assert_eq!(
        h.get("/v1/approvals", OWNER_ZHANGMIN).await.json()["items"],
        json!([])
    );
    let stale = h
        .get("/v1/approvals?status=expired", OWNER_ZHANGMIN)
        .await
        .json();
    assert_eq!(stale["items"][0]["status"], "expired");
    let late = decide(&h, OWNER_ZHANGMIN, id, "approve").await;
    assert_problem(&late, 409);
    assert!(late.json()["detail"].as_str().unwrap().contains("expired"));
    let history = h
        .get(
            &format!("/v1/merchants/{MID_1}/bindings?status=expired"),
            ADMIN,
        )
        .await
        .json();
    assert_eq!(history["items"][0]["id"], binding["id"]);
    let all = h.get("/v1/approvals?status=all", ADMIN).await.json();
    assert_eq!(all["items"][0]["status"], "expired");
    assert_eq!(all["items"][0]["approvals"], json!(["Li Wei"]));
    assert!(
        audit_actions(&h)
            .await
            .contains(&"approval.expire".to_owned())
    );
    assert_chain_verifies(&h).await;
}

async fn concurrent_approvals_never_lose_a_vote(h: Harness) {
    seed_merchants(&h).await;
    let owners = ["Li Wei", "Zhang Min", "Wang Fang", "Zhao Lei"];
    new_account(&h, &joint("ACC-FOUR", &owners, 4)).await;
    let mut keys = vec![OWNER_LIWEI.to_owned(), OWNER_ZHANGMIN.to_owned()];
    keys.push(new_key(&h, "owner", "Wang Fang").await);
    keys.push(new_key(&h, "owner", "Zhao Lei").await);
    let binding = request_binding(&h, ADMIN, MID_2, &whole("ACC-FOUR"))
        .await
        .json();
    let id = approvals_of(&binding)[0].clone();
    let h = std::sync::Arc::new(h);
    let mut tasks = Vec::new();
    for key in keys {
        let (h, id) = (std::sync::Arc::clone(&h), id.clone());
        tasks.push(tokio::spawn(async move {
            // A 409 means another decision came first: decide again.
            for _ in 0..20 {
                let reply = decide(&h, &key, &id, "approve").await;
                match reply.status.as_u16() {
                    200 => return,
                    409 => continue,
                    other => panic!("{other}: {}", reply.text),
                }
            }
            panic!("no decision applied in 20 tries");
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = h.get("/v1/approvals?status=all", ADMIN).await.json();
    let request = &all["items"][0];
    assert_eq!(request["status"], "approved", "{all}");
    assert_eq!(request["approvals"].as_array().unwrap().len(), 4);
    let bindings = h
        .get(
            &format!("/v1/merchants/{MID_2}/bindings?status=approved"),
            ADMIN,
        )
        .await
        .json();
    assert_eq!(bindings["items"][0]["id"], binding["id"]);
    assert_chain_verifies(&h).await;
}

async fn owners_of_other_accounts_see_nothing(h: Harness) {
    seed_merchants(&h).await;
    let grocer = new_key(&h, "owner", "Corner Grocery Ltd").await;
    let binding = request_binding(&h, MERCHANT_1, MID_1, &whole("ACC-JOINT-1"))
        .await
        .json();
    let id = &approvals_of(&binding)[0];
    let inbox = h.get("/v1/approvals", &grocer).await.json();
    assert_eq!(inbox["items"], json!([]));
    for verb in ["approve", "reject"] {
        let reply = decide(&h, &grocer, id, verb).await;
        assert_problem(&reply, 404);
        let missing = decide(&h, &grocer, "APR-NOSUCH", verb).await;
        assert_eq!(reply.json(), missing.json(), "no existence leak");
    }
    assert_problem(&h.get("/v1/accounts/ACC-JOINT-1", &grocer).await, 404);
    assert_eq!(
        h.get("/v1/accounts/ACC-SINGLE-2", &grocer).await.status,
        200
    );
    // Other roles may not decide at all.
    for key in [ADMIN, BANK, MERCHANT_1] {
        assert_problem(&decide(&h, key, id, "approve").await, 403);
    }
    // A merchant reading or binding another merchant: 404.
    assert_problem(
        &h.get(&format!("/v1/merchants/{MID_1}/bindings"), MERCHANT_2)
            .await,
        404,
    );
    assert_problem(
        &request_binding(&h, MERCHANT_2, MID_1, &whole("ACC-SINGLE-2")).await,
        404,
    );
    let still = h.get("/v1/approvals", OWNER_LIWEI).await.json();
    assert_eq!(still["items"][0]["approvals"], json!([]));
}

/// (body, field expected in the errors).
const BAD_ACCOUNTS: &[(&str, &str)] = &[
    (
        r#"{"kind":"joint","name":"J","bank":"DEMOBANK","owners":[{"party":"A","name":"A"},{"party":"B","name":"B"}],
        "policy":{"binding_approvals_required":3,"payout_threshold":null,"payout_approvals_required":0}}"#,
        "policy.binding_approvals_required",
    ),
    (
        r#"{"kind":"joint","name":"J","bank":"DEMOBANK","owners":[{"party":"A","name":"A"}],
        "policy":{"binding_approvals_required":1,"payout_threshold":null,"payout_approvals_required":0}}"#,
        "owners",
    ),
    (
        r#"{"kind":"joint","name":"J","bank":"DEMOBANK","owners":[{"party":"A","name":"A"},{"party":"B","name":"B"}]}"#,
        "policy",
    ),
    (
        r#"{"kind":"joint","name":"J","bank":"DEMOBANK","owners":[{"party":"A","name":"A"},{"party":"B","name":"B"}],
        "policy":{"binding_approvals_required":2,"payout_threshold":{"amount_minor":100,"currency":"CNY"},"payout_approvals_required":0}}"#,
        "policy.payout_approvals_required",
    ),
    (
        r#"{"kind":"joint","name":"J","bank":"DEMOBANK","owners":[{"party":"A","name":"A"},{"party":"A","name":"B"}],
        "policy":{"binding_approvals_required":1,"payout_threshold":null,"payout_approvals_required":0}}"#,
        "owners[1].party",
    ),
    (
        r#"{"kind":"single","name":"S","bank":"DEMOBANK","owners":[]}"#,
        "owners",
    ),
    (
        r#"{"kind":"single","name":"S","bank":"DEMOBANK","owners":[{"party":"A","name":"A"}],"program":"DBCOFFEE"}"#,
        "program",
    ),
    (
        r#"{"kind":"cobrand","name":"C","bank":"DEMOBANK"}"#,
        "program",
    ),
    (
        r#"{"kind":"cobrand","name":"C","bank":"DEMOBANK","program":"NOSUCH"}"#,
        "program",
    ),
    (r#"{"kind":"shared","name":"C","bank":"DEMOBANK"}"#, "kind"),
    (
        r#"{"id":"acc lower","kind":"single","name":"S","bank":"DEMOBANK","owners":[{"party":"A","name":"A"}]}"#,
        "id",
    ),
    (
        r#"{"kind":"single","name":"S","bank":"DEMOBANK","owners":[{"party":"A","name":"A"}],"extra":1}"#,
        "extra",
    ),
];

/// (binding body for merchant 1, field expected in the errors).
const BAD_BINDINGS: &[(&str, &str)] = &[
    (r#"{"splits":[]}"#, "splits"),
    (
        r#"{"splits":[{"account":"ACC-SINGLE-2","share_bps":9000}]}"#,
        "splits",
    ),
    (
        r#"{"splits":[{"account":"ACC-SINGLE-2","fixed":{"amount_minor":100,"currency":"CNY"}}]}"#,
        "splits",
    ),
    (
        r#"{"splits":[{"account":"ACC-SINGLE-2","share_bps":10000,"fixed":{"amount_minor":1,"currency":"CNY"}}]}"#,
        "splits[0]",
    ),
    (
        r#"{"splits":[{"account":"ACC-NOSUCH","share_bps":10000}]}"#,
        "splits[0].account",
    ),
    (
        r#"{"splits":[{"account":"ACC-SINGLE-2","share_bps":5000},{"account":"ACC-SINGLE-2","share_bps":5000}]}"#,
        "splits[1].account",
    ),
    (
        r#"{"terminals":["T0000003"],"splits":[{"account":"ACC-SINGLE-2","share_bps":10000}]}"#,
        "terminals[0]",
    ),
    (
        r#"{"splits":[{"account":"ACC-SINGLE-2","share_bps":10000}],"when":"now"}"#,
        "when",
    ),
];

async fn invalid_bodies_are_422_with_field_errors_and_change_nothing(h: Harness) {
    seed_merchants(&h).await;
    let before = h.audit_count().await;
    for (body, field) in BAD_ACCOUNTS {
        let reply = h.post("/v1/accounts", ADMIN, body).await;
        assert_problem(&reply, 422);
        let errors = reply.json()["errors"].clone();
        assert!(
            errors
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == *field),
            "{body}: {errors}"
        );
    }
    for (body, field) in BAD_BINDINGS {
        let reply = h
            .post(&format!("/v1/merchants/{MID_1}/bindings"), MERCHANT_1, body)
            .await;
        assert_problem(&reply, 422);
        let errors = reply.json()["errors"].clone();
        assert!(
            errors
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == *field),
            "{body}: {errors}"
        );
    }
    let bad_query = h
        .get(
            &format!("/v1/merchants/{MID_1}/bindings/in-force?date=2026-02-30"),
            ADMIN,
        )
        .await;
    assert_problem(&bad_query, 422);
    assert_eq!(h.audit_count().await, before, "nothing was written");
    let history = h
        .get(&format!("/v1/merchants/{MID_1}/bindings"), ADMIN)
        .await
        .json();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    // An unknown merchant: 404.
    assert_problem(
        &request_binding(&h, ADMIN, "999999999999999", &whole("ACC-SINGLE-2")).await,
        404,
    );
}

async fn accounts_are_scoped_to_banks_and_owners(h: Harness) {
    let body = json!({"kind": "single", "name": "Tea House", "bank": "DEMOBANK",
        "owners": [{"party": "Tea House Ltd", "name": "Tea House Ltd"}]});
    let created = h.post("/v1/accounts", BANK, &body.to_string()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let account = created.json();
    let id = account["id"].as_str().unwrap();
    assert!(id.starts_with("ACC-"), "{id}");
    assert_eq!(account["policy"]["binding_approvals_required"], 0);
    let other_bank = json!({"kind": "single", "name": "X", "bank": "OTHERBANK",
        "owners": [{"party": "X", "name": "X"}]});
    assert_problem(
        &h.post("/v1/accounts", BANK, &other_bank.to_string()).await,
        403,
    );
    let elsewhere = new_account(
        &h,
        &json!({"id": "ACC-ELSEWHERE", "kind": "single",
        "name": "X", "bank": "OTHERBANK", "owners": [{"party": "X", "name": "X"}]}),
    )
    .await;
    assert_eq!(elsewhere["bank"], "OTHERBANK");
    let path = format!("/v1/accounts/{id}");
    assert_eq!(h.get(&path, BANK).await.json(), account);
    assert_eq!(h.get(&path, ADMIN).await.json(), account);
    assert_problem(&h.get("/v1/accounts/ACC-ELSEWHERE", BANK).await, 404);
    assert_problem(&h.get(&path, OWNER_LIWEI).await, 404);
    assert_problem(&h.get(&path, MERCHANT_1).await, 403);
    assert_problem(&h.get(&path, BRAND).await, 403);
    let joint = h
        .get("/v1/accounts/ACC-JOINT-1", OWNER_ZHANGMIN)
        .await
        .json();
    assert_eq!(joint["policy"]["binding_approvals_required"], 2);
    assert_eq!(joint["policy"]["payout_approvals_required"], 1);
    assert_eq!(
        joint["policy"]["payout_threshold"]["amount_minor"],
        5_000_000
    );
    // A repeated id: 409.
    let again = json!({"id": "ACC-ELSEWHERE", "kind": "single", "name": "X",
        "bank": "OTHERBANK", "owners": [{"party": "X", "name": "X"}]});
    assert_problem(
        &h.post("/v1/accounts", ADMIN, &again.to_string()).await,
        409,
    );
    // A cobrand account of the sandbox program.
    let cobrand = json!({"id": "ACC-COFFEE", "kind": "cobrand", "name": "Coffee",
        "bank": "DEMOBANK", "program": "DBCOFFEE"});
    assert_eq!(
        h.post("/v1/accounts", BANK, &cobrand.to_string())
            .await
            .status,
        201
    );
    assert!(
        audit_actions(&h)
            .await
            .contains(&"account.create".to_owned())
    );
}

async fn splits_terminal_bindings_and_single_accounts(h: Harness) {
    seed_merchants(&h).await;
    // Into single accounts only: approved at once.
    let split = json!({"splits": [
        {"account": "ACC-SINGLE-2", "fixed": {"amount_minor": 10000, "currency": "CNY"}},
        {"account": "ACC-SINGLE-3", "share_bps": 10000}]});
    let reply = request_binding(&h, MERCHANT_1, MID_1, &split).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let merchant_wide = reply.json();
    assert_eq!(merchant_wide["status"], "approved");
    assert_eq!(merchant_wide["effective_from"], "2026-01-02");
    assert_eq!(merchant_wide["approvals"], json!([]));
    // One terminal to the joint account (70 %) and a single one (30 %).
    let terminal = json!({"terminals": ["T0000002"], "splits": [
        {"account": "ACC-JOINT-1", "share_bps": 7000},
        {"account": "ACC-SINGLE-2", "share_bps": 3000}]});
    let pending = request_binding(&h, ADMIN, MID_1, &terminal).await.json();
    assert_eq!(pending["status"], "pending_approval");
    let id = approvals_of(&pending)[0].clone();
    // The next day, before the terminal binding is approved.
    h.clock.advance(86_400 * 1_000_000_000);
    assert_eq!(decide(&h, OWNER_LIWEI, &id, "approve").await.status, 200);
    let approved = decide(&h, OWNER_ZHANGMIN, &id, "approve").await;
    assert_eq!(approved.json()["subject_status"], "approved");
    let check = async |date: &str, tid: Option<&str>, expected: &Value| {
        let answer = in_force(&h, MID_1, date, tid).await;
        assert_eq!(
            answer["binding"]["id"], *expected,
            "{date} {tid:?}: {answer}"
        );
    };
    let sandbox = json!("BND-SANDBOX-100000000000001");
    check("2026-01-01", None, &sandbox).await;
    check("2026-01-01", Some("T0000002"), &sandbox).await;
    check("2026-01-02", None, &merchant_wide["id"]).await;
    check("2026-01-02", Some("T0000002"), &merchant_wide["id"]).await;
    check("2026-01-03", Some("T0000002"), &pending["id"]).await;
    check("2026-01-03", Some("T0000001"), &merchant_wide["id"]).await;
    check("1999-12-31", None, &Value::Null).await;
    // The merchant-wide binding superseded the sandbox one; the terminal
    // binding superseded nothing.
    let superseded = h
        .get(
            &format!("/v1/merchants/{MID_1}/bindings?status=superseded"),
            ADMIN,
        )
        .await
        .json();
    let ids: Vec<&Value> = superseded["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["id"])
        .collect();
    assert_eq!(ids, [&sandbox]);
    let csv = h
        .send(
            call(
                "GET",
                &format!("/v1/merchants/{MID_1}/bindings"),
                Some(MERCHANT_1),
            )
            .header("accept", "text/csv"),
        )
        .await;
    assert!(
        csv.text.starts_with("id,status,effective_from"),
        "{}",
        csv.text
    );
    assert!(csv.text.contains("superseded"), "{}", csv.text);
}

/// A payout above ACC-JOINT-1's threshold, as settlement records it: the
/// payout awaiting approval and its approval request (1 of 2 owners).
async fn a_large_payout_is_approved_by_one_owner(h: Harness) {
    let payout = json!({"id": "PO-1", "account": "ACC-JOINT-1", "status": "awaiting_approval",
        "amount": {"amount_minor": 6_000_000, "currency": "CNY"}});
    let approval = json!({"id": "APR-PO-1", "subject_kind": "payout", "subject_id": "PO-1",
        "account": "ACC-JOINT-1", "required": 1, "approvals": [], "rejections": [],
        "requested_by": {"role": "system", "scope": "settlement", "key_id": ""},
        "status": "pending", "expires_at": "2026-01-04T00:00:00.000Z",
        "created_at": "2026-01-01T00:00:00.000Z", "decided_at": null});
    let row = |kind: &str, id: &str, status: &str, document: &Value| store::api::ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: "ACC-JOINT-1".to_owned(),
        status: status.to_owned(),
        version: 0,
        document: document.to_string(),
        created_at_ns: T0_NS,
        updated_at_ns: T0_NS,
    };
    put_resources(
        &h,
        vec![
            row("payout", "PO-1", "awaiting_approval", &payout),
            row("approval", "APR-PO-1", "pending", &approval),
        ],
    )
    .await;
    let inbox = h.get("/v1/approvals", OWNER_ZHANGMIN).await.json();
    assert_eq!(inbox["items"][0]["subject_kind"], "payout");
    let reply = decide(&h, OWNER_ZHANGMIN, "APR-PO-1", "approve").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["status"], "approved");
    assert_eq!(reply.json()["subject_status"], "approved");
    let url = h.url.clone();
    let stored = blocking(move || {
        let mut store = store::Store::open(&url).unwrap();
        store.resource("payout", "PO-1").unwrap().unwrap()
    });
    assert_eq!(stored.status, "approved");
    assert_eq!(stored.version, 2);
    let document: Value = serde_json::from_str(&stored.document).unwrap();
    assert_eq!(document["status"], "approved");
    assert_eq!(document["amount"]["amount_minor"], 6_000_000);
    assert_problem(&decide(&h, OWNER_LIWEI, "APR-PO-1", "approve").await, 409);
    assert_chain_verifies(&h).await;
}

async fn a_binding_into_two_joint_accounts_needs_both_policies(h: Harness) {
    seed_merchants(&h).await;
    new_account(
        &h,
        &joint("ACC-TRIO", &["Li Wei", "Zhang Min", "Wang Fang"], 2),
    )
    .await;
    let wang = new_key(&h, "owner", "Wang Fang").await;
    let both = json!({"splits": [
        {"account": "ACC-JOINT-1", "share_bps": 5000},
        {"account": "ACC-TRIO", "share_bps": 5000}]});
    let binding = request_binding(&h, MERCHANT_2, MID_2, &both).await.json();
    let ids = approvals_of(&binding);
    assert_eq!(ids.len(), 2, "{binding}");
    let all = h.get("/v1/approvals", ADMIN).await.json();
    let account_of = |id: &str| {
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()["account"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (joint_1, trio) = if account_of(&ids[0]) == "ACC-JOINT-1" {
        (ids[0].clone(), ids[1].clone())
    } else {
        (ids[1].clone(), ids[0].clone())
    };
    // ACC-JOINT-1's owners approve: its request is approved, the binding
    // waits for ACC-TRIO's.
    assert_eq!(
        decide(&h, OWNER_LIWEI, &joint_1, "approve").await.status,
        200
    );
    let path = format!("/v1/approvals/{joint_1}/approve");
    let approve = |key: &'static str| {
        call("POST", &path, Some(key))
            .body("{}")
            .header("idempotency-key", "zm-1")
    };
    let done = h.send(approve(OWNER_ZHANGMIN)).await;
    assert_eq!(done.json()["status"], "approved", "{}", done.text);
    assert_eq!(done.json()["subject_status"], "pending_approval");
    // A retry with the same Idempotency-Key replays the answer.
    let replay = h.send(approve(OWNER_ZHANGMIN)).await;
    assert_eq!(
        (replay.status.as_u16(), replay.text.clone()),
        (200, done.text.clone())
    );
    assert_eq!(
        decide(&h, OWNER_ZHANGMIN, &trio, "approve").await.status,
        200
    );
    let last = decide(&h, &wang, &trio, "approve").await;
    assert_eq!(last.json()["subject_status"], "approved", "{}", last.text);
    let answer = in_force(&h, MID_2, "2026-01-02", None).await;
    assert_eq!(answer["accounts"], json!(["ACC-JOINT-1", "ACC-TRIO"]));
    // A second such binding: one rejection closes the other request too.
    let binding = request_binding(&h, MERCHANT_2, MID_2, &both).await.json();
    let ids = approvals_of(&binding);
    assert_eq!(
        decide(&h, OWNER_LIWEI, &ids[0], "reject").await.json()["subject_status"],
        "rejected"
    );
    let closed = h
        .get("/v1/approvals?status=rejected", OWNER_LIWEI)
        .await
        .json();
    let closed: Vec<&Value> = closed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert_chain_verifies(&h).await;
}
