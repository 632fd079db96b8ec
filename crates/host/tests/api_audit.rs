//! The audit log over HTTP (listing, filters, verification, tampering), a
//! real server on port 0, and concurrent writers, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;

use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

engines!(
    audit_lists_pages_and_filters,
    tampering_is_reported_by_verify,
    concurrent_posts_keep_one_chain,
    concurrent_repeats_of_one_idempotency_key_write_once,
    real_server_answers,
);

async fn audit_lists_pages_and_filters(h: Harness) {
    // The seed: 7 keys, the fee plan, the program, 3 merchants and 4
    // terminals, by the system.
    let all = h.get("/v1/audit?limit=500", ADMIN).await.json();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 16, "{all}");
    let seqs: Vec<u64> = items.iter().map(|i| i["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    assert_eq!(items[0]["previous_hash"], "0".repeat(64));
    for pair in items.windows(2) {
        assert_eq!(pair[1]["previous_hash"], pair[0]["hash"]);
    }
    assert_eq!(
        items[0]["actor"],
        json!({"role": "system", "scope": "sandbox"})
    );
    // Pages of 4: 4, 4, 4, 4.
    let mut seen = Vec::new();
    let mut path = "/v1/audit?limit=4".to_owned();
    loop {
        let page = h.get(&path, ADMIN).await.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["seq"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/audit?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=16).collect::<Vec<_>>());
    let keys = h.get("/v1/audit?action=api_key.create", ADMIN).await.json();
    assert_eq!(keys["items"].as_array().unwrap().len(), 7);
    let plan = h
        .get("/v1/audit?resource=fee-plans/STANDARD", ADMIN)
        .await
        .json();
    assert_eq!(
        plan["items"][0]["details"]["channels"]["debit"]["cap"]["amount_minor"],
        2500
    );
    let none = h.get("/v1/audit?actor_role=merchant", ADMIN).await.json();
    assert_eq!(none["items"], json!([]));
    let verify = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["events"], 16);
    assert_eq!(verify["head"], items[15]["hash"]);
}

/// Tampering statements and what the report must say.
const TAMPERING: &[(&str, u64, &str)] = &[
    (
        "UPDATE audit_events SET details = '{}' WHERE seq = 4",
        4,
        "edited",
    ),
    (
        "UPDATE audit_events SET time_ns = time_ns + 1 WHERE seq = 9",
        9,
        "edited",
    ),
    ("DELETE FROM audit_events WHERE seq = 5", 5, "removed"),
    (
        "UPDATE audit_events SET seq = 100 WHERE seq = 6; UPDATE audit_events SET seq = 6 WHERE seq = 7; \
         UPDATE audit_events SET seq = 7 WHERE seq = 100",
        6,
        "",
    ),
];

async fn tampering_is_reported_by_verify(h: Harness) {
    // Each statement runs on the sound chain: the table is restored from
    // the saved listing in between.
    let saved = h.get("/v1/audit?limit=500", ADMIN).await.json();
    for (sql, seq, word) in TAMPERING {
        h.sql(sql);
        let report = h.get("/v1/audit/verify", ADMIN).await.json();
        assert_eq!(report["ok"], false, "{sql}: {report}");
        assert_eq!(report["broken"]["seq"], *seq, "{sql}: {report}");
        assert!(
            report["broken"]["reason"].as_str().unwrap().contains(word),
            "{report}"
        );
        assert_eq!(report["events"], seq - 1);
        restore(&h, &saved);
        assert_eq!(h.get("/v1/audit/verify", ADMIN).await.json()["ok"], true);
    }
    // Editing an event AND recomputing its hash breaks the next link.
    h.sql("UPDATE audit_events SET details = '{}' WHERE seq = 3");
    let events = h
        .state
        .read(|s| {
            s.audit_events(&store::api::AuditFilter {
                after_seq: 2,
                limit: 1,
                ..Default::default()
            })
        })
        .await
        .unwrap();
    let event = &events[0];
    let rehashed = store::api::chain_hash(&event.previous_hash, event.seq, &event.entry);
    h.sql(&format!(
        "UPDATE audit_events SET hash = {} WHERE seq = 3",
        bytes_literal(&h, &rehashed)
    ));
    let report = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(report["broken"]["seq"], 4, "{report}");
}

fn bytes_literal(h: &Harness, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if h.url.starts_with("postgres") {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    }
}

/// Rewrites the audit table from a saved listing.
fn restore(h: &Harness, saved: &Value) {
    let mut sql = "DELETE FROM audit_events;".to_owned();
    for item in saved["items"].as_array().unwrap() {
        let text = |v: &Value| format!("'{}'", v.as_str().unwrap_or("").replace('\'', "''"));
        // The listing shows milliseconds; every seeded event is at T0.
        let time_ns = T0_NS;
        let unhex = |v: &Value| {
            let hex = v.as_str().unwrap();
            let bytes: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            bytes_literal(h, &bytes)
        };
        sql.push_str(&format!(
            "INSERT INTO audit_events (seq, time_ns, actor_role, actor_scope, action, resource, details, previous_hash, hash) \
             VALUES ({}, {time_ns}, {}, {}, {}, {}, {}, {}, {});",
            item["seq"],
            text(&item["actor"]["role"]),
            text(&item["actor"]["scope"]),
            text(&item["action"]),
            text(&item["resource"]),
            text(&json!(item["details"].to_string())),
            unhex(&item["previous_hash"]),
            unhex(&item["hash"]),
        ));
    }
    h.sql(&sql);
}

async fn concurrent_posts_keep_one_chain(h: Harness) {
    let h = std::sync::Arc::new(h);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            let key = if i % 2 == 0 { ADMIN } else { BANK };
            let reply = if key == ADMIN {
                h.post("/v1/fee-plans", key, &fee_plan(&format!("C{i}")))
                    .await
            } else {
                h.post(
                    "/v1/programs",
                    key,
                    &program(&format!("C{i}"), "DEMOBANK", "LUCKYCOFFEE"),
                )
                .await
            };
            assert_eq!(reply.status, 201, "{}", reply.text);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(
        report,
        json!({"ok": true, "events": 40, "head": report["head"]})
    );
}

async fn concurrent_repeats_of_one_idempotency_key_write_once(h: Harness) {
    let h = std::sync::Arc::new(h);
    let before = h.audit_count().await;
    let body = fee_plan("RACE");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let h = std::sync::Arc::clone(&h);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            h.send(
                call("POST", "/v1/fee-plans", Some(ADMIN))
                    .body(&body)
                    .header("idempotency-key", "race"),
            )
            .await
        }));
    }
    let mut texts = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, 201, "{}", reply.text);
        texts.push(reply.text);
    }
    texts.dedup();
    assert_eq!(texts.len(), 1, "every repeat answers the first response");
    assert_eq!(h.audit_count().await, before + 1);
}

async fn raw_http(address: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

async fn real_server_answers(h: Harness) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = h.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let health = raw_http(
        address,
        "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    let body = fee_plan("SERVED");
    let post = raw_http(
        address,
        &format!(
            "POST /v1/fee-plans HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {ADMIN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(post.starts_with("HTTP/1.1 201"), "{post}");
    let unauthorized = raw_http(
        address,
        "GET /v1/fee-plans HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(unauthorized.starts_with("HTTP/1.1 401"), "{unauthorized}");
    assert!(
        unauthorized.contains("application/problem+json"),
        "{unauthorized}"
    );
    let csv = raw_http(
        address,
        &format!("GET /v1/fee-plans HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/csv\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"),
    )
    .await;
    assert!(csv.contains("SERVED,60,50,2500,38,60,keep"), "{csv}");
    server.abort();
}
