//! The merchant, onboarding and terminal endpoints against the real server
//! (HTTP and ISO 8583 over TCP), on both engines: invalid bodies, roles
//! and visibility, rejection, duplicates, the sandbox resources, and
//! terminals registered, suspended and activated while the host runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;
mod merchants_support;

use std::time::Duration;

use iso_support::TestServer;
use merchants_support::*;
use serde_json::json;
use terminal::card::EntryMode;

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                crate::iso_support::run(crate::iso_support::Engine::Sqlite, stringify!($name), super::$name);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                crate::iso_support::run(crate::iso_support::Engine::Postgres, stringify!($name), super::$name);
            })*
        }
    };
}

on_both_engines!(
    invalid_bodies_get_422_with_their_fields,
    merchants_see_only_themselves,
    sandbox_merchants_and_terminals_are_resources,
    rejection_needs_a_reason_and_an_earlier_stage,
    duplicates_are_409,
    terminals_serve_and_stop_at_once,
    registrations_survive_a_restart,
    concurrent_changes_keep_resource_and_host_in_step,
    a_refused_api_write_leaves_the_host_as_it_was,
);

const MID: &str = "100000000000555";

/// Per case: method, path, body, and the fields the 422 names.
const INVALID: &[(&str, &str, &str, &[&str])] = &[
    (
        "POST",
        "/v1/merchants",
        r#"{"mid":"12345","name":" ","mcc":"58","address":{"line1":"x","city":"y","postal_code":"1","country":"cn"},
           "legal_entity":{"name":"n","registration_number":"r"}}"#,
        &["mid", "name", "mcc", "address.country"],
    ),
    (
        "POST",
        "/v1/merchants",
        r#"{"mid":"100000000000555","name":"N","mcc":"5812"}"#,
        &[""],
    ),
    (
        "PUT",
        "/v1/merchants/100000000000001/contract",
        r#"{"fee_plan":"nope","settlement_cycle":"T2","cut_off":"24:00",
           "liability_split":{"merchant_bps":5000,"acquirer_bps":4000},"programs":["DBCOFFEE","DBCOFFEE"]}"#,
        &[
            "fee_plan",
            "settlement_cycle",
            "cut_off",
            "liability_split",
            "programs[1]",
        ],
    ),
    (
        "PUT",
        "/v1/merchants/100000000000001/contract",
        r#"{"fee_plan":"GOLD","settlement_cycle":"T0","cut_off":"23:00",
           "liability_split":{"merchant_bps":10000,"acquirer_bps":0},"programs":["NOPE"]}"#,
        &["fee_plan", "programs[0]"],
    ),
    (
        "POST",
        "/v1/terminals",
        r#"{"tid":"t1","mid":"1","model":"","capabilities":["nfc"],"key_set":"000000",
           "initial_ksn":"FFFF9876543210E00001","mac_required":false}"#,
        &[
            "tid",
            "mid",
            "model",
            "capabilities[0]",
            "key_set",
            "initial_ksn",
        ],
    ),
    (
        "POST",
        "/v1/merchants/100000000000003/onboarding/reject",
        r#"{"to":"negotiation"}"#,
        &["reason"],
    ),
    (
        "POST",
        "/v1/merchants/100000000000003/onboarding/reject",
        r#"{"to":"live","reason":"   "}"#,
        &["reason"],
    ),
    (
        "POST",
        "/v1/merchants/100000000000003/onboarding/advance",
        r#"{"assessment":{"terminals":[]}}"#,
        &["assessment"],
    ),
];

async fn invalid_bodies_get_422_with_their_fields(server: TestServer) {
    let http = Http(server.running.http_addr);
    let before = http.get("/v1/audit/verify", ADMIN).await.json()["events"].clone();
    for (method, path, body, fields) in INVALID {
        let reply = http.send(method, path, Some(ADMIN), Some(body)).await;
        assert!(
            reply.head.contains("application/problem+json"),
            "{}",
            reply.head
        );
        let got = reply.fields();
        for field in *fields {
            assert!(
                got.iter().any(|g| g == field),
                "{method} {path}: {field} not in {got:?}"
            );
        }
    }
    // Unknown fields and wrong types are 422 too; nothing changed.
    let unknown = http
        .post("/v1/terminals", ADMIN, r#"{"tid":"T1","colour":"red"}"#)
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    let after = http.get("/v1/audit/verify", ADMIN).await.json()["events"].clone();
    assert_eq!(before, after, "a refused request changes nothing");
}

async fn merchants_see_only_themselves(server: TestServer) {
    let http = Http(server.running.http_addr);
    let own = http.get("/v1/merchants/100000000000001", MERCHANT_1).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["contract"]["programs"], json!(["DBCOFFEE"]));
    for path in [
        "/v1/merchants/100000000000002",
        "/v1/merchants/100000000000002/onboarding",
        "/v1/terminals/T0000003",
        "/v1/merchants/999999999999999",
        "/v1/merchants/not-a-mid",
    ] {
        let reply = http.get(path, MERCHANT_1).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
    assert_eq!(
        http.get("/v1/terminals/T0000001", MERCHANT_1).await.status,
        200
    );
    let listed = http.get("/v1/merchants", MERCHANT_1).await.json();
    let mids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mid"].as_str().unwrap())
        .collect();
    assert_eq!(mids, ["100000000000001"]);
    assert_eq!(
        http.get("/v1/merchants", BANK).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(http.get("/v1/merchants", BRAND).await.status, 403);
    assert_eq!(
        http.get("/v1/merchants/100000000000001/onboarding", BANK)
            .await
            .status,
        403
    );
    for (method, path, body) in [
        ("POST", "/v1/merchants", merchant_body(MID, "X")),
        (
            "PUT",
            "/v1/merchants/100000000000001/contract",
            contract_body("T0", "[]"),
        ),
        (
            "POST",
            "/v1/merchants/100000000000001/onboarding/advance",
            "{}".to_owned(),
        ),
        ("POST", "/v1/terminals/T0000001/suspend", "{}".to_owned()),
    ] {
        let reply = http.send(method, path, Some(MERCHANT_1), Some(&body)).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    let csv = http
        .send_with(
            "GET",
            "/v1/merchants?stage=live",
            Some(ADMIN),
            None,
            &[("Accept", "text/csv")],
        )
        .await;
    assert!(
        csv.text.starts_with("mid,name,mcc,stage,contract.fee_plan"),
        "{}",
        csv.text
    );
    assert!(
        csv.text
            .contains("100000000000002,Corner Grocery,5411,live,STANDARD,T0,23:00"),
        "{}",
        csv.text
    );
    assert!(!csv.text.contains("100000000000003"), "{}", csv.text);
    let page = http.get("/v1/merchants?limit=2", ADMIN).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = http
        .get(&format!("/v1/merchants?limit=2&cursor={cursor}"), ADMIN)
        .await
        .json();
    assert_eq!(rest["items"][0]["mid"], "100000000000003");
    assert_eq!(rest["next_cursor"], json!(null));
}

async fn sandbox_merchants_and_terminals_are_resources(server: TestServer) {
    let http = Http(server.running.http_addr);
    let expected = [
        ("100000000000001", "live", "T1", true),
        ("100000000000002", "live", "T0", false),
        ("100000000000003", "certification", "T1", false),
    ];
    for (mid, stage, cycle, participant) in expected {
        let merchant = http
            .get(&format!("/v1/merchants/{mid}"), ADMIN)
            .await
            .json();
        assert_eq!(merchant["stage"], stage, "{merchant}");
        assert_eq!(merchant["contract"]["fee_plan"], "STANDARD");
        assert_eq!(merchant["contract"]["settlement_cycle"], cycle);
        assert_eq!(merchant["contract"]["cut_off"], "23:00");
        let programs = merchant["contract"]["programs"].as_array().unwrap().len();
        assert_eq!(programs == 1, participant, "{merchant}");
    }
    for (tid, mid, mac) in [
        ("T0000001", "100000000000001", false),
        ("T0000002", "100000000000001", true),
        ("T0000003", "100000000000002", false),
        ("T0000004", "100000000000003", false),
    ] {
        let terminal = http
            .get(&format!("/v1/terminals/{tid}"), ADMIN)
            .await
            .json();
        assert_eq!(terminal["mid"], mid);
        assert_eq!(terminal["mac_required"], mac);
        assert_eq!(terminal["status"], "active");
        assert_eq!(terminal["key_set"], sandbox_key_set());
    }
    // The sandbox merchant in certification has no traffic yet.
    let view = http
        .get("/v1/merchants/100000000000003/onboarding", ADMIN)
        .await
        .json();
    assert_eq!(view["certification"]["passed"], 0, "{view}");
    assert_eq!(view["certification"]["total"], 7);
}

async fn rejection_needs_a_reason_and_an_earlier_stage(server: TestServer) {
    let http = Http(server.running.http_addr);
    let reject = "/v1/merchants/100000000000003/onboarding/reject";
    let later = http
        .post(reject, ADMIN, r#"{"to":"live","reason":"x"}"#)
        .await;
    assert_eq!(later.fields(), ["to"]);
    let same = http
        .post(reject, ADMIN, r#"{"to":"certification","reason":"x"}"#)
        .await;
    assert_eq!(same.fields(), ["to"]);
    let sent_back = http
        .post(
            reject,
            ADMIN,
            r#"{"to":"system_integration","reason":"MAC keys not loaded"}"#,
        )
        .await;
    assert_eq!(sent_back.status, 200, "{}", sent_back.text);
    assert_eq!(sent_back.json()["stage"], "system_integration");
    let view = http
        .get("/v1/merchants/100000000000003/onboarding", ADMIN)
        .await
        .json();
    let last = view["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "reject");
    assert_eq!(last["from"], "certification");
    assert_eq!(last["reason"], "MAC keys not loaded");
    assert_eq!(last["by"]["role"], "operator");
    // The host follows: the merchant's terminal is refused outside
    // certification and live.
    let stage = server
        .running
        .host
        .inspect(|s| s.merchants["100000000000003"].stage.clone())
        .await;
    assert_eq!(stage, "system_integration");
    let address = server.running.iso_addr;
    let code = blocking(move || {
        let mut pos = pos(
            address,
            "T0000004",
            "100000000000003",
            "FFFF9876543211400000",
            Duration::from_secs(10),
        );
        sale(&mut pos, &debit_card(), EntryMode::Swipe, None, 100).response_code
    })
    .await;
    assert_eq!(code.as_deref(), Some("58"));
    // Its terminal is registered and its sandbox binding approved: the
    // system integration gate lets it back into certification.
    let again = http
        .post(
            "/v1/merchants/100000000000003/onboarding/advance",
            ADMIN,
            "{}",
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["stage"], "certification");
    let audit = http
        .get("/v1/audit?action=merchant.onboarding.reject", ADMIN)
        .await
        .json();
    assert_eq!(
        audit["items"][0]["details"]["reason"],
        "MAC keys not loaded"
    );
}

async fn duplicates_are_409(server: TestServer) {
    let http = Http(server.running.http_addr);
    let existing = http
        .post(
            "/v1/merchants",
            ADMIN,
            &merchant_body("100000000000001", "Again"),
        )
        .await;
    assert_eq!(existing.status, 409, "{}", existing.text);
    assert_eq!(
        http.post("/v1/merchants", ADMIN, &merchant_body(MID, "New"))
            .await
            .status,
        201
    );
    let tid = http
        .post(
            "/v1/terminals",
            ADMIN,
            &terminal_body("T0000001", MID, "FFFF0000000555E00000", false),
        )
        .await;
    assert_eq!(tid.status, 409, "{}", tid.text);
    // An initial KSN selects a terminal's keys: it is never shared.
    let ksn = http
        .post(
            "/v1/terminals",
            ADMIN,
            &terminal_body("N0000555", MID, "FFFF9876543210E00000", false),
        )
        .await;
    assert_eq!(ksn.status, 409, "{}", ksn.text);
    assert!(ksn.text.contains("initial KSN"), "{}", ksn.text);
    let unknown = http
        .post(
            "/v1/terminals",
            ADMIN,
            &terminal_body("N0000555", "100000000000999", "FFFF0000000555E00000", false),
        )
        .await;
    assert_eq!(unknown.fields(), ["mid"]);
    // Idempotent replay of a registration.
    let body = terminal_body("N0000555", MID, "FFFF0000000555E00000", true);
    let key = [("Idempotency-Key", "register-n555")];
    let first = http
        .send_with("POST", "/v1/terminals", Some(ADMIN), Some(&body), &key)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let repeat = http
        .send_with("POST", "/v1/terminals", Some(ADMIN), Some(&body), &key)
        .await;
    assert_eq!(repeat.status, 201);
    assert_eq!(repeat.text, first.text);
    assert!(
        repeat
            .head
            .to_ascii_lowercase()
            .contains("idempotent-replayed: true")
    );
    let stale = http
        .post(
            "/v1/merchants/100000000000555/onboarding/advance",
            ADMIN,
            r#"{"from":"marketing"}"#,
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    let registered = http
        .get("/v1/audit?resource=terminals/N0000555", ADMIN)
        .await
        .json();
    assert_eq!(registered["items"].as_array().unwrap().len(), 1);
}

async fn terminals_serve_and_stop_at_once(server: TestServer) {
    let http = Http(server.running.http_addr);
    let address = server.running.iso_addr;
    // A new terminal of a live merchant is served at once, with its MAC.
    let ksn = "FFFF0000000222E00000";
    let registered = http
        .post(
            "/v1/terminals",
            ADMIN,
            &terminal_body("N0000222", "100000000000002", ksn, true),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let code = blocking(move || {
        let mut state =
            terminal::state::TerminalState::new("N0000222", "100000000000002", ksn).unwrap();
        state.mac_required = true;
        let bdk = cardsec::TdesKey::from_hex(domain::sandbox::BDK_HEX).unwrap();
        let ipek = terminal::keys::InitialKey::Bdk(bdk).ipek(ksn).unwrap();
        let config = terminal::TerminalConfig::new(&address.to_string());
        let mut pos =
            terminal::Terminal::new(state, ipek, config, Box::new(terminal::clock::SystemClock))
                .unwrap();
        let outcome = sale(
            &mut pos,
            &debit_card(),
            EntryMode::Swipe,
            Some(&pin()),
            2_500,
        );
        outcome.response_code
    })
    .await;
    assert_eq!(code.as_deref(), Some("00"));
    // Suspension stops a sandbox terminal at once (58); activation serves it again.
    let suspended = http
        .post(
            "/v1/terminals/T0000003/suspend",
            ADMIN,
            r#"{"reason":"tamper alarm"}"#,
        )
        .await;
    assert_eq!(
        suspended.json()["status"],
        "suspended",
        "{}",
        suspended.text
    );
    let run = || {
        blocking(move || {
            let mut pos = pos(
                address,
                "T0000003",
                "100000000000002",
                "FFFF9876543211200000",
                Duration::from_secs(10),
            );
            let outcome = sale(&mut pos, &debit_card(), EntryMode::Swipe, None, 300);
            outcome.response_code
        })
    };
    assert_eq!(run().await.as_deref(), Some("58"));
    let again = http
        .post("/v1/terminals/T0000003/suspend", ADMIN, "{}")
        .await;
    assert_eq!(again.status, 200, "suspending twice changes nothing");
    let active = http
        .post("/v1/terminals/T0000003/activate", ADMIN, "{}")
        .await;
    assert_eq!(active.json()["status"], "active");
    assert_eq!(active.json()["history"].as_array().unwrap().len(), 3);
    assert_eq!(run().await.as_deref(), Some("00"));
    let actions: Vec<String> = http
        .get("/v1/audit?resource=terminals/T0000003", ADMIN)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["terminal.register", "terminal.suspend", "terminal.activate"]
    );
    assert_eq!(
        http.post("/v1/terminals/T9999999/activate", ADMIN, "{}")
            .await
            .status,
        404
    );
}

async fn registrations_survive_a_restart(server: TestServer) {
    let http = Http(server.running.http_addr);
    assert_eq!(
        http.post("/v1/merchants", ADMIN, &merchant_body(MID, "Kept"))
            .await
            .status,
        201
    );
    let ksn = "FFFF0000000555E00000";
    let body = terminal_body("N0000555", "100000000000002", ksn, false);
    assert_eq!(http.post("/v1/terminals", ADMIN, &body).await.status, 201);
    let url = server.url.clone();
    server.stop_and(|_| ()).await;
    // The host reloads what the API wrote with its records.
    let server = TestServer::start_with(TestServer::config(&url)).await;
    let http = Http(server.running.http_addr);
    let address = server.running.iso_addr;
    let code = blocking(move || {
        let mut pos = pos(
            address,
            "N0000555",
            "100000000000002",
            ksn,
            Duration::from_secs(10),
        );
        sale(&mut pos, &debit_card(), EntryMode::Swipe, None, 700).response_code
    })
    .await;
    assert_eq!(code.as_deref(), Some("00"));
    let merchant = server
        .running
        .host
        .inspect(|s| s.merchants.get(MID).cloned())
        .await
        .expect("the new merchant's host record");
    assert_eq!(merchant.stage, "negotiation");
    assert_eq!(
        merchant.account,
        host::admin::merchant_account(MID).unwrap()
    );
    assert_eq!(
        http.get(&format!("/v1/merchants/{MID}"), ADMIN)
            .await
            .json()["name"],
        "Kept"
    );
    let account = ledger::AccountId(merchant.account);
    let (sound, opened) = server
        .stop_and(move |store| {
            let report = store.verify_ledger().unwrap();
            (
                report.violations.is_empty(),
                store.account(account).unwrap().is_some(),
            )
        })
        .await;
    assert!(
        sound && opened,
        "the ledger is sound and holds the merchant's account"
    );
}

async fn concurrent_changes_keep_resource_and_host_in_step(server: TestServer) {
    let http = Http(server.running.http_addr);
    assert_eq!(
        http.post("/v1/merchants", ADMIN, &merchant_body(MID, "Busy"))
            .await
            .status,
        201
    );
    // Contracts written at once are serialized: each applies, none is lost
    // to a version conflict, and the host ends with the last one.
    let path = format!("/v1/merchants/{MID}/contract");
    let mut tasks = Vec::new();
    for i in 0..6 {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let cycle = if i % 2 == 0 { "T0" } else { "T1" };
            http.put(&path, ADMIN, &contract_body(cycle, "[]"))
                .await
                .status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let merchant = http
        .get(&format!("/v1/merchants/{MID}"), ADMIN)
        .await
        .json();
    assert_eq!(merchant["version"], 7);
    let record = server
        .running
        .host
        .inspect(|s| s.merchants[MID].clone())
        .await;
    assert_eq!(record.cycle, merchant["contract"]["settlement_cycle"]);
    assert_eq!(record.cutoff_minute, 22 * 60 + 30);
    assert_eq!(record.fee_plan, "STANDARD");
    // Repeats of one advance with one Idempotency-Key advance once.
    let advance = format!("/v1/merchants/{MID}/onboarding/advance");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let advance = advance.clone();
        tasks.push(tokio::spawn(async move {
            let key = [("Idempotency-Key", "advance-once")];
            http.send_with("POST", &advance, Some(ADMIN), Some("{}"), &key)
                .await
        }));
    }
    let mut texts = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.text);
        texts.push(reply.text);
    }
    texts.dedup();
    assert_eq!(texts.len(), 1, "every repeat answers the first response");
    let stage = server
        .running
        .host
        .inspect(|s| s.merchants[MID].stage.clone())
        .await;
    assert_eq!(stage, "technical_assessment");
    let view = http
        .get(&format!("/v1/merchants/{MID}/onboarding"), ADMIN)
        .await
        .json();
    assert_eq!(view["stage"], "technical_assessment");
    assert_eq!(view["history"].as_array().unwrap().len(), 8);
}

async fn a_refused_api_write_leaves_the_host_as_it_was(server: TestServer) {
    use host::admin::{AdminChange, AdminError};
    const LUCKY: &str = "100000000000001";
    let before = server
        .running
        .host
        .inspect(|s| s.merchants[LUCKY].clone())
        .await;
    // An API write refused for its version, with a host record that would
    // stop the merchant: the store writes neither.
    let stale = store::api::ResourceRow {
        kind: "merchant".into(),
        id: LUCKY.into(),
        scope: LUCKY.into(),
        status: "negotiation".into(),
        version: 0,
        document: "{}".into(),
        created_at_ns: 1,
        updated_at_ns: 1,
    };
    let write = store::api::ApiWrite {
        change: store::api::ApiChange::PutResources(vec![store::api::ResourcePut::replace(
            stale, 99,
        )]),
        audit: None,
        idempotency: None,
        only_after_success: false,
    };
    let op = store::WriteOp::Api(Box::new(write));
    let stopped = host::records::MerchantRecord {
        stage: "negotiation".into(),
        ..before.clone()
    };
    let outcome = server
        .running
        .host
        .admin_change(|state| Ok::<_, AdminError>(AdminChange::merchant(state, stopped, Some(op))))
        .await
        .unwrap();
    assert!(
        !outcome.api_applied && !outcome.records_written,
        "{outcome:?}"
    );
    let now = server
        .running
        .host
        .inspect(|s| s.merchants[LUCKY].clone())
        .await;
    assert_eq!(now, before, "the state was not changed");
    let url = server.url.clone();
    server.stop_and(|_| ()).await;
    let server = TestServer::start_with(TestServer::config(&url)).await;
    let reloaded = server
        .running
        .host
        .inspect(|s| s.merchants[LUCKY].clone())
        .await;
    assert_eq!(
        reloaded, before,
        "the database holds the state's record again"
    );
    server.stop_and(|_| ()).await;
}
