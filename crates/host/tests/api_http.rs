//! The HTTP API's conventions and first resources, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;

use serde_json::{Value, json};
use support::*;

engines!(
    role_matrix,
    unauthenticated_requests_get_401,
    other_parties_resources_are_404_and_forbidden_actions_403,
    idempotent_posts_replay_and_reject_a_changed_body,
    api_key_is_shown_once_and_works,
    pagination_and_csv,
    malformed_requests_get_problem_documents,
    created_resources_read_back_and_are_audited,
    duplicate_code_is_409,
    health_names_the_engine,
    sandbox_keys_open_nothing_outside_the_sandbox,
    regression_nul_in_text_was_a_500_on_postgres,
    endpoints_with_their_own_ops_audit_only_what_applied,
);

/// Per route: method, path, body, and the expected status for each key of
/// `KEYS` (admin, bank, brand, merchant 1, merchant 2, owner Li Wei, owner
/// Zhang Min). `{i}` in a body becomes the key's index, so creations do
/// not collide.
const MATRIX: &[(&str, &str, &str, [u16; 7])] = &[
    ("GET", "/v1/health", "", [200, 200, 200, 200, 200, 200, 200]),
    (
        "GET",
        "/v1/openapi.json",
        "",
        [200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/v1/api-keys",
        "key",
        [201, 403, 403, 403, 403, 403, 403],
    ),
    (
        "POST",
        "/v1/fee-plans",
        "fee_plan",
        [201, 403, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/v1/fee-plans",
        "",
        [200, 403, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/v1/fee-plans/STANDARD",
        "",
        [200, 403, 403, 403, 403, 403, 403],
    ),
    (
        "POST",
        "/v1/programs",
        "program",
        [201, 201, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/v1/programs/DBCOFFEE",
        "",
        [200, 200, 200, 403, 403, 403, 403],
    ),
    ("GET", "/v1/audit", "", [200, 403, 403, 403, 403, 403, 403]),
    (
        "GET",
        "/v1/audit/verify",
        "",
        [200, 403, 403, 403, 403, 403, 403],
    ),
];

fn matrix_body(kind: &str, i: usize) -> String {
    match kind {
        "key" => r#"{"role":"merchant","scope":"100000000000001","label":"till"}"#.to_owned(),
        "fee_plan" => fee_plan(&format!("MATRIX{i}")),
        "program" => program(&format!("MATRIX{i}"), "DEMOBANK", "LUCKYCOFFEE"),
        _ => String::new(),
    }
}

async fn role_matrix(h: Harness) {
    let mut failures = Vec::new();
    for (method, path, body, expected) in MATRIX {
        for (i, key) in KEYS.iter().enumerate() {
            let body = matrix_body(body, i);
            let mut request = call(method, path, Some(key));
            if !body.is_empty() {
                request = request.body(&body);
            }
            let reply = h.send(request).await;
            if reply.status.as_u16() != expected[i] {
                failures.push(format!(
                    "{method} {path} with {key}: {} (expected {}): {}",
                    reply.status, expected[i], reply.text
                ));
            }
            if reply.status.as_u16() == 403 {
                assert_problem(&reply, 403);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

async fn unauthenticated_requests_get_401(h: Harness) {
    let authorizations = [
        None,
        Some("Bearer sk_sandbox_nobody"),
        Some("Basic c2tfc2FuZGJveF9hZG1pbg=="),
        Some("Bearer "),
        Some("sk_sandbox_admin"),
    ];
    for (method, path, body, _) in MATRIX.iter().skip(2) {
        for authorization in authorizations {
            let body = matrix_body(body, 0);
            let mut request = call(method, path, None);
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            if !body.is_empty() {
                request = request.body(&body);
            }
            let reply = h.send(request).await;
            assert_problem(&reply, 401);
        }
    }
}

async fn other_parties_resources_are_404_and_forbidden_actions_403(h: Harness) {
    let created = h
        .post(
            "/v1/programs",
            ADMIN,
            &program("OTHER", "OTHERBANK", "OTHERBRAND"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    // Another party's program: not found, exactly like a missing one.
    let other = h.get("/v1/programs/OTHER", BRAND).await;
    let missing = h.get("/v1/programs/NOSUCH", BRAND).await;
    assert_problem(&other, 404);
    assert_eq!(other.json(), missing.json());
    assert_problem(&h.get("/v1/programs/OTHER", BANK).await, 404);
    assert_eq!(h.get("/v1/programs/OTHER", ADMIN).await.status, 200);
    // Own program: visible.
    assert_eq!(h.get("/v1/programs/DBCOFFEE", BRAND).await.status, 200);
    // An action the role may not do: 403, also for a missing resource.
    assert_problem(&h.get("/v1/programs/NOSUCH", MERCHANT_1).await, 403);
    // A bank creating another bank's program: 403.
    let reply = h
        .post("/v1/programs", BANK, &program("THEIRS", "OTHERBANK", "X"))
        .await;
    assert_problem(&reply, 403);
}

async fn idempotent_posts_replay_and_reject_a_changed_body(h: Harness) {
    let body = fee_plan("IDEM");
    let first = h
        .send(
            call("POST", "/v1/fee-plans", Some(ADMIN))
                .body(&body)
                .header("idempotency-key", "k-1"),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let events = h.audit_count().await;
    h.clock.advance(1_000_000_000);
    let again = h
        .send(
            call("POST", "/v1/fee-plans", Some(ADMIN))
                .body(&body)
                .header("idempotency-key", "k-1"),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text, "the replay is the first response");
    assert_eq!(h.audit_count().await, events, "no second audit event");
    // The stored fingerprint is keyed with the server's pepper: an unkeyed
    // hash of a body that carries a PAN or a PIN could be brute-forced.
    let key_hash = host::api::hash_key(b"test pepper", ADMIN);
    let key_id = format!(
        "key_{}",
        key_hash[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let record = h
        .state
        .read(move |store| store.idempotency_record(&key_id, "k-1"))
        .await
        .unwrap()
        .expect("the idempotency record is stored");
    let plain: [u8; 32] = {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"POST /v1/fee-plans\0");
        hasher.update(body.as_bytes());
        hasher.finalize().into()
    };
    assert_ne!(
        record.fingerprint, plain,
        "not an unkeyed hash of the request"
    );
    // Same key, different body: 422.
    let changed = fee_plan("IDEM2");
    let reply = h
        .send(
            call("POST", "/v1/fee-plans", Some(ADMIN))
                .body(&changed)
                .header("idempotency-key", "k-1"),
        )
        .await;
    assert_problem(&reply, 422);
    assert!(reply.text.contains("idempotency"), "{}", reply.text);
    assert_eq!(h.get("/v1/fee-plans/IDEM2", ADMIN).await.status, 404);
    // The same key on another path is another request: 422 as well.
    let reply = h
        .send(
            call("POST", "/v1/programs", Some(ADMIN))
                .body(&body)
                .header("idempotency-key", "k-1"),
        )
        .await;
    assert_problem(&reply, 422);
    // Keys are per API key: the bank's k-1 is its own.
    let bank_program = program("BANKIDEM", "DEMOBANK", "LUCKYCOFFEE");
    let reply = h
        .send(
            call("POST", "/v1/programs", Some(BANK))
                .body(&bank_program)
                .header("idempotency-key", "k-1"),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // Without a key, a repeat is a new request: 409 for the existing code.
    assert_problem(&h.post("/v1/fee-plans", ADMIN, &body).await, 409);
    // An oversized idempotency key is a field error.
    let long = "k".repeat(300);
    let reply = h
        .send(
            call("POST", "/v1/fee-plans", Some(ADMIN))
                .body(&body)
                .header("idempotency-key", &long),
        )
        .await;
    assert_problem(&reply, 422);
}

async fn api_key_is_shown_once_and_works(h: Harness) {
    let body = r#"{"role":"brand","scope":"LUCKYCOFFEE","label":"brand reporting"}"#;
    let first = h
        .send(
            call("POST", "/v1/api-keys", Some(ADMIN))
                .body(body)
                .header("idempotency-key", "new-key"),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let created = first.json();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_") && key.len() == 67, "{key}");
    // The repeat replays the metadata without the key.
    let again = h
        .send(
            call("POST", "/v1/api-keys", Some(ADMIN))
                .body(body)
                .header("idempotency-key", "new-key"),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json()["id"], created["id"]);
    assert!(again.json().get("key").is_none(), "{}", again.text);
    // The new key works with its role and scope.
    assert_eq!(h.get("/v1/programs/DBCOFFEE", &key).await.status, 200);
    assert_problem(&h.get("/v1/fee-plans", &key).await, 403);
    // Neither the key nor its hash is in the audit log.
    let audit = h.get("/v1/audit?action=api_key.create", ADMIN).await;
    assert!(!audit.text.contains(&key));
    // Validation.
    for bad in [
        r#"{"role":"root","label":"x"}"#,
        r#"{"role":"merchant","label":"x"}"#,
        r#"{"role":"operator","scope":"X","label":"x"}"#,
        r#"{"role":"operator","label":""}"#,
    ] {
        assert_problem(&h.post("/v1/api-keys", ADMIN, bad).await, 422);
    }
}

async fn pagination_and_csv(h: Harness) {
    for i in 0..7 {
        let reply = h
            .post("/v1/fee-plans", ADMIN, &fee_plan(&format!("P{i}")))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    // 8 plans with STANDARD: pages of 3, 3, 2.
    let mut codes = Vec::new();
    let mut path = "/v1/fee-plans?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = h.get(&path, ADMIN).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let page = reply.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        codes.extend(items.iter().map(|i| i["code"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/fee-plans?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        codes,
        ["P0", "P1", "P2", "P3", "P4", "P5", "P6", "STANDARD"]
    );
    // Default limit holds them all.
    let all = h.get("/v1/fee-plans", ADMIN).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 8);
    assert_eq!(all["next_cursor"], Value::Null);
    // CSV.
    let csv = h
        .send(call("GET", "/v1/fee-plans?limit=2", Some(ADMIN)).header("accept", "text/csv"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type().starts_with("text/csv"),
        "{}",
        csv.content_type()
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(lines[0].starts_with("code,"));
    assert!(
        lines[1].starts_with("P0,60,50,2500,38,60,keep,"),
        "{}",
        lines[1]
    );
    assert!(csv.headers.contains_key("x-next-cursor"));
    let audit_csv = h
        .send(call("GET", "/v1/audit?limit=500", Some(ADMIN)).header("accept", "text/csv"))
        .await;
    assert!(
        audit_csv.text.starts_with("seq,time,"),
        "{}",
        audit_csv.text
    );
    // Bad parameters.
    for path in [
        "/v1/fee-plans?limit=0",
        "/v1/fee-plans?limit=501",
        "/v1/fee-plans?limit=-1",
        "/v1/fee-plans?limit=ten",
        "/v1/fee-plans?cursor=garbage",
        "/v1/fee-plans?cursor=c1.zz",
        "/v1/fee-plans?colour=blue",
        "/v1/audit?cursor=c1.41",
        "/v1/audit?limit=100000",
    ] {
        assert_problem(&h.get(path, ADMIN).await, 422);
    }
}

/// Malformed POST bodies: content type, body, expected status, and a field
/// the problem must name (for 422).
const MALFORMED: &[(&str, &str, u16, &str)] = &[
    ("application/json", r#"{"code":"#, 400, ""),
    ("application/json", "not json", 400, ""),
    ("application/json", "", 400, ""),
    ("text/plain", r#"{"code":"X"}"#, 415, ""),
    ("", r#"{"code":"X"}"#, 415, ""),
    ("application/json", "[]", 422, ""),
    (
        "application/json",
        r#"{"code":"X","channels":{"credit":{"rate_bps":"60"}}}"#,
        422,
        "channels.credit.rate_bps",
    ),
    (
        "application/json",
        r#"{"code":"X","channels":{}}"#,
        422,
        "refund_policy",
    ),
    (
        "application/json",
        r#"{"code":"X","channels":{},"refund_policy":"keep","colour":"red"}"#,
        422,
        "colour",
    ),
    (
        "application/json",
        r#"{"code":"X","channels":{"credit":{"rate_bps":99999999999999999999}},"refund_policy":"keep"}"#,
        422,
        "channels.credit.rate_bps",
    ),
    (
        "application/json",
        r#"{"code":"X","channels":{"credit":{"rate_bps":60,"cap":{"amount_minor":1e300,"currency":"CNY"}}},"refund_policy":"keep"}"#,
        422,
        "channels.credit.cap.amount_minor",
    ),
    (
        "application/json",
        r#"{"code":"X","channels":{"credit":{"rate_bps":-5}},"refund_policy":"keep"}"#,
        422,
        "channels.credit.rate_bps",
    ),
];

async fn malformed_requests_get_problem_documents(h: Harness) {
    for (content_type, body, status, field) in MALFORMED {
        let mut request = call("POST", "/v1/fee-plans", Some(ADMIN)).raw_body(body);
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let reply = h.send(request).await;
        assert_problem(&reply, *status);
        if !field.is_empty() {
            let errors = reply.json()["errors"].clone();
            assert!(errors.to_string().contains(field), "{body}: {errors}");
        }
    }
    // Valid JSON, invalid values: every field error at once.
    let plan: Value = serde_json::from_str(&fee_plan("bad code!")).unwrap();
    let mut plan = plan;
    plan["channels"]["debit"]["cap"]["amount_minor"] = json!(-1);
    plan["channels"]["credit"]["rate_bps"] = json!(10_001);
    plan["channels"]["wallet_qr"] = Value::Null;
    plan["refund_policy"] = json!("sometimes");
    plan["mcc_overrides"][0]["mcc"] = json!("58");
    plan["channels"]["unionpay_qr"]["minimum"] = json!({"amount_minor": 1, "currency": "USD"});
    let reply = h.post("/v1/fee-plans", ADMIN, &plan.to_string()).await;
    assert_problem(&reply, 422);
    let fields: Vec<String> = reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for field in [
        "code",
        "channels.debit.cap.amount_minor",
        "channels.wallet_qr",
        "refund_policy",
        "mcc_overrides[0].mcc",
        "channels.unionpay_qr.minimum.currency",
    ] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} not in {fields:?}"
        );
    }
    // Rate above 100% alone reaches the domain's validation.
    let mut plan: Value = serde_json::from_str(&fee_plan("HIGH")).unwrap();
    plan["channels"]["credit"]["rate_bps"] = json!(10_001);
    let reply = h.post("/v1/fee-plans", ADMIN, &plan.to_string()).await;
    assert_problem(&reply, 422);
    assert!(reply.text.contains("channels.credit"), "{}", reply.text);
    // Minimum above cap.
    let mut plan: Value = serde_json::from_str(&fee_plan("INVERTED")).unwrap();
    plan["channels"]["debit"]["minimum"] = json!({"amount_minor": 3000, "currency": "CNY"});
    assert_problem(
        &h.post("/v1/fee-plans", ADMIN, &plan.to_string()).await,
        422,
    );
    // Programs: BIN ranges of 6 or 8 digits, bps ≤ 10 000, positive unit.
    let mut bad: Value = serde_json::from_str(&program("BADP", "DEMOBANK", "LUCKYCOFFEE")).unwrap();
    bad["bin_ranges"] = json!(["62258", "6225880", "ABCDEF", "622588"]);
    bad["fee_share_bps"] = json!(20_000);
    bad["points"]["unit"]["amount_minor"] = json!(0);
    bad["discount"]["cap"]["amount_minor"] = json!(-2000);
    let reply = h.post("/v1/programs", ADMIN, &bad.to_string()).await;
    assert_problem(&reply, 422);
    for field in [
        "bin_ranges[0]",
        "bin_ranges[1]",
        "bin_ranges[2]",
        "fee_share_bps",
        "points.unit.amount_minor",
        "discount.cap.amount_minor",
    ] {
        assert!(
            reply.text.contains(&format!("\"{field}\"")),
            "{field}: {}",
            reply.text
        );
    }
    let mut empty: Value =
        serde_json::from_str(&program("EMPTYP", "DEMOBANK", "LUCKYCOFFEE")).unwrap();
    empty["bin_ranges"] = json!([]);
    assert_problem(
        &h.post("/v1/programs", ADMIN, &empty.to_string()).await,
        422,
    );
    // Oversized body.
    let huge = format!(r#"{{"code":"{}"}}"#, "A".repeat(100_000));
    assert_problem(&h.post("/v1/fee-plans", ADMIN, &huge).await, 413);
    // Unknown paths and methods.
    assert_problem(&h.get("/v1/nothing-here", ADMIN).await, 404);
    assert_problem(
        &h.send(call("DELETE", "/v1/fee-plans", Some(ADMIN))).await,
        405,
    );
    assert_problem(&h.send(call("PUT", "/v1/health", None)).await, 405);
    assert_problem(&h.get("/v1/fee-plans/NOSUCH", ADMIN).await, 404);
    // Nothing above was stored or audited beyond the seed.
    assert_eq!(
        h.get("/v1/fee-plans", ADMIN).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn created_resources_read_back_and_are_audited(h: Harness) {
    let before = h.audit_count().await;
    let created = h.post("/v1/fee-plans", ADMIN, &fee_plan("READBACK")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let read = h.get("/v1/fee-plans/READBACK", ADMIN).await;
    assert_eq!(read.json(), created.json());
    let plan = read.json();
    assert_eq!(
        plan["channels"]["debit"]["cap"],
        json!({"amount_minor": 2500, "currency": "CNY"})
    );
    assert_eq!(plan["channels"]["credit"]["cap"], Value::Null);
    assert_eq!(plan["mcc_overrides"][0]["mcc"], "5814");
    assert_eq!(plan["created_at"], "2026-01-01T00:00:00.000Z");
    // The seeded STANDARD plan matches the sandbox table.
    let standard = h.get("/v1/fee-plans/STANDARD", ADMIN).await.json();
    assert_eq!(standard["channels"]["credit"]["rate_bps"], 60);
    assert_eq!(standard["channels"]["debit"]["cap"]["amount_minor"], 2500);
    assert_eq!(standard["channels"]["wallet_qr"]["rate_bps"], 38);
    assert_eq!(standard["refund_policy"], "keep");
    let dbcoffee = h.get("/v1/programs/DBCOFFEE", BRAND).await.json();
    assert_eq!(dbcoffee["bin_ranges"], json!(["622588"]));
    assert_eq!(dbcoffee["fee_share_bps"], 2000);
    assert_eq!(dbcoffee["discount"]["cap"]["amount_minor"], 2000);
    // One audit event, by the operator, with the plan as details.
    assert_eq!(h.audit_count().await, before + 1);
    let audit = h
        .get(
            "/v1/audit?action=fee_plan.create&resource=fee-plans/READBACK",
            ADMIN,
        )
        .await
        .json();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(
        items[0]["actor"],
        json!({"role": "operator", "scope": null})
    );
    assert_eq!(items[0]["details"]["code"], "READBACK");
    assert_eq!(items[0]["seq"], before + 1);
    let program_reply = h
        .post(
            "/v1/programs",
            BANK,
            &program("BANKP", "DEMOBANK", "LUCKYCOFFEE"),
        )
        .await;
    assert_eq!(program_reply.status, 201);
    let by_bank = h.get("/v1/audit?actor_role=bank", ADMIN).await.json();
    assert_eq!(
        by_bank["items"][0]["actor"],
        json!({"role": "bank", "scope": "DEMOBANK"})
    );
    let verify = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["events"], before + 2);
}

async fn duplicate_code_is_409(h: Harness) {
    assert_problem(
        &h.post("/v1/fee-plans", ADMIN, &fee_plan("STANDARD")).await,
        409,
    );
    assert_problem(
        &h.post("/v1/programs", ADMIN, &program("DBCOFFEE", "DEMOBANK", "X"))
            .await,
        409,
    );
    // Seeding again changes nothing.
    let before = h.audit_count().await;
    host::api::seed_sandbox(&h.state).await.unwrap();
    assert_eq!(h.audit_count().await, before);
}

async fn health_names_the_engine(h: Harness) {
    let reply = h.send(call("GET", "/v1/health", None)).await;
    assert_eq!(reply.status, 200);
    let engine = if h.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(reply.json(), json!({"status": "ok", "storage": engine}));
}

async fn sandbox_keys_open_nothing_outside_the_sandbox(h: Harness) {
    let (state, production) = h.production();
    assert!(host::api::seed_sandbox(&state).await.is_err());
    let reply = h
        .send_to(&production, call("GET", "/v1/fee-plans", Some(ADMIN)))
        .await;
    assert_problem(&reply, 401);
    // A real key works in both.
    let created = h
        .post(
            "/v1/api-keys",
            ADMIN,
            r#"{"role":"operator","label":"ops"}"#,
        )
        .await
        .json();
    let key = created["key"].as_str().unwrap();
    let reply = h
        .send_to(&production, call("GET", "/v1/fee-plans", Some(key)))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Found by `api_fuzz`: PostgreSQL refuses NUL in text, so a NUL reaching a
/// query was a 500.
async fn regression_nul_in_text_was_a_500_on_postgres(h: Harness) {
    let body = r#"{"role":"bank","scope":"DEMOBANK","label":"x\u0000y"}"#;
    let reply = h.post("/v1/api-keys", ADMIN, body).await;
    assert_problem(&reply, 422);
    assert!(reply.text.contains("\"label\""), "{}", reply.text);
    let mut named: Value =
        serde_json::from_str(&program("NULNAME", "DEMOBANK", "LUCKYCOFFEE")).unwrap();
    named["name"] = json!("a\u{0}b");
    assert_problem(
        &h.post("/v1/programs", ADMIN, &named.to_string()).await,
        422,
    );
    assert_problem(&h.get("/v1/fee-plans/A%00B", ADMIN).await, 404);
    assert_problem(&h.get("/v1/programs/A%00B", ADMIN).await, 404);
    assert_problem(&h.get("/v1/audit?action=a%00b", ADMIN).await, 422);
    assert_problem(&h.get("/v1/fee-plans?cursor=c1.00", ADMIN).await, 422);
}

/// A later endpoint with its own `WriteOp`s: ledger accounts here.
async fn create_accounts(
    axum::extract::State(state): axum::extract::State<host::api::ApiState>,
    caller: host::api::Caller,
    request: host::api::PostRequest,
) -> Result<axum::response::Response, host::api::ApiError> {
    let (body, pending) = request
        .begin::<Value>(&state, caller, host::api::Action::CreateFeePlan)
        .await?;
    let id = body["id"].as_u64().unwrap_or(0);
    let ledger_id = body["ledger"].as_u64().unwrap_or(1);
    let account = ledger::NewAccount::new(
        ledger::AccountId(u128::from(id)),
        ledger::LedgerId(u32::try_from(ledger_id).unwrap()),
        1,
    );
    let ops = vec![store::WriteOp::CreateAccounts(vec![account])];
    let audit = pending.audit(&state, "account.create", &format!("accounts/{id}"), &body);
    match pending
        .commit_with(&state, ops, audit, host::api::Answer::created(&body))
        .await?
    {
        host::api::Committed::Applied(response, _) => Ok(response),
        host::api::Committed::NotApplied(outcomes) => {
            Err(host::api::ApiError::Conflict(format!("{outcomes:?}")))
        }
    }
}

async fn endpoints_with_their_own_ops_audit_only_what_applied(h: Harness) {
    let app = axum::Router::new()
        .route("/v1/test-accounts", axum::routing::post(create_accounts))
        .with_state(h.state.clone());
    let before = h.audit_count().await;
    let post = |body: &'static str, key: &'static str| {
        call("POST", "/v1/test-accounts", Some(ADMIN))
            .body(body)
            .header("idempotency-key", key)
    };
    let created = h.send_to(&app, post(r#"{"id":7,"ledger":156}"#, "a")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(h.audit_count().await, before + 1);
    // The repeat replays; no second event.
    let again = h.send_to(&app, post(r#"{"id":7,"ledger":156}"#, "a")).await;
    assert_eq!(
        (again.status.as_u16(), again.text.as_str()),
        (201, created.text.as_str())
    );
    // A rejected op (the account exists with another ledger): no audit
    // event, no idempotency record.
    let rejected = h.send_to(&app, post(r#"{"id":7,"ledger":978}"#, "b")).await;
    assert_problem(&rejected, 409);
    assert_eq!(h.audit_count().await, before + 1);
    let fresh = h.send_to(&app, post(r#"{"id":8,"ledger":978}"#, "b")).await;
    assert_eq!(
        fresh.status, 201,
        "the key b was not used up: {}",
        fresh.text
    );
    assert_eq!(h.audit_count().await, before + 2);
}
