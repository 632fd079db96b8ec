//! A chargeback posted over HTTP limits what a terminal can still do with
//! the transaction, over real TCP on both engines: a refund of more than
//! is left is declined `13`, a void `12`, a reversal is acknowledged and
//! undoes nothing, and all of that holds after a restart (the host loads
//! the chargebacks with its state).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture_support;
mod iso_support;

use capture_support::*;
use iso_support::*;

both_engines!(a_charged_back_sale_is_not_given_back_twice);

const ADMIN: &str = "sk_sandbox_admin";

async fn charge_back(server: &TestServer, rrn: &str, amount_minor: i64) -> HttpReply {
    let body = serde_json::json!({
        "kind": "chargeback",
        "amount": {"amount_minor": amount_minor, "currency": "CNY"},
        "transaction_id": rrn,
        "reason": "goods not received",
    });
    http(
        server.running.http_addr,
        "POST",
        &format!("/v1/merchants/{MID1}/adjustments"),
        ADMIN,
        "application/json",
        Some(&body.to_string()),
    )
    .await
}

async fn a_charged_back_sale_is_not_given_back_twice(server: TestServer) {
    let mut till = server.client("T0000001").await;
    let before = available(&mut till, DEBIT, MID1).await;
    let sale_a = till.sale(DEBIT, 10_000, MID1);
    let a = till.call(&sale_a).await;
    assert_eq!(a.code(), "00");
    let a = a.rrn();
    let reply = charge_back(&server, &a, 3_000).await;
    assert_eq!(reply.status, 201, "{}", reply.body);

    // 7,000 is left: not a cent more, and no void of the whole.
    let refund = follow_up(&mut till, "200000", DEBIT, 7_001, MID1, &a);
    assert_eq!(till.call(&refund).await.code(), "13");
    let void = follow_up(&mut till, "020000", DEBIT, 10_000, MID1, &a);
    assert_eq!(till.call(&void).await.code(), "12");
    let refund = follow_up(&mut till, "200000", DEBIT, 7_000, MID1, &a);
    assert_eq!(till.call(&refund).await.code(), "00");
    // Nothing is left to charge back either.
    let reply = charge_back(&server, &a, 1).await;
    assert_eq!(reply.status, 422, "{}", reply.body);

    // A sale charged back whole: its reversal gives nothing back again.
    let sale_b = till.sale(DEBIT, 5_000, MID1);
    let b = till.call(&sale_b).await;
    assert_eq!(b.code(), "00");
    let b = b.rrn();
    let reply = charge_back(&server, &b, 5_000).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reversal = reversal_of(&mut till, &sale_b);
    assert_eq!(till.call(&reversal).await.code(), "00");
    // The card paid 10,000 + 5,000 and got 7,000 back by refund (the
    // chargebacks credit the issuer, which credits its cardholder).
    assert_eq!(available(&mut till, DEBIT, MID1).await, before - 8_000);
    let stan = till.next_stan();

    let url = server.url.clone();
    let (charged_back, sound) = server
        .stop_and(|store| {
            let state = host::state::HostState::load(store).unwrap();
            let sound = store.verify_ledger().unwrap().violations.is_empty();
            (state.charged_back, sound)
        })
        .await;
    assert!(sound);
    assert_eq!(charged_back.len(), 2);
    assert_eq!((charged_back[&a], charged_back[&b]), (3_000, 5_000));

    // After a restart the host still knows.
    let server = TestServer::start_with(TestServer::config(&url)).await;
    let mut till = server.client("T0000001").await;
    while till.next_stan() < stan {}
    let refund = follow_up(&mut till, "200000", DEBIT, 1, MID1, &b);
    assert_eq!(till.call(&refund).await.code(), "13");
    let void = follow_up(&mut till, "020000", DEBIT, 10_000, MID1, &a);
    assert_eq!(till.call(&void).await.code(), "12");
    assert_eq!(available(&mut till, DEBIT, MID1).await, before - 8_000);
    server.stop_and(|_| ()).await;
}
