//! Transactions and ledger balances through the HTTP API: who sees what,
//! filters, pagination, CSV, masked PANs; on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;
#[path = "accounts_support/mod.rs"]
mod accounts;

use accounts::*;
use host::records::Record;
use serde_json::{Value, json};
use support::*;

engines!(
    transactions_are_scoped_and_masked,
    transactions_filter_page_and_export_csv,
    ledger_balance_and_history,
    the_business_date_is_the_hosts_decision_time
);

async fn setup(h: &Harness) {
    let mut records = merchant_records();
    let mut declined = transaction(
        "000000000002",
        MID_1,
        "T0000002",
        "621700******0014",
        // 15:00Z is 23:00 in Shanghai: the cut-off, business date 01-02.
        "0101150000",
        5_100,
    );
    declined.state = "declined".to_owned();
    declined.code = "51".to_owned();
    records.extend([
        Record::Transaction(transaction(
            "000000000001",
            MID_1,
            "T0000001",
            "622588******0019",
            "0101000000",
            3_800,
        )),
        Record::Transaction(declined),
        Record::Transaction(transaction(
            "000000000003",
            MID_2,
            "T0000003",
            "476173******0010",
            // 2025-12-31T10:00Z: the year closest to the clock (2026-01-01).
            "1231100000",
            1_000,
        )),
    ]);
    write_records(h, records).await;
}

async fn ids(h: &Harness, path: &str, key: &str) -> Vec<String> {
    let reply = h.get(path, key).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn transactions_are_scoped_and_masked(h: Harness) {
    setup(&h).await;
    let all = h.get("/v1/transactions", ADMIN).await;
    assert!(!all.text.contains("6225880000000019"), "{}", all.text);
    let items = all.json()["items"].clone();
    let expected = [
        (
            "000000000001",
            "2026-01-01",
            "credit",
            json!("DBCOFFEE"),
            "622588******0019",
        ),
        (
            "000000000002",
            "2026-01-02",
            "debit",
            Value::Null,
            "621700******0014",
        ),
        (
            "000000000003",
            "2025-12-31",
            "credit",
            Value::Null,
            "476173******0010",
        ),
    ];
    for (item, (id, date, channel, program, masked)) in
        items.as_array().unwrap().iter().zip(expected)
    {
        assert_eq!(item["id"], id);
        assert_eq!(item["business_date"], date, "{item}");
        assert_eq!(item["channel"], channel);
        assert_eq!(item["program"], program);
        assert_eq!(item["masked_pan"], masked);
        assert!(item.get("token").is_none());
    }
    assert_eq!(items.as_array().unwrap().len(), 3);
    // Who sees what.
    let check = async |key: &str, expected: &[&str]| {
        assert_eq!(ids(&h, "/v1/transactions", key).await, expected, "{key}");
    };
    check(MERCHANT_1, &["000000000001", "000000000002"]).await;
    check(MERCHANT_2, &["000000000003"]).await;
    check(BRAND, &["000000000001"]).await;
    check(BANK, &["000000000001", "000000000002", "000000000003"]).await;
    let other_bank = new_key(&h, "bank", "OTHERBANK").await;
    check(&other_bank, &[]).await;
    let other_brand = new_key(&h, "brand", "OTHERBRAND").await;
    check(&other_brand, &[]).await;
    assert_problem(&h.get("/v1/transactions", OWNER_LIWEI).await, 403);
    assert_eq!(
        h.get("/v1/transactions/000000000001", BRAND).await.json()["amount"],
        json!({"amount_minor": 3800, "currency": "CNY"})
    );
    for (key, id) in [
        (MERCHANT_2, "000000000001"),
        (BRAND, "000000000002"),
        (other_bank.as_str(), "000000000003"),
        (ADMIN, "000000000009"),
        (ADMIN, "not-an-rrn"),
    ] {
        assert_problem(&h.get(&format!("/v1/transactions/{id}"), key).await, 404);
    }
}

async fn transactions_filter_page_and_export_csv(h: Harness) {
    setup(&h).await;
    let filtered = async |query: &str| ids(&h, &format!("/v1/transactions?{query}"), ADMIN).await;
    assert_eq!(filtered("terminal=T0000002").await, ["000000000002"]);
    assert_eq!(filtered("merchant=100000000000002").await, ["000000000003"]);
    assert_eq!(
        filtered("from=2026-01-01&to=2026-01-01").await,
        ["000000000001"]
    );
    assert_eq!(
        filtered("from=2026-01-01").await,
        ["000000000001", "000000000002"]
    );
    assert_eq!(filtered("to=2025-12-31").await, ["000000000003"]);
    assert_eq!(filtered("status=declined").await, ["000000000002"]);
    assert_eq!(filtered("channel=debit").await, ["000000000002"]);
    assert_eq!(
        filtered("channel=credit&merchant=100000000000001").await,
        ["000000000001"]
    );
    for bad in [
        "channel=cash",
        "from=2026-13-01",
        "status=lost",
        "sort=rrn",
        "limit=0",
    ] {
        assert_problem(&h.get(&format!("/v1/transactions?{bad}"), ADMIN).await, 422);
    }
    // Pages of two.
    let first = h.get("/v1/transactions?limit=2", ADMIN).await.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = ids(
        &h,
        &format!("/v1/transactions?limit=2&cursor={cursor}"),
        ADMIN,
    )
    .await;
    assert_eq!(second, ["000000000003"]);
    // CSV.
    let csv = h
        .send(
            call(
                "GET",
                "/v1/transactions?merchant=100000000000001",
                Some(ADMIN),
            )
            .header("accept", "text/csv"),
        )
        .await;
    assert!(csv.content_type().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].starts_with("id,business_date,mid,tid"),
        "{}",
        csv.text
    );
    assert_eq!(
        lines[1],
        "000000000001,2026-01-01,100000000000001,T0000001,sale,approved,credit,622588******0019,3800,CNY,00,000001"
    );
    assert_eq!(lines.len(), 3);
}

async fn ledger_balance_and_history(h: Harness) {
    ledger_with_transfers(&h, &[100, 250, 50]).await;
    let reply = h.get("/v1/ledger/accounts/2/balance?limit=2", ADMIN).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["account"]["credits_posted"], 400);
    assert_eq!(body["account"]["posted_net_credits"], 400);
    assert_eq!(body["account"]["net_debits"], -400);
    let history = body["history"].as_array().unwrap();
    let credits: Vec<u64> = history
        .iter()
        .map(|s| s["credits_posted"].as_u64().unwrap())
        .collect();
    assert_eq!(credits, [100, 350]);
    let cursor = body["next_cursor"].as_str().unwrap();
    let rest = h
        .get(
            &format!("/v1/ledger/accounts/2/balance?limit=2&cursor={cursor}"),
            ADMIN,
        )
        .await
        .json();
    assert_eq!(rest["history"][0]["credits_posted"], 400);
    assert_eq!(rest["next_cursor"], Value::Null);
    let payer = h.get("/v1/ledger/accounts/1/balance", ADMIN).await.json();
    assert_eq!(payer["account"]["debits_posted"], 400);
    assert_eq!(payer["history"], json!([]), "no history flag, no history");
    for id in [
        "999",
        "abc",
        "-1",
        "340282366920938463463374607431768211456",
    ] {
        assert_problem(
            &h.get(&format!("/v1/ledger/accounts/{id}/balance"), ADMIN)
                .await,
            404,
        );
    }
    assert_problem(&h.get("/v1/ledger/accounts/2/balance", BANK).await, 403);
}

/// A record with the host's decision time is dated by it, not by DE 7 (the
/// terminal's clock): as its settlement item was.
async fn the_business_date_is_the_hosts_decision_time(h: Harness) {
    let mut records = merchant_records();
    let mut late = transaction(
        "000000000009",
        MID_1,
        "T0000001",
        "622588******0019",
        // The terminal says 2026-01-01T00:00Z (08:00 in Shanghai).
        "0101000000",
        700,
    );
    // The host decided at 2025-12-31T10:00Z (18:00 in Shanghai).
    late.at_s = 1_767_175_200;
    records.push(Record::Transaction(late));
    write_records(&h, records).await;
    let reply = h.get("/v1/transactions/000000000009", ADMIN).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["business_date"], "2025-12-31");
    assert_eq!(
        ids(&h, "/v1/transactions?to=2025-12-31", ADMIN).await,
        ["000000000009"]
    );
    assert!(
        ids(&h, "/v1/transactions?from=2026-01-01", ADMIN)
            .await
            .is_empty()
    );
}
