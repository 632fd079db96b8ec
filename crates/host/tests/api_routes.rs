//! The OpenAPI document and the router agree: every route is documented
//! and every documented operation is routed, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;

use support::*;

engines!(openapi_documents_every_route);

async fn openapi_documents_every_route(h: Harness) {
    let document = h.send(call("GET", "/v1/openapi.json", None)).await.json();
    assert_eq!(document["openapi"], "3.1.0");
    // Every route the router serves is in the document …
    for endpoint in host::api::openapi::endpoints() {
        let operation = &document["paths"][endpoint.path][endpoint.method];
        assert!(
            operation.is_object(),
            "{} {} undocumented",
            endpoint.method,
            endpoint.path
        );
    }
    // … and every documented operation is routed (not the 404 fallback or 405).
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let concrete = path
                .replace("{code}", "STANDARD")
                .replace("{mid}", "100000000000001")
                .replace("{tid}", "T0000001");
            let concrete = if concrete.starts_with("/v1/programs/") {
                "/v1/programs/DBCOFFEE".to_owned()
            } else {
                concrete
            };
            let upper = method.to_uppercase();
            let mut request = call(&upper, &concrete, Some(ADMIN));
            let body;
            if method == "post" || method == "put" {
                body = "{}".to_owned();
                request = request.body(&body);
            }
            let reply = h.send(request).await;
            // A handler's 404 (no such resource) is told from the fallback's
            // by the 405 a routed path answers to another method.
            let routed = match reply.status.as_u16() {
                404 => h.send(call("DELETE", &concrete, Some(ADMIN))).await.status == 405,
                405 => false,
                _ => true,
            };
            assert!(routed, "{method} {path}: {} {}", reply.status, reply.text);
            // A 404 for an unknown id: the path is routed when the other
            // method is refused with 405 rather than the 404 fallback.
            let other = if method == "post" { "GET" } else { "POST" };
            let routed = reply.status.as_u16() != 404
                || h.send(call(other, &concrete, Some(ADMIN)))
                    .await
                    .status
                    .as_u16()
                    == 405;
            assert!(
                routed && reply.status.as_u16() != 405,
                "{method} {path}: {} {}",
                reply.status,
                reply.text
            );
        }
    }
    // The routes of this module, as listed in rest-api.md.
    let expected = [
        ("get", "/v1/health"),
        ("get", "/v1/openapi.json"),
        ("post", "/v1/api-keys"),
        ("post", "/v1/fee-plans"),
        ("get", "/v1/fee-plans"),
        ("get", "/v1/fee-plans/{code}"),
        ("post", "/v1/programs"),
        ("get", "/v1/programs/{code}"),
        ("get", "/v1/audit"),
        ("get", "/v1/audit/verify"),
        ("post", "/v1/accounts"),
        ("get", "/v1/accounts/{id}"),
        ("post", "/v1/merchants/{mid}/bindings"),
        ("get", "/v1/merchants/{mid}/bindings"),
        ("get", "/v1/merchants/{mid}/bindings/in-force"),
        ("get", "/v1/approvals"),
        ("post", "/v1/approvals/{id}/approve"),
        ("post", "/v1/approvals/{id}/reject"),
        ("get", "/v1/transactions"),
        ("get", "/v1/transactions/{id}"),
        ("get", "/v1/ledger/accounts/{id}/balance"),
        ("post", "/v1/merchants"),
        ("get", "/v1/merchants"),
        ("get", "/v1/merchants/{mid}"),
        ("put", "/v1/merchants/{mid}/contract"),
        ("get", "/v1/merchants/{mid}/onboarding"),
        ("post", "/v1/merchants/{mid}/onboarding/advance"),
        ("post", "/v1/merchants/{mid}/onboarding/reject"),
        ("post", "/v1/terminals"),
        ("get", "/v1/terminals/{tid}"),
        ("post", "/v1/terminals/{tid}/activate"),
        ("post", "/v1/terminals/{tid}/suspend"),
        ("get", "/v1/reports/daily"),
        ("get", "/v1/reconciliation/exceptions"),
        ("post", "/v1/qr/payments"),
        ("post", "/v1/qr/orders"),
        ("get", "/v1/qr/orders/{id}"),
        ("post", "/v1/qr/orders/{id}/pay"),
        ("post", "/v1/issuer/cards"),
        ("post", "/v1/settlement-runs"),
        ("get", "/v1/settlement-runs/{id}"),
        ("get", "/v1/settlements"),
        ("get", "/v1/payouts"),
        ("post", "/v1/payouts/{id}/send"),
        ("post", "/v1/payouts/{id}/confirm"),
        ("post", "/v1/payouts/{id}/return"),
        ("post", "/v1/payouts/{id}/release"),
        ("post", "/v1/merchants/{mid}/adjustments"),
    ];
    assert_eq!(operations, expected.len());
    for (method, path) in expected {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
}
