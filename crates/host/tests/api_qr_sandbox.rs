//! Where the QR and issuer card endpoints answer without a terminal host
//! or outside the sandbox, on both engines: the sandbox's issuer and the
//! wallet notification do not exist in production (404), and QR payments
//! need the terminal host of the process (409), while orders are plain
//! resources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;

use support::*;

engines!(
    sandbox_endpoints_are_404_in_production,
    an_expired_order_is_not_paid,
);

async fn sandbox_endpoints_are_404_in_production(h: Harness) {
    let created = h
        .post(
            "/v1/api-keys",
            ADMIN,
            r#"{"role":"operator","label":"ops"}"#,
        )
        .await
        .json();
    let key = created["key"].as_str().unwrap().to_owned();
    let order = h
        .post(
            "/v1/qr/orders",
            &key,
            r#"{"mid":"100000000000001","amount":{"amount_minor":500,"currency":"CNY"}}"#,
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.text);
    let id = order.json()["id"].as_str().unwrap().to_owned();
    let card = r#"{"pan":"6217009999999995","expiry":"3012","pin":"1234",
        "balance":{"amount_minor":100,"currency":"CNY"}}"#;
    let pay = format!("/v1/qr/orders/{id}/pay");
    // In the sandbox, without a terminal host in the process: 409.
    for (path, body) in [("/v1/issuer/cards", card), (pay.as_str(), "{}")] {
        let reply = h.post(path, &key, body).await;
        assert_problem(&reply, 409);
    }
    let payment = h
        .post(
            "/v1/qr/payments",
            &key,
            r#"{"mid":"100000000000001","amount":{"amount_minor":500,"currency":"CNY"},
                "payment_code":"281234567890123456"}"#,
        )
        .await;
    assert_problem(&payment, 409);
    assert!(!payment.text.contains("281234567890123456"));
    // Outside the sandbox the issuer and the notification do not exist.
    let (_, production) = h.production();
    for (path, body) in [("/v1/issuer/cards", card), (pay.as_str(), "{}")] {
        let reply = h
            .send_to(&production, call("POST", path, Some(&key)).body(body))
            .await;
        assert_problem(&reply, 404);
    }
    let read = h
        .send_to(
            &production,
            call("GET", &format!("/v1/qr/orders/{id}"), Some(&key)),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json()["status"], "pending");
}

async fn an_expired_order_is_not_paid(h: Harness) {
    let order = h
        .post(
            "/v1/qr/orders",
            MERCHANT_1,
            r#"{"mid":"100000000000001","amount":{"amount_minor":500,"currency":"CNY"},"expires_in_s":60}"#,
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.text);
    let body = order.json();
    // The harness's clock starts at 2026-01-01T00:00:00Z.
    assert_eq!(body["expires_at"], "2026-01-01T00:01:00.000Z");
    let pay = format!("/v1/qr/orders/{}/pay", body["id"].as_str().unwrap());
    h.clock.advance(60 * 1_000_000_000);
    let reply = h.post(&pay, ADMIN, "{}").await;
    assert_problem(&reply, 409);
    assert!(
        reply.json()["detail"].as_str().unwrap().contains("expired"),
        "{}",
        reply.text
    );
}
