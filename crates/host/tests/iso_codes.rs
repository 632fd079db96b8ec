//! The response codes of host-interface.md section 7 that no other flow test
//! reaches, over real TCP on both engines: `43` for a card the issuer marked
//! stolen (issued through the API, then presented by a terminal) and `57`
//! for a balance inquiry on an off-us card (the network answers no balance
//! inquiries for a terminal of ours). Neither changes a balance.
//!
//! The codes a risk rule would give (`59`, `61`, `65`) are not produced:
//! the host has no risk rules yet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;
mod merchants_support;

use iso_support::{Client, DEBIT, MID1, TestServer, VISA, available};
use merchants_support::*;
use serde_json::json;

both_engines!(stolen_card_gets_43, off_us_balance_inquiry_gets_57);

const STOLEN_PAN: &str = "6217009999999987";

async fn stolen_card_gets_43(server: TestServer) {
    let http = Http(server.running.http_addr);
    let card = json!({"pan": STOLEN_PAN, "expiry": "3012", "pin": "1234",
        "balance": {"amount_minor": 50_000, "currency": "CNY"}, "status": "stolen"});
    let issued = http
        .post("/v1/issuer/cards", ADMIN, &card.to_string())
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text);
    assert_eq!(issued.json()["status"], "stolen");
    let mut c = Client::connect(server.running.iso_addr, "T0000001").await;
    let sale = c.sale(STOLEN_PAN, 1_000, MID1);
    let answer = c.call(&sale).await;
    assert_eq!(answer.code(), "43");
    assert_eq!(answer.auth_code(), "", "no authorization code on a decline");
    // The same card's money is untouched: an active card of the same
    // issuer still sells, and the stolen one stays declined.
    let active = c.sale(DEBIT, 1_000, MID1);
    assert_eq!(c.call(&active).await.code(), "00");
    let again = c.sale(STOLEN_PAN, 1, MID1);
    assert_eq!(c.call(&again).await.code(), "43");
    let base = host::api::ISSUED_CARD_ACCOUNT_BASE;
    let (report, balance) = server
        .stop_and(move |s| {
            let balance = s
                .accounts()
                .unwrap()
                .iter()
                .find(|a| a.id.0 == base + 1)
                .map(|a| i128::from(a.credits_posted) - i128::from(a.debits_posted));
            (s.verify_ledger().unwrap(), balance)
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(balance, Some(50_000), "the stolen card's balance is intact");
}

async fn off_us_balance_inquiry_gets_57(server: TestServer) {
    let mut c = Client::connect(server.running.iso_addr, "T0000001").await;
    let before = available(&mut c, DEBIT, MID1).await;
    let inquiry = c.financial("0100", "310000", VISA, 0, MID1);
    let answer = c.call(&inquiry).await;
    assert_eq!(answer.code(), "57");
    assert_eq!(answer.text(iso8583::de::ADDITIONAL_AMOUNTS), None);
    assert_eq!(available(&mut c, DEBIT, MID1).await, before);
    let report = server.stop_and(|s| s.verify_ledger().unwrap()).await;
    assert!(report.violations.is_empty(), "{report:?}");
}
