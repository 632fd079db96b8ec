//! The whole onboarding of a new merchant against the real server (HTTP
//! API and ISO 8583 host over TCP): application, contract, technical
//! assessment, terminal registration, an approved binding, certification
//! passed by REAL traffic of the new terminal (the `terminal` crate's POS
//! terminal with the IPEK of the registered KSN), marketing, live, then a
//! real sale accepted as live. Every gate refuses with all it misses, and
//! every step is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;
mod merchants_support;

use std::time::Duration;

use iso_support::TestServer;
use merchants_support::*;
use serde_json::json;
use terminal::card::EntryMode;

/// How long the host waits for the card network here: the reversal case
/// lets a terminal give up before it.
const NETWORK_TIMEOUT: Duration = Duration::from_millis(1_000);
/// A terminal that waits for every answer.
const PATIENT: Duration = Duration::from_secs(10);
/// A terminal that gives up before the network times out.
const IMPATIENT: Duration = Duration::from_millis(250);

const MID: &str = "100000000000777";
const TID: &str = "N0000777";
const KSN: &str = "FFFF0000000777E00000";

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                crate::iso_support::run_with(crate::iso_support::Engine::Sqlite, stringify!($name),
                    |c| c.network_timeout = crate::NETWORK_TIMEOUT, super::$name);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                crate::iso_support::run_with(crate::iso_support::Engine::Postgres, stringify!($name),
                    |c| c.network_timeout = crate::NETWORK_TIMEOUT, super::$name);
            })*
        }
    };
}

on_both_engines!(a_new_merchant_is_onboarded_and_certified_by_real_traffic);

fn advance_path() -> String {
    format!("/v1/merchants/{MID}/onboarding/advance")
}

/// Negotiation → technical assessment → system integration, every gate
/// first refused with all it misses.
async fn to_system_integration(http: Http) {
    let created = http
        .post(
            "/v1/merchants",
            ADMIN,
            &merchant_body(MID, "Dragon Dumplings"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let merchant = created.json();
    assert_eq!(merchant["stage"], "negotiation");
    assert_eq!(merchant["version"], 1);
    assert_eq!(merchant["contract"], json!(null));
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        ["contract"]
    );
    let contract = http
        .put(
            &format!("/v1/merchants/{MID}/contract"),
            ADMIN,
            &contract_body("T1", "[]"),
        )
        .await;
    assert_eq!(contract.status, 200, "{}", contract.text);
    assert_eq!(contract.json()["contract"]["cut_off"], "22:30");
    assert_eq!(contract.json()["version"], 2);
    let assessed = http
        .post(&advance_path(), ADMIN, r#"{"from":"negotiation"}"#)
        .await;
    assert_eq!(assessed.json()["stage"], "technical_assessment");
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        [
            "terminal_models",
            "capability:chip",
            "capability:contactless",
            "capability:swipe",
            "capability:pin"
        ]
    );
    // One model lacks contactless: only an upgrade plan covers it.
    let models = r#"[{"model":"PAX A920","count":1,"capabilities":["chip","contactless","swipe","pin"]},
        {"model":"PAX S90","count":2,"capabilities":["chip","swipe","pin"]}]"#;
    let refused = http
        .post(
            &advance_path(),
            ADMIN,
            &format!(r#"{{"assessment":{{"terminals":{models}}}}}"#),
        )
        .await;
    assert_eq!(refused.missing(), ["capability:contactless"]);
    let body = format!(
        r#"{{"assessment":{{"terminals":{models},
        "upgrade_plan":[{{"capability":"contactless","plan":"NFC module by March"}}]}}}}"#
    );
    let integrated = http.post(&advance_path(), ADMIN, &body).await;
    assert_eq!(integrated.status, 200, "{body}: {}", integrated.text);
    let integrated = integrated.json();
    assert_eq!(integrated["stage"], "system_integration");
    assert_eq!(
        integrated["assessment"]["upgrade_plan"][0]["capability"],
        "contactless"
    );
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        [
            "terminal:PAX A920",
            "terminal:PAX S90",
            "settlement_binding"
        ]
    );
}

/// The certification traffic of the plan, from the new terminal.
fn certification_traffic(address: std::net::SocketAddr) -> terminal::state::TerminalState {
    let mut pos = pos(address, TID, MID, KSN, PATIENT);
    let (chip, debit, pin) = (chip_card(), debit_card(), pin());
    let chip_sale = sale(&mut pos, &chip, EntryMode::Chip, Some(&pin), 12_000);
    assert!(chip_sale.approved, "{chip_sale:?}");
    let tap = sale(&mut pos, &chip, EntryMode::Contactless, None, 3_000);
    assert!(tap.approved, "{tap:?}");
    let swipe = sale(&mut pos, &debit, EntryMode::Swipe, Some(&pin), 4_500);
    assert!(swipe.approved, "{swipe:?}");
    let read = terminal::CardRead {
        card: &debit,
        entry: EntryMode::Swipe,
        pin: None,
    };
    let void = pos.void(read, swipe.rrn.as_deref().unwrap(), None).unwrap();
    assert!(void.approved, "{void:?}");
    let read = terminal::CardRead {
        card: &chip,
        entry: EntryMode::Chip,
        pin: None,
    };
    let refund = pos
        .refund(read, chip_sale.rrn.as_deref().unwrap(), 2_000)
        .unwrap();
    assert!(refund.approved, "{refund:?}");
    // The network never answers amounts ending in 91: this terminal gives
    // up first, queues a reversal and sends it before its next message.
    let mut impatient = rebuild(pos.state().clone(), IMPATIENT, address);
    let lost = sale(&mut impatient, &visa_card(), EntryMode::Swipe, None, 10_091);
    assert_eq!(lost.response_code, None, "{lost:?}");
    assert!(lost.reversal_queued);
    std::thread::sleep(NETWORK_TIMEOUT + Duration::from_millis(300));
    let mut pos = rebuild(impatient.state().clone(), PATIENT, address);
    let settled = pos.settle().unwrap();
    assert!(settled.approved, "{settled:?}");
    assert!(pos.state().reversals.is_empty());
    pos.state().clone()
}

/// The registered terminal with `state` (STAN, KSN counter, batch, queue)
/// waiting `timeout` for each answer.
fn rebuild(
    state: terminal::state::TerminalState,
    timeout: Duration,
    address: std::net::SocketAddr,
) -> terminal::Terminal {
    let bdk = cardsec::TdesKey::from_hex(domain::sandbox::BDK_HEX).unwrap();
    let ipek = terminal::keys::InitialKey::Bdk(bdk).ipek(KSN).unwrap();
    let mut config = terminal::TerminalConfig::new(&address.to_string());
    config.response_timeout = timeout;
    terminal::Terminal::new(state, ipek, config, Box::new(terminal::clock::SystemClock)).unwrap()
}

async fn a_new_merchant_is_onboarded_and_certified_by_real_traffic(server: TestServer) {
    let http = Http(server.running.http_addr);
    let address = server.running.iso_addr;
    to_system_integration(http).await;
    let registered = http
        .post("/v1/terminals", ADMIN, &terminal_body(TID, MID, KSN, false))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    assert_eq!(registered.json()["status"], "active");
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        ["terminal:PAX S90", "settlement_binding"]
    );
    let second = terminal_body_of_model("N0000778", MID, "FFFF0000000778E00000", true, "PAX S90");
    assert_eq!(http.post("/v1/terminals", ADMIN, &second).await.status, 201);
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        ["settlement_binding"]
    );
    put_binding(&server.running.host, "BND-PENDING", MID, "pending_approval").await;
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}").await.missing(),
        ["settlement_binding"]
    );
    put_binding(&server.running.host, "BND-777", MID, "approved").await;
    let certifying = http.post(&advance_path(), ADMIN, "{}").await;
    assert_eq!(
        certifying.json()["stage"],
        "certification",
        "{}",
        certifying.text
    );
    let view = http
        .get(&format!("/v1/merchants/{MID}/onboarding"), ADMIN)
        .await
        .json();
    assert_eq!(view["certification"]["passed"], 0, "{view}");
    assert_eq!(view["gate"]["missing"].as_array().unwrap().len(), 7);
    assert_eq!(
        http.post(&advance_path(), ADMIN, "{}")
            .await
            .missing()
            .len(),
        7
    );
    let state = blocking(move || certification_traffic(address)).await;
    let view = http
        .get(&format!("/v1/merchants/{MID}/onboarding"), ADMIN)
        .await
        .json();
    assert_eq!(view["certification"]["passed"], 7, "{view}");
    assert_eq!(view["certification"]["complete"], true);
    assert_eq!(view["gate"]["missing"], json!([]));
    for case in view["certification"]["plan"].as_array().unwrap() {
        assert!(case["evidence"].is_string(), "{case}");
    }
    // The host processed it all in certification mode.
    let marked = server
        .running
        .host
        .inspect(|s| {
            s.transactions
                .values()
                .filter(|t| t.tid == TID)
                .all(|t| t.certification)
        })
        .await;
    assert!(marked);
    let marketing = http.post(&advance_path(), ADMIN, "{}").await;
    assert_eq!(marketing.json()["stage"], "marketing", "{}", marketing.text);
    let live = http
        .post(
            &advance_path(),
            ADMIN,
            r#"{"from":"marketing","campaign":{"name":"Opening week","program":"DBCOFFEE"}}"#,
        )
        .await;
    assert_eq!(live.status, 200, "{}", live.text);
    assert_eq!(live.json()["stage"], "live");
    assert_eq!(live.json()["campaign"]["name"], "Opening week");
    let refused = http.post(&advance_path(), ADMIN, "{}").await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    live_sale_and_audit(&server, http, state).await;
}

/// A real sale as live, then every step on the audit trail.
async fn live_sale_and_audit(
    server: &TestServer,
    http: Http,
    state: terminal::state::TerminalState,
) {
    let address = server.running.iso_addr;
    let rrn = blocking(move || {
        let mut pos = rebuild(state, PATIENT, address);
        let outcome = sale(&mut pos, &debit_card(), EntryMode::Swipe, Some(&pin()), 100);
        assert!(outcome.approved, "{outcome:?}");
        outcome.rrn.unwrap()
    })
    .await;
    let certification = server
        .running
        .host
        .inspect(move |s| s.transactions.get(&rrn).map(|t| t.certification))
        .await;
    assert_eq!(certification, Some(false), "a live sale is not a test");
    let audit = http
        .get(
            &format!("/v1/audit?resource=merchants/{MID}&limit=500"),
            ADMIN,
        )
        .await
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let mut expected = vec!["merchant.create", "merchant.contract"];
    expected.extend(["merchant.onboarding.advance"; 5]);
    assert_eq!(actions, expected);
    let terminal = http
        .get(&format!("/v1/audit?resource=terminals/{TID}"), ADMIN)
        .await
        .json();
    assert_eq!(terminal["items"][0]["action"], "terminal.register");
    assert_eq!(terminal["items"].as_array().unwrap().len(), 1);
    assert_eq!(terminal["items"][0]["actor"]["role"], "operator");
    assert_eq!(http.get("/v1/audit/verify", ADMIN).await.json()["ok"], true);
    let history = http
        .get(&format!("/v1/merchants/{MID}/onboarding"), ADMIN)
        .await
        .json()["history"]
        .clone();
    assert_eq!(history.as_array().unwrap().len(), 7, "{history}");
}
